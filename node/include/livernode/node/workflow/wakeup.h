#pragma once
// How the node's background stages sleep until their next due time or until told.
#include <condition_variable>
#include <mutex>

namespace livernode::node {

// Something to wake: a stage sleeping until its next due time.
class Wakeup {
 public:
  void notify() {
    {
      std::lock_guard lock(mutex_);
      pending_ = true;
    }
    cv_.notify_all();
  }
  // Sleeps up to `seconds` or until notify()/stop(); returns false once stopped.
  bool wait(double seconds);
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopped_ = false;
};

}  // namespace livernode::node
