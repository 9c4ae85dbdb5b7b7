#include "livernode/node/ingest/spool_recovery.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "livernode/node/ingest/routing.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

std::string text_of(DcmItem* item, const DcmTagKey& tag) {
  OFString v;
  if (!item || item->findAndGetOFString(tag, v).bad()) return {};
  std::string s(v.c_str());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), as
// the JSON writer demands.
bool valid_utf8(const std::string& s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = byte(i);
    std::size_t more = 0;
    unsigned char low = 0x80, high = 0xBF;  // range of the second byte
    if (c < 0x80) {
      more = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (i + more >= s.size() && more > 0) return false;
    for (std::size_t k = 1; k <= more; ++k) {
      const unsigned char b = byte(i + k);
      if (k == 1 ? (b < low || b > high) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += 1 + more;
  }
  return true;
}

// A free-text value as UTF-8, for the JSON API: kept when it already is UTF-8, read as Latin-1
// under the default repertoire or ISO_IR 100, other bytes above 0x7F shown as '?'.
std::string as_utf8(const std::string& text, const std::string& charset) {
  if (valid_utf8(text)) return text;
  const bool latin1 = charset.empty() || charset.find("ISO_IR 100") != std::string::npos ||
                      charset.find("ISO 2022 IR 100") != std::string::npos;
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else if (latin1) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += '?';
    }
  }
  return out;
}

double mtime_seconds(const fs::path& file) {
  std::error_code ec;
  const auto t = fs::last_write_time(file, ec);
  if (ec) return 0;
  // file_time_type's clock is not the system clock in C++17; convert through "now" on both.
  const auto now_file = fs::file_time_type::clock::now();
  const auto now_sys = std::chrono::system_clock::now();
  const auto sys =
      now_sys + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - now_file);
  return std::chrono::duration<double>(sys.time_since_epoch()).count();
}

}  // namespace

void describe_instance(DcmFileFormat& file, InstanceRecord& r) {
  DcmDataset* d = file.getDataset();
  r.sop_instance_uid = text_of(d, DCM_SOPInstanceUID);
  r.sop_class_uid = text_of(d, DCM_SOPClassUID);
  r.study_uid = text_of(d, DCM_StudyInstanceUID);
  r.series_uid = text_of(d, DCM_SeriesInstanceUID);
  r.modality = text_of(d, DCM_Modality);
  r.body_part = text_of(d, DCM_BodyPartExamined);
  r.series_description = text_of(d, DCM_SeriesDescription);
  r.patient_id = text_of(d, DCM_PatientID);
  r.frame_of_reference_uid = text_of(d, DCM_FrameOfReferenceUID);
  r.study_date = text_of(d, DCM_StudyDate);
  r.study_time = text_of(d, DCM_StudyTime);
  const std::string charset = text_of(d, DCM_SpecificCharacterSet);
  r.accession_number = as_utf8(text_of(d, DCM_AccessionNumber), charset);
  r.study_description = as_utf8(text_of(d, DCM_StudyDescription), charset);
  r.acquisition_time = text_of(d, DCM_AcquisitionTime);
  if (r.acquisition_time.empty()) {
    const std::string datetime = text_of(d, DCM_AcquisitionDateTime);  // enhanced objects
    if (datetime.size() > 8) r.acquisition_time = datetime.substr(8);
  }
  if (r.acquisition_time.empty()) r.acquisition_time = text_of(d, DCM_SeriesTime);
  if (r.acquisition_time.empty()) r.acquisition_time = text_of(d, DCM_ContentTime);
}

SpoolRecovery recover_spool(const Spool& spool, StateStore& store, const Router& router) {
  SpoolRecovery out;
  std::error_code ec;
  if (!fs::is_directory(spool.root(), ec)) return out;
  // spool/<study>/<series>/<sop>.dcm: exactly three levels; anything else is not ours.
  for (const auto& study : fs::directory_iterator(spool.root(), ec)) {
    if (!study.is_directory() || !is_valid_uid(study.path().filename().string())) continue;
    // What the state already holds of this study, asked once (not once per file).
    const std::set<std::string> known = store.instances_of_study(study.path().filename().string());
    for (const auto& series : fs::directory_iterator(study.path(), ec)) {
      if (!series.is_directory() || !is_valid_uid(series.path().filename().string())) continue;
      for (const auto& entry : fs::directory_iterator(series.path(), ec)) {
        const fs::path& file = entry.path();
        if (!entry.is_regular_file() || file.extension() != ".dcm") continue;
        const std::string sop = file.stem().string();
        if (!is_valid_uid(sop)) continue;
        ++out.files_seen;
        if (known.count(sop)) continue;
        auto skip = [&](const std::string& why) {
          out.skipped.push_back(file.string() + ": " + why);
          spdlog::error("event=spool_recovery_skipped file={} reason=\"{}\"", file.string(), why);
        };
        DcmFileFormat ff;
        // Values longer than 4 KiB (pixel data) are not needed to describe the instance.
        const OFCondition c =
            ff.loadFile(OFFilename(file.c_str()), EXS_Unknown, EGL_noChange, 4096, ERM_fileOnly);
        if (c.bad()) {
          skip(std::string("unreadable: ") + c.text());
          continue;
        }
        InstanceRecord r;
        describe_instance(ff, r);
        if (r.sop_instance_uid != sop || r.series_uid != series.path().filename().string() ||
            r.study_uid != study.path().filename().string()) {
          skip("its UIDs do not match its place in the spool");
          continue;
        }
        r.calling_ae = text_of(ff.getMetaInfo(), DCM_SourceApplicationEntityTitle);
        r.transfer_syntax_uid = DcmXfer(ff.getDataset()->getOriginalXfer()).getXferID();
        r.path = file.string();
        r.size_bytes = static_cast<std::int64_t>(fs::file_size(file, ec));
        r.received_at = mtime_seconds(file);
        decide_routing(*ff.getDataset(), r, router, store);
        if (store.record_instance(r)) {
          ++out.recorded;
          spdlog::warn("event=spool_instance_recovered study={} series={} sop={} calling_ae={}",
                       r.study_uid, r.series_uid, r.sop_instance_uid,
                       r.calling_ae.empty() ? "-" : r.calling_ae);
        }
      }
    }
  }
  return out;
}

}  // namespace livernode::node
