#include "dataset_util.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cstdlib>
#include <mutex>

namespace livernode::dicom::detail {

namespace {
std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}
}  // namespace

std::string get_string(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  if (item.findAndGetOFStringArray(tag, value).good()) return trim(value.c_str());
  return {};
}

std::optional<double> get_double(DcmItem& item, const DcmTagKey& tag, unsigned long pos) {
  Float64 v = 0.0;
  if (item.findAndGetFloat64(tag, v, pos).good()) return static_cast<double>(v);
  // Tolerate numbers stored in a VR DCMTK will not convert (e.g. a DS with stray spaces).
  OFString s;
  if (item.findAndGetOFString(tag, s, pos).good()) {
    const std::string t = trim(s.c_str());
    char* end = nullptr;
    const double d = std::strtod(t.c_str(), &end);
    if (!t.empty() && end && *end == '\0') return d;
  }
  return std::nullopt;
}

std::optional<long> get_long(DcmItem& item, const DcmTagKey& tag) {
  Sint32 s = 0;
  if (item.findAndGetSint32(tag, s).good()) return static_cast<long>(s);
  Uint16 u16 = 0;
  if (item.findAndGetUint16(tag, u16).good()) return static_cast<long>(u16);
  Uint32 u32 = 0;
  if (item.findAndGetUint32(tag, u32).good()) return static_cast<long>(u32);
  if (auto d = get_double(item, tag)) return static_cast<long>(*d);
  return std::nullopt;
}

std::vector<double> get_doubles(DcmItem& item, const DcmTagKey& tag) {
  std::vector<double> out;
  DcmElement* element = nullptr;
  if (item.findAndGetElement(tag, element).bad() || element == nullptr) return out;
  const unsigned long n = element->getVM();
  for (unsigned long i = 0; i < n; ++i) {
    auto v = get_double(item, tag, i);
    if (!v) return {};
    out.push_back(*v);
  }
  return out;
}

namespace {

// Item 0 of `sequence` in the per-frame functional groups of `frame`, nullptr when absent.
DcmItem* frame_group(DcmItem& dataset, unsigned frame, const DcmTagKey& sequence) {
  DcmItem* per_frame = nullptr;
  DcmItem* inner = nullptr;
  if (dataset
          .findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, per_frame,
                                  static_cast<int>(frame))
          .good() &&
      per_frame != nullptr && per_frame->findAndGetSequenceItem(sequence, inner, 0).good())
    return inner;
  return nullptr;
}

// Item 0 of `sequence` in the shared functional groups, nullptr when absent.
DcmItem* shared_group(DcmItem& dataset, const DcmTagKey& sequence) {
  DcmItem* shared = nullptr;
  DcmItem* inner = nullptr;
  if (dataset.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good() &&
      shared != nullptr && shared->findAndGetSequenceItem(sequence, inner, 0).good())
    return inner;
  return nullptr;
}

}  // namespace

DcmItem* functional_group(DcmItem& dataset, unsigned frame, const DcmTagKey& sequence) {
  if (DcmItem* item = frame_group(dataset, frame, sequence)) return item;
  return shared_group(dataset, sequence);
}

DcmItem* shared_functional_group(DcmItem& dataset, unsigned frame, const DcmTagKey& sequence) {
  if (DcmItem* item = shared_group(dataset, sequence)) return item;
  return frame_group(dataset, frame, sequence);
}

void ensure_codecs_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK logs warnings about odd files on its own; our callers report problems themselves.
    // Only the reading and decoding modules are quietened: reconfiguring the root logger here
    // would also silence (and take the appender from) a network node's dcmnet messages.
    for (const char* module :
         {"dcmtk.dcmdata", "dcmtk.dcmimgle", "dcmtk.dcmimage", "dcmtk.dcmjpeg", "dcmtk.dcmjpls",
          "dcmtk.dcmiod", "dcmtk.dcmfg", "dcmtk.dcmseg", "dcmtk.dcmsr"})
      OFLog::getLogger(module).setLogLevel(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

bool is_jpeg2000(const std::string& ts) {
  return ts == UID_JPEG2000LosslessOnlyTransferSyntax || ts == UID_JPEG2000TransferSyntax ||
         ts == UID_JPEG2000Part2MulticomponentImageCompressionLosslessOnlyTransferSyntax ||
         ts == UID_JPEG2000Part2MulticomponentImageCompressionTransferSyntax;
}

}  // namespace livernode::dicom::detail
