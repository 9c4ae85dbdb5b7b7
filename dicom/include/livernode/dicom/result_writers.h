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
// source has none), and create a new series. Failures come back as DicomError with the file name and DCMTK's reason.
#include <filesystem>
#include <string>
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
  std::string series_number_base = "9000";  // SEG gets base+1, SR base+2, summary base+3
  int result_version = 0;  // > 1: the version of the study's results, named in the series descriptions
};

// ", version N" for a result version above 1, else "".
std::string version_suffix(const WriterIdentity& identity);

struct WrittenObject {
  std::filesystem::path file;
  std::string kind;  // "seg", "sr", "summary", "pdf"
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string series_instance_uid;
};

struct WrittenSegment {
  unsigned number = 0;  // SegmentNumber in the SEG
  std::string label;    // SegmentLabel
  std::string tracking_id;
  std::string tracking_uid;
  int lesion_number = 0;   // 0 for the liver (and the segments below), else LesionResult::number
  int couinaud_segment = 0;  // 1..8 for a Couinaud segment, else 0
  bool future_liver_remnant = false;  // the remnant of the default resection (right hemihepatectomy)
  bool drawn_remnant = false;  // the future liver remnant drawn by hand
  bool manual = false;         // drawn or corrected by hand (SegmentAlgorithmType MANUAL)
  std::size_t voxels = 0;  // voxels written for this segment
};

struct WrittenSegmentation {
  WrittenObject object;
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

// Writes a binary SEG of result.liver_mask (segment 1, when not empty), of every lesion in
// result.lesion_labels and, when result.couinaud_labels is set, of Couinaud segments I-VIII and
// the future liver remnant of a right hemihepatectomy (I-IV) to `file`. Throws DicomError (kInconsistent) when the masks are not on
// the loaded volume's grid, and when there is nothing to segment.
WrittenSegmentation write_segmentation(const SeriesInfo& series, const LoadedVolume& loaded,
                                       const processing::AnalysisResult& result,
                                       const WriterIdentity& identity,
                                       const std::filesystem::path& file);

// Writes a TID 1500 Imaging Measurement Report to `file` that references the SEG written by
// write_segmentation (one measurement group per segment) and the images of `series`.
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
