// The administration page (/admin) end to end: a node with a bearer token and a destination that
// is down, a small phantom study sent with storescu, and the page rendered by headless Chromium
// (its routes without a browser: tests/unit/node/test_admin_routes.cpp).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/node/http/http_server.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/phantom/phantom.h"
#include "node_process.h"
#include "orthanc_peer.h"
#include "serve_test_support.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kToken = "adm1n-T0ken-7f3e";

bool have_chromium() { return run_command("command -v chromium").status == 0; }

// Headless Chromium in a 1400 x 900 window (the width the page is laid out for).
std::string chromium_command(const fs::path& profile) {
  return "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
         "--no-first-run --hide-scrollbars --window-size=1400,900 --user-data-dir=" +
         profile.string() + " --virtual-time-budget=8000 ";
}

// The DOM after the page's scripts ran (up to 8 s of virtual time; fetches pause the clock).
std::string dump_dom(const fs::path& profile, const std::string& url) {
  return run_command(chromium_command(profile) + "--dump-dom '" + url + "' 2>/dev/null").output;
}

// The opening tag of the element with id="`id`".
std::string opening_tag(const std::string& dom, const std::string& id) {
  const auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const auto start = dom.rfind('<', at);
  return dom.substr(start, dom.find('>', at) - start + 1);
}

// A value of the first instance under `dir` (they all share the study's header).
std::string header_value(const fs::path& dir, const DcmTagKey& tag) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    DcmFileFormat ff;
    if (ff.loadFile(OFFilename(e.path().c_str())).bad()) continue;
    OFString v;
    ff.getDataset()->findAndGetOFString(tag, v);
    return v.c_str();
  }
  return {};
}

std::string today_yyyymmdd() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char text[9];
  std::strftime(text, sizeof text, "%Y%m%d", &tm);
  return text;
}

// The element with id="`id`" up to the next <h2 (the page's sections follow each other).
std::string section(const std::string& dom, const std::string& id) {
  const auto start = dom.find("id=\"" + id + "\"");
  if (start == std::string::npos) return {};
  const auto end = dom.find("<h2", start);
  return dom.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The table row (<tr>...</tr>) of `html` that contains `needle`.
std::string row_with(const std::string& html, const std::string& needle) {
  const auto at = html.find(needle);
  if (at == std::string::npos) return {};
  const auto start = html.rfind("<tr", at);
  const auto end = html.find("</tr>", at);
  if (start == std::string::npos || end == std::string::npos) return {};
  return html.substr(start, end - start);
}

}  // namespace

