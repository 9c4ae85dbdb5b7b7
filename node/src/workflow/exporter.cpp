// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include "livernode/node/workflow/exporter.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <map>
#include <set>

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"
#include "dcmtk/dcmtls/tlslayer.h"

namespace livernode::node {

Exporter::Exporter(Runtime& runtime, Wakeup& wake) : runtime_(runtime), wake_(wake) {}

void Exporter::start() {
  thread_ = std::thread([this] {
    while (!wake_.stopped()) {
      double sleep = 1.0;
      try {
        pass(wall_now());
        if (auto next = runtime_.store->next_outbox_due())
          sleep = std::min(1.0, std::max(0.05, *next - wall_now()));
      } catch (const std::exception& e) {
        spdlog::error("event=exporter_error error=\"{}\"", e.what());
      }
      if (!wake_.wait(sleep)) break;
    }
  });
}

void Exporter::stop() {
  wake_.stop();
  if (thread_.joinable()) thread_.join();
}

namespace {

std::string hex_status(Uint16 status) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", status);
  return buf;
}

// DcmSCU with its TLS switch (protected in DCMTK 3.6.7) made usable.
class ResultScu : public DcmSCU {
 public:
  using DcmSCU::useSecureConnection;
};

std::unique_ptr<DcmTLSTransportLayer> make_client_tls(const config::TlsConfig& c,
                                                      std::string& error) {
  auto layer = std::make_unique<DcmTLSTransportLayer>(NET_REQUESTOR, nullptr, OFTrue);
  auto fail = [&](const std::string& what, const OFCondition& cond) {
    error = "DICOM TLS: " + what + ": " + cond.text();
    return nullptr;
  };
  OFCondition cond = layer->setTLSProfile(TSP_Profile_BCP195);
  if (cond.good()) cond = layer->activateCipherSuites();
  if (cond.bad()) return fail("cannot select the BCP 195 profile", cond);
  if (!c.certificate.empty() && !c.private_key.empty()) {
    if ((cond = layer->setPrivateKeyFile(c.private_key.c_str(), DCF_Filetype_PEM)).bad())
      return fail("cannot read private key " + c.private_key.string(), cond);
    if ((cond = layer->setCertificateFile(c.certificate.c_str(), DCF_Filetype_PEM)).bad())
      return fail("cannot read certificate " + c.certificate.string(), cond);
  }
  for (const auto& ca : c.trusted_cas)
    if ((cond = layer->addTrustedCertificateFile(ca.c_str(), DCF_Filetype_PEM)).bad())
      return fail("cannot read CA certificate " + ca.string(), cond);
  layer->setCertificateVerification(DCV_requireCertificate);
  return layer;
}

}  // namespace

