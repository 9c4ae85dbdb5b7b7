#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "livernode/config/config.h"

namespace livernode::config {

Config default_config() { return Config{}; }

std::filesystem::path journal_dir(const StorageConfig& storage) {
  return storage.journal_dir.empty() ? storage.spool_dir / ".journal" : storage.journal_dir;
}

std::string node_name(const NodeConfig& node) {
  if (!node.name.empty()) return node.name;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "livernode";
  return host;
}

namespace {

// The password of a postgresql:// URI: between "user:" and "@" of its authority, and any
// password=... query parameter.
std::string masked_uri(std::string uri) {
  const std::size_t scheme = uri.find("://");
  const std::size_t authority = scheme + 3;
  const std::size_t authority_end = std::min(uri.find('/', authority), uri.find('?', authority));
  const std::size_t at =
      uri.rfind('@', authority_end == std::string::npos ? uri.size() : authority_end);
  if (at != std::string::npos && at > authority) {
    const std::size_t colon = uri.find(':', authority);
    if (colon != std::string::npos && colon < at) uri.replace(colon + 1, at - colon - 1, "***");
  }
  const std::size_t query = uri.find('?');
  if (query == std::string::npos) return uri;
  std::size_t start = query + 1;
  while (start < uri.size()) {
    std::size_t end = uri.find('&', start);
    if (end == std::string::npos) end = uri.size();
    if (uri.compare(start, 9, "password=") == 0) {
      uri.replace(start + 9, end - start - 9, "***");
      end = start + 12;
    }
    start = end + 1;
  }
  return uri;
}

}  // namespace

std::string masked_conninfo(const std::string& conninfo) {
  if (conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0)
    return masked_uri(conninfo);
  // key = value pairs; a value is a word or single-quoted with backslash escapes.
  std::string out;
  std::size_t i = 0;
  const auto space = [&](std::size_t at) {
    return at < conninfo.size() && std::isspace(static_cast<unsigned char>(conninfo[at]));
  };
  while (i < conninfo.size()) {
    const std::size_t key_start = i;
    while (i < conninfo.size() && conninfo[i] != '=' && !space(i)) ++i;
    const std::string key = conninfo.substr(key_start, i - key_start);
    while (space(i)) ++i;
    if (i < conninfo.size() && conninfo[i] == '=') ++i;
    while (space(i)) ++i;
    out += conninfo.substr(key_start, i - key_start);
    const std::size_t value_start = i;
    if (i < conninfo.size() && conninfo[i] == '\'') {
      ++i;
      while (i < conninfo.size() && conninfo[i] != '\'') i += conninfo[i] == '\\' ? 2 : 1;
      i = std::min(i + 1, conninfo.size());
    } else {
      while (i < conninfo.size() && !space(i)) ++i;
    }
    out += key == "password" ? std::string("***") : conninfo.substr(value_start, i - value_start);
    const std::size_t gap = i;
    while (space(i)) ++i;
    out += conninfo.substr(gap, i - gap);
    if (i == key_start) ++i;  // nothing read: never loop forever
  }
  return out;
}

bool Destination::accepts_kind(ResultKind kind) const {
  return std::find(accepts.begin(), accepts.end(), kind) != accepts.end();
}

double ClinicalConfig::flr_threshold_percent() const {
  switch (liver_condition) {
    case LiverCondition::chemotherapy:
      return flr_thresholds_percent.chemotherapy;
    case LiverCondition::cirrhosis:
      return flr_thresholds_percent.cirrhosis;
    case LiverCondition::normal:
      break;
  }
  return flr_thresholds_percent.normal;
}

}  // namespace livernode::config
