#include "livernode/study/follow_up.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

namespace livernode::study {

using nlohmann::json;

namespace {

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

std::optional<long> parse_date(const std::string& s) {
  if (s.size() != 8 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const long y = std::stol(s.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoul(s.substr(4, 2)));
  const unsigned d = static_cast<unsigned>(std::stoul(s.substr(6, 2)));
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  return days_from_civil(y, m, d);
}

std::string fixed(double v, int digits) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

}  // namespace

std::optional<long> days_between(const std::string& earlier, const std::string& later) {
  const auto a = parse_date(earlier), b = parse_date(later);
  if (!a || !b) return std::nullopt;
  return *b - *a;
}

namespace {

using Lesions = std::vector<FollowUpLesionFacts>;

processing::FollowUpChange before_after(double before, double after) {
  return processing::FollowUpChange{before, after};
}

// The study dates and the interval between them; the interval in weeks when it is positive
// (the growth rates need one).
std::optional<double> compare_interval(const FollowUpFacts& current, const FollowUpFacts& prior,
                                       processing::FollowUpComparison& c) {
  const std::string& date_before = prior.study_date;
  const std::string& date_after = current.study_date;
  c.prior_study_date = date_before;
  c.study_date = date_after;
  const auto days = days_between(date_before, date_after);
  std::optional<double> weeks;
  if (days && *days > 0) weeks = *days / 7.0;
  c.interval_days = days;
  if (!weeks) {
    c.statements.push_back("no growth rate: the study dates (" + date_before + ", " + date_after +
                           ") do not give a positive interval");
  }
  return weeks;
}

// The total and functional liver volumes.
void compare_volumes(const FollowUpFacts& current, const FollowUpFacts& prior,
                     processing::FollowUpComparison& c) {
  const auto tb = prior.liver_ml, ta = current.liver_ml;
  const auto fb = prior.functional_ml, fa = current.functional_ml;
  if (tb && ta) c.total_liver_ml = before_after(*tb, *ta);
  if (fb && fa) c.functional_liver_ml = before_after(*fb, *fa);
  if (tb && ta) {
    c.statements.push_back("total liver " + fixed(*tb, 0) + " -> " + fixed(*ta, 0) + " mL");
  }
}

// The remnant of one resection preset in both plans (`rb` before, `ra` after): its FLR, its
// share (of the ESLV when both plans have one) and, with `weeks`, the kinetic growth rate.
// Nullopt when either plan lacks the share compared.
std::optional<processing::FollowUpRemnant> compare_remnant(const FollowUpResection& rb,
                                                           const FollowUpResection& ra,
                                                           std::optional<double> weeks) {
  processing::FollowUpRemnant r;
  r.key = ra.key;
  r.name = ra.name;
  r.segments = ra.segments_remaining;
  const double flr_b = rb.flr_ml, flr_a = ra.flr_ml;
  r.flr_ml = before_after(flr_b, flr_a);
  r.eslv_basis = rb.percent_of_eslv && ra.percent_of_eslv;
  const auto& pb = r.eslv_basis ? rb.percent_of_eslv : rb.percent_of_functional;
  const auto& pa = r.eslv_basis ? ra.percent_of_eslv : ra.percent_of_functional;
  if (!pb || !pa) return std::nullopt;
  const double sb = *pb, sa = *pa;
  const std::string basis =
      r.eslv_basis ? "FLR / ESLV" : "FLR / (total liver volume - tumour volume)";
  r.percent = before_after(sb, sa);
  r.hypertrophy_points = sa - sb;
  if (weeks) r.growth_points_per_week = (sa - sb) / *weeks;
  std::string st = ra.name + ": FLR " + ra.segments_remaining + " " + fixed(flr_b, 0) + " -> " +
                   fixed(flr_a, 0) + " mL, " + basis + " " + fixed(sb, 1) + " -> " + fixed(sa, 1) +
                   " %, degree of hypertrophy " + fixed(sa - sb, 1) + " points";
  if (weeks) {
    const double kgr = (sa - sb) / *weeks;
    st += ", kinetic growth rate " + fixed(kgr, 2) + " points/week over " + fixed(*weeks, 1) +
          " weeks (" + (kgr < 2.0 ? "below" : "at or above") + " 2 %/week)";
  }
  r.statement = st;
  return r;
}

// Remnants of every resection preset present in both plans.
void compare_remnants(const FollowUpFacts& current, const FollowUpFacts& prior,
                      std::optional<double> weeks, processing::FollowUpComparison& c) {
  if (prior.has_surgical_plan && current.has_surgical_plan) {
    for (const auto& ra : current.resections) {
      for (const auto& rb : prior.resections) {
        if (rb.key != ra.key) continue;
        auto r = compare_remnant(rb, ra, weeks);
        if (!r) continue;
        c.statements.push_back(r->statement);
        c.remnants.push_back(std::move(*r));
      }
    }
  } else {
    c.statements.push_back("no remnant comparison: one of the analyses has no surgical plan");
  }
}

// The two studies are in different scanner coordinates (another visit, another position on
// the table): the earlier lesions `lb` are moved by the shift of the patient's landmarks, the
// IVC axis in-plane and the liver dome along the table. The liver's own growth moves neither
// much.
void align_earlier_lesions(const FollowUpFacts& current, const FollowUpFacts& prior, Lesions& lb,
                           processing::FollowUpComparison& c) {
  std::array<double, 3> shift{0, 0, 0};
  std::vector<std::string> used;
  const auto& ib = prior.ivc_axis_lps_mm;
  const auto& ia = current.ivc_axis_lps_mm;
  if (ib && ia) {
    shift[0] = (*ia)[0] - (*ib)[0];
    shift[1] = (*ia)[1] - (*ib)[1];
    used.push_back("IVC axis (in-plane)");
  }
  const auto db = prior.liver_dome_z_mm, da = current.liver_dome_z_mm;
  if (db && da) {
    shift[2] = *da - *db;
    used.push_back("liver dome (along the table)");
  }
  for (auto& l : lb)
    for (int a = 0; a < 3; ++a) l.centroid_lps_mm[a] += shift[a];
  std::string method = used.empty() ? "none: the analyses hold no landmarks; scanner coordinates "
                                      "compared as they are"
                                    : used.front();
  if (used.size() > 1) method += " and " + used.back();
  c.alignment_landmarks = method;
  c.alignment_shift_mm = shift;
  c.statements.push_back("earlier lesions moved by (" + fixed(shift[0], 0) + ", " +
                         fixed(shift[1], 0) + ", " + fixed(shift[2], 0) + ") mm: " + method);
}

double distance(const FollowUpLesionFacts& b, const FollowUpLesionFacts& a) {
  const auto& x = b.centroid_lps_mm;
  const auto& y = a.centroid_lps_mm;
  return std::hypot(x[0] - y[0], x[1] - y[1], x[2] - y[2]);
}

// Which later lesion each earlier one is (-1: none), and the other way round.
struct LesionMatches {
  std::vector<int> of_before, of_after;
};

// Lesions matched by centroid distance after the alignment (closest pairs first), within
// max(20 mm, 0.75 x the larger longest diameter).
LesionMatches match_lesions(const Lesions& lb, const Lesions& la) {
  struct Pair {
    double d;
    std::size_t b, a;
  };
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < lb.size(); ++i) {
    for (std::size_t j = 0; j < la.size(); ++j) {
      const double d = distance(lb[i], la[j]);
      if (d <=
          std::max(20.0, 0.75 * std::max(lb[i].longest_diameter_mm, la[j].longest_diameter_mm)))
        pairs.push_back({d, i, j});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& x, const Pair& y) { return x.d < y.d; });
  LesionMatches m{std::vector<int>(lb.size(), -1), std::vector<int>(la.size(), -1)};
  for (const auto& p : pairs) {
    if (m.of_before[p.b] >= 0 || m.of_after[p.a] >= 0) continue;
    m.of_before[p.b] = static_cast<int>(p.a);
    m.of_after[p.a] = static_cast<int>(p.b);
  }
  return m;
}

// The lesions found again, not found again and new.
void compare_lesions(const Lesions& lb, const Lesions& la, const LesionMatches& m,
                     processing::FollowUpComparison& c) {
  for (std::size_t i = 0; i < lb.size(); ++i) {
    if (m.of_before[i] < 0) continue;
    const auto& b = lb[i];
    const auto& a = la[static_cast<std::size_t>(m.of_before[i])];
    processing::FollowUpLesion l;
    l.number_before = b.number;
    l.number_after = a.number;
    l.distance_mm = distance(b, a);
    l.longest_diameter_mm = before_after(b.longest_diameter_mm, a.longest_diameter_mm);
    l.volume_ml = before_after(b.volume_ml, a.volume_ml);
    c.lesions.push_back(l);
  }
  for (std::size_t i = 0; i < lb.size(); ++i) {
    if (m.of_before[i] < 0) c.lesions_not_found_again.push_back(lb[i].number);
  }
  for (std::size_t j = 0; j < la.size(); ++j) {
    if (m.of_after[j] < 0) c.new_lesions.push_back(la[j].number);
  }
  c.statements.push_back(std::to_string(c.lesions.size()) + " lesion(s) found again, " +
                         std::to_string(c.lesions_not_found_again.size()) + " not found again, " +
                         std::to_string(c.new_lesions.size()) + " new");
}

// RECIST 1.1 sum: target lesions = the two largest measurable lesions of the earlier study
// (at most 2 per organ), followed to their match (0 mm when not found again).
void compare_recist(const Lesions& lb, const Lesions& la, const LesionMatches& m,
                    processing::FollowUpComparison& c) {
  std::vector<std::size_t> targets;
  for (std::size_t i = 0; i < lb.size(); ++i) {
    if (lb[i].measurable_recist) targets.push_back(i);
  }
  std::sort(targets.begin(), targets.end(), [&](std::size_t x, std::size_t y) {
    return lb[x].longest_diameter_mm > lb[y].longest_diameter_mm;
  });
  if (targets.size() > 2) targets.resize(2);
  double sum_b = 0, sum_a = 0;
  for (std::size_t i : targets) {
    sum_b += lb[i].longest_diameter_mm;
    if (m.of_before[i] >= 0) {
      sum_a += la[static_cast<std::size_t>(m.of_before[i])].longest_diameter_mm;
    }
    c.recist_target_numbers.push_back(lb[i].number);
  }
  c.recist_target_lesions = static_cast<int>(targets.size());
  c.recist_sum_mm = before_after(sum_b, sum_a);
  if (sum_b > 0) {
    c.statements.push_back("RECIST 1.1 sum of " + std::to_string(targets.size()) +
                           " target lesion(s) " + fixed(sum_b, 1) + " -> " + fixed(sum_a, 1) +
                           " mm (" + fixed(100.0 * (sum_a - sum_b) / sum_b, 1) + " %); " +
                           std::to_string(c.new_lesions.size()) + " new lesion(s)");
  }
}

}  // namespace

FollowUpFacts follow_up_facts(const processing::AnalysisResult& result,
                              const std::string& study_date) {
  FollowUpFacts f;
  f.study_date = study_date;
  if (result.volumetry) {
    f.liver_ml = result.volumetry->liver_ml;
    f.functional_ml = result.volumetry->functional_ml;
  }
  if (result.surgical_plan) {
    f.has_surgical_plan = true;
    for (const auto& r : result.surgical_plan->resections) {
      FollowUpResection e;
      e.key = processing::resection_key(r.preset);
      e.name = r.name;
      e.segments_remaining = r.remaining;
      e.flr_ml = r.flr_ml;
      e.percent_of_eslv = r.flr_percent_of_eslv;
      e.percent_of_functional = r.flr_percent_of_functional;
      f.resections.push_back(std::move(e));
    }
  }
  if (result.liver) {
    f.liver_dome_z_mm = result.liver->top_z_mm;
    if (result.ivc_axis_lps) {
      f.ivc_axis_lps_mm =
          std::array<double, 2>{(*result.ivc_axis_lps)[0], (*result.ivc_axis_lps)[1]};
    }
  }
  for (const auto& l : result.lesions) {
    FollowUpLesionFacts e;
    e.number = l.number;
    e.volume_ml = l.volume_ml;
    e.longest_diameter_mm = l.longest_diameter_mm;
    e.measurable_recist = l.measurable;
    e.centroid_lps_mm = {l.centroid_lps[0], l.centroid_lps[1], l.centroid_lps[2]};
    f.lesions.push_back(e);
  }
  return f;
}

processing::FollowUpComparison compare_with_prior(const FollowUpFacts& current,
                                                  const FollowUpFacts& prior,
                                                  const std::string& prior_source) {
  processing::FollowUpComparison c;
  c.prior_summary = prior_source;
  c.prior_study_uids = prior.study_instance_uids;
  if (!prior.study_instance_uids.empty()) c.prior_study_uid = prior.study_instance_uids.front();
  const std::optional<double> weeks = compare_interval(current, prior, c);
  compare_volumes(current, prior, c);
  compare_remnants(current, prior, weeks, c);
  Lesions lb = prior.lesions;
  const Lesions& la = current.lesions;
  align_earlier_lesions(current, prior, lb, c);
  const LesionMatches matches = match_lesions(lb, la);
  compare_lesions(lb, la, matches, c);
  compare_recist(lb, la, matches, c);
  return c;
}

processing::FollowUpComparison compare_with_prior(const processing::AnalysisResult& current,
                                                  const std::string& study_date,
                                                  const FollowUpFacts& prior,
                                                  const std::string& prior_source) {
  return compare_with_prior(follow_up_facts(current, study_date), prior, prior_source);
}

json compare_with_prior(const json& current, const json& prior, const std::string& prior_source) {
  return follow_up_json(
      compare_with_prior(read_follow_up_facts(current), read_follow_up_facts(prior), prior_source));
}

PriorChoice choose_prior(const std::vector<PriorCandidate>& candidates,
                         const std::string& study_uid, const std::string& study_date,
                         const std::string& frame_of_reference_uid) {
  PriorChoice best;
  std::string best_date;
  std::vector<std::string> problems;
  for (const auto& c : candidates) {
    if (c.study_uid == study_uid) continue;
    const std::string who = "study " + c.study_uid + " (job " + std::to_string(c.job_id) + ")";
    std::error_code ec;
    if (c.purged || !std::filesystem::exists(c.summary, ec)) {
      problems.push_back(c.purged ? "the results of " + who + " were purged by retention"
                                  : "the results of " + who + " are missing");
      continue;
    }
    json summary;
    try {
      std::ifstream in(c.summary);
      if (!in) throw std::runtime_error("cannot open");
      summary = json::parse(in);
    } catch (const std::exception& e) {
      problems.push_back("the results of " + who + " are unreadable (" + e.what() + ")");
      continue;
    }
    const auto analysis = read_prior_analysis(summary);
    if (!analysis) {
      problems.push_back(who + " has no analysed liver");
      continue;
    }
    // Another phase of the same examination, filed as another study, is not an earlier visit.
    if (!frame_of_reference_uid.empty() &&
        analysis->frame_of_reference_uid == frame_of_reference_uid)
      continue;
    const auto& uids = analysis->study_instance_uids;
    if (std::find(uids.begin(), uids.end(), study_uid) != uids.end()) continue;
    const std::string date = analysis->study_date;
    const auto days = days_between(date, study_date);
    if (!days) {
      problems.push_back(who + " or this study has no valid study date (" + date + ", " +
                         study_date + ")");
      continue;
    }
    if (*days < 0) continue;  // a later study
    if (best.summary.empty() || date > best_date) {
      best.summary = c.summary;
      best.job_id = c.job_id;
      best.study_uid = c.study_uid;
      best_date = date;
    }
  }
  if (best.summary.empty() && !problems.empty()) {
    std::string why = "no earlier analysis of this patient could be compared: ";
    for (std::size_t i = 0; i < problems.size(); ++i) why += (i ? "; " : "") + problems[i];
    best.unavailable_reason = why;
  }
  return best;
}

}  // namespace livernode::study
