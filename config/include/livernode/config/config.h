#pragma once
// The node's configuration as plain structs. Every member carries its default, so a
// default-constructed Config is what an empty configuration file means.
//
// Paths: default_config() returns paths exactly as written here (relative ones relative to
// the directory a config would be read from). load_config_file() / load_config_string()
// return every path absolute: a relative path in a file is resolved against the directory of
// that file; for a string, against the current directory. See loader.h.

#include <filesystem>
#include <string>
#include <vector>

#include "livernode/config/enums.h"

namespace livernode::config {

// A peer allowed to open associations. An empty field matches anything, but not both.
struct AllowedCaller {
  std::string ae_title;  // calling AE title; empty = any
  std::string host;      // IPv4/IPv6 address or CIDR block (see host_pattern.h); empty = any
};

struct TlsConfig {
  bool enabled = false;
  int port = 2762;                                 // DICOM-TLS listener, beside the plain port
  std::filesystem::path certificate;               // PEM certificate of this node
  std::filesystem::path private_key;               // PEM private key, unencrypted
  std::vector<std::filesystem::path> trusted_cas;  // PEM CA certificates for peers
  bool require_client_certificate = false;
  bool only = false;  // true: no plain listener on node.port, every association uses TLS
};

struct NodeConfig {
  // The node's name in logs and /api/node, unique among the nodes of a site; empty = the host
  // name (see node_name()).
  std::string name;
  std::string ae_title = "LIVERNODE";
  std::string bind_address = "0.0.0.0";
  int port = 11112;
  int max_associations = 8;
  // Associations one source address may hold at once; 0 = one fewer than max_associations
  // (at least 1), so that no single address takes every slot.
  int max_associations_per_source = 0;
  // Connections accepted whose association request has not arrived yet (TLS handshake,
  // A-ASSOCIATE-RQ); each has acse_timeout_s to send it. A new connection beyond this closes
  // the one that has waited longest.
  int max_pending_connections = 64;
  int acse_timeout_s = 30;
  int dimse_timeout_s = 60;
  // An association whose peer has sent nothing for this long while the node waits for it is
  // stalled: it gives up its slot (A-ABORT) when a new association needs one.
  int stall_timeout_s = 10;
  int max_pdu = 65536;  // bytes; DCMTK accepts 4096-131072
  // Nodes sharing one PostgreSQL state: an analysis job or a delivery a node has claimed is
  // its own for lease_s seconds, renewed every heartbeat_s while the node lives; another node
  // takes over what a node that stopped renewing (killed, cut off) held once the lease ran out.
  // The node's heartbeat is also what the cluster view shows. Harmless with SQLite.
  int lease_s = 60;
  int heartbeat_s = 10;                        // less than lease_s
  std::vector<AllowedCaller> allowed_callers;  // empty = anyone may store
  TlsConfig tls;
};

// The PostgreSQL database of storage.state_backend postgresql.
struct PostgresqlConfig {
  // A libpq connection string (key=value pairs or a postgresql:// URI), e.g.
  // "host=127.0.0.1 port=5432 dbname=livernode user=livernode".
  std::string conninfo;
  // A file holding the password (surrounding whitespace removed); read when the configuration
  // is loaded into `password`, which is never written out or logged.
  std::filesystem::path password_file;
  std::string password;
};

struct StorageConfig {
  std::filesystem::path spool_dir = "var/spool";
  // The node's own ingest journal (never shared between nodes, unlike a spool on a shared file
  // system); empty = spool_dir/.journal.
  std::filesystem::path journal_dir;
  StateBackend state_backend = StateBackend::sqlite;
  std::filesystem::path state_db = "var/state.sqlite";  // the SQLite file (backend sqlite)
  PostgresqlConfig postgresql;                          // the database (backend postgresql)
  std::filesystem::path results_dir = "var/results";
  int min_free_disk_mb = 1024;  // refuse new instances below this much free space
  int retention_days = 7;       // keep processed studies and results; 0 = delete once delivered
  int unrouted_retention_hours = 24;  // keep studies no rule analyses; 0 = delete at once
  // Keep each analysis' summary.json (measurements and UIDs, no images) this long after its
  // study was purged, so that a later study of the patient can still be compared with it.
  int summary_retention_days = 730;  // 0 = delete with the rest
};

// When a study counts as complete and is handed to a worker.
struct StudyCompletionConfig {
  int series_quiet_s = 30;  // a series is complete after this long without a new instance
  int study_quiet_s = 60;   // the study is complete after this long without a new instance
  int max_wait_s = 600;     // processing starts at the latest this long after the first instance
};

// A routing rule; rules are tried in order and the first match decides. Empty lists match
// anything. Patterns are regular expressions (see pattern.h): case-insensitive, matched
// anywhere in the value unless anchored with ^ and $.
struct RoutingRule {
  std::string name;
  std::vector<std::string> modalities;  // DICOM Modality codes, upper case
  std::vector<std::string> calling_ae_titles;
  std::vector<std::string> body_part_patterns;           // against BodyPartExamined
  std::vector<std::string> series_description_patterns;  // against SeriesDescription
  RuleAction action = RuleAction::analyse;
};

// The default: CT and MR analysed (an MR study is analysed from its T1 dynamic run; every other
// MR series is listed with its role).
struct RoutingConfig {
  std::vector<RoutingRule> rules = {
      RoutingRule{"analyse-ct-mr", {"CT", "MR"}, {}, {}, {}, RuleAction::analyse}};
};

// A DICOM peer that receives results by C-STORE.
struct Destination {
  std::string name;  // unique; letters, digits, '.', '_' and '-'
  std::string ae_title;
  std::string host;  // host name or IP address
  int port = 104;
  bool tls = false;
  std::vector<ResultKind> accepts = {ResultKind::seg, ResultKind::sr, ResultKind::summary};

