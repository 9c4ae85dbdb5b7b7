#include "livernode/dicom/seg_header.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on

#include <cstdlib>
#include <set>
#include <stdexcept>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcuid.h"

namespace livernode::dicom {

namespace fs = std::filesystem;

namespace {

std::string text_of(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  if (item.findAndGetOFString(tag, v).bad()) return "";
  std::string s = v.c_str();
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string code_of(DcmItem& item, const DcmTagKey& sequence) {
  DcmItem* c = nullptr;
  if (item.findAndGetSequenceItem(sequence, c, 0).bad() || !c) return "";
  return text_of(*c, DCM_CodingSchemeDesignator) + ":" + text_of(*c, DCM_CodeValue);
}

// ReferencedSOPInstanceUIDs of the Derivation Image / Source Image sequences of a functional
// group item.
void collect_source_images(DcmItem& group, std::set<std::string>& out) {
  DcmSequenceOfItems* derivations = nullptr;
  if (group.findAndGetSequence(DCM_DerivationImageSequence, derivations).bad() || !derivations)
    return;
  for (unsigned long d = 0; d < derivations->card(); ++d) {
    DcmSequenceOfItems* sources = nullptr;
    if (derivations->getItem(d)->findAndGetSequence(DCM_SourceImageSequence, sources).bad() ||
        !sources)
      continue;
    for (unsigned long s = 0; s < sources->card(); ++s) {
      const std::string uid = text_of(*sources->getItem(s), DCM_ReferencedSOPInstanceUID);
      if (!uid.empty()) out.insert(uid);
    }
  }
}

// The dataset of a file up to its pixel data; false when unreadable.
bool load_header(const fs::path& file, DcmFileFormat& f) {
  return f
      .loadFileUntilTag(OFFilename(file.c_str()), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect,
                        DCM_PixelData)
      .good();
}

}  // namespace

SegHeader read_seg_header(DcmItem& ds) {
  SegHeader h;
  if (text_of(ds, DCM_SOPClassUID) != UID_SegmentationStorage)
    throw std::runtime_error("not a DICOM Segmentation");
  h.sop_instance_uid = text_of(ds, DCM_SOPInstanceUID);
  h.series_uid = text_of(ds, DCM_SeriesInstanceUID);
  h.study_uid = text_of(ds, DCM_StudyInstanceUID);
  h.frame_of_reference_uid = text_of(ds, DCM_FrameOfReferenceUID);
  h.manufacturer = text_of(ds, DCM_Manufacturer);
  DcmSequenceOfItems* seq = nullptr;
  if (ds.findAndGetSequence(DCM_ReferencedSeriesSequence, seq).good() && seq) {
    for (unsigned long i = 0; i < seq->card(); ++i) {
      const std::string uid = text_of(*seq->getItem(i), DCM_SeriesInstanceUID);
      if (!uid.empty()) h.referenced_series.push_back(uid);
    }
  }
  std::set<std::string> sources;
  for (const DcmTagKey& groups :
       {DCM_SharedFunctionalGroupsSequence, DCM_PerFrameFunctionalGroupsSequence}) {
    DcmSequenceOfItems* items = nullptr;
    if (ds.findAndGetSequence(groups, items).bad() || !items) continue;
    for (unsigned long i = 0; i < items->card(); ++i)
      collect_source_images(*items->getItem(i), sources);
  }
  h.referenced_instances.assign(sources.begin(), sources.end());
  if (ds.findAndGetSequence(DCM_SegmentSequence, seq).good() && seq) {
    for (unsigned long i = 0; i < seq->card(); ++i) {
      DcmItem& item = *seq->getItem(i);
      SegSegmentHeader s;
      long number = 0;
      Sint32 n = 0;
      if (item.findAndGetSint32(DCM_SegmentNumber, n).good()) number = n;
      Uint16 u = 0;
      if (number == 0 && item.findAndGetUint16(DCM_SegmentNumber, u).good()) number = u;
      s.number = static_cast<unsigned>(number > 0 ? number : static_cast<long>(i + 1));
      s.label = text_of(item, DCM_SegmentLabel);
      s.category_code = code_of(item, DCM_SegmentedPropertyCategoryCodeSequence);
      s.type_code = code_of(item, DCM_SegmentedPropertyTypeCodeSequence);
      s.algorithm_type = text_of(item, DCM_SegmentAlgorithmType);
      h.segments.push_back(std::move(s));
    }
  }
  if (h.segments.empty()) throw std::runtime_error("the SEG has no SegmentSequence");
  long frames = 1;  // NumberOfFrames absent: a single frame
  OFString nf;
  if (ds.findAndGetOFString(DCM_NumberOfFrames, nf).good()) frames = std::atol(nf.c_str());
  if (frames <= 0 || !ds.tagExists(DCM_PixelData))
    throw std::runtime_error("the SEG has no frames");
  return h;
}

std::string seg_frame_of_reference(const fs::path& file) {
  DcmFileFormat f;
  if (!load_header(file, f)) return "";
  return text_of(*f.getDataset(), DCM_FrameOfReferenceUID);
}

std::vector<std::string> seg_referenced_series(const fs::path& file) {
  DcmFileFormat f;
  if (!load_header(file, f)) return {};
  DcmDataset& ds = *f.getDataset();
  std::vector<std::string> out;
  DcmSequenceOfItems* seq = nullptr;
  if (text_of(ds, DCM_SOPClassUID) != UID_SegmentationStorage ||
      ds.findAndGetSequence(DCM_ReferencedSeriesSequence, seq).bad() || !seq)
    return out;
  for (unsigned long i = 0; i < seq->card(); ++i) {
    const std::string uid = text_of(*seq->getItem(i), DCM_SeriesInstanceUID);
    if (!uid.empty()) out.push_back(uid);
  }
  return out;
}

std::string sop_instance_uid_of(const fs::path& file) {
  DcmFileFormat f;
  if (!load_header(file, f)) return "";
  return text_of(*f.getDataset(), DCM_SOPInstanceUID);
}

}  // namespace livernode::dicom
