#include "connection_table.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace livernode::node {

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds since the peer of `fd` last sent data (the kernel's count; since the connection
// was accepted when it never has).
std::int64_t silent_ms(int fd) {
  tcp_info info{};
  socklen_t length = sizeof info;
  if (fd < 0 || ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return 0;
  return static_cast<std::int64_t>(info.tcpi_last_data_recv);
}

}  // namespace

void ConnectionTable::admit(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mutex_);
  std::size_t pending = 0;
  Connection* oldest = nullptr;
  for (const auto& o : connections_) {
    if (o->phase != Connection::Phase::reading || !o->shut_reason.empty()) continue;
    ++pending;
    if (!oldest || o->accepted < oldest->accepted) oldest = o.get();
  }
  if (oldest && pending >= limits_.pending)
    shut(*oldest, SHUT_RDWR,
         "closed for a newer connection: node.max_pending_connections=" +
             std::to_string(limits_.pending) +
             " connections were waiting for their association request");
  connections_.push_back(c);
}

void ConnectionTable::forget(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mutex_);
  connections_.remove(c);
}

void ConnectionTable::request_read(Connection& c) {
  std::lock_guard lock(mutex_);
  if (c.phase == Connection::Phase::reading) c.phase = Connection::Phase::negotiating;
}

bool ConnectionTable::take_slot(Connection& c, std::string& why) {
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  while (true) {
    const auto it = by_source_.find(c.peer);
    const std::size_t from_source = it == by_source_.end() ? 0 : it->second;
    const bool all_busy = serving_ >= limits_.associations;
    const bool source_busy = from_source >= limits_.per_source;
    if (!all_busy && !source_busy) {
      ++serving_;
      ++by_source_[c.peer];
      c.phase = Connection::Phase::serving;
      return true;
    }
    // Only an association of the same source helps when the source has all it may hold.
    bool room_coming = false;
    Connection* stalled = nullptr;
    std::int64_t longest = static_cast<std::int64_t>(limits_.stall_timeout_s) * 1000 - 1;
    for (const auto& o : connections_) {
      if (o.get() == &c || o->phase != Connection::Phase::serving) continue;
      if (source_busy && o->peer != c.peer) continue;
      if (!o->shut_reason.empty()) {
        room_coming = true;
        continue;
      }
      if (o->working) continue;
      const std::int64_t ms = silent_ms(o->control);
      if (ms > longest) {
        longest = ms;
        stalled = o.get();
      }
    }
    if (stalled) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(longest) / 1000.0);
      const std::string reason =
          std::string("stalled: peer silent for ") + seconds +
          " s (node.stall_timeout_s=" + std::to_string(limits_.stall_timeout_s) +
          "), its slot was needed by a new association from " + c.peer;
      spdlog::warn("event=association_preempted peer={} reason=\"{}\"", stalled->peer, reason);
      shut(*stalled, SHUT_RD, reason);
      room_coming = true;
    }
    if (!room_coming || Clock::now() >= deadline) {
      why = all_busy
                ? "no free association slot: " + std::to_string(serving_) +
                      " of node.max_associations=" + std::to_string(limits_.associations) + " busy"
                : "no free association slot for " + c.peer + ": " + std::to_string(from_source) +
                      " of node.max_associations_per_source=" + std::to_string(limits_.per_source) +
                      " busy";
      return false;
    }
    slot_freed_.wait_until(lock, deadline);
  }
}

void ConnectionTable::release_slot(Connection& c) {
  {
    std::lock_guard lock(mutex_);
    if (c.phase != Connection::Phase::serving) return;
    c.phase = Connection::Phase::negotiating;
    --serving_;
    const auto it = by_source_.find(c.peer);
    if (it != by_source_.end() && --it->second == 0) by_source_.erase(it);
  }
  slot_freed_.notify_all();
}

std::string ConnectionTable::shut_reason(Connection& c) {
  std::lock_guard lock(mutex_);
  return c.shut_reason;
}

void ConnectionTable::close(Connection& c) {
  std::lock_guard lock(mutex_);
  if (c.control >= 0) ::close(c.control);
  c.control = -1;
}

void ConnectionTable::watch(bool stopping) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  for (const auto& c : connections_) {
    if (!c->shut_reason.empty() || c->control < 0) continue;
    if (c->phase == Connection::Phase::reading) {
      if (stopping)
        shut(*c, SHUT_RDWR, "node is shutting down");
      else if (now - c->accepted > std::chrono::seconds(limits_.acse_timeout_s + 1))
        shut(*c, SHUT_RDWR,
             "no association request within node.acse_timeout_s=" +
                 std::to_string(limits_.acse_timeout_s));
    } else if (c->phase == Connection::Phase::serving && !c->working) {
      const std::int64_t silent = silent_ms(c->control);
      if (stopping && silent >= static_cast<std::int64_t>(limits_.stall_timeout_s) * 1000) {
        spdlog::warn(
            "event=association_preempted peer={} reason=\"node is shutting down and the peer "
            "has been silent for {} ms (node.stall_timeout_s={})\"",
            c->peer, silent, limits_.stall_timeout_s);
        shut(*c, SHUT_RD, "node is shutting down and the peer stalled");
      } else if (silent > (static_cast<std::int64_t>(limits_.dimse_timeout_s) + 2) * 1000) {
        spdlog::warn(
            "event=association_preempted peer={} reason=\"peer silent for {} ms, "
            "longer than node.dimse_timeout_s={}\"",
            c->peer, silent, limits_.dimse_timeout_s);
        shut(*c, SHUT_RD,
             "peer silent for longer than node.dimse_timeout_s=" +
                 std::to_string(limits_.dimse_timeout_s));
      }
    }
  }
}

std::size_t ConnectionTable::reap() {
  std::vector<std::shared_ptr<Connection>> ended;
  std::size_t left = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done.load(std::memory_order_acquire)) {
        ended.push_back(*it);
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    left = connections_.size();
  }
  for (auto& c : ended)
    if (c->thread.joinable()) c->thread.join();
  return left;
}

void ConnectionTable::shut(Connection& c, int how, const std::string& reason) {
  if (!c.shut_reason.empty() || c.control < 0) return;
  c.shut_reason = reason;
  ::shutdown(c.control, how);
}

}  // namespace livernode::node