  bool accepts_kind(ResultKind kind) const;
};

// Retry policy of the exporter: the wait doubles after every failed attempt.
struct DeliveryConfig {
  int initial_backoff_s = 5;
  int max_backoff_s = 600;
  int max_attempts = 10;
};

struct HttpConfig {
  bool enabled = true;
  std::string bind_address = "127.0.0.1";
  int port = 8080;
  // Bearer token for the status endpoints; empty = no authentication. When token_file is
  // set, token holds that file's content (surrounding whitespace removed).
  std::string token;
  std::filesystem::path token_file;
  int max_connections = 64;  // served at once; beyond, the one idle longest is closed
  int timeout_s = 10;        // to read a request, and to write its response
};

struct ProcessingConfig {
  int workers = 1;
  SegmentationBackend segmentation_backend = SegmentationBackend::builtin;
  std::vector<std::string> external_command;  // argv; argv[0] resolved like other paths
  int external_timeout_s = 600;
  // An analysis still running after this many seconds is failed and its worker replaced (a
  // hung file system, a program that never returns); 0 = no limit.
  int job_time_limit_s = 1800;
  int external_liver_label = 1;  // value of the liver in the label map the program returns
  ReferencePhase reference_phase = ReferencePhase::automatic;
};

// Minimum standardised future liver remnant (FLR / ESLV) before major hepatectomy.
struct FlrThresholdsPercent {
  double normal = 20.0;
  double chemotherapy = 30.0;
  double cirrhosis = 40.0;
};

struct ClinicalConfig {
  BsaFormula bsa_formula = BsaFormula::mosteller;
  EslvFormula eslv_formula = EslvFormula::vauthey;
  LiverCondition liver_condition = LiverCondition::normal;
  FlrThresholdsPercent flr_thresholds_percent;
  double tumour_burden_limit_percent = 50.0;
  int ablation_max_lesions = 5;
  double ablation_max_diameter_mm = 50.0;
  double recist_measurable_mm = 10.0;
  std::string disclaimer = "Not for diagnostic use without review by a qualified physician.";

  // The FLR threshold that applies to liver_condition.
  double flr_threshold_percent() const;
};

struct LoggingConfig {
  LogLevel level = LogLevel::info;
  std::filesystem::path file;  // empty = standard error
  LogFormat format = LogFormat::text;
};

struct Config {
  NodeConfig node;
  StorageConfig storage;
  StudyCompletionConfig study_completion;
  RoutingConfig routing;
  std::vector<Destination> destinations;
  DeliveryConfig delivery;
  HttpConfig http;
  ProcessingConfig processing;
  ClinicalConfig clinical;
  LoggingConfig logging;
};

// The built-in defaults, paths unresolved (as written above).
Config default_config();

// storage.journal_dir, or spool_dir/.journal when it is empty.
std::filesystem::path journal_dir(const StorageConfig& storage);

// node.name, or the host name when it is empty.
std::string node_name(const NodeConfig& node);

// A libpq connection string with its password (a password=... pair, or the password of a
// postgresql:// URI) replaced by ***, for logs and printed configurations.
std::string masked_conninfo(const std::string& conninfo);

}  // namespace livernode::config
