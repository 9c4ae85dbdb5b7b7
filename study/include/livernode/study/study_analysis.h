#pragma once
// The worker path shared by `livernode analyze` and the network node: a folder of DICOM files
// in, result objects and summary.json out.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "livernode/config/config.h"
#include "livernode/dicom/result_writers.h"
#include "livernode/dicom/series.h"
#include "livernode/processing/analysis.h"
#include "livernode/study/corrections.h"

namespace livernode::study {

// What the header says of a series' phase (description, contrast tags, time after injection):
// supporting evidence for the phase the images show.
processing::SeriesHints series_hints(const dicom::SeriesInfo& s);

// The planning inputs of the surgical plan: the configured formulas and thresholds with the
// patient's height and weight from the header.
processing::PlanningInputs planning_inputs(const config::ClinicalConfig& clinical,
                                           const dicom::PatientFacts& patient);

struct StudyAnalysisOutcome {
  bool usable = false;                        // false: no series could be analysed (bad input)
  std::string error;                          // why, when !usable
  std::filesystem::path summary_path;         // OUT/summary.json
  nlohmann::json summary;                     // what summary.json holds
  std::vector<dicom::WrittenObject> objects;  // result objects written
  int corrected_analyses = 0;                 // analyses that used segments of the correction SEGs
};

struct AnalyseFolderOptions {
  std::string disclaimer = config::ClinicalConfig{}.disclaimer;  // printed on the summary page
  bool write_objects = true;  // SEG, SR, summary images and PDF per analysis, in OUT/<n>/
  processing::LiverBackend liver_backend;  // empty: the built-in liver segmentation
  // Formulas and thresholds of the surgical plan (height and weight come from the images).
  config::ClinicalConfig clinical;
  // An earlier summary.json of the same patient: each analysis gets a "follow_up" section
  // comparing it with that study (empty: none).
  std::filesystem::path prior_summary;
  // When there is no prior_summary although the patient had earlier analyses: why they cannot
  // be compared (said in the warnings and the results instead of a comparison).
  std::string prior_unavailable;
  // DICOM SEGs drawn or corrected by hand, oldest first: their liver, lesion and remnant
  // segments replace the automatic ones in the analysis of the same frame of reference (a later
  // SEG's replace an earlier one's; "corrections" in summary.json).
  std::vector<CorrectionSeg> corrections;
  int result_version = 0;  // > 1: named in the result objects' series descriptions
};

// The analysis settings a configuration file gives: clinical formulas, thresholds and disclaimer,
// and the segmentation backend (the external program works in a sub-folder of `work_dir`).
AnalyseFolderOptions analysis_options_from(const config::Config& config,
                                           const std::filesystem::path& work_dir);

// Scans `input`, loads every CT/MR series, runs processing::analyse per study and writes the
// results under `out`. Throws only on internal errors; bad input comes back as !usable.
// Analysis n (1-based, the order of summary.json's "analyses") writes OUT/<n>/seg.dcm (liver and
// lesions), seg-couinaud.dcm, seg-flr.dcm (and seg-flr-drawn.dcm for a drawn remnant) when there
// are Couinaud segments, sr.dcm, summary-NN.dcm and summary-pdf.dcm, listed in outcome.objects
// and in the analysis' "objects" (a SEG's entry lists its segments and their voxel counts).
StudyAnalysisOutcome analyse_folder(const std::filesystem::path& input,
                                    const std::filesystem::path& out);
StudyAnalysisOutcome analyse_folder(const std::filesystem::path& input,
                                    const std::filesystem::path& out,
                                    const AnalyseFolderOptions& options);

}  // namespace livernode::study
