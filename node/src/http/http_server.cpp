#include "livernode/node/http/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <list>
#include <mutex>
#include <optional>

#include "livernode/node/error.h"

namespace livernode::node {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

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
    throw NodeError(NodeErrorKind::kConfig,
                    "http.bind_address '" + h.bind_address + "' is not an IP address");
  const asio::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(h.port));
  impl_->timeout = std::chrono::seconds(h.timeout_s);
  impl_->max_connections = static_cast<std::size_t>(std::max(1, h.max_connections));
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw NodeError(NodeErrorKind::kNetwork, "cannot listen for HTTP on " + h.bind_address + ":" +
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
