#include "livernode/config/loader.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "decode.h"
#include "diagnostics.h"
#include "map_reader.h"
#include "token_file.h"
#include "validate.h"

namespace livernode::config {

namespace {

// Parses, decodes, resolves and validates; base_dir anchors relative paths.
LoadResult load(const std::string& yaml, const std::filesystem::path& base_dir) {
  detail::Diagnostics diagnostics;
  LoadResult result;
  result.config = default_config();

  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml);
  } catch (const YAML::Exception& error) {
    // The rest of the file cannot be read; checking the defaults instead would only confuse.
    diagnostics.report(detail::position_of(error.mark), "", "YAML syntax error: " + error.msg);
    resolve_relative_paths(result.config, base_dir);
    result.problems = diagnostics.take_sorted();
    return result;
  }
  if (documents.size() > 1) {
    diagnostics.report(detail::position_of(documents[1]), "",
                       "the file holds " + std::to_string(documents.size()) +
                           " YAML documents; expected one (remove the extra '---' lines)");
  }

  if (!documents.empty()) {
    try {
      result.config = detail::decode_config(documents.front(), diagnostics);
    } catch (const YAML::Exception& error) {
      diagnostics.report(detail::position_of(error.mark), "", error.msg);
    }
  }
  resolve_relative_paths(result.config, base_dir);
  detail::read_token_file(result.config.http, diagnostics);
  detail::read_password_file(result.config.storage, diagnostics);
  detail::validate_config(result.config, diagnostics);

  result.problems = diagnostics.take_sorted();
  return result;
}

}  // namespace

LoadResult load_config_file(const std::filesystem::path& file) {
  const auto unreadable = [&](const std::string& why) {
    LoadResult result;
    resolve_relative_paths(result.config, std::filesystem::absolute(file).parent_path());
    result.problems.push_back(
        Problem{0, 0, "", "cannot read the configuration file " + file.string() + ": " + why});
    return result;
  };
  std::error_code error;
  if (std::filesystem::is_directory(file, error)) return unreadable("it is a directory");
  std::ifstream stream(file, std::ios::binary);
  if (!stream) return unreadable(std::strerror(errno));
  std::ostringstream content;
  content << stream.rdbuf();
  return load(content.str(), std::filesystem::absolute(file).parent_path());
}

LoadResult load_config_string(const std::string& yaml, const std::string& /*source_name*/) {
  return load(yaml, std::filesystem::current_path());
}

}  // namespace livernode::config
