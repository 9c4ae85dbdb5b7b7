#include "livernode/study/corrections.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "livernode/dicom/error.h"
#include "livernode/dicom/seg_header.h"
#include "livernode/dicom/segmentation_reader.h"

namespace livernode::study {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool contains_any(const std::string& text, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const char* w) { return text.find(w) != std::string::npos; });
}

}  // namespace

const char* segment_role_name(SegmentRole role) {
  switch (role) {
    case SegmentRole::liver:
      return "liver";
    case SegmentRole::lesion:
      return "lesion";
    case SegmentRole::remnant:
      return "remnant";
    case SegmentRole::couinaud:
      return "couinaud";
    case SegmentRole::other:
      break;
  }
  return "other";
}

SegmentRole segment_role(const std::string& type_code, const std::string& label_text) {
  const std::string label = lower(label_text);
  // Segments of the liver written by this product (or named like them): the label decides,
  // since they carry the liver's own code.
  if (contains_any(label, {"flr", "remnant"})) return SegmentRole::remnant;
  if (contains_any(label, {"couinaud"}) || label.rfind("segment ", 0) == 0)
    return SegmentRole::couinaud;
  const std::string value = type_code.substr(type_code.find(':') + 1);
  static const std::set<std::string> liver_codes = {"10200004"};
  static const std::set<std::string> lesion_codes = {
      "108369006",  // neoplasm (tumour)
      "4147007",    // mass
      "52988006",   // lesion
      "86049000",   // malignant neoplasm, primary
      "14799000",   // neoplasm, metastatic
      "25370001",   // hepatocellular carcinoma
      "187769009",  // malignant neoplasm of liver
      "126851005",  // neoplasm of liver
      "300331000",  // lesion of liver
      "27925004",   // nodule
  };
  if (!type_code.empty()) {
    if (lesion_codes.count(value)) return SegmentRole::lesion;
    if (liver_codes.count(value)) return SegmentRole::liver;
  }
  if (contains_any(label, {"lesion", "tumor", "tumour", "mass", "nodule", "hcc", "metasta",
                           "neoplasm", "carcinoma"}))
    return SegmentRole::lesion;
  if (label == "liver" || label.rfind("liver ", 0) == 0) return SegmentRole::liver;
  return SegmentRole::other;
}