void Exporter::pass(double now) {
  const auto cfg = runtime_.config.get();
  const auto& delivery = cfg->config.delivery;
  // The rows this node sends in this pass are claimed first: no other node sharing the state
  // sends them while this node holds them (its heartbeat renews the claim); what is left unsent
  // when the pass ends is released for any node's next pass.
  const Claimant self = claimant_of(cfg->config);
  std::map<std::string, std::vector<OutboxRow>> by_destination;
  for (auto& row : runtime_.store->claim_outbox(now, 200, self))
    by_destination[row.destination].push_back(std::move(row));
  if (by_destination.empty()) return;
  struct Release {
    StateStore& store;
    const std::string& node;
    ~Release() {
      try {
        store.release_outbox(node);
      } catch (const std::exception& e) {
        spdlog::error("event=exporter_error error=\"{}\"", e.what());
      }
    }
  } release{*runtime_.store, self.node};

  auto failed = [&](const OutboxRow& row, const std::string& reason) {
    const int attempts = row.attempts + 1;
    const bool dead = attempts >= delivery.max_attempts;
    const double backoff =
        std::min<double>(delivery.max_backoff_s,
                         delivery.initial_backoff_s * std::pow(2.0, std::min(attempts - 1, 30)));
    runtime_.store->mark_attempt_failed(row.id, reason, wall_now() + backoff, dead);
    if (dead) {
      runtime_.metrics.dead_letters++;
      spdlog::error(
          "event=delivery_dead outbox={} destination={} sop={} kind={} attempts={} reason=\"{}\"",
          row.id, row.destination, row.sop_instance_uid, row.kind, attempts, reason);
    } else {
      runtime_.metrics.delivery_retries++;
      spdlog::warn(
          "event=delivery_retry outbox={} destination={} sop={} attempt={} next_in_s={:.0f} "
          "reason=\"{}\"",
          row.id, row.destination, row.sop_instance_uid, attempts, backoff, reason);
    }
  };

  for (const auto& [name, rows] : by_destination) {
    if (wake_.stopped()) return;
    const config::Destination* dest = nullptr;
    for (const auto& d : cfg->config.destinations)
      if (d.name == name) dest = &d;
    if (!dest) {
      for (const auto& r : rows) failed(r, "destination '" + name + "' is no longer configured");
      continue;
    }
    // For tls: true, our certificate (node.tls) and the CAs that must have signed the peer's.
    std::unique_ptr<DcmTLSTransportLayer> tls;
    if (dest->tls) {
      std::string error;
      tls = make_client_tls(cfg->config.node.tls, error);
      if (!tls) {
        for (const auto& r : rows) failed(r, error);
        continue;
      }
    }
    ResultScu scu;
    scu.setAETitle(cfg->config.node.ae_title.c_str());
    scu.setPeerHostName(dest->host.c_str());
    scu.setPeerPort(static_cast<Uint16>(dest->port));
    scu.setPeerAETitle(dest->ae_title.c_str());
    scu.setACSETimeout(static_cast<Uint32>(cfg->config.node.acse_timeout_s));
    scu.setDIMSETimeout(static_cast<Uint32>(cfg->config.node.dimse_timeout_s));
    scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    scu.setConnectionTimeout(static_cast<Sint32>(cfg->config.node.acse_timeout_s));
    scu.setMaxReceivePDULength(static_cast<Uint32>(cfg->config.node.max_pdu));
    // One presentation context per (SOP class, transfer syntax) of the objects to send.
    std::set<std::pair<std::string, std::string>> contexts;
    for (const auto& r : rows) contexts.insert({r.sop_class_uid, r.transfer_syntax_uid});
    for (const auto& [sop_class, ts] : contexts) {
      OFList<OFString> list;
      list.push_back(ts.c_str());
      scu.addPresentationContext(sop_class.c_str(), list);
    }
    OFCondition cond = scu.initNetwork();
    if (cond.good() && tls) cond = scu.useSecureConnection(tls.get());  // needs the network
    if (cond.good()) cond = scu.negotiateAssociation();
    if (cond.bad()) {
      const std::string reason = "cannot associate with " + dest->ae_title + "@" + dest->host +
                                 ":" + std::to_string(dest->port) + ": " + cond.text();
      for (const auto& r : rows) failed(r, reason);
      continue;
    }
    std::size_t delivered = 0;
    for (const auto& r : rows) {
      // Still this node's to send? Not when its claim ran out meanwhile (the heartbeat could
      // not renew it) and another node took the row: that node sends it.
      if (!runtime_.store->renew_outbox_claim(r.id, wall_now(), self)) {
        spdlog::warn(
            "event=delivery_skipped outbox={} destination={} sop={} reason=\"another node took "
            "it over after this node's claim ran out\"",
            r.id, name, r.sop_instance_uid);
        continue;
      }
      const T_ASC_PresentationContextID pc =
          scu.findPresentationContextID(r.sop_class_uid.c_str(), r.transfer_syntax_uid.c_str());
      if (pc == 0) {
        failed(r, "destination accepted no presentation context for SOP class " + r.sop_class_uid +
                      " / " + r.transfer_syntax_uid);
        continue;
      }
      Uint16 status = 0xFFFF;
      cond = scu.sendSTORERequest(pc, OFFilename(r.path.c_str()), nullptr, status);
      if (cond.good() && status == 0x0000) {
        runtime_.store->mark_delivered(r.id, wall_now());
        runtime_.metrics.deliveries++;
        ++delivered;
        spdlog::info("event=delivered outbox={} destination={} study={} sop={} kind={}", r.id, name,
                     r.study_uid, r.sop_instance_uid, r.kind);
      } else {
        failed(r, cond.bad() ? std::string("C-STORE failed: ") + cond.text()
                             : "C-STORE status " + hex_status(status));
        if (cond.bad() && !scu.isConnected()) {
          // Association lost: the remaining rows wait for the next pass.
          break;
        }
      }
    }
    if (scu.isConnected()) scu.releaseAssociation();
  }
}

}  // namespace livernode::node
