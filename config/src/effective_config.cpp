#include "livernode/config/effective_config.h"

#include <yaml-cpp/yaml.h>

#include <string_view>

#include "scalar.h"

namespace livernode::config {

namespace {

constexpr std::string_view kMasked = "***";

class Writer {
 public:
  Writer() { out_ << YAML::BeginMap; }

  void begin(std::string_view key) {
    out_ << YAML::Key << std::string(key) << YAML::Value << YAML::BeginMap;
  }
  void end() { out_ << YAML::EndMap; }

  void value(std::string_view key, const std::string& text) {
    out_ << YAML::Key << std::string(key) << YAML::Value << YAML::DoubleQuoted << text;
  }
  void value(std::string_view key, const std::filesystem::path& path) { value(key, path.string()); }
  void value(std::string_view key, int number) {
    out_ << YAML::Key << std::string(key) << YAML::Value << number;
  }
  void value(std::string_view key, double number) {
    out_ << YAML::Key << std::string(key) << YAML::Value << detail::format_number(number);
  }
  void value(std::string_view key, bool flag) {
    out_ << YAML::Key << std::string(key) << YAML::Value << YAML::TrueFalseBool << flag;
  }
  template <class E, class = decltype(to_string(E{}))>
  void value(std::string_view key, E enumerator) {
    out_ << YAML::Key << std::string(key) << YAML::Value << std::string(to_string(enumerator));
  }

  template <class T>
  void list(std::string_view key, const std::vector<T>& items) {
    out_ << YAML::Key << std::string(key) << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : items) {
      if constexpr (std::is_same_v<T, std::string>) {
        out_ << YAML::DoubleQuoted << item;
      } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
        out_ << YAML::DoubleQuoted << item.string();
      } else {
        out_ << std::string(to_string(item));
      }
    }
    out_ << YAML::EndSeq;
  }

  // A block list of mappings; write_item writes one mapping's keys.
  template <class T, class WriteItem>
  void mappings(std::string_view key, const std::vector<T>& items, WriteItem write_item) {
    out_ << YAML::Key << std::string(key) << YAML::Value;
    if (items.empty()) {
      out_ << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      return;
    }
    out_ << YAML::BeginSeq;
    for (const auto& item : items) {
      out_ << YAML::BeginMap;
      write_item(item);
      out_ << YAML::EndMap;
    }
    out_ << YAML::EndSeq;
  }

  std::string finish() {
    out_ << YAML::EndMap;
    return std::string(out_.c_str()) + "\n";
  }

 private:
  YAML::Emitter out_;
};

void write_node(Writer& w, const NodeConfig& node) {
  w.begin("node");
  w.value("name", node.name);
  w.value("ae_title", node.ae_title);
  w.value("bind_address", node.bind_address);
  w.value("port", node.port);
  w.value("max_associations", node.max_associations);
  w.value("max_associations_per_source", node.max_associations_per_source);
  w.value("max_pending_connections", node.max_pending_connections);
  w.value("acse_timeout_s", node.acse_timeout_s);
  w.value("dimse_timeout_s", node.dimse_timeout_s);
  w.value("stall_timeout_s", node.stall_timeout_s);
  w.value("max_pdu", node.max_pdu);
  w.value("lease_s", node.lease_s);
  w.value("heartbeat_s", node.heartbeat_s);
  w.mappings("allowed_callers", node.allowed_callers, [&](const AllowedCaller& caller) {
    w.value("ae_title", caller.ae_title);
    w.value("host", caller.host);
  });
  w.begin("tls");
  w.value("enabled", node.tls.enabled);
  w.value("port", node.tls.port);
  w.value("certificate", node.tls.certificate);
  w.value("private_key", node.tls.private_key);
  w.list("trusted_cas", node.tls.trusted_cas);
  w.value("require_client_certificate", node.tls.require_client_certificate);
  w.value("only", node.tls.only);
  w.end();
  w.end();
}

void write_storage(Writer& w, const StorageConfig& storage, bool mask_secrets) {
  w.begin("storage");
  w.value("spool_dir", storage.spool_dir);
  w.value("journal_dir", storage.journal_dir);
  w.value("state_backend", storage.state_backend);
  w.value("state_db", storage.state_db);
  w.begin("postgresql");
  w.value("conninfo", mask_secrets ? masked_conninfo(storage.postgresql.conninfo)
                                   : storage.postgresql.conninfo);
  w.value("password_file", storage.postgresql.password_file);
  w.end();
  w.value("results_dir", storage.results_dir);
  w.value("min_free_disk_mb", storage.min_free_disk_mb);
  w.value("retention_days", storage.retention_days);
  w.value("unrouted_retention_hours", storage.unrouted_retention_hours);
  w.value("summary_retention_days", storage.summary_retention_days);
  w.end();
}

