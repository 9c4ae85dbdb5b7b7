#include "association_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "livernode/config/host_pattern.h"
#include "livernode/node/ingest/spool.h"

namespace livernode::node {

Refusal association_refusal(Runtime& runtime, const std::string& local_address) {
  const auto cfg = runtime.config.get();
  if (runtime.draining) return {"node is shutting down", true};
  if (std::string why = runtime.storage.refusal(); !why.empty()) return {std::move(why), true};
  const auto free_mb = free_disk_mb(cfg->config.storage.spool_dir);
  if (free_mb >= 0 && free_mb < cfg->config.storage.min_free_disk_mb)
    return {"free disk " + std::to_string(free_mb) + " MiB below storage.min_free_disk_mb", true};
  const std::string& bind = cfg->config.node.bind_address;
  if (bind != "0.0.0.0" && bind != "::" && !local_address.empty() && local_address != bind &&
      local_address != "::ffff:" + bind)
    return {"connection arrived on " + local_address + ", not on node.bind_address " + bind, false};
  return {};
}

bool caller_allowed(const std::vector<config::AllowedCaller>& allowed, const std::string& ae,
                    const std::string& peer) {
  if (allowed.empty()) return true;
  for (const auto& a : allowed) {
    if (!a.ae_title.empty() && a.ae_title != ae) continue;
    if (!a.host.empty()) {
      const auto pattern = config::HostPattern::parse(a.host);
      if (!pattern || !pattern->matches(peer)) continue;
    }
    return true;
  }
  return false;
}

std::string local_address_of(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  char text[INET6_ADDRSTRLEN] = {0};
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return {};
  if (local.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, text, sizeof text);
  else if (local.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, text, sizeof text);
  return text;
}

}  // namespace livernode::node
