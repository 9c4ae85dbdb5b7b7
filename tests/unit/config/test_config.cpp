// Unit tests of the config room: what an admin sees when a configuration file is read.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "livernode/config/config.h"
#include "livernode/config/effective_config.h"
#include "livernode/config/host_pattern.h"
#include "livernode/config/loader.h"
#include "livernode/config/pattern.h"
#include "livernode/config/problem.h"
#include "livernode/config/summary.h"

namespace fs = std::filesystem;
using namespace livernode::config;

namespace {

const fs::path kExampleFile = fs::path(LIVERNODE_SOURCE_DIR) / "config" / "livernode.example.yaml";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() / ("livernode-config-test-" + std::to_string(::getpid()) +
                                        "-" + std::to_string(++counter));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path write(const std::string& name, const std::string& content) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Writes yaml to <dir>/config.yaml and loads it; relative paths land in the temp dir.
  LoadResult load(const std::string& yaml) { return load_config_file(write("config.yaml", yaml)); }

  fs::path dir_;
};

std::string all_problems(const LoadResult& result) {
  std::string text;
  for (const auto& problem : result.problems) text += format_problem(problem, "config.yaml") + "\n";
  return text;
}

const Problem* find_problem(const LoadResult& result, const std::string& key_path) {
  const auto found = std::find_if(result.problems.begin(), result.problems.end(),
                                  [&](const Problem& p) { return p.key_path == key_path; });
  return found == result.problems.end() ? nullptr : &*found;
}

// Expects exactly one problem at key_path, on line, whose message contains text.
void expect_problem(const LoadResult& result, const std::string& key_path, int line,
                    const std::string& text) {
  const auto count = std::count_if(result.problems.begin(), result.problems.end(),
                                   [&](const Problem& p) { return p.key_path == key_path; });
  EXPECT_EQ(count, 1) << "problems at " << key_path << " in:\n" << all_problems(result);
  const Problem* problem = find_problem(result, key_path);
  if (problem == nullptr) return;
  EXPECT_EQ(problem->line, line) << format_problem(*problem, "config.yaml");
  EXPECT_NE(problem->message.find(text), std::string::npos)
      << "'" << text << "' not in: " << format_problem(*problem, "config.yaml");
}

Config defaults_resolved_against(const fs::path& directory) {
  Config config = default_config();
  resolve_relative_paths(config, directory);
  return config;
}

}  // namespace

// --- Defaults and the example file -----------------------------------------------------------

TEST(ConfigExample, ValidatesClean) {
  const LoadResult result = load_config_file(kExampleFile);
  EXPECT_TRUE(result.ok()) << all_problems(result);
}

TEST(ConfigExample, EveryValueIsTheDefault) {
  const LoadResult result = load_config_file(kExampleFile);
  ASSERT_TRUE(result.ok()) << all_problems(result);
  const Config expected = defaults_resolved_against(kExampleFile.parent_path());
  EXPECT_EQ(effective_config_yaml(result.config, false), effective_config_yaml(expected, false));
}

