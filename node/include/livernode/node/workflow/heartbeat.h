#pragma once
// The node's heartbeat: every node.heartbeat_s it records itself as alive in the state store
// and renews the leases of the jobs it runs and the deliveries it is sending, so that nodes
// sharing the state take over what it held only once it stopped (killed, cut off from the
// database) and node.lease_s passed. The cluster view (/api/node, the admin page) shows it.
#include <thread>

#include "livernode/node/runtime.h"
#include "livernode/node/workflow/wakeup.h"

namespace livernode::node {

class Heartbeat {
 public:
  explicit Heartbeat(Runtime& runtime);
  ~Heartbeat() { stop(); }
  // Beats once at once (the node is listed from its start), then on its own thread.
  void start();
  void stop();
  void beat(double now);  // one heartbeat; public for tests

 private:
  Runtime& runtime_;
  Wakeup wake_;
  std::thread thread_;
  double started_at_ = 0;
};

}  // namespace livernode::node
