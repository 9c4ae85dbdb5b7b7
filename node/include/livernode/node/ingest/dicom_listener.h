#pragma once
// The C-ECHO / C-STORE SCP: one accepting thread on node.bind_address:node.port hands each
// association to a DCMTK DcmThreadSCP on a thread of its own, up to node.max_associations at
// once (beyond that: A-ASSOCIATE-RJ, transient, local limit exceeded).
//
// Association policy: the called AE title must be ours; the caller must match an entry of
// node.allowed_callers (calling AE title and/or source address, CIDR allowed) or the
// association is rejected (A-ASSOCIATE-RJ, permanent, "calling AE title not recognised");
// below storage.min_free_disk_mb, or while draining, new associations are rejected.
// A C-STORE is answered 0000 only once the instance is on stable storage (a record in the
// ingest journal, or its spool file and folder fsynced); its spool file and row are written by
// the association's indexing thread. Failures answer A700 (out of resources) or C000 (cannot
// understand: missing or invalid UIDs).
#include <memory>
#include <thread>

#include "livernode/node/runtime.h"

namespace livernode::node {

class DicomListener {
 public:
  // tls: serve DICOM over TLS on node.tls.port with node.tls's certificate, key and CAs
  // (BCP 195 cipher suites; client certificates required when require_client_certificate).
  explicit DicomListener(Runtime& runtime, bool tls = false);
  ~DicomListener();
  DicomListener(const DicomListener&) = delete;
  DicomListener& operator=(const DicomListener&) = delete;

  // Binds the listening socket (throws std::runtime_error when it cannot) and starts serving.
  void start();
  // Stops accepting, waits for the associations in progress to finish.
  void stop();

 private:
  struct Acceptor;
  Runtime& runtime_;
  bool tls_ = false;
  bool primary_ = false;  // sets Runtime::scp_listening
  std::unique_ptr<Acceptor> acceptor_;
  std::thread thread_;
};

}  // namespace livernode::node