namespace {

// What one SEG corrects.
struct SegCorrections {
  std::optional<processing::LabelMap> liver, remnant;
  std::optional<std::vector<processing::LabelMap>> lesions;
  std::string source;
};

SegCorrections corrections_of(const CorrectionSeg& correction,
                              const processing::Geometry& reference,
                              std::vector<std::string>& notes) {
  SegCorrections out;
  const fs::path& file = correction.file;
  // Our own segments of the corrected version, by role and label.
  std::map<std::string, processing::LabelMap> before;
  std::size_t before_lesions = 0;
  for (const auto& earlier : correction.previous) {
    try {
      for (auto& s : dicom::read_segmentation(earlier, reference).segments) {
        const SegmentRole role = segment_role(s.type_code, s.label);
        if (role == SegmentRole::lesion) ++before_lesions;
        before[std::string(segment_role_name(role)) + "|" + lower(s.label)] = std::move(s.mask);
      }
    } catch (const dicom::DicomError& e) {
      notes.push_back("earlier SEG " + earlier.filename().string() + " not read: " + e.what());
    }
  }
  auto unchanged = [&](SegmentRole role, const dicom::SegmentMask& s) {
    const auto it = before.find(std::string(segment_role_name(role)) + "|" + lower(s.label));
    return it != before.end() && it->second.voxels == s.mask.voxels;
  };
  dicom::SegmentationRead read;
  try {
    read = dicom::read_segmentation(file, reference);
  } catch (const dicom::DicomError& e) {
    notes.push_back("correction SEG " + file.filename().string() + " not read: " + e.what());
    return out;
  }
  const std::string sop = dicom::sop_instance_uid_of(file);
  out.source = "SEG " + (sop.empty() ? file.filename().string() : sop);
  for (const auto& w : read.warnings) notes.push_back(out.source + ": " + w);
  std::vector<processing::LabelMap> lesions;
  bool lesions_edited = false;
  std::size_t lesion_segments = 0;
  for (auto& s : read.segments) {
    const SegmentRole role = segment_role(s.type_code, s.label);
    bool any = false;
    for (auto v : s.mask.voxels) any = any || v;
    switch (role) {
      case SegmentRole::liver:
        if (unchanged(role, s)) break;
        if (!out.liver) out.liver = processing::LabelMap(reference, 0);
        for (std::size_t p = 0; p < s.mask.voxels.size(); ++p)
          out.liver->voxels[p] |= s.mask.voxels[p];
        break;
      case SegmentRole::remnant:
        if (unchanged(role, s) || !any) break;
        if (!out.remnant) out.remnant = processing::LabelMap(reference, 0);
        for (std::size_t p = 0; p < s.mask.voxels.size(); ++p)
          out.remnant->voxels[p] |= s.mask.voxels[p];
        break;
      case SegmentRole::lesion:
        ++lesion_segments;
        if (!unchanged(role, s) || !any) lesions_edited = true;
        if (any) lesions.push_back(std::move(s.mask));
        break;
      case SegmentRole::couinaud:
        break;  // recomputed from the liver
      case SegmentRole::other:
        notes.push_back(out.source + ": segment \"" + s.label + "\" (" +
                        (s.type_code.empty() ? "no type code" : s.type_code) +
                        ") is neither liver, lesion nor remnant and was not used");
        break;
    }
  }
  // Our liver segment is the liver without its lesions: an edited liver drawn that way gets the
  // lesions of the same SEG back, so that the liver the analysis receives includes its tumours.
  if (out.liver && !lesions.empty()) {
    for (const auto& l : lesions)
      for (std::size_t p = 0; p < l.voxels.size() && p < out.liver->voxels.size(); ++p)
        out.liver->voxels[p] |= l.voxels[p];
  }
  // Lesions are a set: edited when a segment changed, was emptied or removed.
  if (lesion_segments > 0 &&
      (before.empty() || lesions_edited || lesion_segments != before_lesions))
    out.lesions = std::move(lesions);
  return out;
}

}  // namespace

processing::ManualSegments manual_segments_from(const std::vector<CorrectionSeg>& segs,
                                                const processing::Geometry& reference) {
  processing::ManualSegments out;
  std::vector<std::string> sources;
  for (const auto& correction : segs) {
    SegCorrections c = corrections_of(correction, reference, out.notes);
    const bool used = c.liver || c.lesions || c.remnant;
    if (c.liver) out.liver = std::move(c.liver);
    if (c.lesions) out.lesions = std::move(c.lesions);
    if (c.remnant) out.remnant = std::move(c.remnant);
    if (used) sources.push_back(c.source);
  }
  for (const auto& s : sources) out.source += (out.source.empty() ? "" : ", ") + s;
  return out;
}

processing::ManualSegmentsProvider manual_segments_provider(
    const std::vector<CorrectionSeg>& corrections, const std::string& frame_of_reference,
    const std::vector<std::string>& series_uids) {
  std::vector<CorrectionSeg> here;
  for (const auto& c : corrections) {
    if (!frame_of_reference.empty()) {
      if (dicom::seg_frame_of_reference(c.file) == frame_of_reference) here.push_back(c);
      continue;
    }
    // Series without a frame of reference: our SEG carried one made for that analysis (the next
    // analysis makes another), so a correction of it is known by the series it refers to.
    const auto referenced = dicom::seg_referenced_series(c.file);
    if (std::any_of(referenced.begin(), referenced.end(), [&](const std::string& uid) {
          return std::find(series_uids.begin(), series_uids.end(), uid) != series_uids.end();
        }))
      here.push_back(c);
  }
  if (here.empty()) return {};
  return [here](const processing::Geometry& grid) { return manual_segments_from(here, grid); };
}

}  // namespace livernode::study
