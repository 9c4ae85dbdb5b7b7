#include "livernode/node/http/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "livernode/config/effective_config.h"
#include "livernode/node/http/admin_page.h"
#include "livernode/node/ingest/ingest_journal.h"

namespace livernode::node {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
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
         {"state", s.state},
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
          {"state", j.state},
          {"created_at", j.created_at},
          {"started_at", j.started_at},
          {"finished_at", j.finished_at},
          {"error", j.error},
          {"result_dir", j.result_dir},
          {"objects", j.objects},
          {"attempts", j.attempts},
          {"kind", j.kind},
          {"correction_sop_instance_uid", j.correction_sop}};
}

json outbox_json(const OutboxRow& r) {
  return {{"id", r.id},
          {"job_id", r.job_id},
          {"study_instance_uid", r.study_uid},
          {"destination", r.destination},
          {"kind", r.kind},
          {"sop_instance_uid", r.sop_instance_uid},
          {"state", r.state},
          {"attempts", r.attempts},
          {"next_attempt_at", r.next_attempt_at},
          {"last_error", r.last_error},
          {"delivered_at", r.delivered_at}};
}

std::string query_value(const std::string& query, const std::string& key) {
  std::stringstream ss(query);
  for (std::string part; std::getline(ss, part, '&');)
    if (part.rfind(key + "=", 0) == 0) return part.substr(key.size() + 1);
  return {};
}

std::string metrics_text(Runtime& rt) {
  std::ostringstream o;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
      << name << " " << v << "\n";
  };
  const auto& m = rt.metrics;
  counter("livernode_associations_accepted_total", "DICOM associations accepted",
          m.associations_accepted);
  counter("livernode_associations_rejected_total", "DICOM associations rejected",
          m.associations_rejected);
  counter("livernode_associations_receive_failed_total",
          "connections closed because no valid association request could be read",
          m.associations_receive_failed);
  counter("livernode_instances_received_total", "instances stored in the spool",
          m.instances_received);
  counter("livernode_instances_duplicate_total", "instances received again and not stored twice",
          m.instances_duplicate);
  counter("livernode_instances_failed_total", "C-STORE requests answered with a failure status",
          m.instances_failed);
  counter("livernode_received_bytes_total", "bytes of stored instances", m.bytes_received);
  counter("livernode_deliveries_total", "result objects delivered", m.deliveries);
  counter("livernode_delivery_retries_total", "failed delivery attempts that will be retried",
          m.delivery_retries);
  counter("livernode_dead_letters_total", "deliveries given up after the last attempt",
          m.dead_letters);
  if (rt.journal) {
    const auto j = rt.journal->stats();
    counter("livernode_ingest_journal_records_total",
            "instances made durable by one write into the ingest journal", j.appended);
    counter("livernode_ingest_journal_fallbacks_total",
            "instances fsynced one by one because the journal had no room for them", j.fallbacks);
    counter("livernode_ingest_journal_segments_synced_total",
            "journal segments whose spool files were synced in one batch", j.segments_synced);
    o << "# HELP livernode_ingest_journal_segments_kept journal segments held for replay at the "
         "next start because a spool file could not be written\n"
         "# TYPE livernode_ingest_journal_segments_kept gauge\n"
      << "livernode_ingest_journal_segments_kept " << j.segments_kept << "\n";
  }
  o << "# HELP livernode_analysis_duration_seconds time spent in study analyses\n"
       "# TYPE livernode_analysis_duration_seconds summary\n"
    << "livernode_analysis_duration_seconds_sum " << m.analysis_seconds_millis / 1000.0 << "\n"
    << "livernode_analysis_duration_seconds_count " << m.analyses_finished << "\n";
  const StoreCounts c = rt.store->counts();
  o << "# HELP livernode_jobs jobs by state\n# TYPE livernode_jobs gauge\n";
  for (const char* s : {"queued", "running", "done", "failed"}) {
    const auto it = c.jobs_by_state.find(s);
    o << "livernode_jobs{state=\"" << s << "\"} " << (it == c.jobs_by_state.end() ? 0 : it->second)
      << "\n";
  }
  o << "# HELP livernode_outbox deliveries by state\n# TYPE livernode_outbox gauge\n";
  for (const char* s : {"pending", "delivered", "dead"}) {
    const auto it = c.outbox_by_state.find(s);
    o << "livernode_outbox{state=\"" << s << "\"} "
      << (it == c.outbox_by_state.end() ? 0 : it->second) << "\n";
  }
  const auto pending = c.outbox_by_state.find("pending");
  o << "# HELP livernode_outbox_depth deliveries waiting\n# TYPE livernode_outbox_depth gauge\n"
    << "livernode_outbox_depth " << (pending == c.outbox_by_state.end() ? 0 : pending->second)
    << "\n";
  o << "# HELP livernode_studies studies by state\n# TYPE livernode_studies gauge\n";
  for (const auto& [s, n] : c.studies_by_state)
    o << "livernode_studies{state=\"" << s << "\"} " << n << "\n";
  o << "# HELP livernode_spool_instances instances held in the spool\n# TYPE "
       "livernode_spool_instances gauge\n"
    << "livernode_spool_instances " << c.instances << "\n";
  o << "# HELP livernode_scp_listening 1 while the DICOM listener accepts associations\n"
       "# TYPE livernode_scp_listening gauge\n"
    << "livernode_scp_listening " << (rt.scp_listening ? 1 : 0) << "\n";
  return o.str();
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
      for (const auto& s : rt.store->studies(query_value(query, "state"), 1000)) {
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
      for (const auto& r : rt.store->outbox(query_value(query, "state"), 1000))
        out.push_back(outbox_json(r));
      return json_response(out);
    }
    if (path == "/api/outbox/summary" && method == "GET") {
      json out = json::object();
      for (const auto& [destination, states] : rt.store->counts().outbox_by_destination)
        for (const auto& [state, n] : states) out[destination][state] = n;
      return json_response(out);
    }
    if (path == "/api/config" && method == "GET")
      return {200, "text/yaml; charset=utf-8",
              config::effective_config_yaml(cfg->config, /*mask_secrets=*/true)};
    const std::string prefix = "/api/outbox/", suffix = "/requeue";
    if (method == "POST" && path.rfind(prefix, 0) == 0 &&
        path.size() > prefix.size() + suffix.size() &&
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string id =
          path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
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

namespace {

// The response to `req`, ready to be written (the connection closes after it).
http::response<http::string_body> make_response(Runtime& rt,
                                                const http::request<http::string_body>& req) {
  const auto res =
      handle_http_request(rt, std::string(req.method_string()), std::string(req.target()),
                          std::string(req[http::field::authorization]));
  http::response<http::string_body> out{static_cast<http::status>(res.status), req.version()};
  out.set(http::field::server, "livernode");
  out.set(http::field::content_type, res.content_type);
  if (res.status == 401) out.set(http::field::www_authenticate, "Bearer");
  for (const auto& [name, value] : res.headers) out.set(name, value);
  out.keep_alive(false);
  out.body() = res.body;
  out.prepare_payload();
  return out;
}

}  // namespace

// One HTTP connection: one request, its response, then the connection closes. Everything it
// does is asynchronous on its own strand and bounded by http.timeout_s, so a slow or silent
// client holds only its own connection.
class HttpServer::Session : public std::enable_shared_from_this<HttpServer::Session> {
 public:
  Session(asio::ip::tcp::socket socket, Runtime& runtime, std::chrono::seconds timeout)
      : stream_(std::move(socket)), runtime_(runtime), timeout_(timeout) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // Closes the connection when it is still waiting for its request (it may be busy answering
  // by the time this runs: then it finishes).
  void close_if_waiting() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_) self->close();
    });
  }

  bool waiting() const { return waiting_; }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(1024 * 1024);
    stream_.expires_after(timeout_);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    waiting_ = false;
    if (ec) {  // timed out, closed by the client or by close_if_waiting, or not HTTP
      close();
      return;
    }
    response_ = make_response(runtime_, parser_->get());
    stream_.expires_after(timeout_);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Runtime& runtime_;
  const std::chrono::seconds timeout_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::atomic<bool> waiting_{true};
};