// Finding today's study: two studies sent with storescu, an older one first and then today's;
// /api/studies carries their accession number, date, modality and description (behind the
// token); the page lists today's first, finds either by its accession number, and at 1400 px
// every column, the last error included, is in view. Rendered by headless Chromium as a
// screenshot and as the DOM after its scripts ran.
TEST(AdminPage, FindsTodaysStudyInAScreenshotAt1400Px) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium, as "
                    "scripts/install-deps.sh does); this test renders the admin page in headless "
                    "Chromium";
  const fs::path dir = make_temp_dir("livernode-admin-today");
  const std::string today = today_yyyymmdd();
  auto older_options = tiny_two_phase_study(21);
  older_options.study_date = "20250314";
  older_options.patient_id = "ADMIN-OLDER";
  auto today_options = tiny_two_phase_study(22);
  today_options.study_date = today;
  today_options.patient_id = "ADMIN-TODAY";
  const auto older = phantom::generate_phantom(older_options, dir / "older");
  const auto todays = phantom::generate_phantom(today_options, dir / "today");
  const std::string older_accession = header_value(dir / "older" / "dicom", DCM_AccessionNumber);
  const std::string accession = header_value(dir / "today" / "dicom", DCM_AccessionNumber);
  const std::string description = header_value(dir / "today" / "dicom", DCM_StudyDescription);
  ASSERT_FALSE(accession.empty());
  ASSERT_FALSE(description.empty());
  ASSERT_NE(accession, older_accession);

  NodeProcess node(dir / "node", "", "", std::string("  token: ") + kToken + "\n");
  node.start();
  const std::string auth = std::string("-H 'Authorization: Bearer ") + kToken + "'";
  const auto sent_older = send_with_storescu(node, dir / "older" / "dicom");
  ASSERT_EQ(sent_older.status, 0) << sent_older.output;
  const auto sent_today = send_with_storescu(node, dir / "today" / "dicom");
  ASSERT_EQ(sent_today.status, 0) << sent_today.output;

  // The API: both studies with their header, newest first.
  nlohmann::json studies;
  ASSERT_TRUE(eventually(
      [&] {
        studies = nlohmann::json::parse(node.get("/api/studies", auth), nullptr, false);
        return studies.is_array() && studies.size() == 2 && studies[0]["instances"] == 48 &&
               studies[1]["instances"] == 48;
      },
      30))
      << studies.dump() << node.log();
  EXPECT_EQ(studies[0]["study_instance_uid"], todays.study_uid) << studies.dump();
  EXPECT_EQ(studies[0]["accession_number"], accession);
  EXPECT_EQ(studies[0]["study_date"], today);
  EXPECT_EQ(studies[0]["modality"], "CT");
  EXPECT_EQ(studies[0]["study_description"], description);
  EXPECT_FALSE(studies[0]["study_time"].get<std::string>().empty());
  EXPECT_EQ(studies[1]["study_instance_uid"], older.study_uid);
  EXPECT_EQ(studies[1]["accession_number"], older_accession);
  EXPECT_EQ(studies[1]["study_date"], "20250314");
  // Behind the token, like the rest of the API; and never in the log above debug level.
  EXPECT_EQ(node.status_of("/api/studies"), 401);
  EXPECT_EQ(node.log().find(accession), std::string::npos);

  // The screenshot: a 1400 x 900 PNG with the page on it (not a blank page).
  const std::string url = node.url("/admin#token=") + kToken;
  const fs::path png = dir / "admin.png";
  const auto shot = run_command(chromium_command(dir / "chromium") +
                                "--screenshot=" + png.string() + " '" + url + "' 2>&1");
  ASSERT_TRUE(fs::exists(png)) << shot.output;
  // Its size, its colours and the share of pixels that are not near white.
  const auto checked = run_python_script(dir, "png_check.py", R"PY(
import sys
from PIL import Image
img = Image.open(sys.argv[1]).convert('RGB')
w, h = img.size
colours = img.getcolors(maxcolors=1 << 20) or []
light = sum(n for n, c in colours if min(c) >= 240)
print(w, h, len(colours), round(1 - light / (w * h), 4))
)PY",
                                         png.string());
  ASSERT_EQ(checked.status, 0) << checked.output;
  std::istringstream measured(checked.output);
  int width = 0, height = 0, colours = 0;
  double ink = 0;
  measured >> width >> height >> colours >> ink;
  EXPECT_EQ(width, 1400) << checked.output;
  EXPECT_EQ(height, 900) << checked.output;
  EXPECT_GT(colours, 16) << "a blank page: " << checked.output;
  EXPECT_GT(ink, 0.01) << "a blank page: " << checked.output;
  std::cout << "admin page screenshot (width height colours non-white share): " << checked.output;
  // LIVERNODE_ADMIN_SCREENSHOT=FILE keeps a copy to look at.
  if (const char* keep = std::getenv("LIVERNODE_ADMIN_SCREENSHOT"))
    fs::copy_file(png, keep, fs::copy_options::overwrite_existing);

  // The DOM at the same size: today's study first, with its header; the last error column
  // there, and no table wider than the window (the page marks one that scrolls).
  const std::string dom = dump_dom(dir / "chromium", url);
  ASSERT_NE(dom.find("data-loaded=\"true\""), std::string::npos) << dom;
  const std::string list = section(dom, "studies");
  const auto today_at = list.find(accession), older_at = list.find(older_accession);
  ASSERT_NE(today_at, std::string::npos) << list;
  ASSERT_NE(older_at, std::string::npos) << list;
  EXPECT_LT(today_at, older_at) << "today's study is listed first";
  const std::string row = row_with(list, accession);
  const std::string date = today.substr(0, 4) + "-" + today.substr(4, 2) + "-" + today.substr(6, 2);
  EXPECT_NE(row.find(date), std::string::npos) << row;
  EXPECT_NE(row.find(">CT<"), std::string::npos) << row;
  EXPECT_NE(row.find(description), std::string::npos) << row;
  EXPECT_NE(row.find(todays.study_uid), std::string::npos) << row;
  EXPECT_NE(list.find("<th>last error</th>"), std::string::npos) << list;
  for (const char* id : {"studies", "jobs", "deliveries"})
    EXPECT_EQ(opening_tag(dom, id), std::string("<div id=\"") + id + "\" class=\"data\">")
        << id << " is wider than a 1400 px window";
  EXPECT_EQ(dom.find(kToken), std::string::npos);

  // The search box, filled from a link: only the older study.
  const std::string found = dump_dom(dir / "chromium", url + "&q=" + older_accession);
  const std::string found_list = section(found, "studies");
  EXPECT_NE(found_list.find(older_accession), std::string::npos) << found_list;
  EXPECT_EQ(found_list.find(accession), std::string::npos) << found_list;
  EXPECT_NE(found.find("1 of 2 studies match"), std::string::npos)
      << section(found, "studies-search");

  EXPECT_EQ(node.stop(), 0);
  if (!HasFailure()) fs::remove_all(dir);
}

