#include "livernode/config/loader.h"

namespace livernode::config {

namespace {

void resolve(std::filesystem::path& path, const std::filesystem::path& base_dir) {
  if (path.empty()) return;
  if (path.is_relative()) path = base_dir / path;
  path = path.lexically_normal();
}

}  // namespace

void resolve_relative_paths(Config& config, const std::filesystem::path& base_dir) {
  const std::filesystem::path base = std::filesystem::absolute(base_dir);
  resolve(config.node.tls.certificate, base);
  resolve(config.node.tls.private_key, base);
  for (auto& ca : config.node.tls.trusted_cas) resolve(ca, base);
  resolve(config.storage.spool_dir, base);
  resolve(config.storage.journal_dir, base);
  resolve(config.storage.state_db, base);
  resolve(config.storage.postgresql.password_file, base);
  resolve(config.storage.results_dir, base);
  resolve(config.http.token_file, base);
  resolve(config.logging.file, base);
  auto& command = config.processing.external_command;
  if (!command.empty() && command.front().find('/') != std::string::npos) {
    std::filesystem::path program = command.front();
    resolve(program, base);
    command.front() = program.string();
  }
}

}  // namespace livernode::config
