#include "livernode/config/summary.h"

#include <sstream>

#include "scalar.h"

namespace livernode::config {

namespace {

std::string plural(std::size_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::size_t count_analysing(const std::vector<RoutingRule>& rules) {
  std::size_t count = 0;
  for (const auto& rule : rules) count += rule.action == RuleAction::analyse ? 1 : 0;
  return count;
}

}  // namespace

std::string summarize(const Config& config) {
  std::ostringstream text;
  const auto& node = config.node;
  if (node.tls.enabled && node.tls.only) {
    text << "DICOM AE " << node.ae_title << " over TLS only on " << node.bind_address << ":"
         << node.tls.port << " (no plain listener)";
  } else {
    text << "DICOM AE " << node.ae_title << " on " << node.bind_address << ":" << node.port;
    if (node.tls.enabled) text << " and TLS port " << node.tls.port;
  }
  text << ", up to " << plural(static_cast<std::size_t>(node.max_associations), "association")
       << ", "
       << (node.allowed_callers.empty() ? std::string("any caller")
                                        : plural(node.allowed_callers.size(), "allowed caller"))
       << ". ";

  text << "Node " << node_name(node) << ". ";
  text << "Spool " << config.storage.spool_dir.string() << ", results "
       << config.storage.results_dir.string();
  if (!config.storage.journal_dir.empty())
    text << ", ingest journal " << config.storage.journal_dir.string();
  text << ", state ";
  if (config.storage.state_backend == StateBackend::postgresql)
    text << "in PostgreSQL (" << masked_conninfo(config.storage.postgresql.conninfo) << "; leases "
         << node.lease_s << " s, heartbeat " << node.heartbeat_s << " s)";
  else
    text << config.storage.state_db.string();
  text << ". ";

  text << plural(config.routing.rules.size(), "routing rule") << " ("
       << count_analysing(config.routing.rules) << " analysing); ";
  if (config.destinations.empty()) {
    text << "no destinations";
  } else {
    text << plural(config.destinations.size(), "destination") << ":";
    for (const auto& destination : config.destinations) {
      text << " " << destination.name << " (" << destination.ae_title << "@" << destination.host
           << ":" << destination.port << (destination.tls ? ", TLS" : "") << ")";
    }
  }
  text << ". ";

  const auto& processing = config.processing;
  text << plural(static_cast<std::size_t>(processing.workers), "worker") << ", "
       << to_string(processing.segmentation_backend) << " segmentation, reference phase "
       << to_string(processing.reference_phase) << ". ";

  const auto& clinical = config.clinical;
  text << "BSA " << to_string(clinical.bsa_formula) << ", ESLV " << to_string(clinical.eslv_formula)
       << ", FLR threshold " << detail::format_number(clinical.flr_threshold_percent()) << " % ("
       << to_string(clinical.liver_condition) << " liver). ";

  if (config.http.enabled) {
    text << "HTTP on " << config.http.bind_address << ":" << config.http.port
         << (config.http.token.empty() ? " without a token" : " with a token");
  } else {
    text << "HTTP off";
  }
  text << "; logging " << to_string(config.logging.level) << " as "
       << to_string(config.logging.format) << " to "
       << (config.logging.file.empty() ? std::string("stderr") : config.logging.file.string())
       << ".";
  return text.str();
}

}  // namespace livernode::config