TEST(AdminPage, ShowsStudiesJobsOutboxAndConfigAndRequeuesDeadLetters) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium); the admin page test "
                    "renders the page in headless Chromium";
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path dir = make_temp_dir("livernode-admin");

  const auto truth = phantom::generate_phantom(tiny_two_phase_study(11), dir / "study");

  // Nothing listens on the destination's port: every delivery fails, twice, then is dead.
  const int down_port = free_tcp_port();
  const std::string destination =
      "destinations:\n  - name: downpacs\n    ae_title: DOWNPACS\n"
      "    host: 127.0.0.1\n    port: " +
      std::to_string(down_port) + "\n    accepts: [seg, sr, summary, pdf]\n";
  NodeProcess node(
      dir / "node", "",
      destination + "delivery:\n  initial_backoff_s: 1\n  max_backoff_s: 1\n  max_attempts: 2\n",
      std::string("  token: ") + kToken + "\n");
  node.start();
  const std::string auth = std::string("-H 'Authorization: Bearer ") + kToken + "'";

  const auto sent = send_with_storescu(node, dir / "study" / "dicom");
  ASSERT_EQ(sent.status, 0) << sent.output;

  // The analysis runs, its results are queued for the destination and all end up dead.
  nlohmann::json dead;
  ASSERT_TRUE(eventually(
      [&] {
        const auto jobs = nlohmann::json::parse(node.get("/api/jobs", auth), nullptr, false);
        if (!jobs.is_array() || jobs.empty() || jobs[0]["state"] != "done") return false;
        const auto all = nlohmann::json::parse(node.get("/api/outbox", auth), nullptr, false);
        if (!all.is_array() || all.empty()) return false;
        for (const auto& r : all)
          if (r["state"] != "dead") return false;
        dead = all;
        return true;
      },
      90))
      << node.log();
  const std::string dead_sop = dead[0]["sop_instance_uid"];
  const std::int64_t dead_id = dead[0]["id"];

  // Without the token: the API answers 401, the page itself loads and / leads to it.
  EXPECT_EQ(node.status_of("/api/studies"), 401);
  EXPECT_EQ(node.status_of("/api/config"), 401);
  EXPECT_EQ(node.status_of("/api/outbox/summary"), 401);
  EXPECT_EQ(node.status_of("/admin"), 200);
  const auto redirect =
      run_command("curl -s -o /dev/null -w '%{http_code} %{redirect_url}' " + node.url("/"));
  EXPECT_EQ(redirect.output, "302 " + node.url("/admin")) << redirect.output;
  const auto headers = run_command("curl -s -D - -o /dev/null " + node.url("/admin")).output;
  EXPECT_NE(headers.find("text/html"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Content-Security-Policy: default-src 'none'"), std::string::npos)
      << headers;
  // The static page carries no data and no secret.
  const std::string page = node.get("/admin");
  EXPECT_EQ(page.find(truth.study_uid), std::string::npos);
  EXPECT_EQ(page.find(kToken), std::string::npos);

  // With the token: the config is served masked, the summary counts the dead letters.
  const std::string config = node.get("/api/config", auth);
  EXPECT_NE(config.find("token: \"***\""), std::string::npos) << config;
  EXPECT_EQ(config.find(kToken), std::string::npos) << config;
  const auto summary = nlohmann::json::parse(node.get("/api/outbox/summary", auth));
  EXPECT_EQ(summary["downpacs"]["dead"], dead.size()) << summary.dump();

  // In the browser, without a token: a clear message and no data.
  const std::string no_token = dump_dom(dir / "chromium", node.url("/admin"));
  ASSERT_NE(no_token.find("</html>"), std::string::npos) << "chromium printed no DOM";
  EXPECT_NE(no_token.find("Token required"), std::string::npos) << no_token;
  EXPECT_EQ(no_token.find(truth.study_uid), std::string::npos);

  // With the token in the URL fragment (never sent to the server).
  const std::string dom = dump_dom(dir / "chromium", node.url("/admin#token=") + kToken);
  EXPECT_NE(dom.find("data-loaded=\"true\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("Token accepted."), std::string::npos) << dom;
  const std::string studies = section(dom, "studies");
  EXPECT_NE(studies.find(truth.study_uid), std::string::npos) << studies;
  EXPECT_NE(studies.find(">48<"), std::string::npos) << studies;  // instances
  const std::string jobs = section(dom, "jobs");
  EXPECT_NE(row_with(jobs, truth.study_uid).find("class=\"state-done\">done<"), std::string::npos)
      << jobs;
  // The nodes on this state: this one, alive, with its last heartbeat.
  const std::string nodes = section(dom, "nodes");
  EXPECT_NE(row_with(nodes, "(this node)").find("class=\"state-alive\">alive<"), std::string::npos)
      << nodes;
  const std::string per_destination = section(dom, "outbox-summary");
  EXPECT_NE(row_with(per_destination, "downpacs")
                .find("class=\"state-dead\">" + std::to_string(dead.size()) + "<"),
            std::string::npos)
      << per_destination;
  const std::string dead_letters = section(dom, "dead-letters");
  const std::string dead_row = row_with(dead_letters, dead_sop);
  EXPECT_NE(dead_row.find("class=\"state-dead\">dead<"), std::string::npos) << dead_letters;
  EXPECT_NE(dead_row.find(">Re-queue</button>"), std::string::npos) << dead_row;
  // At 1400 px every table fits, the deliveries' last error in view; the study shows its
  // deliveries' last error too.
  for (const char* id : {"studies", "jobs", "dead-letters", "deliveries"})
    EXPECT_EQ(opening_tag(dom, id), std::string("<div id=\"") + id + "\" class=\"data\">")
        << id << " is wider than a 1400 px window";
  EXPECT_NE(row_with(studies, truth.study_uid).find("downpacs: "), std::string::npos) << studies;
  const std::string config_section = section(dom, "config");
  EXPECT_NE(config_section.find("token: \"***\""), std::string::npos) << config_section;
  EXPECT_NE(config_section.find("downpacs"), std::string::npos) << config_section;
  // The token is nowhere in the DOM: not in the config, not in the address, not in a field.
  EXPECT_EQ(dom.find(kToken), std::string::npos);

  // Re-queue: first a long backoff (SIGHUP reload) so that the next failure leaves the rows
  // pending, then the page's "Re-queue all dead letters" button, opened as a link.
  {
    std::ifstream in(node.config_path());
    std::string yaml((std::istreambuf_iterator<char>(in)), {});
    const std::string fast = "initial_backoff_s: 1\n  max_backoff_s: 1\n  max_attempts: 2";
    ASSERT_NE(yaml.find(fast), std::string::npos);
    yaml.replace(yaml.find(fast), fast.size(),
                 "initial_backoff_s: 3600\n  max_backoff_s: 3600\n  max_attempts: 10");
    std::ofstream(node.config_path()) << yaml;
  }
  ::kill(node.pid(), SIGHUP);
  ASSERT_TRUE(
      eventually([&] { return node.log().find("event=config_reloaded") != std::string::npos; }, 10))
      << node.log();

  const std::string after =
      dump_dom(dir / "chromium", node.url("/admin#token=") + kToken + "&requeue-all");
  EXPECT_NE(after.find("Re-queued " + std::to_string(dead.size()) + " dead letter(s)."),
            std::string::npos)
      << after;
  EXPECT_NE(section(after, "dead-letters").find("No dead letters."), std::string::npos)
      << section(after, "dead-letters");
  const std::string pending_row = row_with(section(after, "deliveries"), dead_sop);
  EXPECT_NE(pending_row.find("class=\"state-pending\">pending<"), std::string::npos)
      << section(after, "deliveries");
  EXPECT_EQ(after.find(kToken), std::string::npos);
  // The node agrees: nothing dead, the row pending again.
  EXPECT_TRUE(nlohmann::json::parse(node.get("/api/outbox?state=dead", auth)).empty());
  bool found = false;
  for (const auto& r : nlohmann::json::parse(node.get("/api/outbox?state=pending", auth)))
    if (r["id"] == dead_id) found = true;
  EXPECT_TRUE(found);
  EXPECT_NE(node.log().find("event=delivery_requeued outbox=" + std::to_string(dead_id)),
            std::string::npos);

  // The analysed study offers "Analyse again"; opened as a link, it queues version 2, which runs.
  EXPECT_NE(row_with(studies, truth.study_uid).find(">Analyse again</button>"), std::string::npos)
      << row_with(studies, truth.study_uid);
  const std::string again = dump_dom(
      dir / "chromium", node.url("/admin#token=") + kToken + "&reanalyse=" + truth.study_uid);
  EXPECT_NE(again.find("queued for analysis as version 2"), std::string::npos)
      << section(again, "studies");
  EXPECT_EQ(again.find(kToken), std::string::npos);
  ASSERT_TRUE(eventually(
      [&] {
        const auto jobs = nlohmann::json::parse(node.get("/api/jobs", auth), nullptr, false);
        return jobs.is_array() && jobs.size() == 2 && jobs[0]["version"] == 2 &&
               jobs[0]["state"] == "done";
      },
      90))
      << node.log();
  EXPECT_NE(node.log().find("event=job_requested"), std::string::npos);

  EXPECT_EQ(node.stop(), 0);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "admin page test: " << seconds << " s\n";
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace livernode::test
