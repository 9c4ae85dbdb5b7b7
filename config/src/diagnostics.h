#pragma once
// The problems found while loading one configuration, and where its keys were written.

#include <string>
#include <vector>

#include "livernode/config/problem.h"
#include "source_map.h"

namespace livernode::config::detail {

class Diagnostics {
 public:
  // A problem at a known position.
  void report(Position position, std::string key_path, std::string message);

  // A problem located through the source map (the key, or its nearest written ancestor).
  void report(std::string key_path, std::string message);

  // As above, but when key_path was not written (its default applies), points at cause_path:
  // the setting that made the default unacceptable.
  void report(std::string key_path, std::string message, const std::string& cause_path);

  SourceMap& sources() { return sources_; }

  // The problems ordered by position in the file; unplaced ones last.
  std::vector<Problem> take_sorted();

 private:
  std::vector<Problem> problems_;
  SourceMap sources_;
};

}  // namespace livernode::config::detail
