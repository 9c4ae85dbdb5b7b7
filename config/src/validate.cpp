#include "validate.h"

#include <string>

#include "enum_names.h"
#include "filesystem_checks.h"
#include "text.h"

namespace livernode::config::detail {

namespace {

std::string indexed(const std::string& list_path, std::size_t index) {
  return list_path + "[" + std::to_string(index) + "]";
}

void check_storage(const StorageConfig& storage, const LoggingConfig& logging,
                   Diagnostics& diagnostics) {
  const auto directory = [&](const std::filesystem::path& path, const std::string& key_path) {
    if (path.empty()) {
      diagnostics.report(key_path, "must not be empty; expected a directory");
    } else if (const auto problem = writable_directory_problem(path)) {
      diagnostics.report(key_path, *problem);
    }
  };
  directory(storage.spool_dir, "storage.spool_dir");
  directory(storage.results_dir, "storage.results_dir");
  if (!storage.journal_dir.empty()) directory(storage.journal_dir, "storage.journal_dir");

  if (storage.state_backend == StateBackend::sqlite) {
    if (storage.state_db.empty()) {
      diagnostics.report("storage.state_db", "must not be empty; expected a file path");
    } else if (const auto problem = writable_file_problem(storage.state_db)) {
      diagnostics.report("storage.state_db", *problem);
    }
  } else if (storage.postgresql.conninfo.empty()) {
    diagnostics.report("storage.postgresql.conninfo",
                       "must be set when storage.state_backend is postgresql; expected a libpq "
                       "connection string such as \"host=127.0.0.1 port=5432 dbname=livernode "
                       "user=livernode\"",
                       "storage.state_backend");
  }
  if (!logging.file.empty()) {
    if (const auto problem = writable_file_problem(logging.file)) {
      diagnostics.report("logging.file", *problem);
    }
  }
}

bool any_tls_destination(const std::vector<Destination>& destinations) {
  for (const auto& destination : destinations) {
    if (destination.tls) return true;
  }
  return false;
}

void check_tls(const Config& config, Diagnostics& diagnostics) {
  const TlsConfig& tls = config.node.tls;
  const bool used = tls.enabled || any_tls_destination(config.destinations);
  if (tls.enabled) {
    const auto required_file = [&](const std::filesystem::path& path, const std::string& key,
                                   const std::string& what) {
      const std::string key_path = "node.tls." + key;
      if (path.empty()) {
        diagnostics.report(key_path, "TLS is enabled but no " + what + " is set",
                           "node.tls.enabled");
      } else if (const auto problem = readable_file_problem(path)) {
        diagnostics.report(key_path, *problem);
      }
    };
    required_file(tls.certificate, "certificate", "certificate (PEM file)");
    required_file(tls.private_key, "private_key", "private key (PEM file)");
    if (!tls.only && tls.port == config.node.port) {
      diagnostics.report(
          "node.tls.port",
          std::to_string(tls.port) + " is also node.port; the TLS listener needs a port of its own",
          "node.port");
    }
  }
  if (used) {
    for (std::size_t i = 0; i < tls.trusted_cas.size(); ++i) {
      if (const auto problem = readable_file_problem(tls.trusted_cas[i])) {
        diagnostics.report(indexed("node.tls.trusted_cas", i), *problem);
      }
    }
  }
  if (tls.only && !tls.enabled) {
    diagnostics.report("node.tls.only",
                       "is true but node.tls.enabled is false; the node would accept no "
                       "association at all",
                       "node.tls.enabled");
  }
  if (tls.enabled && tls.require_client_certificate && tls.trusted_cas.empty()) {
    diagnostics.report("node.tls.require_client_certificate",
                       "is true but node.tls.trusted_cas is empty; no client certificate "
                       "could be verified");
  }
  for (std::size_t i = 0; i < config.destinations.size(); ++i) {
    if (config.destinations[i].tls && tls.trusted_cas.empty()) {
      diagnostics.report(indexed("destinations", i) + ".tls",
                         "is true but node.tls.trusted_cas is empty; the destination's "
                         "certificate could not be verified");
    }
  }
}

void check_ports(const Config& config, Diagnostics& diagnostics) {
  if (!config.http.enabled) return;
  if (config.http.port == config.node.port) {
    diagnostics.report("http.port",
                       std::to_string(config.http.port) + " is also node.port; choose another port",
                       "node.port");
  } else if (config.node.tls.enabled && config.http.port == config.node.tls.port) {
    diagnostics.report(
        "http.port",
        std::to_string(config.http.port) + " is also node.tls.port; choose another port",
        "node.tls.port");
  }
}

void check_association_limits(const NodeConfig& node, Diagnostics& diagnostics) {
  if (node.max_associations_per_source > node.max_associations) {
    diagnostics.report("node.max_associations_per_source",
                       std::to_string(node.max_associations_per_source) +
                           " is more than max_associations (" +
                           std::to_string(node.max_associations) +
                           "); one address can never hold more than every slot",
                       "node.max_associations");
  }
}

void check_timers(const Config& config, Diagnostics& diagnostics) {
  const auto& completion = config.study_completion;
  if (completion.study_quiet_s < completion.series_quiet_s) {
    diagnostics.report("study_completion.study_quiet_s",
                       std::to_string(completion.study_quiet_s) +
                           " is shorter than series_quiet_s (" +
                           std::to_string(completion.series_quiet_s) +
                           "); a study cannot be quiet before its series are",
                       "study_completion.series_quiet_s");
  }
  if (completion.max_wait_s < completion.study_quiet_s) {
    diagnostics.report("study_completion.max_wait_s",
                       std::to_string(completion.max_wait_s) + " is shorter than study_quiet_s (" +
                           std::to_string(completion.study_quiet_s) + ")",
                       "study_completion.study_quiet_s");
  }
  if (config.node.heartbeat_s >= config.node.lease_s) {
    diagnostics.report("node.heartbeat_s",
                       std::to_string(config.node.heartbeat_s) + " is not shorter than lease_s (" +
                           std::to_string(config.node.lease_s) +
                           "); a lease must be renewed before it runs out",
                       "node.lease_s");
  }
  const auto& delivery = config.delivery;
  if (delivery.max_backoff_s < delivery.initial_backoff_s) {
    diagnostics.report("delivery.max_backoff_s",
                       std::to_string(delivery.max_backoff_s) +
                           " is shorter than initial_backoff_s (" +
                           std::to_string(delivery.initial_backoff_s) + ")",
                       "delivery.initial_backoff_s");
  }
}

// Reports names used twice in a list (compared without letter case: names become
// directory names and metric labels).
template <class Item>
void check_unique_names(const std::vector<Item>& items, const std::string& list_path,
                        const std::string& what, Diagnostics& diagnostics) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name.empty()) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (lower_case(items[j].name) != lower_case(items[i].name)) continue;
      const std::string first = indexed(list_path, j);
      const Position position = diagnostics.sources().locate(first + ".name");
      std::string message =
          what + " name " + in_quotes(items[i].name) + " is already used by " + first;
      if (position.line > 0) message += " (line " + std::to_string(position.line) + ")";
      diagnostics.report(indexed(list_path, i) + ".name", message + "; names must be unique");
      break;
    }
  }
}