struct HttpServer::Impl {
  explicit Impl(Runtime& runtime) : runtime(runtime) {}

  Runtime& runtime;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{asio::make_strand(io)};
  asio::steady_timer retry{acceptor.get_executor()};
  std::chrono::seconds timeout{10};
  std::size_t max_connections = 64;
  std::mutex mutex;
  std::list<std::weak_ptr<Session>> sessions;  // open connections, oldest first

  void accept() {
    acceptor.async_accept(asio::make_strand(io),
                          [this](beast::error_code ec, asio::ip::tcp::socket socket) {
                            on_accept(ec, std::move(socket));
                          });
  }

  void on_accept(beast::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;  // stopping
    if (ec) {
      // Out of descriptors, typically: the connections wait in the backlog meanwhile.
      spdlog::error("event=http_accept_failed error=\"{}\" note=\"trying again shortly\"",
                    ec.message());
      retry.expires_after(std::chrono::milliseconds(200));
      retry.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    auto session = std::make_shared<Session>(std::move(socket), runtime, timeout);
    if (admit(session)) session->start();
    accept();
  }

  // Registers `session` within http.max_connections: the connection waiting longest for its
  // request makes room; false when every connection is busy answering.
  bool admit(const std::shared_ptr<Session>& session) {
    std::lock_guard lock(mutex);
    sessions.remove_if([](const std::weak_ptr<Session>& s) { return s.expired(); });
    if (sessions.size() >= max_connections) {
      std::shared_ptr<Session> oldest;
      for (auto it = sessions.begin(); it != sessions.end(); ++it) {
        auto s = it->lock();
        if (s && s->waiting()) {
          oldest = std::move(s);
          sessions.erase(it);
          break;
        }
      }
      if (!oldest) {
        spdlog::warn(
            "event=http_connection_refused note=\"http.max_connections={} connections "
            "are all being answered\"",
            max_connections);
        return false;  // the new socket closes with the session
      }
      oldest->close_if_waiting();
    }
    sessions.push_back(session);
    return true;
  }
};

HttpServer::HttpServer(Runtime& runtime)
    : runtime_(runtime), impl_(std::make_unique<Impl>(runtime)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  const auto cfg = runtime_.config.get();
  const auto& h = cfg->config.http;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(h.bind_address, ec);
  if (ec)
    throw std::runtime_error("http.bind_address '" + h.bind_address + "' is not an IP address");
  const asio::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(h.port));
  impl_->timeout = std::chrono::seconds(h.timeout_s);
  impl_->max_connections = static_cast<std::size_t>(std::max(1, h.max_connections));
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen for HTTP on " + h.bind_address + ":" +
                             std::to_string(h.port) + ": " + ec.message());
  impl_->accept();
  // Requests are answered on these threads; one waiting for the state store holds only itself.
  for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { impl_->io.run(); });
  spdlog::info("event=http_listening address={} port={} auth={} max_connections={} timeout_s={}",
               h.bind_address, h.port, h.token.empty() ? "none" : "bearer", impl_->max_connections,
               h.timeout_s);
}

void HttpServer::stop() {
  if (threads_.empty()) return;
  asio::post(impl_->acceptor.get_executor(), [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->retry.cancel();
  });
  impl_->io.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace livernode::node
