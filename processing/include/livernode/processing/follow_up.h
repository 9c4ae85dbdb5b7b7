#pragma once
// The comparison of an analysis with an earlier analysis of the same patient, as plain figures
// for the result writers (SR, results page, PDF). Computed outside processing::analyse, from the
// earlier study's summary; see livernode/study/follow_up.h.
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace livernode::processing {

struct FollowUpChange {
  double before = 0;
  double after = 0;
  // (after - before) / before in percent; nullopt when before is 0.
  std::optional<double> change_percent() const {
    if (before == 0) return std::nullopt;
    return 100.0 * (after - before) / before;
  }
};

// The future liver remnant of one resection preset present in both analyses.
struct FollowUpRemnant {
  std::string key;         // preset key, e.g. "right_hepatectomy"
  std::string name;        // e.g. "Right hemihepatectomy"
  std::string segments;    // segments remaining, e.g. "I-IV"
  bool eslv_basis = true;  // percentages of ESLV; false: of the functional liver volume
  FollowUpChange flr_ml;
  FollowUpChange percent;         // FLR / ESLV (or FLR / functional liver volume) in percent
  double hypertrophy_points = 0;  // degree of hypertrophy: percent.after - percent.before
  std::optional<double> growth_points_per_week;  // kinetic growth rate, when the interval > 0
  std::string statement;                         // the comparison of this remnant in a sentence
};

// A lesion of the earlier study found again (matched by position) in this one.
struct FollowUpLesion {
  int number_before = 0;   // lesion number in the earlier analysis
  int number_after = 0;    // lesion number in this analysis
  double distance_mm = 0;  // between the centroids
  FollowUpChange longest_diameter_mm;
  FollowUpChange volume_ml;
};

struct FollowUpComparison {
  // Non-empty: no comparison was made, and this says why (e.g. the earlier results were purged).
  std::string unavailable_reason;
  std::string prior_summary;                  // the earlier summary.json compared with
  std::vector<std::string> prior_study_uids;  // StudyInstanceUIDs of the earlier analysis
  std::string prior_study_uid;   // the earlier study (first StudyInstanceUID of its analysis)
  std::string prior_study_date;  // YYYYMMDD
  std::string study_date;        // YYYYMMDD of this analysis
  std::optional<long> interval_days;
  std::optional<FollowUpChange> total_liver_ml;
  std::optional<FollowUpChange> functional_liver_ml;
  std::vector<FollowUpRemnant> remnants;
  // How the earlier lesions were moved into this study's coordinates before matching: the
  // landmarks used (or why none) and the shift.
  std::string alignment_landmarks;
  std::array<double, 3> alignment_shift_mm{0, 0, 0};
  std::vector<FollowUpLesion> lesions;
  std::vector<int> lesions_not_found_again;  // numbers in the earlier analysis
  std::vector<int> new_lesions;              // numbers in this analysis
  int recist_target_lesions = 0;           // target lesions of the earlier study (0: no RECIST sum)
  std::vector<int> recist_target_numbers;  // their numbers in the earlier analysis
  FollowUpChange recist_sum_mm;
  std::vector<std::string> statements;  // the comparison in sentences
};

}  // namespace livernode::processing