void check_destinations(const std::vector<Destination>& destinations, Diagnostics& diagnostics) {
  check_unique_names(destinations, "destinations", "destination", diagnostics);
  for (std::size_t i = 0; i < destinations.size(); ++i) {
    if (destinations[i].accepts.empty()) {
      diagnostics.report(indexed("destinations", i) + ".accepts",
                         "is empty; list at least one of: " + joined(enum_spellings<ResultKind>()));
    }
  }
}

void check_processing(const ProcessingConfig& processing, Diagnostics& diagnostics) {
  if (processing.segmentation_backend != SegmentationBackend::external) return;
  if (processing.external_command.empty()) {
    diagnostics.report("processing.external_command",
                       "is empty but segmentation_backend is external; give the program and "
                       "its arguments as a list",
                       "processing.segmentation_backend");
  } else if (const auto problem = executable_problem(processing.external_command.front())) {
    diagnostics.report("processing.external_command[0]", *problem);
  }
}

}  // namespace

void validate_config(const Config& config, Diagnostics& diagnostics) {
  check_storage(config.storage, config.logging, diagnostics);
  check_tls(config, diagnostics);
  check_ports(config, diagnostics);
  check_association_limits(config.node, diagnostics);
  check_timers(config, diagnostics);
  check_unique_names(config.routing.rules, "routing.rules", "rule", diagnostics);
  check_destinations(config.destinations, diagnostics);
  check_processing(config.processing, diagnostics);
}

}  // namespace livernode::config::detail
