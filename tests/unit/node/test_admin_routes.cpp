// The administration page's routes (/admin, /, /api/...) through handle_http_request, without a
// socket or a browser.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "livernode/node/http/http_server.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kToken = "adm1n-T0ken-7f3e";

}  // namespace

// The routes, without a browser: the page is public and static, its data needs the token.
TEST(AdminPage, PageIsPublicDataAndConfigNeedTheToken) {
  const fs::path dir = make_temp_dir("livernode-admin-routes");
  config::Config cfg;
  cfg.http.token = kToken;
  node::Runtime rt(std::make_shared<const node::RuntimeConfig>(cfg),
                   std::make_shared<node::SqliteStateStore>(dir / "state.sqlite"));
  const std::string bearer = std::string("Bearer ") + kToken;

  const auto page = node::handle_http_request(rt, "GET", "/admin", "");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>livernode admin</title>"), std::string::npos);
  EXPECT_EQ(page.body.find("innerHTML"), std::string::npos);   // values go in as textContent
  EXPECT_EQ(page.body.find("src=\"http"), std::string::npos);  // no external assets
  bool csp = false;
  for (const auto& [name, value] : page.headers)
    if (name == "Content-Security-Policy" && value.rfind("default-src 'none'", 0) == 0) csp = true;
  EXPECT_TRUE(csp);

  const auto root = node::handle_http_request(rt, "GET", "/", "");
  EXPECT_EQ(root.status, 302);
  ASSERT_EQ(root.headers.size(), 1u);
  EXPECT_EQ(root.headers[0], (std::pair<std::string, std::string>{"Location", "/admin"}));

  for (const char* path : {"/api/config", "/api/outbox/summary", "/api/studies", "/api/node"})
    EXPECT_EQ(node::handle_http_request(rt, "GET", path, "").status, 401) << path;
  const auto config = node::handle_http_request(rt, "GET", "/api/config", bearer);
  EXPECT_EQ(config.status, 200);
  EXPECT_NE(config.body.find("token: \"***\""), std::string::npos) << config.body;
  EXPECT_EQ(config.body.find(kToken), std::string::npos) << config.body;
  const auto summary = node::handle_http_request(rt, "GET", "/api/outbox/summary", bearer);
  EXPECT_EQ(summary.status, 200);
  EXPECT_EQ(summary.body, "{}\n");
  // Which node answers: its name (the host name when node.name is empty) and state backend.
  const auto about = node::handle_http_request(rt, "GET", "/api/node", bearer);
  EXPECT_EQ(about.status, 200);
  const auto node_json = nlohmann::json::parse(about.body);
  EXPECT_EQ(node_json["name"], config::node_name(cfg.node));
  EXPECT_FALSE(node_json["name"].get<std::string>().empty());
  EXPECT_EQ(node_json["state_backend"], "sqlite");
  fs::remove_all(dir);
}

}  // namespace livernode::test
