#include "livernode/node/ingest/dicom_listener.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "connection_table.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcwcache.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmnet/scp.h"
#include "dcmtk/dcmnet/scpthrd.h"
#include "dcmtk/dcmtls/tlslayer.h"
#include "livernode/config/host_pattern.h"
#include "livernode/node/ingest/ingest_journal.h"
#include "livernode/node/ingest/routing.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/ingest/spool_recovery.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

constexpr Uint16 kStatusSuccess = 0x0000;
constexpr Uint16 kStatusOutOfResources = 0xA700;
constexpr Uint16 kStatusCannotUnderstand = 0xC000;
// Larger instances are streamed into the spool and fsynced there; the journal's segments are
// 32 MiB (JournalOptions).
constexpr Uint32 kLargestJournaledInstance = 24u << 20;

std::string clean(const OFString& value) {
  std::string s(value.c_str());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

// The complete Part 10 file of `file` in `xfer`, exactly as DcmFileFormat::saveFile would write
// it, encoded in memory: one write of the file and one journal record instead of the many
// small writes of a file stream.
bool serialize(DcmFileFormat& file, E_TransferSyntax xfer, std::string& out, std::string& error) {
  thread_local std::vector<char> chunk(1u << 20);
  DcmOutputBufferStream stream(chunk.data(), static_cast<offile_off_t>(chunk.size()));
  DcmWriteCache cache;
  out.clear();
  file.transferInit();
  OFCondition c;
  do {
    c = file.write(stream, xfer, EET_ExplicitLength, &cache, EGL_recalcGL, EPD_noChange, 0, 0, 0,
                   EWM_fileformat);
    void* data = nullptr;
    offile_off_t length = 0;
    stream.flushBuffer(data, length);
    out.append(static_cast<const char*>(data), static_cast<std::size_t>(length));
  } while (c == EC_StreamNotifyClient);
  file.transferEnd();
  if (c.bad()) error = c.text();
  return c.good();
}

std::string get(DcmItem* item, const DcmTagKey& tag) {
  OFString v;
  if (item->findAndGetOFString(tag, v).good()) return clean(v);
  return {};
}

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

struct SeriesTally {
  std::uint64_t stored = 0, duplicates = 0;
};

using Clock = std::chrono::steady_clock;

// Bounds every single read and write on `fd` (the TLS handshake and a TLS record cut short
// block in one read, outside DCMTK's own timeouts).
void set_io_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string quoted_safe(std::string text) {
  for (char& ch : text)
    if (ch == '"' || ch == '\n' || ch == '\r') ch = ch == '"' ? '\'' : ' ';
  return text;
}

class StoreScp : public DcmThreadSCP {
 public:
  StoreScp(Runtime& runtime, Connection& connection, ConnectionTable& table)
      : runtime_(runtime), connection_(connection), table_(table) {}
  ~StoreScp() override { finish_indexing(); }

  // Runs one association whose request has been read. The local address the peer connected to
  // is looked up first, so that node.bind_address can be enforced per association.
  OFCondition run(T_ASC_Association* association) override {
    local_address_.clear();
    association_ = association;
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    char text[INET6_ADDRSTRLEN] = {0};
    if (::getsockname(connection_.control, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      if (local.ss_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, text, sizeof text);
      else if (local.ss_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, text,
                    sizeof text);
      local_address_ = text;
    }
    connection_.working = true;  // negotiating: the peer waits for the node's answer
    const OFCondition result = DcmThreadSCP::run(association);
    connection_.working = false;
    association_ = nullptr;
    return result;
  }

 protected:
  void notifyAssociationRequest(const T_ASC_Parameters& params,
                                DcmSCPActionType& desiredAction) override {
    start_ = std::chrono::steady_clock::now();
    tallies_.clear();
    failed_ = 0;
    bytes_ = 0;
    accepted_ = false;
    transient_ = false;
    calling_ae_ = clean(params.DULparams.callingAPTitle);
    peer_ = clean(params.DULparams.callingPresentationAddress);
    const auto cfg = runtime_.config.get();
    if (runtime_.draining) {
      reject_reason_ = "node is shutting down";
      transient_ = true;
      desiredAction = DCMSCP_ACTION_REFUSE_ASSOCIATION;
      return;
    }
    if (std::string why = runtime_.storage.refusal(); !why.empty()) {
      reject_reason_ = std::move(why);
      transient_ = true;
      desiredAction = DCMSCP_ACTION_REFUSE_ASSOCIATION;
      return;
    }
    const auto free_mb = free_disk_mb(cfg->config.storage.spool_dir);
    if (free_mb >= 0 && free_mb < cfg->config.storage.min_free_disk_mb) {
      reject_reason_ =
          "free disk " + std::to_string(free_mb) + " MiB below storage.min_free_disk_mb";
      transient_ = true;
      desiredAction = DCMSCP_ACTION_REFUSE_ASSOCIATION;
      return;
    }
    const std::string& bind = cfg->config.node.bind_address;
    if (bind != "0.0.0.0" && bind != "::" && !local_address_.empty() && local_address_ != bind &&
        local_address_ != "::ffff:" + bind) {
      reject_reason_ =
          "connection arrived on " + local_address_ + ", not on node.bind_address " + bind;
      desiredAction = DCMSCP_ACTION_REFUSE_ASSOCIATION;
      return;
    }
    reject_reason_.clear();
  }

  OFBool checkCalledAETitleAccepted(const OFString& calledAE) override {
    const auto cfg = runtime_.config.get();
    if (clean(calledAE) == cfg->config.node.ae_title) return OFTrue;
    reject_reason_ = "called AE title '" + clean(calledAE) + "' is not ours";
    return OFFalse;
  }

  // The allow-list pairs AE titles with source addresses, so both are checked here, where
  // the calling AE title is known; a mismatch is answered "calling AE title not recognised".
  // An accepted caller then takes an association slot: only callers the node would serve ever
  // compete for one (no slot: "rejected transient, local limit exceeded").
  OFBool checkCallingAETitleAccepted(const OFString& callingAE) override {
    const auto cfg = runtime_.config.get();
    const auto& allowed = cfg->config.node.allowed_callers;
    if (allowed.empty()) return take_slot();
    const std::string ae = clean(callingAE);
    for (const auto& a : allowed) {
      if (!a.ae_title.empty() && a.ae_title != ae) continue;
      if (!a.host.empty()) {
        const auto pattern = config::HostPattern::parse(a.host);
        if (!pattern || !pattern->matches(peer_)) continue;
      }
      return take_slot();
    }
    reject_reason_ = "caller " + ae + "@" + peer_ + " is not in node.allowed_callers";
    return OFFalse;
  }

  // Counted and logged before the A-ASSOCIATE-RJ leaves, so whoever sees the rejection finds
  // it in the log and the metrics.
  void refuseAssociation(const DcmRefuseReasonType reason) override {
    runtime_.metrics.associations_rejected++;
    spdlog::warn("event=association_rejected calling_ae={} peer={} reason=\"{}\"", calling_ae_,
                 peer_,
                 reject_reason_.empty() ? "no acceptable presentation context" : reject_reason_);
    if (no_slot_) {
      DcmSCP::refuseAssociation(DCMSCP_TOO_MANY_ASSOCIATIONS);
      return;
    }
    if (transient_ && association_) {
      // Low disk or shutting down: "rejected transient, temporary congestion" tells the
      // sender to try again later rather than that it is not welcome.
      T_ASC_RejectParameters rej;
      rej.result = ASC_RESULT_REJECTEDTRANSIENT;
      rej.source = ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED;
      rej.reason = ASC_REASON_SP_PRES_TEMPORARYCONGESTION;
      ASC_rejectAssociation(association_, &rej);
      return;
    }
    DcmSCP::refuseAssociation(reason);
  }

  void notifyAssociationAcknowledge() override {
    connection_.working = false;  // from here on the node waits for the peer's messages
    accepted_ = true;
    runtime_.metrics.associations_accepted++;
  }

  // The sender sees the release only once every instance it sent is in the spool folder and the
  // state store.
  void notifyReleaseRequest() override {
    connection_.working = true;
    finish_indexing();
    DcmThreadSCP::notifyReleaseRequest();
  }
  // The peer aborted: DCMTK has closed its descriptor, the connection's own duplicate is shut
  // too, so that the peer sees the connection close at once.
  void notifyAbortRequest() override {
    ::shutdown(connection_.control, SHUT_RDWR);
    finish_indexing();
    DcmThreadSCP::notifyAbortRequest();
  }
  // The association ends on an error (the DIMSE timeout, the peer gone, the table ending a
  // stalled association): DCMTK then sends an A-ABORT and would wait up to 30 s for the peer
  // to close. With the receiving side shut first, that wait ends at once.
  void notifyDIMSEError(const OFCondition& cond) override {
    ::shutdown(connection_.control, SHUT_RD);
    std::string reason = table_.shut_reason(connection_);
    if (reason.empty()) reason = quoted_safe(cond.text());
    spdlog::info("event=association_aborted calling_ae={} peer={} reason=\"{}\"", calling_ae_,
                 peer_, reason);
  }

  void notifyAssociationTermination() override {
    finish_indexing();
    if (!accepted_) return;
    std::uint64_t stored = 0, dups = 0;
    for (const auto& [series, t] : tallies_) {
      stored += t.stored;
      dups += t.duplicates;
      spdlog::info("event=instances_stored calling_ae={} series={} stored={} duplicates={}",
                   calling_ae_, series, t.stored, t.duplicates);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    spdlog::info(
        "event=association_end calling_ae={} peer={} stored={} duplicates={} failed={} bytes={} "
        "seconds={:.3f}",
        calling_ae_, peer_, stored, dups, failed_, bytes_, seconds);
  }

  OFCondition handleIncomingCommand(T_DIMSE_Message* message,
                                    const DcmPresentationContextInfo& info) override {
    if (message->CommandField != DIMSE_C_STORE_RQ)
      return DcmSCP::handleIncomingCommand(message, info);
    T_DIMSE_C_StoreRQ& request = message->msg.CStoreRQ;
    DcmDataset* dataset = nullptr;
    OFCondition cond = receiveSTORERequest(request, info.presentationContextID, dataset);
    // From here until the response has left, the peer waits for the node.
    struct Working {
      std::atomic<bool>& flag;
      explicit Working(std::atomic<bool>& f) : flag(f) { flag = true; }
      ~Working() { flag = false; }
    } working(connection_.working);
    if (cond.bad()) {
      delete dataset;
      count_failed();
      spdlog::warn("event=store_receive_failed calling_ae={} sop={} error=\"{}\"", calling_ae_,
                   request.AffectedSOPInstanceUID, cond.text());
      return cond;
    }
    Stored stored;
    const Uint16 status = store(request, info, dataset, stored);  // takes the dataset
    // Refused (hostile UIDs, a full disk) or failed: not stored, counted in the association's
    // end line and the metrics alike.
    if (status != kStatusSuccess) count_failed();
    // The instance is durable already: its spool file and its row are written by the indexing
    // thread while this one answers and receives the next instance.
    if (stored.file) enqueue(std::move(stored));
    return sendSTOREResponse(info.presentationContextID, request, status);
  }

 private:
  bool take_slot() {
    std::string why;
    if (table_.take_slot(connection_, why)) return OFTrue;
    reject_reason_ = why;
    no_slot_ = true;
    return OFFalse;
  }

  void count_failed() {
    runtime_.metrics.instances_failed++;
    std::lock_guard lock(tally_mutex_);
    failed_++;
  }

  // A durable instance on its way into the spool folder and the state store.
  struct Stored {
    std::unique_ptr<DcmFileFormat> file;
    std::string study, series, sop, sop_class, xfer_uid, bytes;  // bytes: journaled only
    std::int64_t size_bytes = 0;
    fs::path path;
    JournalHold hold;  // set: the spool file is still to be written
  };

  Uint16 store(const T_DIMSE_C_StoreRQ& request, const DcmPresentationContextInfo& info,
               DcmDataset* dataset, Stored& out) {
    auto file = std::make_unique<DcmFileFormat>(dataset, OFFalse);  // owns the dataset
    const auto cfg = runtime_.config.get();
    const std::string sop = clean(request.AffectedSOPInstanceUID);
    const std::string study = get(dataset, DCM_StudyInstanceUID);
    const std::string series = get(dataset, DCM_SeriesInstanceUID);
    const std::string dataset_sop = get(dataset, DCM_SOPInstanceUID);
    if (!is_valid_uid(sop) || !is_valid_uid(study) || !is_valid_uid(series) ||
        (!dataset_sop.empty() && dataset_sop != sop)) {
      spdlog::warn(
          "event=store_refused calling_ae={} reason=\"invalid or inconsistent UIDs\" sop=\"{}\" "
          "study=\"{}\" series=\"{}\"",
          calling_ae_, sop.substr(0, 80), study.substr(0, 80), series.substr(0, 80));
      return kStatusCannotUnderstand;
    }
    try {
      Spool spool(cfg->config.storage.spool_dir);
      if (auto existing = runtime_.store->instance_path(sop); existing && fs::exists(*existing)) {
        std::lock_guard lock(tally_mutex_);
        tallies_[series].duplicates++;
        runtime_.metrics.instances_duplicate++;
        spdlog::debug("event=instance_duplicate sop={}", sop);
        return kStatusSuccess;
      }
      const auto free_mb = free_disk_mb(spool.root());
      if (free_mb >= 0 && free_mb < cfg->config.storage.min_free_disk_mb) {
        spdlog::error(
            "event=store_refused sop={} reason=\"free disk {} MiB below storage.min_free_disk_mb\"",
            sop, free_mb);
        return kStatusOutOfResources;
      }
      E_TransferSyntax xfer = DcmXfer(info.acceptedTransferSyntax.c_str()).getXfer();
      if (xfer == EXS_Unknown) xfer = dataset->getOriginalXfer();
      // The sender is kept in the file itself, so a spool recovered at start-up routes the
      // instance as it was routed on receipt.
      file->getMetaInfo()->putAndInsertString(DCM_SourceApplicationEntityTitle,
                                              calling_ae_.c_str());
      const fs::path path = spool.instance_path(study, series, sop);
      out.study = study;
      out.series = series;
      out.sop = sop;
      out.sop_class = clean(request.AffectedSOPClassUID);
      out.xfer_uid = DcmXfer(xfer).getXferID();
      out.path = path;
      const Uint32 estimate = dataset->calcElementLength(xfer, EET_ExplicitLength);
      // Its spool file needs room beside the journal's pre-written segments: an instance the
      // disk cannot hold is refused, not acknowledged from a journal record alone.
      if (free_mb >= 0 && estimate != DCM_UndefinedLength &&
          free_mb <= static_cast<std::int64_t>(estimate >> 20)) {
        const std::string why = "free disk " + std::to_string(free_mb) +
                                " MiB cannot hold an instance of " + std::to_string(estimate) +
                                " bytes";
        note_spool_failed(why);
        spdlog::error("event=store_refused sop={} reason=\"{}\"", sop, why);
        return kStatusOutOfResources;
      }
      // An instance too large for a journal segment is streamed into its file instead of being
      // encoded in memory (a multi-frame object can be a gigabyte). While spool files cannot be
      // written, every instance takes this path: acknowledged only once its own file is in
      // the spool and fsynced.
      if (!runtime_.journal || runtime_.storage.spool_failing() ||
          estimate == DCM_UndefinedLength || estimate > kLargestJournaledInstance) {
        store_durably(spool, study, series, sop, [&](const fs::path& temp, std::string& why) {
          const OFCondition c = file->saveFile(OFFilename(temp.c_str()), xfer, EET_ExplicitLength,
                                               EGL_recalcGL, EPD_noChange, 0, 0, EWM_fileformat);
          if (c.bad()) why = c.text();
          return c.good();
        });
        std::error_code ec;
        const auto size = fs::file_size(path, ec);
        out.size_bytes = ec ? 0 : static_cast<std::int64_t>(size);
        out.file = std::move(file);  // set last: only a stored instance is indexed
        return kStatusSuccess;
      }
      std::string bytes;
      std::string error;
      if (!serialize(*file, xfer, bytes, error))
        throw std::runtime_error("cannot encode the instance: " + error);
      JournalHold hold;
      try {
        hold = runtime_.journal->append(study, series, sop, bytes, path);
      } catch (const std::exception& e) {
        spdlog::warn("event=journal_write_failed sop={} error=\"{}\" fallback=fsync", sop,
                     e.what());
      }
      if (!hold) {
        // No journal record: the file itself is made durable before the response.
        store_durably(spool, study, series, sop, [&](const fs::path& temp, std::string& why) {
          return write_file(temp, bytes, why);
        });
      }
      out.size_bytes = static_cast<std::int64_t>(bytes.size());
      out.bytes = std::move(bytes);
      out.hold = std::move(hold);
      out.file = std::move(file);
      return kStatusSuccess;
    } catch (const std::exception& e) {
      spdlog::error("event=store_failed calling_ae={} sop={} error=\"{}\"", calling_ae_, sop,
                    e.what());
      return kStatusOutOfResources;
    }
  }

  // Writes the spool file of a journaled instance, then records the instance and its routing.
  // A failure here loses nothing: the journal restores a missing file at the next start, and
  // the start-up walk of the spool records a file the state store does not know.
  void index(Stored& s) {
    if (s.hold) {
      try {
        Spool(runtime_.config.get()->config.storage.spool_dir)
            .store_unsynced(s.study, s.series, s.sop, s.bytes);
        s.hold.release();
      } catch (const std::exception& e) {
        s.hold.keep();
        {
          std::lock_guard lock(tally_mutex_);
          failed_++;
        }
        spdlog::error(
            "event=spool_write_failed sop={} error=\"{}\" note=\"kept in the ingest journal, "
            "restored at the next start\"",
            s.sop, e.what());
        note_spool_failed(e.what());
        return;
      }
    }
    try {
      const auto cfg = runtime_.config.get();
      InstanceRecord r;
      describe_instance(*s.file, r);
      r.sop_instance_uid = s.sop;
      r.sop_class_uid = s.sop_class;
      r.study_uid = s.study;
      r.series_uid = s.series;
      r.transfer_syntax_uid = s.xfer_uid;
      r.path = s.path.string();
      r.size_bytes = s.size_bytes;
      r.calling_ae = calling_ae_;
      r.peer_address = peer_;
      r.received_at = wall_now();
      const auto seg = decide_routing(*s.file->getDataset(), r, cfg->router, *runtime_.store);
      const bool recorded = runtime_.store->record_instance(r);
      if (runtime_.storage.store_written())
        spdlog::info("event=state_store_writable note=\"instances are recorded again\"");
      std::lock_guard lock(tally_mutex_);
      if (recorded) {
        if (seg && seg->kind == SegDecision::correction) {
          for (const auto& job : runtime_.store->jobs(seg->target_study, 1))
            spdlog::info(
                "event=job_state job={} study={} version={} state=queued reason=correction seg={} "
                "referenced_series={}",
                job.id, job.study_uid, job.version, s.sop,
                seg->target_series.empty() ? "-" : seg->target_series);
        }
        tallies_[s.series].stored++;
        runtime_.metrics.instances_received++;
        runtime_.metrics.bytes_received += static_cast<std::uint64_t>(r.size_bytes);
        bytes_ += static_cast<std::uint64_t>(r.size_bytes);
        spdlog::debug("event=instance_stored sop={} series={} patient_id={} bytes={}", s.sop,
                      s.series, r.patient_id, r.size_bytes);
      } else {
        tallies_[s.series].duplicates++;
        runtime_.metrics.instances_duplicate++;
      }
    } catch (const std::exception& e) {
      spdlog::error(
          "event=index_failed sop={} error=\"{}\" note=\"the spooled file is recorded at the "
          "next start\"",
          s.sop, e.what());
      runtime_.storage.store_failed(e.what());
    }
  }

  // Writes an instance's spool file durably (fsynced) with `write_temp`; a failure marks the
  // spool as failing and is thrown on, a success ends that state.
  void store_durably(const Spool& spool, const std::string& study, const std::string& series,
                     const std::string& sop,
                     const std::function<bool(const fs::path&, std::string& error)>& write_temp) {
    try {
      spool.store(study, series, sop, write_temp);
    } catch (const std::exception& e) {
      note_spool_failed(e.what());
      throw;
    }
    if (runtime_.storage.spool_written())
      spdlog::info(
          "event=spool_writable note=\"instances are acknowledged from the ingest journal "
          "again\"");
  }

  void note_spool_failed(const std::string& why) {
    if (runtime_.storage.spool_failed(why))
      spdlog::error(
          "event=spool_unwritable error=\"{}\" note=\"until a spool file can be written again, "
          "each instance is written into the spool and fsynced before it is acknowledged, and "
          "refused (A700) when that fails\"",
          quoted_safe(why));
  }

  // Hands an instance to the association's indexing thread (started on first use). The queue
  // is short: a sender faster than the disk waits here instead of filling memory.
  void enqueue(Stored s) {
    std::unique_lock lock(index_mutex_);
    if (!indexer_.joinable()) {
      index_stop_ = false;
      indexer_ = std::thread([this] { index_loop(); });
    }
    index_cv_.wait(lock, [&] { return index_queue_.size() < kIndexQueue; });
    index_queue_.push_back(std::move(s));
    index_cv_.notify_all();
  }

  void index_loop() {
    std::unique_lock lock(index_mutex_);
    while (true) {
      index_cv_.wait(lock, [&] { return index_stop_ || !index_queue_.empty(); });
      if (index_queue_.empty()) return;  // asked to stop, and nothing left
      Stored s = std::move(index_queue_.front());
      index_queue_.pop_front();
      index_cv_.notify_all();
      lock.unlock();
      index(s);
      s = Stored{};  // the dataset and the hold go before the lock is taken again
      lock.lock();
    }
  }

  // Waits until everything queued is indexed, then ends the indexing thread.
  void finish_indexing() {
    {
      std::lock_guard lock(index_mutex_);
      if (!indexer_.joinable()) return;
      index_stop_ = true;
      index_cv_.notify_all();
    }
    indexer_.join();
  }

  static constexpr std::size_t kIndexQueue = 32;
  std::mutex index_mutex_;
  std::condition_variable index_cv_;
  std::deque<Stored> index_queue_;
  bool index_stop_ = false;
  std::thread indexer_;

  Runtime& runtime_;
  Connection& connection_;
  ConnectionTable& table_;
  std::chrono::steady_clock::time_point start_;
  std::mutex tally_mutex_;  // tallies_, failed_, bytes_: also written by the indexing thread
  std::map<std::string, SeriesTally> tallies_;
  std::uint64_t failed_ = 0, bytes_ = 0;
  bool accepted_ = false;
  std::string calling_ae_, peer_, reject_reason_, local_address_;
  T_ASC_Association* association_ = nullptr;  // the one run() is serving
  bool transient_ = false;                    // refuse as temporary congestion
  bool no_slot_ = false;                      // refuse as local limit exceeded
};

// --- Handing an accepted socket to DCMTK ---------------------------------------------------
//
// DCMTK 3.6.7 reads an association request only in ASC_receiveAssociation, which either
// accepts on a listening socket of its own or, when dcmExternalSocketHandle names a socket,
// takes that one. The node accepts connections itself and lets each connection's thread read
// its own request through the latter. That variable is one for the whole process: a thread
// holds g_handoff from setting it until DCMTK has taken the socket (in the transport layer's
// createConnection, before a byte is read), so that handoffs never mix sockets up, while the
// slow part -- the TLS handshake and the request itself -- runs on every thread at once.
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

// Reads the association request arriving on `fd` (and, with `tls`, its handshake first) on the
// calling thread, within node.acse_timeout_s. `taken`: DCMTK took the socket over and closes it
// with the association; false: the socket is still the caller's.
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

// DCMTK's network of one listener: it opens no port (a socket is handed over per connection)
// and reads through `layer`.
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
    throw std::runtime_error(std::string("cannot set up the DICOM network: ") + cond.text());
  cond = ASC_setTransportLayer(network, &layer, 0 /* not taking ownership */);
  if (cond.bad()) {
    ASC_dropNetwork(&network);
    throw std::runtime_error(std::string("DICOM transport layer: ") + cond.text());
  }
  return network;
}

// The listening socket on all IPv4 interfaces (node.bind_address is enforced per association,
// as before), non-blocking for the accepting loop.
int open_listening_socket(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    throw std::runtime_error(std::string("cannot create DICOM socket: ") + std::strerror(errno));
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
    throw std::runtime_error("cannot listen on DICOM port " + std::to_string(port) + ": " + reason);
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

std::unique_ptr<HandoffTlsLayer> make_tls_layer(const config::TlsConfig& tls) {
  auto layer = std::make_unique<HandoffTlsLayer>();
  auto check = [](const OFCondition& c, const std::string& what) {
    if (c.bad()) throw std::runtime_error("DICOM TLS: " + what + ": " + c.text());
  };
  check(layer->setTLSProfile(TSP_Profile_BCP195), "cannot select the BCP 195 profile");
  check(layer->activateCipherSuites(), "cannot activate the cipher suites");
  check(layer->setPrivateKeyFile(tls.private_key.c_str(), DCF_Filetype_PEM),
        "cannot read private key " + tls.private_key.string());
  check(layer->setCertificateFile(tls.certificate.c_str(), DCF_Filetype_PEM),
        "cannot read certificate " + tls.certificate.string());
  if (!layer->checkPrivateKeyMatchesCertificate())
    throw std::runtime_error("DICOM TLS: private key " + tls.private_key.string() +
                             " does not match certificate " + tls.certificate.string());
  for (const auto& ca : tls.trusted_cas)
    check(layer->addTrustedCertificateFile(ca.c_str(), DCF_Filetype_PEM),
          "cannot read CA certificate " + ca.string());
  layer->setBuiltInDHParameters();
  layer->setCertificateVerification(tls.require_client_certificate ? DCV_requireCertificate
                                    : tls.trusted_cas.empty()      ? DCV_ignoreCertificate
                                                                   : DCV_checkCertificate);
  return layer;
}

}  // namespace

// The listener. DCMTK's DcmSCPPool is not used: in DCMTK 3.6.7 its worker deletes itself when
// its association ends while the accepting thread may still be storing the new thread's handle
// into it (heap corruption after rejected associations), its workers are never joined, and its
// accepting thread reads every association request itself, one at a time, so that one silent
// peer kept every other caller waiting. Here the accepting thread only accepts: each connection
// gets a thread of its own (joined by this acceptor) that reads the association request within
// node.acse_timeout_s and then serves the association with a StoreScp.
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
    auto scp = std::make_unique<StoreScp>(runtime, c, *table);
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
    throw std::runtime_error(std::string("cannot create an eventfd: ") + std::strerror(errno));

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
    a.layer = std::make_unique<HandoffTcpLayer>();
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
