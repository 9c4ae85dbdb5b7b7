#include "filesystem_checks.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>

namespace livernode::config::detail {

namespace fs = std::filesystem;

namespace {

std::string shown(const fs::path& path) { return path.string(); }

bool on_read_only_filesystem(const fs::path& path) {
  struct statvfs info {};
  return statvfs(path.c_str(), &info) == 0 && (info.f_flag & ST_RDONLY) != 0;
}

// Why entries cannot be created in an existing directory, or nullopt when they can. Asks the
// kernel by creating and removing an empty probe directory: permission bits alone say
// nothing for root, and pseudo file systems such as /proc refuse regardless.
std::optional<std::string> cannot_create_in(const fs::path& directory) {
  if (::access(directory.c_str(), W_OK | X_OK) != 0) return std::string(std::strerror(errno));
  if (on_read_only_filesystem(directory)) return std::string("read-only file system");
  std::string probe = (directory / ".livernode-probe-XXXXXX").string();
  if (::mkdtemp(probe.data()) == nullptr) return std::string(std::strerror(errno));
  ::rmdir(probe.c_str());
  return std::nullopt;
}

}  // namespace

std::optional<std::string> writable_directory_problem(const fs::path& directory) {
  std::error_code error;
  const auto status = fs::status(directory, error);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) return shown(directory) + " exists but is not a directory";
    if (const auto why = cannot_create_in(directory)) {
      return "directory " + shown(directory) + " is not writable (" + *why + ")";
    }
    return std::nullopt;
  }

  const std::string cannot =
      "directory " + shown(directory) + " does not exist and cannot be created";
  fs::path ancestor = directory.parent_path();
  while (!ancestor.empty() && !fs::exists(fs::status(ancestor, error))) {
    if (ancestor == ancestor.parent_path()) break;
    ancestor = ancestor.parent_path();
  }
  if (ancestor.empty()) return cannot + " (no existing parent directory)";
  if (!fs::is_directory(fs::status(ancestor, error))) {
    return cannot + " (" + shown(ancestor) + " is not a directory)";
  }
  if (const auto why = cannot_create_in(ancestor)) {
    return cannot + " (cannot create entries in " + shown(ancestor) + ": " + *why + ")";
  }
  return std::nullopt;
}

std::optional<std::string> writable_file_problem(const fs::path& file) {
  std::error_code error;
  const auto status = fs::status(file, error);
  if (fs::exists(status)) {
    if (fs::is_directory(status)) return shown(file) + " is a directory; expected a file";
    if (::access(file.c_str(), W_OK) != 0 || on_read_only_filesystem(file)) {
      return "file " + shown(file) + " is not writable";
    }
    return std::nullopt;
  }
  return writable_directory_problem(file.parent_path());
}

std::optional<std::string> readable_file_problem(const fs::path& file) {
  std::error_code error;
  const auto status = fs::status(file, error);
  if (!fs::exists(status)) return "file " + shown(file) + " does not exist";
  if (!fs::is_regular_file(status)) return shown(file) + " is not a regular file";
  std::ifstream stream(file, std::ios::binary);
  if (!stream) return "file " + shown(file) + " cannot be read (" + std::strerror(errno) + ")";
  return std::nullopt;
}

std::optional<std::string> executable_problem(const std::string& program) {
  const auto runnable = [](const fs::path& candidate) {
    std::error_code error;
    return fs::is_regular_file(candidate, error) && ::access(candidate.c_str(), X_OK) == 0;
  };
  if (program.empty()) return std::string("the program name is empty");
  if (program.find('/') != std::string::npos) {
    if (runnable(program)) return std::nullopt;
    return "program " + program + " does not exist or is not executable";
  }
  const char* search_path = std::getenv("PATH");
  std::string_view rest = search_path ? search_path : "";
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::string directory(rest.substr(0, colon));
    if (runnable(fs::path(directory.empty() ? "." : directory) / program)) return std::nullopt;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return "program " + program + " is not found on PATH";
}

}  // namespace livernode::config::detail
