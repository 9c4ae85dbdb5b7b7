// handle_http_request (http_server.h): the routing of one request, independent of the socket.
#include <spdlog/spdlog.h>

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "livernode/config/effective_config.h"
#include "livernode/node/http/admin_page.h"
#include "livernode/node/http/http_server.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/version.h"
#include "metrics.h"

namespace livernode::node {

using nlohmann::json;

namespace {

// Whether an Authorization header carries `token` with the Bearer scheme. The scheme is
// case-insensitive (RFC 9110, 11.1) and may be followed by several spaces; the token itself is
// compared in time independent of where it differs.
bool bearer_token_matches(const std::string& authorization, const std::string& token) {
  static const std::string scheme = "bearer";
  if (authorization.size() <= scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return false;
  std::size_t at = scheme.size();
  if (authorization[at] != ' ') return false;
  while (at < authorization.size() && authorization[at] == ' ') ++at;
  const std::string given = authorization.substr(at);
  unsigned char differ = given.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < token.size(); ++i)
    differ |= static_cast<unsigned char>(token[i] ^ (i < given.size() ? given[i] : 0));
  return differ == 0;
}

json study_json(StateStore& store, const StudyRow& s) {
  json j{{"study_instance_uid", s.study_uid},
         {"state", to_string(s.state)},
         {"first_arrival", s.first_arrival},
         {"last_arrival", s.last_arrival},
         {"instances", s.instances},
         {"bytes", s.bytes},
         {"calling_ae", s.calling_ae},
         {"analysed_series", s.analysed_series},
         {"visit_study_instance_uid", s.visit_uid.empty() ? s.study_uid : s.visit_uid}};
  add_study_header_json(j, s);
  j["series"] = json::array();
  for (const auto& r : store.series_of(s.study_uid))
    j["series"].push_back({{"series_instance_uid", r.series_uid},
                           {"modality", r.modality},
                           {"description", r.description},
                           {"body_part", r.body_part},
                           {"action", to_string(r.action)},
                           {"rule", r.rule},
                           {"instances", r.instances},
                           {"complete", r.complete}});
  return j;
}

json job_json(const JobRow& j) {
  return {{"id", j.id},
          {"study_instance_uid", j.study_uid},
          {"version", j.version},
          {"state", to_string(j.state)},
          {"created_at", j.created_at},
          {"started_at", j.started_at},
          {"finished_at", j.finished_at},
          {"error", j.error},
          {"result_dir", j.result_dir},
          {"objects", j.objects},
          {"attempts", j.attempts},
          {"kind", j.kind},
          {"correction_sop_instance_uid", j.correction_sop},
          {"node", j.node},
          {"lease_expires_at", j.lease_expires_at}};
}

json outbox_json(const OutboxRow& r) {
  return {{"id", r.id},
          {"job_id", r.job_id},
          {"study_instance_uid", r.study_uid},
          {"destination", r.destination},
          {"kind", r.kind},
          {"sop_instance_uid", r.sop_instance_uid},
          {"state", to_string(r.state)},
          {"attempts", r.attempts},
          {"next_attempt_at", r.next_attempt_at},
          {"last_error", r.last_error},
          {"delivered_at", r.delivered_at},
          {"claimed_by", r.claimed_by},
          {"claim_expires_at", r.claim_expires_at}};
}

// Every node that works on this state: its last heartbeat, whether that is recent (within
// node.lease_s of the answering node's clock) and the jobs it runs.
json cluster_json(StateStore& store, const config::Config& c, double now) {
  json nodes = json::array();
  std::map<std::string, json> running;
  for (const auto& j : store.jobs("", 1000))
    if (j.state == JobState::running && !j.node.empty())
      running[j.node].push_back({{"id", j.id},
                                 {"study_instance_uid", j.study_uid},
                                 {"version", j.version},
                                 {"lease_expires_at", j.lease_expires_at}});
  for (const auto& n : store.nodes()) {
    json jobs = running.count(n.name) ? running[n.name] : json::array();
    nodes.push_back({{"name", n.name},
                     {"version", n.version},
                     {"ae_title", n.ae_title},
                     {"dicom_port", n.dicom_port},
                     {"started_at", n.started_at},
                     {"last_heartbeat", n.last_heartbeat},
                     {"seconds_since_heartbeat", now - n.last_heartbeat},
                     {"alive", now - n.last_heartbeat <= c.node.lease_s},
                     {"self", n.name == config::node_name(c.node)},
                     {"running_jobs", jobs}});
  }
  return nodes;
}

std::string query_value(const std::string& query, const std::string& key) {
  std::stringstream ss(query);
  for (std::string part; std::getline(ss, part, '&');)
    if (part.rfind(key + "=", 0) == 0) return part.substr(key.size() + 1);
  return {};
}

// The non-empty middle of `path` when it is `prefix` + middle + `suffix` (a resource's
// identifier in /api/<collection>/<id>/<action>).
std::optional<std::string> path_between(const std::string& path, const std::string& prefix,
                                        const std::string& suffix) {
  if (path.size() <= prefix.size() + suffix.size() || path.rfind(prefix, 0) != 0 ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
}

}  // namespace

HttpResponse handle_http_request(Runtime& rt, const std::string& method, const std::string& target,
                                 const std::string& authorization) {
  const auto q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  auto json_response = [](const json& j, int status = 200) {
    return HttpResponse{status, "application/json", j.dump(2) + "\n"};
  };
  try {
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
      bool store_ok = rt.store != nullptr;
      try {
        if (store_ok) rt.store->counts();
      } catch (const std::exception&) {
        store_ok = false;
      }
      const bool ready = rt.scp_listening && store_ok && !rt.draining && rt.storage.ok();
      return {ready ? 200 : 503, "text/plain; charset=utf-8",
              std::string(ready ? "ready" : "not ready") + " scp_listening=" +
                  (rt.scp_listening ? "1" : "0") + " store=" + (store_ok ? "1" : "0") +
                  " draining=" + (rt.draining ? "1" : "0") + " " + rt.storage.describe() + "\n"};
    }
    if (path == "/" && method == "GET")
      return {302, "text/plain; charset=utf-8", "see /admin\n", {{"Location", "/admin"}}};
    if (path == "/admin" && method == "GET")
      // Static: it holds no data and asks for the token itself; every fetch it makes is checked.
      return {200,
              "text/html; charset=utf-8",
              std::string(admin_page_html()),
              {{"Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-store"}}};
    const auto cfg = rt.config.get();
    const std::string& token = cfg->config.http.token;
    if (!token.empty() && !bearer_token_matches(authorization, token))
      return {401, "text/plain; charset=utf-8",
              "401 unauthorized: send Authorization: Bearer <token>\n"};
    if (!rt.store)  // not opened yet (a full disk): only /healthz, /readyz and /admin answer
      return {503, "text/plain; charset=utf-8", "503 the state database is not open yet\n"};
    if (path == "/metrics" && method == "GET")
      return {200, "text/plain; version=0.0.4", metrics_text(rt)};
    if (path == "/api/studies" && method == "GET") {
      json out = json::array();
      // ?state=NAME: the studies in that state (none for a name that is no study state).
      const std::string wanted = query_value(query, "state");
      const std::optional<StudyState> state = study_state_from_string(wanted);
      if (!wanted.empty() && !state) return json_response(out);
      for (const auto& s : rt.store->studies(state, 1000)) {
        json j = study_json(*rt.store, s);
        j["jobs"] = json::array();
        // The jobs of its visit (they belong to the visit's lead study).
        for (const auto& job : rt.store->jobs(s.visit_uid.empty() ? s.study_uid : s.visit_uid, 100))
          j["jobs"].push_back(job_json(job));
        out.push_back(std::move(j));
      }
      return json_response(out);
    }
    if (path == "/api/jobs" && method == "GET") {
      json out = json::array();
      for (const auto& j : rt.store->jobs("", 1000)) out.push_back(job_json(j));
      return json_response(out);
    }
    if (path == "/api/outbox" && method == "GET") {
      json out = json::array();
      // ?state=NAME: the deliveries in that state (none for a name that is no delivery state).
      const std::string wanted = query_value(query, "state");
      const std::optional<DeliveryState> state = delivery_state_from_string(wanted);
      if (!wanted.empty() && !state) return json_response(out);
      for (const auto& r : rt.store->outbox(state, 1000)) out.push_back(outbox_json(r));
      return json_response(out);
    }
    if (path == "/api/outbox/summary" && method == "GET") {
      json out = json::object();
      for (const auto& [destination, states] : rt.store->counts().outbox_by_destination)
        for (const auto& [state, n] : states) out[destination][state] = n;
      return json_response(out);
    }
    if (path == "/api/node" && method == "GET") {
      // Which node answers, and where it keeps its state.
      json out = json::object();
      out["name"] = config::node_name(cfg->config.node);
      out["version"] = kVersion;
      out["ae_title"] = cfg->config.node.ae_title;
      out["state_backend"] = std::string(config::to_string(cfg->config.storage.state_backend));
      out["lease_s"] = cfg->config.node.lease_s;
      out["heartbeat_s"] = cfg->config.node.heartbeat_s;
      // The nodes sharing this state (one with SQLite).
      out["cluster"] = cluster_json(*rt.store, cfg->config, wall_now());
      return json_response(out);
    }
    if (path == "/api/nodes" && method == "GET") {
      return json_response(cluster_json(*rt.store, cfg->config, wall_now()));
    }
    if (path == "/api/config" && method == "GET")
      return {200, "text/yaml; charset=utf-8",
              config::effective_config_yaml(cfg->config, /*mask_secrets=*/true)};
    // POST /api/studies/<uid>/reanalyse: the study's visit is analysed again as a new version
    // (after a failure, or a time limit); not while it is receiving or a job of it is waiting
    // or running.
    const auto study_uid = path_between(path, "/api/studies/", "/reanalyse");
    if (method == "POST" && study_uid) {
      const std::string& uid = *study_uid;
      if (!is_valid_uid(uid)) return json_response({{"error", "bad study instance UID"}}, 400);
      const auto study = rt.store->study(uid);
      if (!study) return json_response({{"error", "no such study"}}, 404);
      if (study->state == StudyState::receiving)
        return json_response(
            {{"error", "the study is still receiving; it is analysed once it is complete"}}, 409);
      const std::string lead = study->visit_uid.empty() ? study->study_uid : study->visit_uid;
      for (const auto& job : rt.store->jobs(lead, 1000))
        if (job.state == JobState::queued || job.state == JobState::running)
          return json_response(
              {{"error", "a job of this study is queued or running"}, {"job", job.id}}, 409);
      const JobRow job = rt.store->create_job(lead, wall_now());
      spdlog::info(
          "event=job_requested job={} study={} version={} reason=\"reanalyse requested "
          "over HTTP\"",
          job.id, job.study_uid, job.version);
      return json_response({{"job", job.id}, {"version", job.version}});
    }
    const auto outbox_id = path_between(path, "/api/outbox/", "/requeue");
    if (method == "POST" && outbox_id) {
      const std::string& id = *outbox_id;
      if (id.find_first_not_of("0123456789") != std::string::npos)
        return json_response({{"error", "bad outbox id"}}, 400);
      const bool ok = rt.store->requeue_outbox(std::stoll(id), wall_now());
      if (ok) spdlog::info("event=delivery_requeued outbox={}", id);
      return json_response({{"requeued", ok}}, ok ? 200 : 404);
    }
    return {404, "text/plain; charset=utf-8", "404 not found\n"};
  } catch (const std::exception& e) {
    return {500, "text/plain; charset=utf-8",
            std::string("500 internal error: ") + e.what() + "\n"};
  }
}

}  // namespace livernode::node
