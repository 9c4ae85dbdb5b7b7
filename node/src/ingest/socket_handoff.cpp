#include "socket_handoff.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmtls/tlslayer.h"
#include "livernode/node/error.h"

namespace livernode::node {

namespace {

// Held from setting dcmExternalSocketHandle until DCMTK has taken the socket.
std::mutex g_handoff;
thread_local std::unique_lock<std::mutex>* t_handoff_lock = nullptr;
thread_local bool t_socket_taken = false;

void socket_taken() {
  dcmExternalSocketHandle.set(DCMNET_INVALID_SOCKET);
  t_socket_taken = true;
  if (t_handoff_lock && t_handoff_lock->owns_lock()) t_handoff_lock->unlock();
}

class HandoffTcpLayer : public DcmTransportLayer {
 public:
  DcmTransportConnection* createConnection(DcmNativeSocketType socket, OFBool secure) override {
    socket_taken();
    return DcmTransportLayer::createConnection(socket, secure);
  }
};

class HandoffTlsLayer : public DcmTLSTransportLayer {
 public:
  HandoffTlsLayer() : DcmTLSTransportLayer(NET_ACCEPTOR, nullptr, OFTrue) {}
  DcmTransportConnection* createConnection(DcmNativeSocketType socket, OFBool secure) override {
    socket_taken();
    return DcmTLSTransportLayer::createConnection(socket, secure);
  }
};

}  // namespace

std::unique_ptr<DcmTransportLayer> make_tcp_layer() { return std::make_unique<HandoffTcpLayer>(); }

std::unique_ptr<DcmTransportLayer> make_tls_layer(const config::TlsConfig& tls) {
  auto layer = std::make_unique<HandoffTlsLayer>();
  auto check = [](const OFCondition& c, const std::string& what) {
    if (c.bad()) throw NodeError(NodeErrorKind::kConfig, "DICOM TLS: " + what + ": " + c.text());
  };
  check(layer->setTLSProfile(TSP_Profile_BCP195), "cannot select the BCP 195 profile");
  check(layer->activateCipherSuites(), "cannot activate the cipher suites");
  check(layer->setPrivateKeyFile(tls.private_key.c_str(), DCF_Filetype_PEM),
        "cannot read private key " + tls.private_key.string());
  check(layer->setCertificateFile(tls.certificate.c_str(), DCF_Filetype_PEM),
        "cannot read certificate " + tls.certificate.string());
  if (!layer->checkPrivateKeyMatchesCertificate())
    throw NodeError(NodeErrorKind::kConfig, "DICOM TLS: private key " + tls.private_key.string() +
                                                " does not match certificate " +
                                                tls.certificate.string());
  for (const auto& ca : tls.trusted_cas)
    check(layer->addTrustedCertificateFile(ca.c_str(), DCF_Filetype_PEM),
          "cannot read CA certificate " + ca.string());
  layer->setBuiltInDHParameters();
  layer->setCertificateVerification(tls.require_client_certificate ? DCV_requireCertificate
                                    : tls.trusted_cas.empty()      ? DCV_ignoreCertificate
                                                                   : DCV_checkCertificate);
  return layer;
}

OFCondition receive_request(T_ASC_Network* network, int fd, bool tls, long max_pdu,
                            T_ASC_Association*& association, bool& taken) {
  std::unique_lock lock(g_handoff);
  t_handoff_lock = &lock;
  t_socket_taken = false;
  dcmExternalSocketHandle.set(static_cast<DcmNativeSocketType>(fd));
  const OFCondition cond = ASC_receiveAssociation(network, &association, max_pdu, nullptr, nullptr,
                                                  tls ? OFTrue : OFFalse, DUL_NOBLOCK, 0);
  t_handoff_lock = nullptr;
  taken = t_socket_taken;
  if (lock.owns_lock()) dcmExternalSocketHandle.set(DCMNET_INVALID_SOCKET);
  return cond;
}

T_ASC_Network* make_network(int acse_timeout_s, DcmTransportLayer& layer, int placeholder) {
  T_ASC_Network* network = nullptr;
  OFCondition cond;
  {
    std::lock_guard lock(g_handoff);
    dcmExternalSocketHandle.set(static_cast<DcmNativeSocketType>(placeholder));
    cond = ASC_initializeNetwork(NET_ACCEPTOR, 0, acse_timeout_s, &network);
    dcmExternalSocketHandle.set(DCMNET_INVALID_SOCKET);
  }
  if (cond.bad())
    throw NodeError(NodeErrorKind::kNetwork,
                    std::string("cannot set up the DICOM network: ") + cond.text());
  cond = ASC_setTransportLayer(network, &layer, 0 /* not taking ownership */);
  if (cond.bad()) {
    ASC_dropNetwork(&network);
    throw NodeError(NodeErrorKind::kNetwork, std::string("DICOM transport layer: ") + cond.text());
  }
  return network;
}

int open_listening_socket(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    throw NodeError(NodeErrorKind::kNetwork,
                    std::string("cannot create DICOM socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    throw NodeError(NodeErrorKind::kNetwork,
                    "cannot listen on DICOM port " + std::to_string(port) + ": " + reason);
  }
  return fd;
}

std::string address_text(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (address.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, text,
                sizeof text);
  else if (address.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, text,
                sizeof text);
  return text;
}

void set_io_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace livernode::node
