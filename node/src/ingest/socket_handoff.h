#pragma once
// Handing an accepted socket to DCMTK.
//
// DCMTK 3.6.7 reads an association request only in ASC_receiveAssociation, which either
// accepts on a listening socket of its own or, when dcmExternalSocketHandle names a socket,
// takes that one. The node accepts connections itself and lets each connection's thread read
// its own request through the latter. That variable is one for the whole process: a thread
// holds the handoff lock from setting it until DCMTK has taken the socket (in the transport
// layer's createConnection, before a byte is read), so that handoffs never mix sockets up, while
// the slow part -- the TLS handshake and the request itself -- runs on every thread at once.
// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <sys/socket.h>

#include <memory>
#include <string>

#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dcmlayer.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "livernode/config/config.h"

namespace livernode::node {

// The transport layers that take the handed-over socket: plain TCP, or TLS with node.tls's
// certificate, key and CAs (BCP 195 cipher suites). Throws std::runtime_error.
std::unique_ptr<DcmTransportLayer> make_tcp_layer();
std::unique_ptr<DcmTransportLayer> make_tls_layer(const config::TlsConfig& tls);

// DCMTK's network of one listener: it opens no port (a socket is handed over per connection)
// and reads through `layer`.
T_ASC_Network* make_network(int acse_timeout_s, DcmTransportLayer& layer, int placeholder);

// Reads the association request arriving on `fd` (and, with `tls`, its handshake first) on the
// calling thread, within node.acse_timeout_s. `taken`: DCMTK took the socket over and closes it
// with the association; false: the socket is still the caller's.
OFCondition receive_request(T_ASC_Network* network, int fd, bool tls, long max_pdu,
                            T_ASC_Association*& association, bool& taken);

// The listening socket on all IPv4 interfaces (node.bind_address is enforced per association,
// as before), non-blocking for the accepting loop.
int open_listening_socket(int port);

// The IP address of a peer as text.
std::string address_text(const sockaddr_storage& address);

// Bounds every single read and write on `fd` (the TLS handshake and a TLS record cut short
// block in one read, outside DCMTK's own timeouts).
void set_io_timeouts(int fd, int seconds);

}  // namespace livernode::node