TEST(ConfigExample, DocumentsEveryKeyOfTheEffectiveConfig) {
  std::ifstream stream(kExampleFile);
  const std::string example((std::istreambuf_iterator<char>(stream)),
                            std::istreambuf_iterator<char>());
  std::istringstream effective(effective_config_yaml(default_config(), false));
  for (std::string line; std::getline(effective, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(0, key.find_first_not_of(" -"));
    EXPECT_NE(example.find(key + ":"), std::string::npos) << "example lacks key " << key;
  }
}

TEST_F(ConfigTest, EmptyFileGivesTheDefaults) {
  const LoadResult result = load("");
  ASSERT_TRUE(result.ok()) << all_problems(result);
  const Config& config = result.config;
  EXPECT_EQ(config.node.ae_title, "LIVERNODE");
  EXPECT_EQ(config.node.bind_address, "0.0.0.0");
  EXPECT_EQ(config.node.port, 11112);
  EXPECT_EQ(config.node.max_associations, 8);
  EXPECT_FALSE(config.node.tls.enabled);
  EXPECT_EQ(config.node.tls.port, 2762);
  EXPECT_EQ(config.storage.spool_dir, dir_ / "var" / "spool");
  EXPECT_EQ(config.storage.state_db, dir_ / "var" / "state.sqlite");
  EXPECT_EQ(config.storage.results_dir, dir_ / "var" / "results");
  EXPECT_EQ(config.study_completion.series_quiet_s, 30);
  EXPECT_EQ(config.study_completion.study_quiet_s, 60);
  EXPECT_EQ(config.study_completion.max_wait_s, 600);
  ASSERT_EQ(config.routing.rules.size(), 1u);
  EXPECT_EQ(config.routing.rules[0].modalities, (std::vector<std::string>{"CT", "MR"}));
  EXPECT_EQ(config.routing.rules[0].action, RuleAction::analyse);
  EXPECT_TRUE(config.destinations.empty());
  EXPECT_EQ(config.delivery.max_attempts, 10);
  EXPECT_TRUE(config.http.enabled);
  EXPECT_EQ(config.http.bind_address, "127.0.0.1");
  EXPECT_EQ(config.http.port, 8080);
  EXPECT_EQ(config.processing.segmentation_backend, SegmentationBackend::builtin);
  EXPECT_EQ(config.processing.reference_phase, ReferencePhase::automatic);
  EXPECT_EQ(config.clinical.bsa_formula, BsaFormula::mosteller);
  EXPECT_EQ(config.clinical.eslv_formula, EslvFormula::vauthey);
  EXPECT_DOUBLE_EQ(config.clinical.flr_threshold_percent(), 20.0);
  EXPECT_DOUBLE_EQ(config.clinical.flr_thresholds_percent.cirrhosis, 40.0);
  EXPECT_EQ(config.clinical.disclaimer,
            "Not for diagnostic use without review by a qualified physician.");
  EXPECT_EQ(config.logging.level, LogLevel::info);
  EXPECT_TRUE(config.logging.file.empty());
  EXPECT_EQ(effective_config_yaml(config, false),
            effective_config_yaml(defaults_resolved_against(dir_), false));
}

TEST_F(ConfigTest, CommentsAndEmptySectionsGiveTheDefaults) {
  const LoadResult result = load("# nothing set\nnode:\nstorage: {}\nrouting:\n");
  ASSERT_TRUE(result.ok()) << all_problems(result);
  EXPECT_EQ(effective_config_yaml(result.config, false),
            effective_config_yaml(defaults_resolved_against(dir_), false));
}

TEST_F(ConfigTest, SettingsOverrideTheDefaults) {
  const LoadResult result = load(R"(node:
  ae_title: LIVER_AI
  port: 4242
  allowed_callers:
    - ae_title: PACS1
      host: 10.1.2.3
    - host: 192.168.0.0/16
routing:
  rules:
    - name: skip-scouts
      series_description_patterns: ["scout|topogram"]
      action: ignore
    - name: ct-abdomen
      modalities: [CT]
      body_part_patterns: ["^(abdomen|liver)$"]
destinations:
  - name: pacs
    ae_title: PACS
    host: pacs.example.org
    accepts: [seg, sr]
clinical:
  liver_condition: chemotherapy
  flr_thresholds_percent: {chemotherapy: 25.5}
logging: {level: debug, format: json, file: logs/livernode.log}
)");
  ASSERT_TRUE(result.ok()) << all_problems(result);
  const Config& config = result.config;
  EXPECT_EQ(config.node.ae_title, "LIVER_AI");
  EXPECT_EQ(config.node.port, 4242);
  ASSERT_EQ(config.node.allowed_callers.size(), 2u);
  EXPECT_EQ(config.node.allowed_callers[1].host, "192.168.0.0/16");
  ASSERT_EQ(config.routing.rules.size(), 2u);
  EXPECT_EQ(config.routing.rules[0].action, RuleAction::ignore);
  EXPECT_TRUE(config.routing.rules[0].modalities.empty());
  ASSERT_EQ(config.destinations.size(), 1u);
  EXPECT_EQ(config.destinations[0].port, 104);
  EXPECT_TRUE(config.destinations[0].accepts_kind(ResultKind::sr));
  EXPECT_FALSE(config.destinations[0].accepts_kind(ResultKind::summary));
  EXPECT_DOUBLE_EQ(config.clinical.flr_threshold_percent(), 25.5);
  EXPECT_EQ(config.logging.file, dir_ / "logs" / "livernode.log");
  EXPECT_EQ(config.logging.format, LogFormat::json);
}

// --- Problems, each with its line -----------------------------------------------------------

TEST_F(ConfigTest, ReportsEveryMistakeWithItsLine) {
  const LoadResult result = load(R"(node:
  ae_title: "THIS_AE_TITLE_IS_TOO_LONG"
  port: 70000
  max_associations: abc
storage:
  retention_dayz: 3
study_completion:
  series_quiet_s: 30
logging:
  level: verbose
destinations:
  - name: pacs
    ae_title: PACS
    host: pacs.local
    port: 0
    accepts: [seg, xml]
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.problems.size(), 7u) << all_problems(result);
  expect_problem(result, "node.ae_title", 2, "has 25 characters");
  expect_problem(result, "node.port", 3, "70000 is out of range; expected an integer 1-65535");
  expect_problem(result, "node.max_associations", 4, "expected an integer, got 'abc'");
  expect_problem(result, "storage.retention_dayz", 6, "did you mean 'retention_days'?");
  expect_problem(result, "logging.level", 10,
                 "'verbose' is not one of: trace, debug, info, warn, error");
  expect_problem(result, "destinations[0].port", 15, "0 is out of range");
  expect_problem(result, "destinations[0].accepts[1]", 16,
                 "'xml' is not one of: seg, sr, summary, pdf");

  // Ordered as they appear in the file.
  EXPECT_TRUE(std::is_sorted(result.problems.begin(), result.problems.end(),
                             [](const Problem& a, const Problem& b) { return a.line < b.line; }));
  // A field with a problem keeps its default.
  EXPECT_EQ(result.config.node.port, 11112);
}

TEST_F(ConfigTest, PortOutOfRangeReadsLikeACompilerMessage) {
  const LoadResult result = load("node:\n  port: 70000\n");
  ASSERT_EQ(result.problems.size(), 1u) << all_problems(result);
  EXPECT_EQ(format_problem(result.problems[0], "config.yaml"),
            "config.yaml:2:9: node.port: 70000 is out of range; expected an integer 1-65535");
}

TEST_F(ConfigTest, UnknownKeySuggestsTheClosestKnownKey) {
  const LoadResult result = load("node:\n  ae_tilte: PACS\ndestination: []\n");
  ASSERT_EQ(result.problems.size(), 2u) << all_problems(result);
  EXPECT_EQ(format_problem(result.problems[0], "config.yaml"),
            "config.yaml:2:3: node.ae_tilte: unknown key 'ae_tilte'; did you mean 'ae_title'?");
  expect_problem(result, "destination", 3, "did you mean 'destinations'?");
}

TEST_F(ConfigTest, UnknownKeyWithoutACloseMatchListsTheKnownKeys) {
  const LoadResult result = load("delivery:\n  zzz: 1\n");
  expect_problem(result, "delivery.zzz", 2,
                 "expected one of: initial_backoff_s, max_backoff_s, max_attempts");
}

TEST_F(ConfigTest, UnknownKeysAreFoundInEverySection) {
  const std::vector<std::string> sections = {"node",     "node:\n  tls",
                                             "storage",  "study_completion",
                                             "routing",  "delivery",
                                             "http",     "processing",
                                             "clinical", "clinical:\n  flr_thresholds_percent",
                                             "logging"};
  for (const auto& section : sections) {
    const LoadResult result = load(section + ":\n    qqqqqqqq: 1\n");
    EXPECT_EQ(result.problems.size(), 1u) << section << ":\n" << all_problems(result);
    if (!result.problems.empty()) {
      EXPECT_NE(result.problems[0].message.find("unknown key 'qqqqqqqq'"), std::string::npos);
    }
  }
  const LoadResult rule = load("routing:\n  rules:\n    - name: a\n      qqqqqqqq: 1\n");
  expect_problem(rule, "routing.rules[0].qqqqqqqq", 4, "unknown key");
  const LoadResult destination =
      load("destinations:\n  - {name: a, ae_title: A, host: h, qqqqqqqq: 1}\n");
  expect_problem(destination, "destinations[0].qqqqqqqq", 2, "unknown key");
  const LoadResult caller =
      load("node:\n  allowed_callers:\n    - {host: 10.0.0.1, qqqqqqqq: 1}\n");
  expect_problem(caller, "node.allowed_callers[0].qqqqqqqq", 3, "unknown key");
}

TEST_F(ConfigTest, WrongTypesSayWhatWasExpected) {
  const LoadResult result = load(R"(node:
  port: [1, 2]
  tls:
    enabled: maybe
routing:
  rules:
    - name: r
      modalities: CT
clinical:
  tumour_burden_limit_percent: lots
http: 8080
)");
  EXPECT_EQ(result.problems.size(), 5u) << all_problems(result);
  expect_problem(result, "node.port", 2, "got a list");
  expect_problem(result, "node.tls.enabled", 4, "expected true or false, got 'maybe'");
  expect_problem(result, "routing.rules[0].modalities", 8, "write it as [CT]");
  expect_problem(result, "clinical.tumour_burden_limit_percent", 10,
                 "expected a number, got 'lots'");
  expect_problem(result, "http", 11, "expected a mapping");
}

TEST_F(ConfigTest, BadEnumerationListsTheAllowedValues) {
  const LoadResult result = load(
      "processing:\n  segmentation_backend: nnunet\n  reference_phase: venous\n"
      "clinical:\n  eslv_formula: Vauthey\n");
  expect_problem(result, "processing.segmentation_backend", 2,
                 "'nnunet' is not one of: builtin, external");
  expect_problem(result, "processing.reference_phase", 3,
                 "is not one of: auto, portal_venous, delayed, arterial");
  expect_problem(result, "clinical.eslv_formula", 5, "did you mean 'vauthey'?");
}

TEST_F(ConfigTest, DuplicateDestinationNamesAreReported) {
  const LoadResult result = load(R"(destinations:
  - name: pacs
    ae_title: PACS
    host: 10.0.0.5
  - name: research
    ae_title: RESEARCH
    host: 10.0.0.6
  - name: PACS
    ae_title: PACS2
    host: 10.0.0.7
)");
  ASSERT_EQ(result.problems.size(), 1u) << all_problems(result);
  expect_problem(result, "destinations[2].name", 8,
                 "'PACS' is already used by destinations[0] (line 2)");
}

TEST_F(ConfigTest, DestinationNeedsNameAeTitleAndHost) {
  const LoadResult result = load("destinations:\n  - port: 104\n    accepts: []\n");
  expect_problem(result, "destinations[0].name", 2, "is missing");
  expect_problem(result, "destinations[0].ae_title", 2, "is missing");
  expect_problem(result, "destinations[0].host", 2, "is missing");
  expect_problem(result, "destinations[0].accepts", 3, "is empty");
}

TEST_F(ConfigTest, InvalidRegexIsReportedOnItsLine) {
  const LoadResult result = load(R"(routing:
  rules:
    - name: portal
      series_description_patterns:
        - "portal"
        - "(venous"
      body_part_patterns: ["[abdomen"]
)");
  EXPECT_EQ(result.problems.size(), 2u) << all_problems(result);
  expect_problem(result, "routing.rules[0].series_description_patterns[1]", 6,
                 "invalid regular expression '(venous'");
  expect_problem(result, "routing.rules[0].body_part_patterns[0]", 7,
                 "invalid regular expression '[abdomen'");
}

TEST_F(ConfigTest, PatternsMatchCaseInsensitivelyAnywhere) {
  EXPECT_TRUE(std::regex_search("Abdomen PORTAL venous 1.5mm", compile_pattern("portal")));
  EXPECT_FALSE(std::regex_search("LIVER", compile_pattern("^abdomen$")));
  EXPECT_FALSE(pattern_error("^(abdomen|liver)$").has_value());
  EXPECT_TRUE(pattern_error("(").has_value());
}

TEST_F(ConfigTest, UnusablePathsAreReported) {
  write("plain-file", "not a directory");
  const LoadResult result = load(R"(storage:
  spool_dir: plain-file/spool
  results_dir: /proc/livernode-test/results
  state_db: /proc/livernode-test/state.sqlite
logging:
  file: plain-file
)");
  EXPECT_EQ(result.problems.size(), 3u) << all_problems(result);
  expect_problem(result, "storage.spool_dir", 2,
                 "directory " + (dir_ / "plain-file" / "spool").string() +
                     " does not exist and cannot be created");
  expect_problem(result, "storage.results_dir", 3,
                 "directory /proc/livernode-test/results does not exist and cannot be created");
  expect_problem(result, "storage.state_db", 4, "cannot be created");
  // plain-file is a writable file, which is fine for a log file.
  EXPECT_EQ(find_problem(result, "logging.file"), nullptr);
  // Nothing was created by the check.
  EXPECT_FALSE(fs::exists(dir_ / "var"));
}

TEST_F(ConfigTest, ExistingPathOfTheWrongKindIsReported) {
  fs::create_directories(dir_ / "a-directory");
  write("a-file", "");
  const LoadResult result = load("storage:\n  results_dir: a-file\n  state_db: a-directory\n");
  expect_problem(result, "storage.results_dir", 2, "exists but is not a directory");
  expect_problem(result, "storage.state_db", 3, "is a directory; expected a file");
}

TEST_F(ConfigTest, RelativePathsAreResolvedAgainstTheConfigFileDirectory) {
  fs::create_directories(dir_ / "sub");
  const fs::path file = write("sub/node.yaml", "storage:\n  spool_dir: ../data/spool\n");
  const LoadResult result = load_config_file(file);
  ASSERT_TRUE(result.ok()) << all_problems(result);
  EXPECT_EQ(result.config.storage.spool_dir, dir_ / "data" / "spool");
  EXPECT_EQ(result.config.storage.results_dir, dir_ / "sub" / "var" / "results");
  EXPECT_TRUE(result.config.storage.state_db.is_absolute());
}

TEST_F(ConfigTest, StringIsResolvedAgainstTheCurrentDirectory) {
  const std::string yaml = "storage:\n  spool_dir: " + (dir_ / "spool").string() +
                           "\n  results_dir: " + (dir_ / "results").string() +
                           "\n  state_db: relative/state.sqlite\n";
  const LoadResult result = load_config_string(yaml, "<test>");
  EXPECT_EQ(result.config.storage.spool_dir, dir_ / "spool");
  EXPECT_EQ(result.config.storage.state_db, fs::current_path() / "relative" / "state.sqlite");
}

TEST_F(ConfigTest, TlsEnabledNeedsItsCertificateAndKey) {
  const LoadResult missing = load("node:\n  tls:\n    enabled: true\n");
  EXPECT_EQ(missing.problems.size(), 2u) << all_problems(missing);
  expect_problem(missing, "node.tls.certificate", 3, "TLS is enabled but no certificate");
  expect_problem(missing, "node.tls.private_key", 3, "TLS is enabled but no private key");

  const LoadResult unreadable = load(
      "node:\n  tls:\n    enabled: true\n    certificate: certs/node.pem\n"
      "    private_key: certs/node.key\n    trusted_cas: [certs/ca.pem]\n");
  expect_problem(unreadable, "node.tls.certificate", 4, "does not exist");
  expect_problem(unreadable, "node.tls.private_key", 5, "does not exist");
  expect_problem(unreadable, "node.tls.trusted_cas[0]", 6, "does not exist");

  write("node.pem", "-----BEGIN CERTIFICATE-----\n");
  write("node.key", "-----BEGIN PRIVATE KEY-----\n");
  const LoadResult present = load(
      "node:\n  tls:\n    enabled: true\n    certificate: node.pem\n    private_key: node.key\n");
  EXPECT_TRUE(present.ok()) << all_problems(present);
  EXPECT_EQ(present.config.node.tls.certificate, dir_ / "node.pem");
}

TEST_F(ConfigTest, TlsNeedsTrustedCasToVerifyPeers) {
  write("node.pem", "x");
  write("node.key", "x");
  const LoadResult result = load(R"(node:
  tls:
    enabled: true
    port: 11112
    certificate: node.pem
    private_key: node.key
    require_client_certificate: true
destinations:
  - {name: pacs, ae_title: PACS, host: pacs, tls: true}
)");
  EXPECT_EQ(result.problems.size(), 3u) << all_problems(result);
  expect_problem(result, "node.tls.port", 4, "needs a port of its own");
  expect_problem(result, "node.tls.require_client_certificate", 7, "trusted_cas is empty");
  expect_problem(result, "destinations[0].tls", 9, "trusted_cas is empty");
}

TEST_F(ConfigTest, TlsOnlyNeedsTheTlsListenerAndMayShareThePlainPortNumber) {
  const LoadResult without = load("node:\n  tls:\n    only: true\n");
  ASSERT_EQ(without.problems.size(), 1u) << all_problems(without);
  expect_problem(without, "node.tls.only", 3, "node.tls.enabled is false");
  write("node.pem", "x");
  write("node.key", "x");
  const LoadResult alone = load(
      "node:\n  port: 2762\n  tls:\n    enabled: true\n    only: true\n"
      "    certificate: node.pem\n    private_key: node.key\n");
  EXPECT_TRUE(alone.problems.empty()) << all_problems(alone);
  EXPECT_TRUE(alone.config.node.tls.only);
  // The summary check-config prints names the TLS port alone, not a plain one.
  const std::string summary = summarize(alone.config);
  EXPECT_NE(summary.find("over TLS only"), std::string::npos) << summary;
  EXPECT_NE(summary.find("(no plain listener)"), std::string::npos) << summary;
  EXPECT_EQ(summary.find(" and TLS port"), std::string::npos) << summary;
}

TEST_F(ConfigTest, YamlSyntaxErrorGivesItsPosition) {
  const LoadResult result = load("node:\n  port: 11112\n  ae_title: [LIVER\n");
  ASSERT_EQ(result.problems.size(), 1u) << all_problems(result);
  EXPECT_GE(result.problems[0].line, 3);
  EXPECT_NE(result.problems[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(result.problems[0].key_path, "");
}

TEST_F(ConfigTest, DuplicateKeysAreReported) {
  const LoadResult result = load("node:\n  port: 1000\n  port: 2000\n");
  expect_problem(result, "node.port", 3, "duplicate key 'port' (first written at line 2)");
  EXPECT_EQ(result.config.node.port, 1000);
}

TEST_F(ConfigTest, MoreThanOneDocumentIsReported) {
  const LoadResult result = load("node:\n  port: 1000\n---\nnode:\n  port: 2000\n");
  ASSERT_EQ(result.problems.size(), 1u) << all_problems(result);
  EXPECT_NE(result.problems[0].message.find("2 YAML documents"), std::string::npos);
}

TEST_F(ConfigTest, TopLevelMustBeAMapping) {
  const LoadResult result = load("just some text\n");
  ASSERT_EQ(result.problems.size(), 1u) << all_problems(result);
  EXPECT_EQ(result.problems[0].line, 1);
  EXPECT_NE(result.problems[0].message.find("expected a mapping"), std::string::npos);
}

TEST_F(ConfigTest, MissingFileIsAProblemNotAnException) {
  const LoadResult result = load_config_file(dir_ / "absent.yaml");
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_EQ(result.problems[0].line, 0);
  EXPECT_NE(result.problems[0].message.find("cannot read"), std::string::npos);
  EXPECT_EQ(format_problem(result.problems[0], "absent.yaml").rfind("absent.yaml: cannot read", 0),
            0u);

  const LoadResult directory = load_config_file(dir_);
  ASSERT_EQ(directory.problems.size(), 1u);
  EXPECT_NE(directory.problems[0].message.find("is a directory"), std::string::npos);
}

TEST_F(ConfigTest, AeTitlesFollowTheDicomRules) {
  expect_problem(load("node:\n  ae_title: 'LIVER\\NODE'\n"), "node.ae_title", 2, "backslash");
  expect_problem(load("node:\n  ae_title: '    '\n"), "node.ae_title", 2, "only of spaces");
  expect_problem(load("node:\n  ae_title: ''\n"), "node.ae_title", 2, "is empty");
  expect_problem(load("node:\n  ae_title: ' LIVER'\n"), "node.ae_title", 2, "leading or trailing");
  EXPECT_TRUE(load("node:\n  ae_title: LIVER-NODE_01 X\n").ok());
}

TEST_F(ConfigTest, AllowedCallersTakeAddressesAndCidrBlocks) {
  const LoadResult result = load(R"(node:
  allowed_callers:
    - host: 10.0.0.0/8
    - host: fd00::/8
    - host: pacs.example.org
    - host: 10.0.0.0/33
    - {}
)");
  EXPECT_EQ(result.problems.size(), 3u) << all_problems(result);
  expect_problem(result, "node.allowed_callers[2].host", 5, "not an IP address or CIDR block");
  expect_problem(result, "node.allowed_callers[3].host", 6, "not an IP address or CIDR block");
  expect_problem(result, "node.allowed_callers[4]", 7, "sets neither ae_title nor host");

  const auto block = HostPattern::parse("10.1.0.0/16");
  ASSERT_TRUE(block.has_value());
  EXPECT_TRUE(block->matches("10.1.200.3"));
  EXPECT_TRUE(block->matches("::ffff:10.1.2.3"));
  EXPECT_FALSE(block->matches("10.2.0.1"));
  EXPECT_FALSE(block->matches("not an address"));
  EXPECT_TRUE(HostPattern::parse("192.168.1.20")->matches("192.168.1.20"));
  EXPECT_FALSE(HostPattern::parse("192.168.1.20")->matches("192.168.1.21"));
  EXPECT_TRUE(HostPattern::parse("fd00::/8")->matches("fd12::1"));
  EXPECT_EQ(HostPattern::parse("10.1.0.0/16")->to_string(), "10.1.0.0/16");
}

TEST_F(ConfigTest, BindAddressesMustBeIpAddresses) {
  const LoadResult result = load("node:\n  bind_address: localhost\nhttp:\n  bind_address: '::'\n");
  ASSERT_EQ(result.problems.size(), 1u) << all_problems(result);
  expect_problem(result, "node.bind_address", 2, "is not an IP address");
}

TEST_F(ConfigTest, ModalitiesAreDicomCodes) {
  const LoadResult result =
      load("routing:\n  rules:\n    - name: r\n      modalities: [CT, MRI, ct, ZZ]\n");
  EXPECT_EQ(result.problems.size(), 3u) << all_problems(result);
  expect_problem(result, "routing.rules[0].modalities[1]", 4, "did you mean 'MR'?");
  expect_problem(result, "routing.rules[0].modalities[2]", 4, "did you mean 'CT'?");
  expect_problem(result, "routing.rules[0].modalities[3]", 4, "not a DICOM modality code");
}

TEST_F(ConfigTest, TimersMustBeOrdered) {
  const LoadResult result = load(
      "study_completion:\n  series_quiet_s: 90\n  study_quiet_s: 60\n  max_wait_s: 30\n"
      "delivery:\n  initial_backoff_s: 60\n  max_backoff_s: 10\n");
  EXPECT_EQ(result.problems.size(), 3u) << all_problems(result);
  expect_problem(result, "study_completion.study_quiet_s", 3, "shorter than series_quiet_s (90)");
  expect_problem(result, "study_completion.max_wait_s", 4, "shorter than study_quiet_s (60)");
  expect_problem(result, "delivery.max_backoff_s", 7, "shorter than initial_backoff_s (60)");
}

TEST_F(ConfigTest, TheHeartbeatRenewsALeaseBeforeItRunsOut) {
  const LoadResult result = load("node:\n  lease_s: 10\n  heartbeat_s: 10\n");
  EXPECT_EQ(result.problems.size(), 1u) << all_problems(result);
  expect_problem(result, "node.heartbeat_s", 3, "is not shorter than lease_s (10)");
  const LoadResult ok = load("node:\n  lease_s: 3\n  heartbeat_s: 1\n");
  ASSERT_TRUE(ok.ok()) << all_problems(ok);
  EXPECT_EQ(ok.config.node.lease_s, 3);
  EXPECT_EQ(ok.config.node.heartbeat_s, 1);
}

TEST_F(ConfigTest, TheJournalIsInTheSpoolUnlessItHasAFolderOfItsOwn) {
  const LoadResult in_spool = load("storage:\n  spool_dir: s\n");
  ASSERT_TRUE(in_spool.ok()) << all_problems(in_spool);
  EXPECT_EQ(journal_dir(in_spool.config.storage), in_spool.config.storage.spool_dir / ".journal");
  const LoadResult own = load("storage:\n  spool_dir: s\n  journal_dir: j\n");
  ASSERT_TRUE(own.ok()) << all_problems(own);
  EXPECT_TRUE(own.config.storage.journal_dir.is_absolute());
  EXPECT_EQ(journal_dir(own.config.storage).filename(), "j");
}

TEST_F(ConfigTest, HttpPortMustDifferFromTheDicomPort) {
  expect_problem(load("node: {port: 8080}\n"), "http.port", 1, "is also node.port");
  EXPECT_TRUE(load("node: {port: 8080}\nhttp: {enabled: false}\n").ok());
}

TEST_F(ConfigTest, ConnectionLimitsAndTimeoutsAreReadAndChecked) {
  const LoadResult result = load(
      "node:\n  max_associations: 4\n  max_associations_per_source: 2\n"
      "  max_pending_connections: 100\n  stall_timeout_s: 5\n"
      "http:\n  max_connections: 20\n  timeout_s: 3\n");
  ASSERT_TRUE(result.ok()) << all_problems(result);
  EXPECT_EQ(result.config.node.max_associations_per_source, 2);
  EXPECT_EQ(result.config.node.max_pending_connections, 100);
  EXPECT_EQ(result.config.node.stall_timeout_s, 5);
  EXPECT_EQ(result.config.http.max_connections, 20);
  EXPECT_EQ(result.config.http.timeout_s, 3);
  const LoadResult defaults = load("");
  EXPECT_EQ(defaults.config.node.max_associations_per_source, 0);  // one fewer than the maximum
  EXPECT_EQ(defaults.config.node.max_pending_connections, 64);
  EXPECT_EQ(defaults.config.node.stall_timeout_s, 10);
  EXPECT_EQ(defaults.config.http.max_connections, 64);
  EXPECT_EQ(defaults.config.http.timeout_s, 10);

  expect_problem(load("node:\n  max_associations: 4\n  max_associations_per_source: 5\n"),
                 "node.max_associations_per_source", 3, "more than max_associations (4)");
  expect_problem(load("http:\n  timeout_s: 0\n"), "http.timeout_s", 2, "");
  expect_problem(load("node:\n  max_pending_connections: 0\n"), "node.max_pending_connections", 2,
                 "");
}

TEST_F(ConfigTest, TokenFileIsReadAndTokenIsMasked) {
  write("token.txt", "s3cret-token\n");
  const LoadResult result = load("http:\n  token_file: token.txt\n");
  ASSERT_TRUE(result.ok()) << all_problems(result);
  EXPECT_EQ(result.config.http.token, "s3cret-token");

  const LoadResult both = load("http:\n  token: abc\n  token_file: token.txt\n");
  expect_problem(both, "http.token_file", 3, "set only one of them");

  const LoadResult absent = load("http:\n  token_file: nowhere.txt\n");
  expect_problem(absent, "http.token_file", 2, "does not exist");

  const LoadResult inline_token = load("http:\n  token: abc123\n");
  ASSERT_TRUE(inline_token.ok()) << all_problems(inline_token);
  const std::string masked = effective_config_yaml(inline_token.config, true);
  EXPECT_EQ(masked.find("abc123"), std::string::npos);
  EXPECT_NE(masked.find("token: \"***\""), std::string::npos) << masked;
  EXPECT_NE(effective_config_yaml(inline_token.config, false).find("abc123"), std::string::npos);
}

TEST_F(ConfigTest, StateBackendIsSqliteOrPostgresqlWithAConnectionString) {
  const LoadResult defaults = load("");
  ASSERT_TRUE(defaults.ok()) << all_problems(defaults);
  EXPECT_EQ(defaults.config.storage.state_backend, StateBackend::sqlite);

  expect_problem(load("storage:\n  state_backend: postgres\n"), "storage.state_backend", 2,
                 "did you mean 'postgresql'");
  expect_problem(load("storage:\n  state_backend: postgresql\n"), "storage.postgresql.conninfo", 2,
                 "must be set when storage.state_backend is postgresql");

  write("pg-password", "  s3cret-pw\n");
  const LoadResult pg = load(
      "node:\n  name: node-b\nstorage:\n  state_backend: postgresql\n  postgresql:\n"
      "    conninfo: host=db.example port=5432 dbname=livernode user=livernode\n"
      "    password_file: pg-password\n");
  ASSERT_TRUE(pg.ok()) << all_problems(pg);
  EXPECT_EQ(pg.config.storage.postgresql.password, "s3cret-pw");
  EXPECT_EQ(pg.config.storage.postgresql.password_file, dir_ / "pg-password");
  EXPECT_EQ(node_name(pg.config.node), "node-b");
  const std::string summary = summarize(pg.config);
  EXPECT_NE(summary.find("Node node-b"), std::string::npos) << summary;
  EXPECT_NE(summary.find("PostgreSQL (host=db.example"), std::string::npos) << summary;
  for (const bool masked : {true, false}) {
    const std::string yaml = effective_config_yaml(pg.config, masked);
    EXPECT_EQ(yaml.find("s3cret-pw"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("state_backend: postgresql"), std::string::npos) << yaml;
  }

  expect_problem(load("storage:\n  postgresql:\n    password_file: nowhere\n"),
                 "storage.postgresql.password_file", 3, "does not exist");
  expect_problem(load("node:\n  name: \"a b\"\n"), "node.name", 2, "may hold only");
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(node_name(defaults.config.node), host);
}

TEST(ConfigConninfo, ThePasswordIsMaskedInEveryForm) {
  EXPECT_EQ(masked_conninfo("host=db port=5432 password=s3cret user=x"),
            "host=db port=5432 password=*** user=x");
  EXPECT_EQ(masked_conninfo("host = db password = 'a b\\' c' dbname=x"),
            "host = db password = *** dbname=x");
  EXPECT_EQ(masked_conninfo("postgresql://user:s3cret@db:5432/livernode?sslmode=require"),
            "postgresql://user:***@db:5432/livernode?sslmode=require");
  EXPECT_EQ(masked_conninfo("postgres://db/livernode?user=x&password=s3cret&sslmode=disable"),
            "postgres://db/livernode?user=x&password=***&sslmode=disable");
  EXPECT_EQ(masked_conninfo("host=db dbname=x"), "host=db dbname=x");
}

TEST_F(ConfigTest, ExternalBackendNeedsARunnableCommand) {
  expect_problem(load("processing:\n  segmentation_backend: external\n"),
                 "processing.external_command", 2, "is empty");
  expect_problem(
      load("processing:\n  segmentation_backend: external\n  external_command: [bin/seg.sh]\n"),
      "processing.external_command[0]", 3, "does not exist or is not executable");
  expect_problem(load("processing:\n  segmentation_backend: external\n"
                      "  external_command: [no-such-program-livernode]\n"),
                 "processing.external_command[0]", 3, "not found on PATH");
  const LoadResult ok = load(
      "processing:\n  segmentation_backend: external\n  external_command: [sh, -c, 'exit 0']\n");
  EXPECT_TRUE(ok.ok()) << all_problems(ok);
}

TEST_F(ConfigTest, EffectiveConfigLoadsBackToTheSameConfig) {
  write("token.txt", "t0k3n");
  const LoadResult first = load(R"(node:
  ae_title: ROUND_TRIP
  allowed_callers: [{ae_title: PACS, host: 10.0.0.0/8}]
routing:
  rules:
    - {name: a, modalities: [CT, MR], series_description_patterns: ["p[ou]rtal: \"x\""]}
destinations:
  - {name: pacs, ae_title: PACS, host: 10.0.0.5, port: 4242, accepts: [sr, pdf]}
http: {token_file: token.txt}
processing: {workers: 3}
clinical: {tumour_burden_limit_percent: 47.25, disclaimer: "Research use: only!"}
)");
  ASSERT_TRUE(first.ok()) << all_problems(first);
  const std::string yaml = effective_config_yaml(first.config, false);
  const LoadResult second = load(yaml);
  ASSERT_TRUE(second.ok()) << all_problems(second) << yaml;
  EXPECT_EQ(effective_config_yaml(second.config, false), yaml);
  EXPECT_EQ(second.config.http.token, "t0k3n");
  EXPECT_DOUBLE_EQ(second.config.clinical.tumour_burden_limit_percent, 47.25);
}

TEST_F(ConfigTest, SummaryNamesTheEssentials) {
  const LoadResult result =
      load("destinations:\n  - {name: pacs, ae_title: PACS, host: 10.0.0.5}\n");
  ASSERT_TRUE(result.ok()) << all_problems(result);
  const std::string summary = summarize(result.config);
  EXPECT_NE(summary.find("LIVERNODE"), std::string::npos) << summary;
  EXPECT_NE(summary.find("11112"), std::string::npos) << summary;
  EXPECT_NE(summary.find("pacs (PACS@10.0.0.5:104)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("FLR threshold 20 %"), std::string::npos) << summary;
}

TEST(ConfigProblem, FormatLeavesOutWhatIsUnknown) {
  EXPECT_EQ(format_problem(Problem{0, 0, "", "cannot read"}, "a.yaml"), "a.yaml: cannot read");
  EXPECT_EQ(format_problem(Problem{4, 0, "node", "bad"}, "a.yaml"), "a.yaml:4: node: bad");
  EXPECT_EQ(format_problem(Problem{4, 7, "node.port", "bad"}, "a.yaml"),
            "a.yaml:4:7: node.port: bad");
}
