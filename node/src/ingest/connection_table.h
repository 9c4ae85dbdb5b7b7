#pragma once
// The connections of one DICOM listener and the association slots they hold.
//
// A connection waits for its association request on a thread of its own, so a silent peer holds
// nothing but its own connection; at most Limits::pending wait at once (a new one beyond closes
// the one waiting longest), each for acse_timeout_s. Only a caller the node accepts takes a slot:
// node.max_associations in all, max_associations_per_source per address. Slots are not kept by
// peers that stopped talking: when a new association needs one, the association whose peer has
// been silent longest beyond node.stall_timeout_s gives its slot up (A-ABORT).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace livernode::node {

// One accepted TCP connection, from accept() until its thread ends.
struct Connection {
  enum class Phase { reading, negotiating, serving };
  // A duplicate of the socket, owned by the connection until its thread ends: shutdown() on it
  // reaches the socket from any thread, and its number cannot be reused by a newer connection
  // meanwhile (DCMTK closes its own descriptor whenever it likes).
  int control = -1;
  std::string peer;  // source IP address
  std::chrono::steady_clock::time_point accepted;
  // Guarded by the table's mutex.
  Phase phase = Phase::reading;  // reading: its association request has not arrived yet
  std::string shut_reason;       // set when the table shut the connection down
  // Set while the node, not the peer, is busy (negotiating, storing an instance, answering):
  // silence from the peer then is no stall.
  std::atomic<bool> working{false};
  std::thread thread;
  std::atomic<bool> done{false};  // the thread's last action
};

class ConnectionTable {
 public:
  struct Limits {
    std::size_t associations = 8, per_source = 7, pending = 64;
    int acse_timeout_s = 30, dimse_timeout_s = 60, stall_timeout_s = 10;
  };
  explicit ConnectionTable(Limits limits) : limits_(limits) {}
  const Limits& limits() const { return limits_; }

  // Registers a connection still waiting for its association request. Beyond Limits::pending,
  // the one that has waited longest is closed to make room.
  void admit(const std::shared_ptr<Connection>& c);
  // Removes a connection whose thread could not be started.
  void forget(const std::shared_ptr<Connection>& c);
  // The association request of `c` has arrived: it no longer counts as pending.
  void request_read(Connection& c);

  // Takes an association slot for `c`, or says in `why` why there is none. A stalled
  // association makes room when one is needed; this waits (a few seconds at most) for it to end.
  bool take_slot(Connection& c, std::string& why);
  void release_slot(Connection& c);

  // Why the table shut `c` down (empty: it did not).
  std::string shut_reason(Connection& c);
  // The connection's thread is done with its socket: closes the duplicate.
  void close(Connection& c);

  // Called every fraction of a second by the accepting thread: closes connections whose
  // association request is overdue, and associations whose peer has been silent beyond the
  // DIMSE timeout (a TLS record or PDU cut short can leave DCMTK waiting without one). While
  // stopping, connections without an association are closed at once and associations whose
  // peer has been silent beyond node.stall_timeout_s are ended.
  void watch(bool stopping);

  // Removes the connections whose thread has ended and joins those threads; returns how many
  // connections are left.
  std::size_t reap();

 private:
  // Ends the connection from outside its thread: SHUT_RD lets DCMTK still send an A-ABORT,
  // SHUT_RDWR closes without a word. Its thread sees the end of the stream at once.
  void shut(Connection& c, int how, const std::string& reason);

  const Limits limits_;
  std::mutex mutex_;
  std::condition_variable slot_freed_;
  std::list<std::shared_ptr<Connection>> connections_;
  std::size_t serving_ = 0;
  std::map<std::string, std::size_t> by_source_;
};

}  // namespace livernode::node
