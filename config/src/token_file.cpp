#include "token_file.h"

#include <fstream>
#include <sstream>

#include "filesystem_checks.h"
#include "text.h"
#include "value_checks.h"

namespace livernode::config::detail {

void read_token_file(HttpConfig& http, Diagnostics& diagnostics) {
  if (http.token_file.empty()) return;
  const std::string key_path = "http.token_file";
  if (const auto problem = readable_file_problem(http.token_file)) {
    diagnostics.report(key_path, *problem);
    return;
  }
  std::ifstream stream(http.token_file, std::ios::binary);
  std::ostringstream content;
  content << stream.rdbuf();
  const std::string token = trimmed(content.str());
  if (token.empty()) {
    diagnostics.report(key_path, "file " + http.token_file.string() + " is empty");
    return;
  }
  if (const auto problem = bearer_token_problem(token)) {
    diagnostics.report(key_path, "the token in " + http.token_file.string() + " " + *problem);
    return;
  }
  http.token = token;
}

void read_password_file(StorageConfig& storage, Diagnostics& diagnostics) {
  auto& postgresql = storage.postgresql;
  if (postgresql.password_file.empty()) return;
  const std::string key_path = "storage.postgresql.password_file";
  if (const auto problem = readable_file_problem(postgresql.password_file)) {
    diagnostics.report(key_path, *problem);
    return;
  }
  std::ifstream stream(postgresql.password_file, std::ios::binary);
  std::ostringstream content;
  content << stream.rdbuf();
  const std::string password = trimmed(content.str());
  if (password.empty()) {
    diagnostics.report(key_path, "file " + postgresql.password_file.string() + " is empty");
    return;
  }
  postgresql.password = password;
}

}  // namespace livernode::config::detail
