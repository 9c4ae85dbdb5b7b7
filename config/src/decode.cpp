#include "decode.h"

#include <cctype>

#include "livernode/config/pattern.h"
#include "map_reader.h"
#include "value_checks.h"

namespace livernode::config::detail {

namespace {

constexpr IntegerRange kPort{1, 65535};
constexpr IntegerRange kSecondsUpToADay{1, 86400};
constexpr NumberRange kPercent{0, 100, true};

std::optional<std::string> optional_ae_title_problem(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return ae_title_problem(value);
}

// A node's name: what a host name may hold.
std::optional<std::string> node_name_problem(const std::string& value) {
  if (value.size() > 64) return std::string("is longer than 64 characters");
  for (const char c : value)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return "may hold only letters, digits, '.', '_' and '-'; got " + in_quotes(value);
  return std::nullopt;
}

std::optional<std::string> regex_problem(const std::string& value) {
  if (const auto error = pattern_error(value)) {
    return "invalid regular expression " + in_quotes(value) + ": " + *error;
  }
  return std::nullopt;
}

void decode_tls(MapReader reader, TlsConfig& tls) {
  reader.boolean("enabled", tls.enabled);
  reader.integer("port", tls.port, kPort);
  reader.path("certificate", tls.certificate);
  reader.path("private_key", tls.private_key);
  reader.path_list("trusted_cas", tls.trusted_cas);
  reader.boolean("require_client_certificate", tls.require_client_certificate);
  reader.boolean("only", tls.only);
  reader.finish();
}

void decode_allowed_caller(MapReader& reader, AllowedCaller& caller, Diagnostics& diagnostics) {
  const bool ae_title_written = reader.has("ae_title");
  const bool host_written = reader.has("host");
  const bool ae_title_valid = reader.text("ae_title", caller.ae_title, optional_ae_title_problem);
  const bool host_valid = reader.text("host", caller.host, host_pattern_problem);
  const bool reported = (ae_title_written && !ae_title_valid) || (host_written && !host_valid);
  if (!reported && caller.ae_title.empty() && caller.host.empty()) {
    diagnostics.report(reader.key_path(),
                       "sets neither ae_title nor host; an entry must name at least one");
  }
  reader.finish();
}

void decode_node(MapReader reader, NodeConfig& node, Diagnostics& diagnostics) {
  reader.text("name", node.name, node_name_problem);
  reader.text("ae_title", node.ae_title, ae_title_problem);
  reader.text("bind_address", node.bind_address, bind_address_problem);
  reader.integer("port", node.port, kPort);
  reader.integer("max_associations", node.max_associations, {1, 1000});
  reader.integer("max_associations_per_source", node.max_associations_per_source, {0, 1000});
  reader.integer("max_pending_connections", node.max_pending_connections, {1, 10000});
  reader.integer("acse_timeout_s", node.acse_timeout_s, {1, 3600});
  reader.integer("dimse_timeout_s", node.dimse_timeout_s, {1, 3600});
  reader.integer("stall_timeout_s", node.stall_timeout_s, {1, 3600});
  reader.integer("max_pdu", node.max_pdu, {4096, 131072});
  reader.integer("lease_s", node.lease_s, {2, 3600});
  reader.integer("heartbeat_s", node.heartbeat_s, {1, 600});
  if (auto callers = reader.list_of_mappings("allowed_callers")) {
    node.allowed_callers.clear();
    for (auto& item : *callers) {
      AllowedCaller caller;
      decode_allowed_caller(item, caller, diagnostics);
      node.allowed_callers.push_back(caller);
    }
  }
  decode_tls(reader.section("tls"), node.tls);
  reader.finish();
}

void decode_postgresql(MapReader reader, PostgresqlConfig& postgresql) {
  reader.text("conninfo", postgresql.conninfo);
  reader.path("password_file", postgresql.password_file);
  reader.finish();
}

void decode_storage(MapReader reader, StorageConfig& storage) {
  reader.path("spool_dir", storage.spool_dir);
  reader.path("journal_dir", storage.journal_dir);
  reader.enumeration("state_backend", storage.state_backend);
  reader.path("state_db", storage.state_db);
  decode_postgresql(reader.section("postgresql"), storage.postgresql);
  reader.path("results_dir", storage.results_dir);
  reader.integer("min_free_disk_mb", storage.min_free_disk_mb, {0, 100'000'000});
  reader.integer("retention_days", storage.retention_days, {0, 3650});
  reader.integer("unrouted_retention_hours", storage.unrouted_retention_hours, {0, 87600});
  reader.integer("summary_retention_days", storage.summary_retention_days, {0, 36500});
  reader.finish();
}

void decode_study_completion(MapReader reader, StudyCompletionConfig& completion) {
  reader.integer("series_quiet_s", completion.series_quiet_s, kSecondsUpToADay);
  reader.integer("study_quiet_s", completion.study_quiet_s, kSecondsUpToADay);
  reader.integer("max_wait_s", completion.max_wait_s, {1, 7 * 86400});
  reader.finish();
}

void decode_rule(MapReader& reader, RoutingRule& rule) {
  if (reader.require("name")) reader.text("name", rule.name, name_problem);
  reader.text_list("modalities", rule.modalities, modality_problem);
  reader.text_list("calling_ae_titles", rule.calling_ae_titles, ae_title_problem);
  reader.text_list("body_part_patterns", rule.body_part_patterns, regex_problem);
  reader.text_list("series_description_patterns", rule.series_description_patterns, regex_problem);
  reader.enumeration("action", rule.action);
  reader.finish();
}

void decode_routing(MapReader reader, RoutingConfig& routing) {
  if (auto rules = reader.list_of_mappings("rules")) {
    routing.rules.clear();
    for (auto& item : *rules) {
      RoutingRule rule;
      decode_rule(item, rule);
      routing.rules.push_back(rule);
    }
  }
  reader.finish();
}

void decode_destination(MapReader& reader, Destination& destination) {
  if (reader.require("name")) reader.text("name", destination.name, name_problem);
  if (reader.require("ae_title")) reader.text("ae_title", destination.ae_title, ae_title_problem);
  if (reader.require("host")) reader.text("host", destination.host, host_problem);
  reader.integer("port", destination.port, kPort);
  reader.boolean("tls", destination.tls);
  reader.enumeration_list("accepts", destination.accepts);
  reader.finish();
}

void decode_delivery(MapReader reader, DeliveryConfig& delivery) {
  reader.integer("initial_backoff_s", delivery.initial_backoff_s, kSecondsUpToADay);
  reader.integer("max_backoff_s", delivery.max_backoff_s, kSecondsUpToADay);
  reader.integer("max_attempts", delivery.max_attempts, {1, 1000});
  reader.finish();
}

void decode_http(MapReader reader, HttpConfig& http, Diagnostics& diagnostics) {
  reader.boolean("enabled", http.enabled);
  reader.text("bind_address", http.bind_address, bind_address_problem);
  reader.integer("port", http.port, kPort);
  reader.text("token", http.token, bearer_token_problem);
  reader.path("token_file", http.token_file);
  reader.integer("max_connections", http.max_connections, {1, 10000});
  reader.integer("timeout_s", http.timeout_s, {1, 3600});
  if (!http.token.empty() && !http.token_file.empty()) {
    diagnostics.report(reader.child_path("token_file"),
                       "is set together with token; set only one of them");
    http.token_file.clear();
  }
  reader.finish();
}

void decode_processing(MapReader reader, ProcessingConfig& processing) {
  reader.integer("workers", processing.workers, {1, 64});
  reader.enumeration("segmentation_backend", processing.segmentation_backend);
  reader.text_list("external_command", processing.external_command);
  reader.integer("external_timeout_s", processing.external_timeout_s, kSecondsUpToADay);
  reader.integer("job_time_limit_s", processing.job_time_limit_s, {0, 86400});
  reader.integer("external_liver_label", processing.external_liver_label, {1, 255});
  reader.enumeration("reference_phase", processing.reference_phase);
  reader.finish();
}

void decode_flr_thresholds(MapReader reader, FlrThresholdsPercent& thresholds) {
  reader.number("normal", thresholds.normal, kPercent);
  reader.number("chemotherapy", thresholds.chemotherapy, kPercent);
  reader.number("cirrhosis", thresholds.cirrhosis, kPercent);
  reader.finish();
}

void decode_clinical(MapReader reader, ClinicalConfig& clinical) {
  reader.enumeration("bsa_formula", clinical.bsa_formula);
  reader.enumeration("eslv_formula", clinical.eslv_formula);
  reader.enumeration("liver_condition", clinical.liver_condition);
  decode_flr_thresholds(reader.section("flr_thresholds_percent"), clinical.flr_thresholds_percent);
  reader.number("tumour_burden_limit_percent", clinical.tumour_burden_limit_percent, kPercent);
  reader.integer("ablation_max_lesions", clinical.ablation_max_lesions, {1, 100});
  reader.number("ablation_max_diameter_mm", clinical.ablation_max_diameter_mm, {0, 300, true});
  reader.number("recist_measurable_mm", clinical.recist_measurable_mm, {0, 100, true});
  reader.text("disclaimer", clinical.disclaimer, not_empty_problem);
  reader.finish();
}

void decode_logging(MapReader reader, LoggingConfig& logging) {
  reader.enumeration("level", logging.level);
  reader.path("file", logging.file);
  reader.enumeration("format", logging.format);
  reader.finish();
}

}  // namespace

Config decode_config(const YAML::Node& document, Diagnostics& diagnostics) {
  Config config = default_config();
  MapReader root(diagnostics, document, "");
  decode_node(root.section("node"), config.node, diagnostics);
  decode_storage(root.section("storage"), config.storage);
  decode_study_completion(root.section("study_completion"), config.study_completion);
  decode_routing(root.section("routing"), config.routing);
  if (auto destinations = root.list_of_mappings("destinations")) {
    for (auto& item : *destinations) {
      Destination destination;
      decode_destination(item, destination);
      config.destinations.push_back(destination);
    }
  }
  decode_delivery(root.section("delivery"), config.delivery);
  decode_http(root.section("http"), config.http, diagnostics);
  decode_processing(root.section("processing"), config.processing);
  decode_clinical(root.section("clinical"), config.clinical);
  decode_logging(root.section("logging"), config.logging);
  root.finish();
  return config;
}

}  // namespace livernode::config::detail
