#include "livernode/node/workflow/heartbeat.h"

#include <spdlog/spdlog.h>

#include "livernode/version.h"

namespace livernode::node {

Heartbeat::Heartbeat(Runtime& runtime) : runtime_(runtime), started_at_(wall_now()) {}

void Heartbeat::beat(double now) {
  const auto cfg = runtime_.config.get();
  NodeRow self;
  self.name = config::node_name(cfg->config.node);
  self.started_at = started_at_;
  self.version = kVersion;
  self.ae_title = cfg->config.node.ae_title;
  self.dicom_port = cfg->config.node.port;
  runtime_.store->heartbeat(self, now, cfg->config.node.lease_s);
}

void Heartbeat::start() {
  try {
    beat(wall_now());
  } catch (const std::exception& e) {
    spdlog::error("event=heartbeat_failed error=\"{}\"", e.what());
  }
  thread_ = std::thread([this] {
    bool failing = false;
    while (wake_.wait(runtime_.config.get()->config.node.heartbeat_s)) {
      try {
        beat(wall_now());
        if (failing) spdlog::info("event=heartbeat_restored");
        failing = false;
      } catch (const std::exception& e) {
        // Logged once per outage: the leases run out if it lasts lease_s, and another node
        // takes over what this one holds.
        if (!failing)
          spdlog::error("event=heartbeat_failed error=\"{}\" note=\"leases run out after {} s\"",
                        e.what(), runtime_.config.get()->config.node.lease_s);
        failing = true;
      }
    }
  });
}

void Heartbeat::stop() {
  wake_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace livernode::node
