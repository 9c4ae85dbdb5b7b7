#pragma once
// Whether the paths of a configuration can be used as configured. Each check returns why a
// path is unusable, or nullopt. Nothing is created or changed, except that a writability
// probe briefly creates and removes an empty directory.

#include <filesystem>
#include <optional>
#include <string>

namespace livernode::config::detail {

// An existing writable directory, or one that can be created (its nearest existing ancestor
// is a writable directory).
std::optional<std::string> writable_directory_problem(const std::filesystem::path& directory);

// An existing writable regular file, or one that can be created in a usable directory.
std::optional<std::string> writable_file_problem(const std::filesystem::path& file);

// An existing regular file this process can read.
std::optional<std::string> readable_file_problem(const std::filesystem::path& file);

// A program that can be run: a path to an executable file when it contains a '/', else a
// name found on PATH.
std::optional<std::string> executable_problem(const std::string& program);

}  // namespace livernode::config::detail
