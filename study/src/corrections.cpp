#include "livernode/node/corrections.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "livernode/dicom/error.h"
#include "livernode/dicom/segmentation_reader.h"
#include "livernode/node/state_store.h"
#include "livernode/node/study_analysis.h"
#include "livernode/version.h"
#include "surgical_plan_json.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

std::string text_of(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  if (item.findAndGetOFString(tag, v).bad()) return "";
  std::string s = v.c_str();
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool contains_any(const std::string& text, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const char* w) { return text.find(w) != std::string::npos; });
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

// The jobs of a study are those of its visit's lead study.
bool has_finished_analysis(StateStore& store, const std::string& study_uid) {
  for (const auto& job : store.jobs(store.visit_of(study_uid), 1000))
    if (job.state == "done") return true;
  return false;
}

}  // namespace

std::string seg_frame_of_reference(const fs::path& file) {
  DcmFileFormat f;
  if (f.loadFileUntilTag(OFFilename(file.c_str()), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect,
                         DCM_PixelData)
          .bad())
    return "";
  return text_of(*f.getDataset(), DCM_FrameOfReferenceUID);
}

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
    for (unsigned long i = 0; i < items->card(); ++i) collect_source_images(*items->getItem(i), sources);
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

const char* segment_role_name(SegmentRole role) {
  switch (role) {
    case SegmentRole::liver: return "liver";
    case SegmentRole::lesion: return "lesion";
    case SegmentRole::remnant: return "remnant";
    case SegmentRole::couinaud: return "couinaud";
    case SegmentRole::other: break;
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

SegDecision classify_incoming_seg(const SegHeader& seg, StateStore& store,
                                  const std::string& product_name) {
  SegDecision d;
  if (store.sent_instance(seg.sop_instance_uid)) {
    d.kind = SegDecision::own_result;
    d.reason = "an instance this node sent";
    return d;
  }
  // Written by this product (another node's, or ours with new UIDs) and every segment still
  // automatic: nobody edited it. A copy of a corrected version of ours goes on, and is stopped
  // by the comparison with our own SEG (its segments are unchanged).
  const bool automatic_only =
      std::all_of(seg.segments.begin(), seg.segments.end(),
                  [](const SegSegmentHeader& s) { return s.algorithm_type == "AUTOMATIC"; });
  if (!product_name.empty() && lower(seg.manufacturer) == lower(product_name) && automatic_only) {
    d.kind = SegDecision::own_result;
    d.reason = "written by " + product_name + " (Manufacturer) with automatic segments only";
    return d;
  }
  auto analysed = [&](const std::optional<SeriesRow>& row) {
    return row && row->action == SeriesAction::analyse &&
           has_finished_analysis(store, row->study_uid);
  };
  for (const auto& uid : seg.referenced_series) {
    const auto row = store.series_by_uid(uid);
    if (analysed(row)) {
      d.kind = SegDecision::correction;
      d.target_study = store.visit_of(row->study_uid);
      d.target_series = uid;
      d.reason = "ReferencedSeriesSequence names an analysed series";
      return d;
    }
  }
  for (const auto& sop : seg.referenced_instances) {
    const auto series = store.series_of_instance(sop);
    if (!series) continue;
    const auto row = store.series_by_uid(*series);
    if (analysed(row)) {
      d.kind = SegDecision::correction;
      d.target_study = store.visit_of(row->study_uid);
      d.target_series = *series;
      d.reason = "its frames reference images of an analysed series";
      return d;
    }
  }
  if (!seg.study_uid.empty() && has_finished_analysis(store, seg.study_uid)) {
    d.kind = SegDecision::correction;
    d.target_study = store.visit_of(seg.study_uid);
    d.reason = "it lies in an analysed study (frame of reference checked by the analysis)";
    return d;
  }
  d.reason = seg.referenced_series.empty() && seg.referenced_instances.empty()
                 ? "it references no series and its study was never analysed"
                 : "the series it references were never analysed by this node";
  return d;
}

std::optional<SegDecision> decide_routing(DcmItem& dataset, InstanceRecord& r,
                                          const Router& router, StateStore& store) {
  const auto decision = router.route({r.modality, r.calling_ae, r.body_part, r.series_description});
  r.action = decision.action;
  r.rule = decision.rule;
  if (r.sop_class_uid != UID_SegmentationStorage) return std::nullopt;
  // A SEG is never analysed itself: one that corrects nothing is kept without reopening its
  // study (a new study holding only such SEGs is stored and deleted like unrouted ones).
  r.action = SeriesAction::derived;
  r.rule = "segmentation";
  SegDecision d;
  try {
    d = classify_incoming_seg(read_seg_header(dataset), store, kProductName);
  } catch (const std::exception& e) {
    spdlog::warn("event=correction_ignored sop={} series={} reason=\"unusable SEG: {}\"",
                 r.sop_instance_uid, r.series_uid, e.what());
    return std::nullopt;
  }
  switch (d.kind) {
    case SegDecision::correction:
      r.action = SeriesAction::correction;
      r.rule = "correction";
      r.corrects_study = d.target_study;
      spdlog::info("event=correction_received sop={} study={} reason=\"{}\"", r.sop_instance_uid,
                   d.target_study, d.reason);
      break;
    case SegDecision::own_result:
      r.rule = "own result";
      spdlog::info("event=correction_ignored sop={} series={} reason=\"our own result: {}\"",
                   r.sop_instance_uid, r.series_uid, d.reason);
      break;
    case SegDecision::unrelated:
      spdlog::info("event=correction_ignored sop={} series={} reason=\"not a correction: {}\"",
                   r.sop_instance_uid, r.series_uid, d.reason);
      break;
  }
  return d;
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
  DcmFileFormat header;
  std::string sop;
  if (header.loadFileUntilTag(OFFilename(file.c_str()), EXS_Unknown, EGL_noChange, 4096,
                              ERM_autoDetect, DCM_PixelData)
          .good())
    sop = text_of(*header.getDataset(), DCM_SOPInstanceUID);
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
  if (lesion_segments > 0 && (before.empty() || lesions_edited || lesion_segments != before_lesions))
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

namespace {

// The Referenced Series Sequence of a SEG file (empty when unreadable or not a SEG).
std::vector<std::string> seg_referenced_series(const fs::path& file) {
  DcmFileFormat f;
  if (f.loadFileUntilTag(OFFilename(file.c_str()), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect,
                         DCM_PixelData)
          .bad())
    return {};
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

}  // namespace

processing::ManualSegmentsProvider manual_segments_provider(
    const std::vector<CorrectionSeg>& corrections, const std::string& frame_of_reference,
    const std::vector<std::string>& series_uids) {
  std::vector<CorrectionSeg> here;
  for (const auto& c : corrections) {
    if (!frame_of_reference.empty()) {
      if (seg_frame_of_reference(c.file) == frame_of_reference) here.push_back(c);
      continue;
    }
    // Series without a frame of reference: our SEG carried one made for that analysis (the next
    // analysis makes another), so a correction of it is known by the series it refers to.
    const auto referenced = seg_referenced_series(c.file);
    if (std::any_of(referenced.begin(), referenced.end(), [&](const std::string& uid) {
          return std::find(series_uids.begin(), series_uids.end(), uid) != series_uids.end();
        }))
      here.push_back(c);
  }
  if (here.empty()) return {};
  return [here](const processing::Geometry& grid) { return manual_segments_from(here, grid); };
}

nlohmann::json corrections_json(const processing::AnalysisResult& result) {
  if (!result.manual) return nullptr;
  const auto& m = *result.manual;
  nlohmann::json out = {{"source", m.source},
                        {"liver_manual", m.liver},
                        {"lesions_manual", m.lesions},
                        {"remnant_manual", m.remnant},
                        {"notes", m.notes}};
  if (result.surgical_plan && result.surgical_plan->drawn_remnant) {
    out["drawn_remnant"] = remnant_json(*result.surgical_plan->drawn_remnant);
  }
  return out;
}

std::string add_correction_inputs(const JobRow& job, StateStore& store,
                                  AnalyseFolderOptions& options) {
  const auto jobs = store.jobs(job.study_uid, 100000);  // newest first
  // Our own SEGs of the newest finished version before `version`: what the reader edited.
  auto previous_of = [&](int version) {
    std::vector<fs::path> segs;
    std::error_code ec;
    for (const auto& earlier : jobs) {
      if (earlier.state != "done" || earlier.version >= version || earlier.result_dir.empty())
        continue;
      // Every SEG of every analysis of that version: the liver and lesions, the Couinaud
      // segments, the remnant (seg.dcm, seg-*.dcm).
      std::vector<fs::path> dirs;
      for (const auto& entry : fs::directory_iterator(earlier.result_dir, ec))
        if (entry.is_directory()) dirs.push_back(entry.path());
      std::sort(dirs.begin(), dirs.end());
      for (const auto& d : dirs) {
        std::vector<fs::path> files;
        std::error_code ec2;
        for (const auto& f : fs::directory_iterator(d, ec2)) {
          const std::string name = f.path().filename().string();
          if (name == "seg.dcm" || (name.rfind("seg-", 0) == 0 && f.path().extension() == ".dcm"))
            files.push_back(f.path());
        }
        std::sort(files.begin(), files.end());  // seg-*.dcm sort before seg.dcm
        std::stable_partition(files.begin(), files.end(),
                              [](const fs::path& f) { return f.filename() == "seg.dcm"; });
        segs.insert(segs.end(), files.begin(), files.end());
      }
      break;
    }
    return segs;
  };
  auto spool_path = [&](const std::string& sop) -> std::optional<fs::path> {
    const auto path = store.instance_path(sop);
    std::error_code ec;
    if (!path || !fs::exists(*path, ec)) return std::nullopt;
    return fs::path(*path);
  };
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {  // oldest first
    const JobRow& earlier = *it;
    if (earlier.kind != "correction" || earlier.state != "done" || earlier.version >= job.version)
      continue;
    if (const auto path = spool_path(earlier.correction_sop))
      options.corrections.push_back({*path, previous_of(earlier.version)});
  }
  if (job.kind == "correction") {
    const auto path = spool_path(job.correction_sop);
    if (!path) return "the correcting SEG " + job.correction_sop + " is no longer in the spool";
    options.corrections.push_back({*path, previous_of(job.version)});
  }
  if (!options.corrections.empty())
    spdlog::info("event=correction_inputs job={} study={} segs={} earlier_segs={}", job.id,
                 job.study_uid, options.corrections.size(),
                 options.corrections.back().previous.size());
  return "";
}

std::string correction_outcome_error(const JobRow& job, const StudyAnalysisOutcome& outcome) {
  if (job.kind != "correction" || !outcome.usable) return "";
  // The job's own SEG must have changed something (earlier corrections apply as well).
  if (outcome.summary.contains("analyses")) {
    for (const auto& a : outcome.summary["analyses"]) {
      if (a.contains("corrections") &&
          a["corrections"]["source"].get<std::string>().find(job.correction_sop) !=
              std::string::npos)
        return "";
    }
  }
  std::string why = "the correcting SEG " + job.correction_sop +
                    " changed nothing: no analysed series shares its frame of reference, or none "
                    "of its liver, lesion or remnant segments differs from the earlier results";
  if (outcome.summary.contains("analyses")) {
    for (const auto& a : outcome.summary["analyses"]) {
      if (!a.contains("corrections")) continue;
      for (const auto& n : a["corrections"]["notes"]) why += "; " + n.get<std::string>();
    }
  }
  return why;
}

}  // namespace livernode::node
