#pragma once
// Reading and validating a configuration file.
//
// Loading never throws for anything wrong in the input: every problem found is reported
// (YAML syntax, unknown keys, wrong types, ranges, enumerations, duplicates, regular
// expressions, unusable paths, missing TLS files), ordered by position in the file.
// Fields with a problem keep their default value.
//
// Relative paths in a file are resolved against the directory that holds the file (for a
// string, against the current directory); the returned Config holds them absolute.
// Storage and log paths must be existing writable directories or creatable ones; loading
// creates nothing, but it may briefly create and remove a probe directory to find out.

#include <filesystem>
#include <string>
#include <vector>

#include "livernode/config/config.h"
#include "livernode/config/problem.h"

namespace livernode::config {

struct LoadResult {
  Config config;
  std::vector<Problem> problems;

  bool ok() const { return problems.empty(); }
};

LoadResult load_config_file(const std::filesystem::path& file);

// Relative paths are resolved against the current directory. source_name names the text
// (e.g. "<stdin>"); problems carry no file name, so pass the same name to format_problem.
LoadResult load_config_string(const std::string& yaml, const std::string& source_name);

// Makes every relative path in config absolute against base_dir (external_command[0] only
// when it contains a '/'; a bare program name is looked up on PATH when run).
void resolve_relative_paths(Config& config, const std::filesystem::path& base_dir);

}  // namespace livernode::config
