#include "follow_up_sections.h"

#include <dcmtk/dcmsr/codes/sct.h>
#include <dcmtk/dcmsr/codes/ucum.h>

#include <cctype>

#include "sr_codes.h"
#include "sr_items.h"
#include "writer_common.h"

namespace livernode::dicom::detail {

namespace {

using Group = TID1500_MeasurementReport::TID1501_Measurements;

// Units not in DCMTK's tables (the shared ones are in sr_codes.h).
const DSRBasicCodedEntry kDay("d", "UCUM", "day");
const DSRBasicCodedEntry kPercentPerWeek("%/wk", "UCUM", "percent per week");
// Follow-up concepts without a standard code: the product's own (sr_codes.h).
const DSRBasicCodedEntry kComparison = product_concept(30, "Comparison with prior study");
const DSRBasicCodedEntry kPriorStudy = product_concept(31, "Prior study");
const DSRBasicCodedEntry kInterval = product_concept(32, "Interval since prior study");
const DSRBasicCodedEntry kPriorVolume = product_concept(33, "Volume at prior study");
const DSRBasicCodedEntry kPriorFunctional =
    product_concept(34, "Functional liver volume at prior study");
const DSRBasicCodedEntry kPriorFlr = product_concept(35, "Future liver remnant at prior study");
const DSRBasicCodedEntry kPriorFlrPercentEslv = product_concept(36, "FLR / ESLV at prior study");
const DSRBasicCodedEntry kPriorFlrPercentFunctional =
    product_concept(37, "FLR / functional liver volume at prior study");
const DSRBasicCodedEntry kHypertrophy = product_concept(38, "Degree of hypertrophy");
const DSRBasicCodedEntry kGrowthRate = product_concept(39, "Kinetic growth rate");
const DSRBasicCodedEntry kPriorLongAxis = product_concept(40, "Long axis at prior study");
const DSRBasicCodedEntry kLongAxisChange = product_concept(41, "Change of long axis");
const DSRBasicCodedEntry kVolumeChange = product_concept(42, "Change of volume");
const DSRBasicCodedEntry kMatchDistance = product_concept(43, "Distance to prior position");
const DSRBasicCodedEntry kPriorRecistSum =
    product_concept(44, "RECIST sum of diameters at prior study");
const DSRBasicCodedEntry kRecistSum = product_concept(45, "RECIST sum of diameters");
const DSRBasicCodedEntry kRecistSumChange =
    product_concept(46, "Change of RECIST sum of diameters");
const DSRBasicCodedEntry kLesionsCompared =
    product_concept(47, "Lesions compared with prior study");

std::string signed_number(double v, int decimals) {
  return (v >= 0 ? "+" : "") + sr_number(v, decimals);
}

std::string list_of(const std::vector<int>& numbers) {
  std::string s;
  for (std::size_t i = 0; i < numbers.size(); ++i)
    s += (i ? ", " : "") + std::to_string(numbers[i]);
  return s.empty() ? "none" : s;
}

std::string prior_text(const processing::FollowUpComparison& f) {
  std::string s =
      "study " + (f.prior_study_uid.empty() ? std::string("(UID unknown)") : f.prior_study_uid) +
      " of " + (f.prior_study_date.empty() ? std::string("unknown date") : f.prior_study_date);
  if (f.interval_days) s += ", " + std::to_string(*f.interval_days) + " days earlier";
  return s;
}

}  // namespace

void add_follow_up(TID1500_MeasurementReport& report, const processing::FollowUpComparison& f,
                   const std::filesystem::path& file) {
  if (!f.unavailable_reason.empty()) {
    add_text(report, kComparison, "not made: " + f.unavailable_reason, file);
    return;
  }
  add_text(report, kPriorStudy, prior_text(f), file);
  for (const auto& s : f.statements) add_text(report, kComparison, s, file);

  Group& overall = new_measurement_group(report, "Follow-up: liver", CODE_SCT_Liver, file);
  if (f.interval_days) {
    add_measurement(overall, kInterval, static_cast<double>(*f.interval_days), 0, kDay, file);
  }
  if (f.total_liver_ml) {
    add_measurement(overall, kPriorVolume, f.total_liver_ml->before, 1, kMilliliter, file);
    add_measurement(overall, kVolume, f.total_liver_ml->after, 1, kMilliliter, file);
    if (const auto p = f.total_liver_ml->change_percent()) {
      add_measurement(overall, kVolumeChange, *p, 1, kPercent, file);
    }
  }
  if (f.functional_liver_ml) {
    add_measurement(overall, kPriorFunctional, f.functional_liver_ml->before, 1, kMilliliter, file);
    add_measurement(overall, kFunctionalVolume, f.functional_liver_ml->after, 1, kMilliliter, file);
  }
  if (f.recist_target_lesions > 0) {
    add_measurement(overall, kPriorRecistSum, f.recist_sum_mm.before, 1, kMillimeter, file);
    add_measurement(overall, kRecistSum, f.recist_sum_mm.after, 1, kMillimeter, file);
    require(overall.getMeasurement().setMeasurementMethod(CMR_CID6147::RECIST11),
            "cannot set the RECIST method", file);
    if (const auto p = f.recist_sum_mm.change_percent()) {
      add_measurement(overall, kRecistSumChange, *p, 1, kPercent, file);
    }
  }
  require(overall.addQualitativeEvaluation(
              DSRCodedEntryValue(kLesionsCompared),
              OFString((std::to_string(f.lesions.size()) + " found again; not found again: " +
                        list_of(f.lesions_not_found_again) + "; new: " + list_of(f.new_lesions))
                           .c_str())),
          "cannot add the lesion comparison", file);

  for (const auto& r : f.remnants) {
    Group& group = new_measurement_group(report, ("Follow-up: FLR " + r.name).substr(0, 64),
                                         kFutureLiverRemnant, file);
    add_measurement(group, kPriorFlr, r.flr_ml.before, 1, kMilliliter, file);
    add_measurement(group, kFutureLiverRemnant, r.flr_ml.after, 1, kMilliliter, file);
    add_measurement(group, r.eslv_basis ? kPriorFlrPercentEslv : kPriorFlrPercentFunctional,
                    r.percent.before, 1, kPercent, file);
    add_measurement(group, r.eslv_basis ? kFlrPercentEslv : kFlrPercentFunctional, r.percent.after,
                    1, kPercent, file);
    add_measurement(group, kHypertrophy, r.hypertrophy_points, 1, kPercent, file);
    if (r.growth_points_per_week) {
      add_measurement(group, kGrowthRate, *r.growth_points_per_week, 2, kPercentPerWeek, file);
    }
    require(
        group.addQualitativeEvaluation(
            DSRCodedEntryValue(kFutureLiverRemnant),
            OFString((r.name + ", segments " + r.segments + " remaining").substr(0, 1000).c_str())),
        "cannot name the remnant", file);
  }

  for (const auto& l : f.lesions) {
    Group& group = new_measurement_group(
        report, "Follow-up: lesion " + std::to_string(l.number_after), kNeoplasm, file);
    add_measurement(group, kPriorLongAxis, l.longest_diameter_mm.before, 1, kMillimeter, file);
    add_measurement(group, kLongAxis, l.longest_diameter_mm.after, 1, kMillimeter, file);
    require(group.getMeasurement().setMeasurementMethod(CMR_CID6147::RECIST11),
            "cannot set the RECIST method", file);
    if (const auto p = l.longest_diameter_mm.change_percent()) {
      add_measurement(group, kLongAxisChange, *p, 1, kPercent, file);
    }
    add_measurement(group, kPriorVolume, l.volume_ml.before, 2, kMilliliter, file);
    add_measurement(group, kVolume, l.volume_ml.after, 2, kMilliliter, file);
    if (const auto p = l.volume_ml.change_percent())
      add_measurement(group, kVolumeChange, *p, 1, kPercent, file);
    add_measurement(group, kMatchDistance, l.distance_mm, 1, kMillimeter, file);
    require(group.addQualitativeEvaluation(
                DSRCodedEntryValue(kLesionsCompared),
                OFString(("lesion " + std::to_string(l.number_after) + " is lesion " +
                          std::to_string(l.number_before) + " of the prior study")
                             .c_str())),
            "cannot name the lesion pair", file);
  }
}

std::vector<std::string> follow_up_lines(const processing::FollowUpComparison& f) {
  std::vector<std::string> out;
  if (!f.unavailable_reason.empty()) {
    out.push_back("No comparison with an earlier study: " + f.unavailable_reason);
    return out;
  }
  std::string head = "Compared with " + prior_text(f);
  if (f.interval_days) head += " (" + sr_number(*f.interval_days / 7.0, 1) + " weeks)";
  out.push_back(head + ".");
  if (f.total_liver_ml) {
    std::string s = "Total liver " + sr_number(f.total_liver_ml->before, 0) + " -> " +
                    sr_number(f.total_liver_ml->after, 0) + " mL";
    if (const auto p = f.total_liver_ml->change_percent()) s += " (" + signed_number(*p, 1) + " %)";
    out.push_back(s + ".");
  }
  // The page has room for one remnant: the one that grew most (the side being prepared by
  // portal vein embolisation or a first stage); the SR holds every preset.
  const processing::FollowUpRemnant* grown = nullptr;
  for (const auto& r : f.remnants) {
    if (!grown || r.hypertrophy_points > grown->hypertrophy_points) grown = &r;
  }
  if (grown) {
    const auto& r = *grown;
    std::string name = r.name;
    if (!name.empty())
      name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    std::string s =
        name + ": FLR (" + r.segments + ") " + sr_number(r.flr_ml.before, 0) + " -> " +
        sr_number(r.flr_ml.after, 0) + " mL, " + (r.eslv_basis ? "FLR/ESLV " : "FLR/functional ") +
        sr_number(r.percent.before, 1) + " -> " + sr_number(r.percent.after, 1) +
        " %, degree of hypertrophy " + signed_number(r.hypertrophy_points, 1) + " points";
    if (r.growth_points_per_week) {
      s += ", kinetic growth rate " + sr_number(*r.growth_points_per_week, 2) + " points/week";
    }
    if (f.remnants.size() > 1) {
      s += " (largest growth; " + std::to_string(f.remnants.size() - 1) +
           " other resection(s) in the SR)";
    }
    out.push_back(s + ".");
  }
  std::string lesions = "Lesions (earlier -> now):";
  constexpr std::size_t kLesionsOnThePage = 4;
  for (std::size_t i = 0; i < f.lesions.size() && i < kLesionsOnThePage; ++i) {
    const auto& l = f.lesions[i];
    lesions += std::string(i ? "; " : " ") + "#" + std::to_string(l.number_before) + " -> #" +
               std::to_string(l.number_after) + " longest " +
               sr_number(l.longest_diameter_mm.before, 1) + " -> " +
               sr_number(l.longest_diameter_mm.after, 1) + " mm";
    if (const auto p = l.longest_diameter_mm.change_percent())
      lesions += " (" + signed_number(*p, 0) + " %)";
  }
  if (f.lesions.size() > kLesionsOnThePage) {
    lesions += "; " + std::to_string(f.lesions.size() - kLesionsOnThePage) + " more in the SR";
  }
  if (f.lesions.empty()) lesions += " none found again";
  lesions += "; not found again: " + list_of(f.lesions_not_found_again) +
             "; new: " + list_of(f.new_lesions) + ".";
  out.push_back(lesions);
  if (f.recist_target_lesions > 0) {
    std::string s = "RECIST 1.1 sum (" + std::to_string(f.recist_target_lesions) +
                    " target lesion" + (f.recist_target_lesions > 1 ? "s" : "") + ") " +
                    sr_number(f.recist_sum_mm.before, 1) + " -> " +
                    sr_number(f.recist_sum_mm.after, 1) + " mm";
    if (const auto p = f.recist_sum_mm.change_percent()) s += " (" + signed_number(*p, 1) + " %)";
    out.push_back(s + ".");
  }
  return out;
}

}  // namespace livernode::dicom::detail
