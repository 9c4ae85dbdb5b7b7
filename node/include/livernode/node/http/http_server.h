#pragma once
// HTTP status endpoints (Boost.Beast) on http.bind_address:http.port:
//   GET /healthz       200 while the process runs
//   GET /readyz        200 when the SCP listens and the state store answers, else 503
//   GET /metrics       Prometheus text format
//   GET /api/studies   studies with their series and jobs (JSON)
//   GET /api/jobs      jobs, newest first (JSON)
//   GET /api/outbox    deliveries (JSON; ?state=dead for the dead letters)
//   GET /api/outbox/summary   deliveries per destination and state (JSON)
//   POST /api/outbox/<id>/requeue   a dead delivery goes back to pending
//   GET /api/config    the effective configuration as YAML, secrets masked
//   GET /admin         the administration page (static HTML; its data comes from the API)
//   GET /              redirects to /admin
// When http.token is set, everything but /healthz, /readyz, /admin and / needs
// "Authorization: Bearer <token>" (401 otherwise).
//
// Served asynchronously: one request per connection, read and answered within http.timeout_s,
// at most http.max_connections connections at once (a new one beyond closes the connection
// that has waited longest for its request), so that a slow or silent client costs only its
// own connection.
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "livernode/node/runtime.h"

namespace livernode::node {

struct HttpResponse {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  HttpResponse(int status_ = 200, std::string content_type_ = "text/plain; charset=utf-8",
               std::string body_ = {}, Headers headers_ = {})
      : status(status_),
        content_type(std::move(content_type_)),
        body(std::move(body_)),
        headers(std::move(headers_)) {}
  int status;
  std::string content_type;
  std::string body;
  Headers headers;  // extra response headers
};

// The routing of one request, independent of the socket (used by the server and by tests).
HttpResponse handle_http_request(Runtime& runtime, const std::string& method,
                                 const std::string& target, const std::string& authorization);

class HttpServer {
 public:
  explicit HttpServer(Runtime& runtime);
  ~HttpServer();
  void start();  // binds (throws std::runtime_error when it cannot) and serves on threads
  void stop();

 private:
  static constexpr int kThreads = 4;
  class Session;
  struct Impl;
  Runtime& runtime_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
};

}  // namespace livernode::node