void write_study_completion(Writer& w, const StudyCompletionConfig& completion) {
  w.begin("study_completion");
  w.value("series_quiet_s", completion.series_quiet_s);
  w.value("study_quiet_s", completion.study_quiet_s);
  w.value("max_wait_s", completion.max_wait_s);
  w.end();
}

void write_routing(Writer& w, const RoutingConfig& routing) {
  w.begin("routing");
  w.mappings("rules", routing.rules, [&](const RoutingRule& rule) {
    w.value("name", rule.name);
    w.list("modalities", rule.modalities);
    w.list("calling_ae_titles", rule.calling_ae_titles);
    w.list("body_part_patterns", rule.body_part_patterns);
    w.list("series_description_patterns", rule.series_description_patterns);
    w.value("action", rule.action);
  });
  w.end();
}

void write_destinations(Writer& w, const std::vector<Destination>& destinations) {
  w.mappings("destinations", destinations, [&](const Destination& destination) {
    w.value("name", destination.name);
    w.value("ae_title", destination.ae_title);
    w.value("host", destination.host);
    w.value("port", destination.port);
    w.value("tls", destination.tls);
    w.list("accepts", destination.accepts);
  });
}

void write_delivery(Writer& w, const DeliveryConfig& delivery) {
  w.begin("delivery");
  w.value("initial_backoff_s", delivery.initial_backoff_s);
  w.value("max_backoff_s", delivery.max_backoff_s);
  w.value("max_attempts", delivery.max_attempts);
  w.end();
}

void write_http(Writer& w, const HttpConfig& http, bool mask_secrets) {
  w.begin("http");
  w.value("enabled", http.enabled);
  w.value("bind_address", http.bind_address);
  w.value("port", http.port);
  if (http.token_file.empty()) {
    const bool mask = mask_secrets && !http.token.empty();
    w.value("token", mask ? std::string(kMasked) : http.token);
  }
  w.value("token_file", http.token_file);
  w.value("max_connections", http.max_connections);
  w.value("timeout_s", http.timeout_s);
  w.end();
}

void write_processing(Writer& w, const ProcessingConfig& processing) {
  w.begin("processing");
  w.value("workers", processing.workers);
  w.value("segmentation_backend", processing.segmentation_backend);
  w.list("external_command", processing.external_command);
  w.value("external_timeout_s", processing.external_timeout_s);
  w.value("job_time_limit_s", processing.job_time_limit_s);
  w.value("external_liver_label", processing.external_liver_label);
  w.value("reference_phase", processing.reference_phase);
  w.end();
}

void write_clinical(Writer& w, const ClinicalConfig& clinical) {
  w.begin("clinical");
  w.value("bsa_formula", clinical.bsa_formula);
  w.value("eslv_formula", clinical.eslv_formula);
  w.value("liver_condition", clinical.liver_condition);
  w.begin("flr_thresholds_percent");
  w.value("normal", clinical.flr_thresholds_percent.normal);
  w.value("chemotherapy", clinical.flr_thresholds_percent.chemotherapy);
  w.value("cirrhosis", clinical.flr_thresholds_percent.cirrhosis);
  w.end();
  w.value("tumour_burden_limit_percent", clinical.tumour_burden_limit_percent);
  w.value("ablation_max_lesions", clinical.ablation_max_lesions);
  w.value("ablation_max_diameter_mm", clinical.ablation_max_diameter_mm);
  w.value("recist_measurable_mm", clinical.recist_measurable_mm);
  w.value("disclaimer", clinical.disclaimer);
  w.end();
}

void write_logging(Writer& w, const LoggingConfig& logging) {
  w.begin("logging");
  w.value("level", logging.level);
  w.value("file", logging.file);
  w.value("format", logging.format);
  w.end();
}

}  // namespace

std::string effective_config_yaml(const Config& config, bool mask_secrets) {
  Writer w;
  write_node(w, config.node);
  write_storage(w, config.storage, mask_secrets);
  write_study_completion(w, config.study_completion);
  write_routing(w, config.routing);
  write_destinations(w, config.destinations);
  write_delivery(w, config.delivery);
  write_http(w, config.http, mask_secrets);
  write_processing(w, config.processing);
  write_clinical(w, config.clinical);
  write_logging(w, config.logging);
  return w.finish();
}

}  // namespace livernode::config
