#pragma once
// Where in the file each key path was written, so that checks made after decoding can still
// point at a line.

#include <map>
#include <string>

namespace livernode::config::detail {

struct Position {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

class SourceMap {
 public:
  void record(const std::string& key_path, Position position);

  // The position of key_path, else of its nearest recorded ancestor ("a.b[2].c" -> "a.b[2]"
  // -> "a.b" -> "a"), else unknown.
  Position locate(const std::string& key_path) const;

  // Whether key_path itself was written in the file.
  bool written(const std::string& key_path) const;

 private:
  std::map<std::string, Position> positions_;
};

// "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" -> "".
std::string parent_key_path(const std::string& key_path);

}  // namespace livernode::config::detail
