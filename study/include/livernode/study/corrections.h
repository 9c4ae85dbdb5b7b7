#pragma once
// Corrections sent back from a viewer as DICOM Segmentation: what each of its segments stands
// for (liver, lesion, drawn future liver remnant), and the hand-drawn masks the analysis then
// uses instead of its own. Which analysed study an incoming SEG corrects is the node's decision
// (node/routing.h); the header reading is dicom's (dicom/seg_header.h).
#include <filesystem>
#include <string>
#include <vector>

#include "livernode/processing/analysis.h"

namespace livernode::study {

// A SEG drawn or corrected by hand, with our own SEGs of the version it corrects: its segments
// equal to theirs count as not edited.
struct CorrectionSeg {
  std::filesystem::path file;
  std::vector<std::filesystem::path> previous;
};

enum class SegmentRole { liver, lesion, remnant, couinaud, other };
const char* segment_role_name(SegmentRole role);
// By SegmentedPropertyType code first (SCT 10200004 liver; neoplasm, tumour, mass, lesion and
// carcinoma codes), the label deciding between the liver and our own segments of the liver
// (Couinaud segments, remnants) and as the fallback for codes not known.
SegmentRole segment_role(const std::string& type_code, const std::string& label);

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

}  // namespace livernode::study
