// docker/: the files an administrator starts with `docker compose up` must agree with each other
// and with the binary. No container engine is needed: the node configuration is validated by
// the real `livernode check-config` and the Orthanc configuration is parsed (the runtime stage
// of the Dockerfile: tests/integration/test_docker_runtime_stage.cpp).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "livernode/config/loader.h"
#include "orthanc_peer.h"
#include "test_support.h"

namespace fs = std::filesystem;
using livernode::test::make_temp_dir;
using livernode::test::run_command;

namespace {

const fs::path kDocker = fs::path(LIVERNODE_SOURCE_DIR) / "docker";

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << "cannot read " << file;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

class DockerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("livernode-docker");
    // The container paths live under /var/lib/livernode; here they move into the temp folder.
    std::string yaml = read_text(kDocker / "livernode.yaml");
    ASSERT_TRUE(contains(yaml, "/var/lib/livernode/"));
    for (auto at = yaml.find("/var/lib/livernode/"); at != std::string::npos;
         at = yaml.find("/var/lib/livernode/", at))
      yaml.replace(at, 19, (dir_ / "v").string() + "/");
    config_path_ = dir_ / "livernode.yaml";
    std::ofstream(config_path_) << yaml;
    const auto loaded = livernode::config::load_config_file(config_path_);
    ASSERT_TRUE(loaded.ok()) << run_command(std::string(LIVERNODE_BINARY) + " check-config " +
                                            config_path_.string())
                                    .output;
    config_ = loaded.config;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  fs::path config_path_;
  livernode::config::Config config_;
};

TEST_F(DockerFiles, NodeConfigurationIsValidAndListensInsideTheContainer) {
  const auto checked =
      run_command(std::string(LIVERNODE_BINARY) + " check-config " + config_path_.string());
  EXPECT_EQ(checked.status, 0) << checked.output;
  EXPECT_EQ(config_.http.bind_address, "0.0.0.0");
  EXPECT_TRUE(config_.http.enabled);
  EXPECT_EQ(config_.node.bind_address, "0.0.0.0");
  // Volumes of the compose file hold the spool, the state store and the results.
  EXPECT_EQ(config_.storage.spool_dir, dir_ / "v/spool");
  EXPECT_EQ(config_.storage.state_db, dir_ / "v/state/state.sqlite");
  EXPECT_EQ(config_.storage.results_dir, dir_ / "v/results");
  const std::string compose = read_text(kDocker / "compose.yaml");
  for (const char* mount :
       {":/var/lib/livernode/spool", ":/var/lib/livernode/state", ":/var/lib/livernode/results"})
    EXPECT_TRUE(contains(compose, mount)) << "compose.yaml lacks the volume " << mount;
}

TEST_F(DockerFiles, OrthancRoutesCtToTheNodeAndTheNodeSendsResultsBack) {
  const auto orthanc = nlohmann::json::parse(read_text(kDocker / "orthanc.json"), nullptr,
                                             /*allow_exceptions=*/true, /*ignore_comments=*/true);
  // The node's destination is the Orthanc.
  ASSERT_EQ(config_.destinations.size(), 1u);
  const auto& pacs = config_.destinations.front();
  EXPECT_EQ(pacs.host, "orthanc") << "the compose service name";
  EXPECT_EQ(pacs.ae_title, orthanc.at("DicomAet").get<std::string>());
  EXPECT_EQ(pacs.port, orthanc.at("DicomPort").get<int>());
  for (auto kind : {livernode::config::ResultKind::seg, livernode::config::ResultKind::sr,
                    livernode::config::ResultKind::summary, livernode::config::ResultKind::pdf})
    EXPECT_TRUE(pacs.accepts_kind(kind));
  // The Orthanc may call the node.
  bool orthanc_allowed = config_.node.allowed_callers.empty();
  for (const auto& c : config_.node.allowed_callers)
    orthanc_allowed |= c.ae_title == pacs.ae_title && c.host.empty();
  EXPECT_TRUE(orthanc_allowed) << "node.allowed_callers must admit " << pacs.ae_title;

  // The Orthanc knows the node as a modality, and its Lua script sends CT there.
  const auto& modality = orthanc.at("DicomModalities").at("livernode");
  EXPECT_EQ(modality.at(0).get<std::string>(), config_.node.ae_title);
  EXPECT_EQ(modality.at(1).get<std::string>(), "livernode") << "the compose service name";
  EXPECT_EQ(modality.at(2).get<int>(), config_.node.port);
  const auto scripts = orthanc.at("LuaScripts");
  ASSERT_EQ(scripts.size(), 1u);
  const std::string script_path = scripts.at(0).get<std::string>();
  const std::string compose = read_text(kDocker / "compose.yaml");
  EXPECT_TRUE(contains(compose, "./livernode-routing.lua:" + script_path + ":ro"));
  EXPECT_TRUE(contains(compose, "./orthanc.json:/etc/orthanc/orthanc.json:ro"));
  const std::string lua = read_text(kDocker / "livernode-routing.lua");
  EXPECT_TRUE(contains(lua, "function OnStoredInstance(instanceId, tags, metadata, origin)"));
  EXPECT_TRUE(contains(lua, "tags['Modality'] == 'CT'"));
  EXPECT_TRUE(contains(lua, "SendToModality(instanceId, 'livernode')"));
  // Results coming back from the node must not be routed again.
  EXPECT_TRUE(contains(lua, "origin['RemoteAet'] ~= '" + config_.node.ae_title + "'"));

  // Health checks and published ports agree with the configuration.
  const std::string healthz = "http://127.0.0.1:" + std::to_string(config_.http.port) + "/healthz";
  EXPECT_TRUE(contains(compose, healthz));
  const std::string dockerfile = read_text(kDocker / "Dockerfile");
  EXPECT_TRUE(contains(dockerfile, healthz));
  const std::string dicom = std::to_string(config_.node.port);
  const std::string http = std::to_string(config_.http.port);
  EXPECT_TRUE(contains(compose, ":" + dicom + ":" + dicom + "\""));
  EXPECT_TRUE(contains(compose, ":" + http + ":" + http + "\""));
  EXPECT_TRUE(contains(dockerfile, "EXPOSE " + dicom + " " + http));
}

