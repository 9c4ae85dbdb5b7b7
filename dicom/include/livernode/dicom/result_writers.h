#pragma once
// Writers of the result objects every viewer and archive shows: a binary DICOM Segmentation
// (liver + one segment per lesion), a TID 1500 Comprehensive 3D SR with the measurements, and
// secondary-capture summary images. DICOM encoding only: every number comes from the
// AnalysisResult, nothing is measured here except voxel counts for the frame layout.
//
// All writers take the reference series (the series the masks were computed on), its loaded
// volume (for the slice -> source SOP instance mapping) and the AnalysisResult. They copy the
// Patient and General Study modules of the source (every copied value made valid for its VR
// first, see copied_values.h), keep its Frame of Reference (or the one set in `series` when the
// source has none), and create a new series. Failures come back as DicomError with the file name
// and DCMTK's reason.
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "livernode/dicom/series.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/processing/analysis.h"

namespace livernode::dicom {

// Who wrote the objects and what the reader must be told.
struct WriterIdentity {
  std::string product;     // e.g. kProductName
  std::string version;     // e.g. kVersion
  std::string disclaimer;  // ClinicalConfig::disclaimer, printed on the summary page
  // Series numbers: liver-and-lesions SEG base+1, SR base+2, summary images base+3, PDF base+4,
  // Couinaud SEG base+5, FLR SEG base+6, drawn FLR SEG base+7.
  std::string series_number_base = "9000";
  int result_version =
      0;  // > 1: the version of the study's results, named in the series descriptions
};

// The object identifier of concept `number` of the product's own (concepts no standard
// terminology holds, e.g. the future liver remnant), "2.25.<arc>.<number>": the SR codes them
// with Coding Scheme Designator ISO_OID and this as Long Code Value (docs/conformance-statement.md
// lists them).
std::string product_concept_oid(int number);

// ", version N" for a result version above 1, else "".
std::string version_suffix(const WriterIdentity& identity);

// The transfer syntax every result object is written in: Explicit VR Little Endian.
inline constexpr const char* kResultTransferSyntaxUid = "1.2.840.10008.1.2.1";

// A result object as its writer wrote it: everything a sender needs without reading it again.
struct WrittenObject {
  std::filesystem::path file;
  std::string kind;  // "seg", "sr", "summary", "pdf"
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string series_instance_uid;
  std::string transfer_syntax_uid = kResultTransferSyntaxUid;
};

struct WrittenSegment {
  unsigned number = 0;  // SegmentNumber in the SEG
  std::string label;    // SegmentLabel
  std::string tracking_id;
  std::string tracking_uid;
  int lesion_number = 0;     // 0 for the liver (and the segments below), else LesionResult::number
  int couinaud_segment = 0;  // 1..8 for a Couinaud segment, else 0
  bool future_liver_remnant =
      false;                   // the remnant of the default resection (right hemihepatectomy)
  bool drawn_remnant = false;  // the future liver remnant drawn by hand
  bool manual = false;         // drawn or corrected by hand (SegmentAlgorithmType MANUAL)
  std::size_t voxels = 0;      // voxels written for this segment
  // Voxels of the segment on the analysis grid, slices filled by interpolation included (they
  // have no source image, so their voxels are not in the SEG): voxels <= mask_voxels.
  std::size_t mask_voxels = 0;
  double voxel_ml = 0.0;  // volume of one voxel
  double volume_ml() const { return static_cast<double>(voxels) * voxel_ml; }
  double mask_volume_ml() const { return static_cast<double>(mask_voxels) * voxel_ml; }
  std::string description;  // SegmentDescription
  std::string type_code;    // SegmentedPropertyTypeCodeSequence as "scheme:value"
};

// What one SEG object holds. Every SEG holds segments that do not overlap (SegmentsOverlap NO),
// so that a viewer loads it as one label map.
enum class SegLayer {
  kLiverAndLesions,  // the liver without its lesions (parenchyma) and one segment per lesion
  kCouinaud,         // Couinaud segments I-VIII
  kRemnant,          // the future liver remnant of the default resection, lesions excluded
  kDrawnRemnant,     // the future liver remnant drawn by hand
};
const char* seg_layer_name(
    SegLayer layer);  // "liver_lesions", "couinaud", "remnant", "drawn_remnant"
// The file name the analysis gives a layer's SEG: seg.dcm, seg-couinaud.dcm, seg-flr.dcm,
// seg-flr-drawn.dcm.
const char* seg_layer_file(SegLayer layer);

struct WrittenSegmentation {
  WrittenObject object;
  SegLayer layer = SegLayer::kLiverAndLesions;
  std::vector<WrittenSegment> segments;
  std::size_t frames = 0;
  // Slices of the volume filled by interpolation have no source image to reference; their
  // segmented pixels are left out of the SEG (and counted here, with a warning).
  std::size_t omitted_interpolated_voxels = 0;
  // The SEG's Frame of Reference UID: the source's, else series.frame_of_reference_uid when the
  // caller set one, else a new one made here (with a warning). The SR names the same one.
  std::string frame_of_reference_uid;
  std::vector<std::string> warnings;
};

// Writes one binary SEG per layer that has something to show into `folder` (file names from
// seg_layer_file): the liver and its lesions (the liver segment is the liver without the lesion
// voxels, so no voxel belongs to two segments), the Couinaud segments I-VIII when
// result.couinaud_labels is set, the future liver remnant of a right hemihepatectomy (segments
// I-IV without lesion voxels: the functional remnant the report gives) and the remnant drawn by
// hand. Each is a series of its own whose description says what it holds. Throws DicomError
// (kInconsistent) when the masks are not on the loaded volume's grid, and when there is nothing
// to segment.
std::vector<WrittenSegmentation> write_segmentations(const SeriesInfo& series,
                                                     const LoadedVolume& loaded,
                                                     const processing::AnalysisResult& result,
                                                     const WriterIdentity& identity,
                                                     const std::filesystem::path& folder);

// One layer alone, written to `file`; throws DicomError (kInconsistent) when the layer is empty.
WrittenSegmentation write_segmentation(const SeriesInfo& series, const LoadedVolume& loaded,
                                       const processing::AnalysisResult& result,
                                       const WriterIdentity& identity,
                                       const std::filesystem::path& file,
                                       SegLayer layer = SegLayer::kLiverAndLesions);

// Where a lesion lies: the Couinaud segments its voxels fall in, largest share first.
struct LesionSite {
  int segment = 0;         // 1..8
  double volume_ml = 0.0;  // of the lesion inside the segment
  double percent = 0.0;    // of the lesion's volume
};
// For every lesion (by number), the segments holding at least 1 % of it; empty when there are no
// Couinaud segments. Measured by voxel overlap of lesion_labels and couinaud_labels.
std::map<int, std::vector<LesionSite>> lesion_sites(const processing::AnalysisResult& result);
// "IV (80 %), V (20 %)", or "" without sites.
std::string lesion_sites_text(const std::vector<LesionSite>& sites);
// SNOMED CT code of Couinaud segment 1..8 as (value, meaning).
std::pair<std::string, std::string> couinaud_code(int segment);

// Writes a TID 1500 Imaging Measurement Report to `file` that references the SEGs written by
// write_segmentations (one measurement group per segment) and the images of `series` and of
// every series in `other_series` (the other phases the measurements used) as evidence. Lesion
// axes go in as SCOORD3D polylines in the frame of reference of the SEGs; the document is a
// Comprehensive 3D SR when it holds any, else a Comprehensive SR.
WrittenObject write_measurement_report(const SeriesInfo& series, const LoadedVolume& loaded,
                                       const processing::AnalysisResult& result,
                                       const std::vector<WrittenSegmentation>& segs,
                                       const WriterIdentity& identity,
                                       const std::filesystem::path& file,
                                       const std::vector<const SeriesInfo*>& other_series = {});
// The same for a single SEG.
WrittenObject write_measurement_report(const SeriesInfo& series, const LoadedVolume& loaded,
                                       const processing::AnalysisResult& result,
                                       const WrittenSegmentation& seg,
                                       const WriterIdentity& identity,
                                       const std::filesystem::path& file);

// Renders key axial images (largest liver slice, each lesion's RECIST slice) with outlines and
// a results page, as RGB Secondary Capture images (one file each) into `folder`, named
// summary-01.dcm, summary-02.dcm, ... Returns them in order.
std::vector<WrittenObject> write_summary_images(const SeriesInfo& series,
                                                const LoadedVolume& loaded,
                                                const processing::AnalysisResult& result,
                                                const WriterIdentity& identity,
                                                const std::filesystem::path& folder);

// The results page (vector text) and the key images as one Encapsulated PDF document in a new
// series (base+4) of the source study, written to `file`. kind = "pdf".
WrittenObject write_summary_pdf(const SeriesInfo& series, const LoadedVolume& loaded,
                                const processing::AnalysisResult& result,
                                const WriterIdentity& identity, const std::filesystem::path& file);

}  // namespace livernode::dicom
