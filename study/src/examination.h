#pragma once
// One examination as the analysis of a folder loads it (study_analysis.cpp), and the MR
// examination's analysis and result objects (mr_examination.cpp). Private to study/.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "livernode/dicom/result_writers.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/processing/analysis.h"
#include "livernode/study/mr_triage.h"
#include "livernode/study/study_analysis.h"

namespace livernode::study::detail {

// The series of one examination, loaded (those too small or unreadable are reported in
// `series_json` with the reason).
struct LoadedGroup {
  std::vector<dicom::LoadedVolume> volumes;
  std::vector<const dicom::SeriesInfo*> series;
  nlohmann::json series_json = nlohmann::json::array();
  std::vector<std::string> study_uids;
  std::size_t mr_series = 0;  // MR series listed
  // MR: every volume with its triage and its entry in series_json; the T1 dynamic run's volumes
  // (loaded, in time order) and their indices in mr_choices.
  std::vector<MrSeriesChoice> mr_choices;
  std::vector<std::size_t> mr_json_index;
  std::vector<std::size_t> mr_dynamic;
  std::vector<dicom::LoadedVolume> mr_volumes;
  int mr_reference = -1;  // index in mr_volumes of the time point the liver was segmented on
};

// The series' volume, or a dicom::DicomError when it is too small to be analysed (a single
// slice, a scout, a few slices of a reformat).
dicom::LoadedVolume load_analysable_volume(const dicom::SeriesInfo& s);

// Values copied from the source header that were not valid for their VR are repaired by the
// writers; which ones (never the values, they may identify the patient) goes to the log and to
// `warnings`.
void note_copied_value_fixes(const dicom::SeriesInfo& series, nlohmann::json& warnings);

// The MR examination: the T1 dynamic run's phases from the images (processing/mr_dynamic.h),
// said per series and in analysis["mr_dynamic"]; the liver, its lesions, volumes, Couinaud
// segments and remnant volumes on the reference time point. `analysed` counts it when it ran.
void run_mr_analysis(LoadedGroup& group, const processing::PlanningInputs& planning,
                     nlohmann::json& analysis, processing::AnalysisResult& result,
                     std::size_t& analysed);

// The MR objects: the SEGs on the reference time point's series, the TID 1500 SR measuring
// them, the summary pages and PDF, written into `dir`; their JSON entries (paths relative to
// `out`), each appended to `written`, problems to `warnings`.
nlohmann::json write_mr_objects(const processing::AnalysisResult& result, const LoadedGroup& group,
                                const std::filesystem::path& out, const std::filesystem::path& dir,
                                const AnalyseFolderOptions& options,
                                std::vector<dicom::WrittenObject>& written,
                                nlohmann::json& warnings);

}  // namespace livernode::study::detail