// docker/compose.cluster.yaml: two nodes on one PostgreSQL state behind HAProxy. Their
// configuration is valid (the database is not reached: check-config --offline), they share the
// spool and results volumes and each has its own journal volume, HAProxy sends DICOM to both, and
// the Orthanc sends to HAProxy.
TEST_F(DockerFiles, ClusterComposeSharesTheStateAndSpoolAndGivesEachNodeItsJournal) {
  std::string yaml = read_text(kDocker / "livernode-cluster.yaml");
  for (auto at = yaml.find("/var/lib/livernode/"); at != std::string::npos;
       at = yaml.find("/var/lib/livernode/", at))
    yaml.replace(at, 19, (dir_ / "c").string() + "/");
  const std::string secret = "/run/secrets/postgres-password";
  ASSERT_TRUE(contains(yaml, secret));
  yaml.replace(yaml.find(secret), secret.size(), (dir_ / "pg-password").string());
  std::ofstream(dir_ / "pg-password") << "secret\n";
  std::ofstream(dir_ / "cluster.yaml") << yaml;
  const auto checked = run_command(std::string(LIVERNODE_BINARY) + " check-config --offline " +
                                   (dir_ / "cluster.yaml").string());
  EXPECT_EQ(checked.status, 0) << checked.output;
  const auto loaded = livernode::config::load_config_file(dir_ / "cluster.yaml");
  ASSERT_TRUE(loaded.ok());
  const auto& c = loaded.config;
  EXPECT_EQ(c.storage.state_backend, livernode::config::StateBackend::postgresql);
  EXPECT_TRUE(c.node.name.empty()) << "each node is named by its container's host name";
  EXPECT_EQ(c.storage.journal_dir, dir_ / "c/journal");
  EXPECT_LT(c.node.heartbeat_s, c.node.lease_s);

  const std::string compose = read_text(kDocker / "compose.cluster.yaml");
  EXPECT_TRUE(contains(compose, "./livernode-cluster.yaml:/etc/livernode/livernode.yaml:ro"));
  for (const char* node : {"livernode-a", "livernode-b"}) {
    EXPECT_TRUE(contains(compose, std::string("hostname: ") + node)) << node;
    EXPECT_TRUE(contains(compose, std::string(node) + "-journal:/var/lib/livernode/journal"))
        << node << " has no journal volume of its own";
  }
  EXPECT_TRUE(contains(compose, "livernode-spool:/var/lib/livernode/spool"));
  EXPECT_TRUE(contains(compose, "livernode-results:/var/lib/livernode/results"));
  EXPECT_TRUE(contains(compose, "POSTGRES_DB: livernode"));
  EXPECT_TRUE(contains(compose, "POSTGRES_USER: livernode"));
  EXPECT_TRUE(contains(c.storage.postgresql.conninfo, "host=postgres"));

  const std::string haproxy = read_text(kDocker / "haproxy.cfg");
  const std::string port = std::to_string(c.node.port);
  EXPECT_TRUE(contains(haproxy, "bind :" + port));
  EXPECT_TRUE(contains(haproxy, "balance roundrobin"));
  EXPECT_TRUE(contains(haproxy, "server livernode-a livernode-a:" + port));
  EXPECT_TRUE(contains(haproxy, "server livernode-b livernode-b:" + port));
  EXPECT_TRUE(contains(haproxy, "check port " + std::to_string(c.http.port)));

  const auto orthanc = nlohmann::json::parse(read_text(kDocker / "orthanc-cluster.json"));
  const auto& modality = orthanc.at("DicomModalities").at("livernode");
  EXPECT_EQ(modality.at(0).get<std::string>(), c.node.ae_title);
  EXPECT_EQ(modality.at(1).get<std::string>(), "haproxy") << "the compose service name";
  EXPECT_EQ(modality.at(2).get<int>(), c.node.port);
  EXPECT_TRUE(contains(compose, "./orthanc-cluster.json:/etc/orthanc/orthanc.json:ro"));
  ASSERT_EQ(c.destinations.size(), 1u);
  EXPECT_EQ(c.destinations[0].host, "orthanc");
}

}  // namespace
