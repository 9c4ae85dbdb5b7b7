#include "source_map.h"

namespace livernode::config::detail {

void SourceMap::record(const std::string& key_path, Position position) {
  if (position.line > 0) positions_.emplace(key_path, position);
}

Position SourceMap::locate(const std::string& key_path) const {
  std::string path = key_path;
  while (!path.empty()) {
    if (const auto found = positions_.find(path); found != positions_.end()) return found->second;
    path = parent_key_path(path);
  }
  return {};
}

bool SourceMap::written(const std::string& key_path) const {
  return positions_.count(key_path) != 0;
}

std::string parent_key_path(const std::string& key_path) {
  if (!key_path.empty() && key_path.back() == ']') {
    const auto open = key_path.rfind('[');
    return open == std::string::npos ? std::string() : key_path.substr(0, open);
  }
  const auto dot = key_path.rfind('.');
  return dot == std::string::npos ? std::string() : key_path.substr(0, dot);
}

}  // namespace livernode::config::detail
