#pragma once
// Corrections sent back from a viewer as DICOM Segmentation: which analysed series an incoming
// SEG refers to, what each of its segments stands for (liver, lesion, drawn future liver
// remnant), and the hand-drawn masks the analysis then uses instead of its own.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "livernode/node/routing.h"
#include "livernode/processing/analysis.h"

class DcmItem;

namespace livernode::node {

class StateStore;
struct JobRow;
struct AnalyseFolderOptions;
struct StudyAnalysisOutcome;
struct CorrectionSeg;

struct SegSegmentHeader {
  unsigned number = 0;
  std::string label;
  std::string category_code;  // "scheme:value"
  std::string type_code;      // "scheme:value"
  std::string algorithm_type;
};

// The header facts of a SEG that matter for corrections.
struct SegHeader {
  std::string sop_instance_uid;
  std::string series_uid;
  std::string study_uid;
  std::string frame_of_reference_uid;
  std::string manufacturer;
  std::vector<std::string> referenced_series;     // ReferencedSeriesSequence
  std::vector<std::string> referenced_instances;  // per-frame and shared source image references
  std::vector<SegSegmentHeader> segments;
};

// The FrameOfReferenceUID of a SEG file ("" when unreadable).
std::string seg_frame_of_reference(const std::filesystem::path& file);

// Throws std::runtime_error when the dataset is not a usable SEG (no segments, no frames).
SegHeader read_seg_header(DcmItem& dataset);

enum class SegmentRole { liver, lesion, remnant, couinaud, other };
const char* segment_role_name(SegmentRole role);
// By SegmentedPropertyType code first (SCT 10200004 liver; neoplasm, tumour, mass, lesion and
// carcinoma codes), the label deciding between the liver and our own segments of the liver
// (Couinaud segments, remnants) and as the fallback for codes not known.
SegmentRole segment_role(const std::string& type_code, const std::string& label);

// What the node does with an incoming SEG.
struct SegDecision {
  enum Kind { correction, own_result, unrelated } kind = unrelated;
  std::string target_study;   // the analysed study it corrects (the lead of its visit)
  std::string target_series;  // the analysed series it refers to, when known
  std::string reason;         // for the log
};

// A correction when it refers to a series of a study that has a finished analysis (by
// ReferencedSeriesSequence, by its frames' source images, or failing both by lying in such a
// study with the same frame of reference); our own result echoed back (an instance we sent,
// or one written by this product whose segments are all automatic) is never one.
SegDecision classify_incoming_seg(const SegHeader& seg, StateStore& store,
                                  const std::string& product_name);

// The routing decision of a received instance, or of one recovered from the spool, into
// r.action and r.rule (r's modality, calling AE, body part, description and SOP class must be
// set): the routing rules, except that a SEG is never analysed itself. A SEG that corrects an
// analysed study is recorded as a correction of it (r.corrects_study; recording it queues the
// correction job); any other SEG (our own result echoed back, unrelated, unusable) as derived.
// Logs what it made of a SEG. Returns the decision for a usable SEG.
std::optional<SegDecision> decide_routing(DcmItem& dataset, InstanceRecord& r,
                                          const Router& router, StateStore& store);

// The hand-drawn masks of the correction SEGs on a reference grid, oldest SEG first: a later
// SEG's liver, lesions or remnant replace an earlier one's. Segments equal to those of the SEG's
// `previous` (our own SEGs of the version it corrects, when known) were not edited and are not
// used: the automatic result stays. Lesion segments are taken as a set (a SEG with lesion
// segments replaces every detected lesion; an empty segment removes a lesion).
processing::ManualSegments manual_segments_from(const std::vector<CorrectionSeg>& segs,
                                                const processing::Geometry& reference);

// The provider of hand-drawn masks for the analysis of one frame of reference: the
// corrections that lie in it (empty function when none does). When the analysed series have no
// frame of reference (`frame_of_reference` empty), the corrections whose Referenced Series
// Sequence names one of `series_uids`.
processing::ManualSegmentsProvider manual_segments_provider(
    const std::vector<CorrectionSeg>& corrections, const std::string& frame_of_reference,
    const std::vector<std::string>& series_uids = {});

// summary.json's "corrections" of an analysis: the source SEGs, which results are manual, the
// drawn remnant's figures and the notes.
nlohmann::json corrections_json(const processing::AnalysisResult& result);

// The correcting SEGs of a job (from the spool), each with our SEGs of the version it corrected,
// go into `options`: those of the study's earlier finished correction jobs (corrections stay
// in every later version) and, for a correction job, its own. Returns why the job cannot run,
// or "".
std::string add_correction_inputs(const JobRow& job, StateStore& store,
                                  AnalyseFolderOptions& options);
// For a correction job: why its outcome must not be delivered (no analysis used the SEG), or "".
std::string correction_outcome_error(const JobRow& job, const StudyAnalysisOutcome& outcome);

}  // namespace livernode::node
