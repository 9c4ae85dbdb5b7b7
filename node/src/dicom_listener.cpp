#include "livernode/node/dicom_listener.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
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
#include "livernode/node/corrections.h"
#include "livernode/node/ingest_journal.h"
#include "livernode/node/spool.h"
#include "livernode/node/spool_recovery.h"

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

// DcmTransportConnection keeps its socket protected; a member pointer taken through a derived
// class reads it without changing DCMTK.
struct SocketAccess : DcmTransportConnection {
  static DcmNativeSocketType get(DcmTransportConnection* connection) {
    return (connection->*(&SocketAccess::getSocket))();
  }
};
DcmNativeSocketType socket_of(DcmTransportConnection* connection) {
  return SocketAccess::get(connection);
}

class StoreScp : public DcmThreadSCP {
 public:
  explicit StoreScp(Runtime& runtime) : runtime_(runtime) {}
  ~StoreScp() override { finish_indexing(); }

  // Runs one association handed over by the accept loop. Before DCMTK negotiates it: Nagle off on
  // this socket (besides the TCP_NODELAY environment switch DCMTK reads) and the local address
  // the peer connected to, so that node.bind_address can be enforced per association.
  OFCondition run(T_ASC_Association* association) override {
    local_address_.clear();
    association_ = association;
    if (association && association->DULassociation) {
      if (DcmTransportConnection* connection =
              DUL_getTransportConnection(association->DULassociation)) {
        const int fd = static_cast<int>(socket_of(connection));
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sockaddr_storage local{};
        socklen_t length = sizeof local;
        char text[INET6_ADDRSTRLEN] = {0};
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
          if (local.ss_family == AF_INET)
            ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, text,
                        sizeof text);
          else if (local.ss_family == AF_INET6)
            ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, text,
                        sizeof text);
          local_address_ = text;
        }
      }
    }
    const OFCondition result = DcmThreadSCP::run(association);
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
  OFBool checkCallingAETitleAccepted(const OFString& callingAE) override {
    const auto cfg = runtime_.config.get();
    const auto& allowed = cfg->config.node.allowed_callers;
    if (allowed.empty()) return OFTrue;
    const std::string ae = clean(callingAE);
    for (const auto& a : allowed) {
      if (!a.ae_title.empty() && a.ae_title != ae) continue;
      if (!a.host.empty()) {
        const auto pattern = config::HostPattern::parse(a.host);
        if (!pattern || !pattern->matches(peer_)) continue;
      }
      return OFTrue;
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
    accepted_ = true;
    runtime_.metrics.associations_accepted++;
  }

  // The sender sees the release (or its abort is handled) only once every instance it sent is
  // in the spool folder and the state store.
  void notifyReleaseRequest() override {
    finish_indexing();
    DcmThreadSCP::notifyReleaseRequest();
  }
  void notifyAbortRequest() override {
    finish_indexing();
    DcmThreadSCP::notifyAbortRequest();
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
      // An instance too large for a journal segment is streamed into its file instead of being
      // encoded in memory (a multi-frame object can be a gigabyte).
      const Uint32 estimate = dataset->calcElementLength(xfer, EET_ExplicitLength);
      if (!runtime_.journal || estimate == DCM_UndefinedLength ||
          estimate > kLargestJournaledInstance) {
        spool.store(study, series, sop, [&](const fs::path& temp, std::string& why) {
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
        spool.store(study, series, sop, [&](const fs::path& temp, std::string& why) {
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
    }
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
  std::chrono::steady_clock::time_point start_;
  std::mutex tally_mutex_;  // tallies_, failed_, bytes_: also written by the indexing thread
  std::map<std::string, SeriesTally> tallies_;
  std::uint64_t failed_ = 0, bytes_ = 0;
  bool accepted_ = false;
  std::string calling_ae_, peer_, reject_reason_, local_address_;
  T_ASC_Association* association_ = nullptr;  // the one run() is serving
  bool transient_ = false;                    // refuse as temporary congestion
};

// Fails early, with the reason, when the port cannot be bound (DCMTK would only log it from
// its listening thread). DCMTK 3.6.7 itself binds the port on all interfaces.
void probe_port(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error(std::string("cannot create DICOM socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  const std::string reason = ok ? "" : std::strerror(errno);
  ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot listen on DICOM port " + std::to_string(port) + ": " + reason);
}

}  // namespace

// The association acceptor. DCMTK's DcmSCPPool is not used: in DCMTK 3.6.7 its worker
// deletes itself when its association ends (DcmBaseSCPPool::notifyThreadExit) while the
// accepting thread may still be inside OFThread::start() storing the new thread's handle into
// that worker. A rejected association ends within microseconds, so the store then lands in
// freed memory and corrupts the heap ("malloc(): unsorted double linked list corrupted" in
// the next ASC_receiveAssociation). Its workers are also never joined, so every association
// left a thread's stack behind. Here every association gets its own StoreScp on a thread this
// acceptor owns and joins.
struct DicomListener::Acceptor {
  explicit Acceptor(Runtime& runtime) : runtime(runtime) {}

  // One association being served; `done` is set by its thread as its last action.
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  Runtime& runtime;
  DcmSCPConfig config;
  std::unique_ptr<DcmTLSTransportLayer> tls;  // outlives the network
  int port = 0;
  std::size_t max_associations = 1;
  std::atomic<bool> stopping{false};
  std::list<std::unique_ptr<Worker>> workers;  // touched by the accepting thread only

  // Joins the threads whose association has ended; returns how many are still serving one.
  std::size_t reap() {
    for (auto it = workers.begin(); it != workers.end();) {
      if ((*it)->done.load(std::memory_order_acquire)) {
        (*it)->thread.join();
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
    return workers.size();
  }

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

  // Serves `association` on a new thread. The StoreScp is made and configured here, on the
  // accepting thread, and destroyed on the association's own thread once it has ended (its
  // destructor drops and frees the association).
  void dispatch(T_ASC_Association*& association, const DcmSharedSCPConfig& shared) {
    auto scp = std::make_unique<StoreScp>(runtime);
    const OFCondition configured = scp->setSharedConfig(shared);
    if (configured.bad()) {
      refuse_transient(association, ASC_REASON_SP_PRES_TEMPORARYCONGESTION,
                       std::string("cannot configure the association: ") + configured.text());
      return;
    }
    auto worker = std::make_unique<Worker>();
    Worker* const w = worker.get();
    T_ASC_Association* const handed = association;
    try {
      w->thread = std::thread([w, handed, scp = std::move(scp)]() mutable {
        try {
          const OFCondition result = scp->run(handed);
          if (result.bad()) spdlog::debug("event=association_ended error=\"{}\"", result.text());
          scp.reset();
        } catch (const std::exception& e) {
          spdlog::error("event=association_failed error=\"{}\"", e.what());
          scp.reset();
        }
        w->done.store(true, std::memory_order_release);
      });
    } catch (const std::system_error& e) {
      // The lambda (and with it the StoreScp) was never started: the association is still ours.
      refuse_transient(association, ASC_REASON_SP_PRES_TEMPORARYCONGESTION,
                       std::string("cannot start a thread for the association: ") + e.what());
      return;
    }
    association = nullptr;  // the StoreScp owns it now
    workers.push_back(std::move(worker));
  }

  // Accepts associations until `stopping`, then waits for those in progress to end.
  void run() {
    T_ASC_Network* network = nullptr;
    OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, port, config.getACSETimeout(), &network);
    if (cond.bad()) {
      spdlog::error("event=scp_stopped error=\"cannot listen on DICOM port {}: {}\"", port,
                    cond.text());
      return;
    }
    if (tls) {
      cond = ASC_setTransportLayer(network, tls.get(), 0 /* not taking ownership */);
      if (cond.bad()) {
        spdlog::error("event=scp_stopped error=\"DICOM TLS: {}\"", cond.text());
        ASC_dropNetwork(&network);
        return;
      }
    }
    const DcmSharedSCPConfig shared(config);
    while (!stopping.load()) {
      reap();
      T_ASC_Association* association = nullptr;
      // Waits up to the connection timeout (1 s) for a connection, then reads its
      // A-ASSOCIATE-RQ (within node.acse_timeout_s).
      cond = ASC_receiveAssociation(network, &association,
                                    static_cast<long>(config.getMaxReceivePDULength()), nullptr,
                                    nullptr, tls ? OFTrue : OFFalse, DUL_NOBLOCK,
                                    static_cast<int>(config.getConnectionTimeout()));
      if (cond == DUL_NOASSOCIATIONREQUEST) {
        ASC_destroyAssociation(&association);
        continue;
      }
      if (cond.bad()) {
        // Garbage, another protocol or a dropped connection: closed, and listening goes on.
        runtime.metrics.associations_receive_failed++;
        std::string reason = cond.text();
        for (char& ch : reason)
          if (ch == '"' || ch == '\n' || ch == '\r') ch = ch == '"' ? '\'' : ' ';
        const std::string peer =
            association && association->params
                ? clean(association->params->DULparams.callingPresentationAddress)
                : std::string();
        spdlog::warn(
            "event=association_receive_failed peer={} reason=\"{}\" note=\"the peer did not send "
            "a valid DICOM association request; connection closed, still listening\"",
            peer.empty() ? "-" : peer, reason);
        drop(association);
        continue;
      }
      const std::size_t busy = reap();
      if (busy >= max_associations) {
        refuse_transient(association, ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED,
                         "no free association slot: " + std::to_string(busy) +
                             " of node.max_associations=" + std::to_string(max_associations) +
                             " busy");
        continue;
      }
      dispatch(association, shared);
    }
    for (auto& w : workers) w->thread.join();
    workers.clear();
    ASC_dropNetwork(&network);
  }
};

namespace {

std::unique_ptr<DcmTLSTransportLayer> make_tls_layer(const config::TlsConfig& tls) {
  auto layer = std::make_unique<DcmTLSTransportLayer>(NET_ACCEPTOR, nullptr, OFTrue);
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

DicomListener::DicomListener(Runtime& runtime, bool tls)
    : runtime_(runtime), tls_(tls), acceptor_(std::make_unique<Acceptor>(runtime)) {}

DicomListener::~DicomListener() { stop(); }

void DicomListener::start() {
  const auto cfg = runtime_.config.get();
  const auto& node = cfg->config.node;
  // DCMTK disables Nagle on every association socket when TCP_NODELAY is set in the
  // environment; without it, each small PDU waits for the peer's delayed ACK (~40 ms).
  ::setenv("TCP_NODELAY", "1", 1);
  dcmDisableGethostbyaddr.set(OFTrue);
  const int port = tls_ ? node.tls.port : node.port;
  // The listener /readyz and scp_listening speak of: the plain one, or the TLS one when it is
  // the only one.
  primary_ = !tls_ || node.tls.only;
  probe_port(port);
  if (primary_ && node.bind_address != "0.0.0.0" && node.bind_address != "::")
    spdlog::warn(
        "event=config_note key=node.bind_address value={} note=\"DCMTK 3.6.7 accepts TCP "
        "connections on "
        "all interfaces; associations arriving on another address are rejected\"",
        node.bind_address);

  Acceptor& a = *acceptor_;
  a.port = port;
  a.max_associations = static_cast<std::size_t>(std::max(1, node.max_associations));
  DcmSCPConfig& c = a.config;
  c.setAETitle(node.ae_title.c_str());
  c.setPort(static_cast<Uint16>(port));
  if (tls_) {
    a.tls = make_tls_layer(node.tls);
    c.setTransportLayer(a.tls.get());
  }
  c.setMaxReceivePDULength(static_cast<Uint32>(node.max_pdu));
  c.setACSETimeout(static_cast<Uint32>(node.acse_timeout_s));
  c.setDIMSETimeout(static_cast<Uint32>(node.dimse_timeout_s));
  c.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  c.setConnectionBlockingMode(DUL_NOBLOCK);
  c.setConnectionTimeout(1);  // the accept loop looks at the stop flag every second
  c.setHostLookupEnabled(OFFalse);
  c.setRespondWithCalledAETitle(OFFalse);
  OFList<OFString> verification;
  verification.push_back(UID_LittleEndianExplicitTransferSyntax);
  verification.push_back(UID_BigEndianExplicitTransferSyntax);
  verification.push_back(UID_LittleEndianImplicitTransferSyntax);
  c.addPresentationContext(UID_VerificationSOPClass, verification);
  const auto ts = accepted_transfer_syntaxes();
  for (const char* sop_class : storage_sop_classes()) c.addPresentationContext(sop_class, ts);

  a.stopping = false;
  thread_ = std::thread([this] {
    acceptor_->run();
    if (primary_) runtime_.scp_listening = false;
  });
  if (primary_) runtime_.scp_listening = true;
  spdlog::info("event=scp_listening ae_title={} address={} port={} tls={} max_associations={}",
               node.ae_title, node.bind_address, port, tls_ ? "yes" : "no", node.max_associations);
}

void DicomListener::stop() {
  if (!thread_.joinable()) return;
  acceptor_->stopping = true;
  thread_.join();
  if (primary_) runtime_.scp_listening = false;
  spdlog::info("event=scp_stopped tls={}", tls_ ? "yes" : "no");
}

}  // namespace livernode::node
