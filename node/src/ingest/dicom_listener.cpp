#include "livernode/node/ingest/dicom_listener.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "connection_table.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/scp.h"
#include "dcmtk/dcmnet/scpthrd.h"
#include "dicom_text.h"
#include "livernode/node/error.h"
#include "socket_handoff.h"
#include "store_scp.h"

namespace livernode::node {

namespace {

const std::vector<const char*>& storage_sop_classes() {
  static const std::vector<const char*> classes = {
      UID_CTImageStorage,
      UID_EnhancedCTImageStorage,
      UID_LegacyConvertedEnhancedCTImageStorage,
      UID_MRImageStorage,
      UID_EnhancedMRImageStorage,
      UID_EnhancedMRColorImageStorage,
      UID_LegacyConvertedEnhancedMRImageStorage,
      UID_SegmentationStorage,
  };
  return classes;
}

OFList<OFString> accepted_transfer_syntaxes() {
  // Preference order: keep compressed data compressed, then uncompressed explicit, implicit last.
  OFList<OFString> ts;
  for (const char* uid :
       {UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEGLSLosslessTransferSyntax,
        UID_JPEGProcess14SV1TransferSyntax, UID_JPEGProcess14TransferSyntax,
        UID_RLELosslessTransferSyntax, UID_JPEG2000TransferSyntax, UID_JPEGLSLossyTransferSyntax,
        UID_JPEGProcess1TransferSyntax, UID_JPEGProcess2_4TransferSyntax,
        UID_LittleEndianExplicitTransferSyntax, UID_BigEndianExplicitTransferSyntax,
        UID_DeflatedExplicitVRLittleEndianTransferSyntax, UID_LittleEndianImplicitTransferSyntax})
    ts.push_back(uid);
  return ts;
}

using Clock = std::chrono::steady_clock;

}  // namespace

// The listener. DCMTK's DcmSCPPool is not used: in DCMTK 3.6.7 its worker deletes itself when
// its association ends while the accepting thread may still be storing the new thread's handle
// into it (heap corruption after rejected associations), its workers are never joined, and its
// accepting thread reads every association request itself, one at a time, so that one silent
// peer kept every other caller waiting. Here the accepting thread only accepts: each connection
// gets a thread of its own (joined by this acceptor) that reads the association request within
// node.acse_timeout_s and then serves the association with the SCP of store_scp.h.
struct DicomListener::Acceptor {
  explicit Acceptor(Runtime& runtime) : runtime(runtime) {}
  ~Acceptor() {
    if (network) ASC_dropNetwork(&network);
    if (listen_fd >= 0) ::close(listen_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  Runtime& runtime;
  DcmSCPConfig config;
  std::unique_ptr<DcmSharedSCPConfig> shared;
  std::unique_ptr<DcmTransportLayer> layer;  // outlives the network
  T_ASC_Network* network = nullptr;
  std::unique_ptr<ConnectionTable> table;
  bool tls = false;
  int port = 0;
  long max_pdu = 65536;
  int listen_fd = -1;
  int wake_fd = -1;  // written by stop()
  std::atomic<bool> stopping{false};

  static void drop(T_ASC_Association*& association) {
    if (!association) return;
    ASC_dropAssociation(association);
    ASC_destroyAssociation(&association);
  }

  // A-ASSOCIATE-RJ "rejected transient" with `reason`, counted and logged like the SCP's own
  // rejections.
  void refuse_transient(T_ASC_Association*& association, T_ASC_RejectParametersReason reason,
                        const std::string& why) {
    runtime.metrics.associations_rejected++;
    spdlog::warn("event=association_rejected calling_ae={} peer={} reason=\"{}\"",
                 clean(association->params->DULparams.callingAPTitle),
                 clean(association->params->DULparams.callingPresentationAddress), why);
    T_ASC_RejectParameters rej;
    rej.result = ASC_RESULT_REJECTEDTRANSIENT;
    rej.source = ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED;
    rej.reason = reason;
    ASC_rejectAssociation(association, &rej);
    drop(association);
  }

  // Accepts, until `stopping`, and watches the connections; then closes the listening socket
  // and waits for the associations in progress to end.
  void run() {
    auto retry_at = Clock::time_point{};
    while (!stopping.load()) {
      pollfd fds[2] = {{Clock::now() >= retry_at ? listen_fd : -1, POLLIN, 0},
                       {wake_fd, POLLIN, 0}};
      ::poll(fds, 2, 250);
      if (stopping.load()) break;
      if ((fds[0].revents & POLLIN) && !accept_waiting())
        retry_at = Clock::now() + std::chrono::milliseconds(200);
      table->watch(false);
      table->reap();
    }
    ::close(listen_fd);
    listen_fd = -1;
    while (table->reap() > 0) {
      table->watch(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Accepts every connection waiting in the backlog; false when the process is out of
  // descriptors (or memory): the connections wait in the backlog and are tried again shortly.
  bool accept_waiting() {
    while (true) {
      sockaddr_storage from{};
      socklen_t length = sizeof from;
      const int fd =
          ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&from), &length, SOCK_CLOEXEC);
      if (fd >= 0) {
        start_connection(fd, address_text(from));
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      spdlog::error("event=accept_failed port={} error=\"{}\" note=\"trying again shortly\"", port,
                    std::strerror(errno));
      return false;
    }
  }

  void start_connection(int fd, const std::string& peer) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    set_io_timeouts(fd, table->limits().acse_timeout_s);
    const int control = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (control < 0) {
      ::close(fd);
      spdlog::error("event=accept_failed port={} peer={} error=\"{}\"", port, peer,
                    std::strerror(errno));
      return;
    }
    auto c = std::make_shared<Connection>();
    c->control = control;
    c->peer = peer;
    c->accepted = Clock::now();
    table->admit(c);
    try {
      c->thread = std::thread([this, c, fd] { serve(*c, fd); });
    } catch (const std::system_error& e) {
      table->forget(c);
      ::close(fd);
      ::close(control);
      runtime.metrics.associations_receive_failed++;
      spdlog::error(
          "event=association_receive_failed peer={} reason=\"cannot start a thread for "
          "the connection: {}\"",
          peer, e.what());
    }
  }

  // The thread of one connection: its association request, then the association.
  void serve(Connection& c, int fd) {
    try {
      T_ASC_Association* association = nullptr;
      bool taken = false;
      const OFCondition cond = receive_request(network, fd, tls, max_pdu, association, taken);
      if (!taken) ::close(fd);
      if (cond.bad()) {
        receive_failed(c, association, cond);
      } else {
        table->request_read(c);
        set_io_timeouts(c.control, table->limits().dimse_timeout_s);
        serve_association(c, association);
      }
    } catch (const std::exception& e) {
      spdlog::error("event=association_failed peer={} error=\"{}\"", c.peer, e.what());
    }
    table->release_slot(c);
    table->close(c);
    c.done.store(true, std::memory_order_release);
  }

  // Garbage, another protocol, a dropped connection or a silent peer: closed, counted, logged.
  void receive_failed(Connection& c, T_ASC_Association*& association, const OFCondition& cond) {
    runtime.metrics.associations_receive_failed++;
    std::string reason = table->shut_reason(c);
    if (reason.empty()) reason = quoted_safe(cond.text());
    spdlog::warn(
        "event=association_receive_failed peer={} reason=\"{}\" note=\"the peer did not send a "
        "valid DICOM association request; connection closed, still listening\"",
        c.peer.empty() ? "-" : c.peer, reason);
    drop(association);
  }

  void serve_association(Connection& c, T_ASC_Association*& association) {
    auto scp = make_store_scp(runtime, c, *table);
    const OFCondition configured = scp->setSharedConfig(*shared);
    if (configured.bad()) {
      refuse_transient(association, ASC_REASON_SP_PRES_TEMPORARYCONGESTION,
                       std::string("cannot configure the association: ") + configured.text());
      return;
    }
    // The StoreScp owns the association from here; its destructor drops and frees it.
    T_ASC_Association* const handed = association;
    association = nullptr;
    const OFCondition result = scp->run(handed);
    if (result.bad()) spdlog::debug("event=association_ended error=\"{}\"", result.text());
  }
};

DicomListener::DicomListener(Runtime& runtime, bool tls)
    : runtime_(runtime), tls_(tls), acceptor_(std::make_unique<Acceptor>(runtime)) {}

DicomListener::~DicomListener() { stop(); }

void DicomListener::start() {
  const auto cfg = runtime_.config.get();
  const auto& node = cfg->config.node;
  // DCMTK disables Nagle on every association socket it makes (the exporter's too) when
  // TCP_NODELAY is set in the environment; without it, each small PDU waits for the peer's
  // delayed ACK (~40 ms). Accepted sockets get it from the acceptor. Set once, before any
  // thread reads it (a second listener finds it set).
  const char* nodelay = std::getenv("TCP_NODELAY");
  if (!nodelay || std::string(nodelay) != "1") ::setenv("TCP_NODELAY", "1", 1);
  dcmDisableGethostbyaddr.set(OFTrue);
  const int port = tls_ ? node.tls.port : node.port;
  // The listener /readyz and scp_listening speak of: the plain one, or the TLS one when it is
  // the only one.
  primary_ = !tls_ || node.tls.only;
  Acceptor& a = *acceptor_;
  a.listen_fd = open_listening_socket(port);
  if (primary_ && node.bind_address != "0.0.0.0" && node.bind_address != "::")
    spdlog::warn(
        "event=config_note key=node.bind_address value={} note=\"the DICOM port accepts TCP "
        "connections on all interfaces; associations arriving on another address are "
        "rejected\"",
        node.bind_address);
  a.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (a.wake_fd < 0)
    throw NodeError(NodeErrorKind::kInternal,
                    std::string("cannot create an eventfd: ") + std::strerror(errno));

  ConnectionTable::Limits limits;
  limits.associations = static_cast<std::size_t>(std::max(1, node.max_associations));
  limits.per_source = static_cast<std::size_t>(node.max_associations_per_source > 0
                                                   ? node.max_associations_per_source
                                                   : std::max(1, node.max_associations - 1));
  limits.pending = static_cast<std::size_t>(std::max(1, node.max_pending_connections));
  limits.acse_timeout_s = node.acse_timeout_s;
  limits.dimse_timeout_s = node.dimse_timeout_s;
  limits.stall_timeout_s = node.stall_timeout_s;
  a.table = std::make_unique<ConnectionTable>(limits);
  a.tls = tls_;
  a.port = port;
  a.max_pdu = node.max_pdu;
  if (tls_)
    a.layer = make_tls_layer(node.tls);
  else
    a.layer = make_tcp_layer();
  a.network = make_network(node.acse_timeout_s, *a.layer, a.listen_fd);

  DcmSCPConfig& c = a.config;
  c.setAETitle(node.ae_title.c_str());
  c.setPort(static_cast<Uint16>(port));
  c.setMaxReceivePDULength(static_cast<Uint32>(node.max_pdu));
  c.setACSETimeout(static_cast<Uint32>(node.acse_timeout_s));
  c.setDIMSETimeout(static_cast<Uint32>(node.dimse_timeout_s));
  c.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  c.setConnectionBlockingMode(DUL_NOBLOCK);
  c.setHostLookupEnabled(OFFalse);
  c.setRespondWithCalledAETitle(OFFalse);
  OFList<OFString> verification;
  verification.push_back(UID_LittleEndianExplicitTransferSyntax);
  verification.push_back(UID_BigEndianExplicitTransferSyntax);
  verification.push_back(UID_LittleEndianImplicitTransferSyntax);
  c.addPresentationContext(UID_VerificationSOPClass, verification);
  const auto ts = accepted_transfer_syntaxes();
  for (const char* sop_class : storage_sop_classes()) c.addPresentationContext(sop_class, ts);
  a.shared = std::make_unique<DcmSharedSCPConfig>(c);

  a.stopping = false;
  thread_ = std::thread([this] {
    acceptor_->run();
    if (primary_) runtime_.scp_listening = false;
  });
  if (primary_) runtime_.scp_listening = true;
  spdlog::info(
      "event=scp_listening ae_title={} address={} port={} tls={} max_associations={} "
      "max_associations_per_source={} max_pending_connections={}",
      node.ae_title, node.bind_address, port, tls_ ? "yes" : "no", limits.associations,
      limits.per_source, limits.pending);
}

void DicomListener::stop() {
  if (!thread_.joinable()) return;
  acceptor_->stopping = true;
  const std::uint64_t one = 1;
  if (::write(acceptor_->wake_fd, &one, sizeof one) < 0) {
    // The accepting loop also looks at the flag every 250 ms.
  }
  thread_.join();
  if (primary_) runtime_.scp_listening = false;
  spdlog::info("event=scp_stopped tls={}", tls_ ? "yes" : "no");
}

}  // namespace livernode::node
