#include "store_scp.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "association_policy.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcwcache.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dicom_text.h"
#include "instance_indexer.h"
#include "livernode/node/error.h"
#include "livernode/node/ingest/ingest_journal.h"
#include "livernode/node/ingest/spool.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

constexpr Uint16 kStatusSuccess = 0x0000;
constexpr Uint16 kStatusOutOfResources = 0xA700;
constexpr Uint16 kStatusCannotUnderstand = 0xC000;
// A spool file may need a study and a series folder besides itself.
constexpr std::int64_t kSpoolFoldersPerInstance = 2;
// Larger instances are streamed into the spool and fsynced there; the journal's segments are
// 32 MiB (JournalOptions).
constexpr Uint32 kLargestJournaledInstance = 24u << 20;

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

class StoreScp : public DcmThreadSCP {
 public:
  StoreScp(Runtime& runtime, Connection& connection, ConnectionTable& table)
      : runtime_(runtime),
        connection_(connection),
        table_(table),
        indexer_(runtime, tally_, calling_ae_, peer_) {}
  ~StoreScp() override { indexer_.finish(); }

  // Runs one association whose request has been read. The local address the peer connected to
  // is looked up first, so that node.bind_address can be enforced per association.
  OFCondition run(T_ASC_Association* association) override {
    local_address_ = local_address_of(connection_.control);
    association_ = association;
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
    tally_.series.clear();
    tally_.failed = 0;
    tally_.bytes = 0;
    accepted_ = false;
    calling_ae_ = clean(params.DULparams.callingAPTitle);
    peer_ = clean(params.DULparams.callingPresentationAddress);
    Refusal refusal = association_refusal(runtime_, local_address_);
    reject_reason_ = std::move(refusal.reason);
    transient_ = refusal.transient;
    if (!reject_reason_.empty()) desiredAction = DCMSCP_ACTION_REFUSE_ASSOCIATION;
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
    const std::string ae = clean(callingAE);
    if (caller_allowed(cfg->config.node.allowed_callers, ae, peer_)) return take_slot();
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
    indexer_.finish();
    DcmThreadSCP::notifyReleaseRequest();
  }
  // The peer aborted: DCMTK has closed its descriptor, the connection's own duplicate is shut
  // too, so that the peer sees the connection close at once.
  void notifyAbortRequest() override {
    ::shutdown(connection_.control, SHUT_RDWR);
    indexer_.finish();
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
    indexer_.finish();
    if (!accepted_) return;
    std::uint64_t stored = 0, dups = 0;
    for (const auto& [series, t] : tally_.series) {
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
        calling_ae_, peer_, stored, dups, tally_.failed, tally_.bytes, seconds);
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
    ReceivedInstance stored;
    const Uint16 status = store(request, info, dataset, stored);  // takes the dataset
    // Refused (hostile UIDs, a full disk) or failed: not stored, counted in the association's
    // end line and the metrics alike.
    if (status != kStatusSuccess) count_failed();
    // The instance is durable already: its spool file and its row are written by the indexing
    // thread while this one answers and receives the next instance.
    if (stored.file) indexer_.enqueue(std::move(stored));
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
    std::lock_guard lock(tally_.mutex);
    tally_.failed++;
  }

  Uint16 store(const T_DIMSE_C_StoreRQ& request, const DcmPresentationContextInfo& info,
               DcmDataset* dataset, ReceivedInstance& out) {
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
        std::lock_guard lock(tally_.mutex);
        tally_.series[series].duplicates++;
        runtime_.metrics.instances_duplicate++;
        spdlog::debug("event=instance_duplicate sop={}", sop);
        return kStatusSuccess;
      }
      const DiskRoom room = disk_room(spool.root());
      if (room.free_mb >= 0 && room.free_mb < cfg->config.storage.min_free_disk_mb) {
        spdlog::error(
            "event=store_refused sop={} reason=\"free disk {} MiB below storage.min_free_disk_mb\"",
            sop, room.free_mb);
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
      // Its spool file needs room beside the journal's pre-written segments and beside the spool
      // files of the instances acknowledged before it that are still to be written (counted
      // here first, so that concurrent associations see each other's): an instance the disk
      // cannot hold is refused, not acknowledged from a journal record alone.
      SpoolBacklogEntry backlog(runtime_.storage,
                                estimate == DCM_UndefinedLength ? 0 : std::int64_t{estimate});
      if (const std::string why = no_room_for(room, estimate); !why.empty()) {
        note_spool_failed(runtime_, why);
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
        throw NodeError(NodeErrorKind::kInput, "cannot encode the instance: " + error);
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
      if (hold) out.backlog = std::move(backlog);
      out.hold = std::move(hold);
      out.file = std::move(file);
      return kStatusSuccess;
    } catch (const std::exception& e) {
      spdlog::error("event=store_failed calling_ae={} sop={} error=\"{}\"", calling_ae_, sop,
                    e.what());
      return kStatusOutOfResources;
    }
  }

  // Why the disk holding the spool cannot take the spool files still to be written (the
  // backlog, this instance counted in it); empty when it can. A new study and series need a
  // folder each as well.
  std::string no_room_for(const DiskRoom& room, Uint32 estimate) const {
    const std::int64_t files = runtime_.storage.spool_backlog_files();
    const std::int64_t bytes = runtime_.storage.spool_backlog_bytes();
    if (room.free_mb >= 0 && estimate != DCM_UndefinedLength && room.free_mb <= (bytes >> 20))
      return "free disk " + std::to_string(room.free_mb) + " MiB cannot hold the " +
             std::to_string(files) + " spool file(s) of " + std::to_string(bytes) +
             " bytes still to be written";
    if (room.free_inodes >= 0 && room.free_inodes < files + kSpoolFoldersPerInstance)
      return "the disk has " + std::to_string(room.free_inodes) + " free inode(s) for the " +
             std::to_string(files) + " spool file(s) still to be written and their folders";
    return {};
  }

  // Writes an instance's spool file durably (fsynced) with `write_temp`; a failure marks the
  // spool as failing and is thrown on, a success ends that state.
  void store_durably(const Spool& spool, const std::string& study, const std::string& series,
                     const std::string& sop,
                     const std::function<bool(const fs::path&, std::string& error)>& write_temp) {
    try {
      spool.store(study, series, sop, write_temp);
    } catch (const std::exception& e) {
      note_spool_failed(runtime_, e.what());
      throw;
    }
    if (runtime_.storage.spool_written())
      spdlog::info(
          "event=spool_writable note=\"instances are acknowledged from the ingest journal "
          "again\"");
  }

  Runtime& runtime_;
  Connection& connection_;
  ConnectionTable& table_;
  std::chrono::steady_clock::time_point start_;
  AssociationTally tally_;  // also written by the indexing thread
  bool accepted_ = false;
  std::string calling_ae_, peer_, reject_reason_, local_address_;
  InstanceIndexer indexer_;                   // writes spool files and state store rows
  T_ASC_Association* association_ = nullptr;  // the one run() is serving
  bool transient_ = false;                    // refuse as temporary congestion
  bool no_slot_ = false;                      // refuse as local limit exceeded
};

}  // namespace

std::unique_ptr<DcmThreadSCP> make_store_scp(Runtime& runtime, Connection& connection,
                                             ConnectionTable& table) {
  return std::make_unique<StoreScp>(runtime, connection, table);
}

}  // namespace livernode::node
