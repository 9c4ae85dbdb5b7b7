#include "livernode/node/workflow/wakeup.h"

#include <algorithm>
#include <chrono>

namespace livernode::node {

bool Wakeup::wait(double seconds) {
  std::unique_lock lock(mutex_);
  if (!stopped_ && !pending_)
    cv_.wait_for(lock, std::chrono::duration<double>(std::max(0.0, seconds)),
                 [&] { return stopped_ || pending_; });
  pending_ = false;
  return !stopped_;
}

}  // namespace livernode::node
