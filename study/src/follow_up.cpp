#include "livernode/study/follow_up.h"

#include <algorithm>
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

std::optional<double> number_at(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

json before_after(double before, double after) {
  return {{"before", before},
          {"after", after},
          {"change", after - before},
          {"change_percent", before > 0 ? json(100.0 * (after - before) / before) : json(nullptr)}};
}

struct LesionRow {
  int number = 0;
  double volume_ml = 0, longest_mm = 0;
  bool measurable = false;
  std::array<double, 3> c{};
};

std::vector<LesionRow> lesions_of(const json& analysis) {
  std::vector<LesionRow> out;
  if (!analysis.contains("lesions") || !analysis["lesions"].is_array()) return out;
  for (const auto& l : analysis["lesions"]) {
    LesionRow r;
    r.number = l.value("number", 0);
    r.volume_ml = l.value("volume_ml", 0.0);
    r.longest_mm = l.value("longest_diameter_mm", 0.0);
    r.measurable = l.value("measurable_recist", false);
    if (l.contains("centroid_lps_mm") && l["centroid_lps_mm"].size() == 3) {
      for (int a = 0; a < 3; ++a) r.c[a] = l["centroid_lps_mm"][a].get<double>();
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace

std::optional<long> days_between(const std::string& earlier, const std::string& later) {
  const auto a = parse_date(earlier), b = parse_date(later);
  if (!a || !b) return std::nullopt;
  return *b - *a;
}

json pick_prior_analysis(const json& prior_summary) {
  if (!prior_summary.contains("analyses") || !prior_summary["analyses"].is_array()) return nullptr;
  for (const auto& a : prior_summary["analyses"]) {
    if (a.contains("surgical_plan") && !a["surgical_plan"].is_null()) return a;
  }
  for (const auto& a : prior_summary["analyses"]) {
    if (a.contains("liver") && !a["liver"].is_null()) return a;
  }
  return nullptr;
}

namespace {

// A comparison being written: its JSON and its statements, in order.
struct Comparison {
  json out;
  json statements = json::array();
};

// The study dates and the interval between them; the interval in weeks when it is positive
// (the growth rates need one).
std::optional<double> compare_interval(const json& current, const json& prior, Comparison& c) {
  const std::string date_before = prior.value("study_date", std::string());
  const std::string date_after = current.value("study_date", std::string());
  c.out["prior_study_date"] = date_before;
  c.out["study_date"] = date_after;
  const auto days = days_between(date_before, date_after);
  std::optional<double> weeks;
  if (days && *days > 0) weeks = *days / 7.0;
  c.out["interval_days"] = days ? json(*days) : json(nullptr);
  c.out["interval_weeks"] = weeks ? json(*weeks) : json(nullptr);
  if (!weeks) {
    c.statements.push_back("no growth rate: the study dates (" + date_before + ", " + date_after +
                           ") do not give a positive interval");
  }
  return weeks;
}

// The total and functional liver volumes.
void compare_volumes(const json& current, const json& prior, Comparison& c) {
  const json& vb = prior.contains("volumetry") ? prior["volumetry"] : json(nullptr);
  const json& va = current.contains("volumetry") ? current["volumetry"] : json(nullptr);
  const auto tb = number_at(vb, "liver_ml"), ta = number_at(va, "liver_ml");
  const auto fb = number_at(vb, "functional_ml"), fa = number_at(va, "functional_ml");
  c.out["total_liver_ml"] = tb && ta ? before_after(*tb, *ta) : json(nullptr);
  c.out["functional_liver_ml"] = fb && fa ? before_after(*fb, *fa) : json(nullptr);
  if (tb && ta) {
    c.statements.push_back("total liver " + fixed(*tb, 0) + " -> " + fixed(*ta, 0) + " mL");
  }
}

// The remnant of one resection preset in both plans (`rb` before, `ra` after): its FLR, its
// share (of the ESLV when both plans have one) and, with `weeks`, the kinetic growth rate.
json compare_remnant(const json& rb, const json& ra, std::optional<double> weeks) {
  json r;
  r["key"] = ra["key"];
  r["name"] = ra["name"];
  r["segments_remaining"] = ra["segments_remaining"];
  const double flr_b = rb["flr_ml"].get<double>(), flr_a = ra["flr_ml"].get<double>();
  r["flr_ml"] = before_after(flr_b, flr_a);
  const bool eslv = rb["flr_percent_of_eslv"].is_number() && ra["flr_percent_of_eslv"].is_number();
  const char* key = eslv ? "flr_percent_of_eslv" : "flr_percent_of_functional_liver";
  const double sb = rb[key].get<double>(), sa = ra[key].get<double>();
  r["basis"] = eslv ? "FLR / ESLV" : "FLR / (total liver volume - tumour volume)";
  r["percent_before"] = sb;
  r["percent_after"] = sa;
  r["degree_of_hypertrophy_points"] = sa - sb;
  r["kinetic_growth_rate_points_per_week"] = weeks ? json((sa - sb) / *weeks) : json(nullptr);
  std::string st = std::string(ra["name"].get<std::string>()) + ": FLR " +
                   ra["segments_remaining"].get<std::string>() + " " + fixed(flr_b, 0) + " -> " +
                   fixed(flr_a, 0) + " mL, " + r["basis"].get<std::string>() + " " + fixed(sb, 1) +
                   " -> " + fixed(sa, 1) + " %, degree of hypertrophy " + fixed(sa - sb, 1) +
                   " points";
  if (weeks) {
    const double kgr = (sa - sb) / *weeks;
    st += ", kinetic growth rate " + fixed(kgr, 2) + " points/week over " + fixed(*weeks, 1) +
          " weeks (" + (kgr < 2.0 ? "below" : "at or above") + " 2 %/week)";
  }
  r["statement"] = st;
  return r;
}

// Remnants of every resection preset present in both plans.
void compare_remnants(const json& current, const json& prior, std::optional<double> weeks,
                      Comparison& c) {
  json remnants = json::array();
  const json& pb = prior.contains("surgical_plan") ? prior["surgical_plan"] : json(nullptr);
  const json& pa = current.contains("surgical_plan") ? current["surgical_plan"] : json(nullptr);
  if (pb.is_object() && pa.is_object()) {
    for (const auto& ra : pa["resections"]) {
      for (const auto& rb : pb["resections"]) {
        if (rb["key"] != ra["key"]) continue;
        json r = compare_remnant(rb, ra, weeks);
        c.statements.push_back(r["statement"]);
        remnants.push_back(std::move(r));
      }
    }
  } else {
    c.statements.push_back("no remnant comparison: one of the analyses has no surgical plan");
  }
  c.out["remnants"] = std::move(remnants);
}

// The two studies are in different scanner coordinates (another visit, another position on
// the table): the earlier lesions `lb` are moved by the shift of the patient's landmarks, the
// IVC axis in-plane and the liver dome along the table. The liver's own growth moves neither
// much.
void align_earlier_lesions(const json& current, const json& prior, std::vector<LesionRow>& lb,
                           Comparison& c) {
  const json& mb = prior.contains("landmarks") ? prior["landmarks"] : json(nullptr);
  const json& ma = current.contains("landmarks") ? current["landmarks"] : json(nullptr);
  std::array<double, 3> shift{0, 0, 0};
  std::vector<std::string> used;
  auto ivc_of = [](const json& m) -> std::optional<std::array<double, 2>> {
    if (!m.is_object() || !m.contains("ivc_axis_lps_mm") || !m["ivc_axis_lps_mm"].is_array() ||
        m["ivc_axis_lps_mm"].size() < 2)
      return std::nullopt;
    return std::array<double, 2>{m["ivc_axis_lps_mm"][0].get<double>(),
                                 m["ivc_axis_lps_mm"][1].get<double>()};
  };
  const auto ib = ivc_of(mb), ia = ivc_of(ma);
  if (ib && ia) {
    shift[0] = (*ia)[0] - (*ib)[0];
    shift[1] = (*ia)[1] - (*ib)[1];
    used.push_back("IVC axis (in-plane)");
  }
  const auto db = number_at(mb, "liver_dome_z_mm"), da = number_at(ma, "liver_dome_z_mm");
  if (db && da) {
    shift[2] = *da - *db;
    used.push_back("liver dome (along the table)");
  }
  for (auto& l : lb)
    for (int a = 0; a < 3; ++a) l.c[a] += shift[a];
  std::string method = used.empty() ? "none: the analyses hold no landmarks; scanner coordinates "
                                      "compared as they are"
                                    : used.front();
  if (used.size() > 1) method += " and " + used.back();
  c.out["alignment"] = {{"landmarks", method}, {"shift_mm", {shift[0], shift[1], shift[2]}}};
  c.statements.push_back("earlier lesions moved by (" + fixed(shift[0], 0) + ", " +
                         fixed(shift[1], 0) + ", " + fixed(shift[2], 0) + ") mm: " + method);
}

// Which later lesion each earlier one is (-1: none), and the other way round.
struct LesionMatches {
  std::vector<int> of_before, of_after;
};

// Lesions matched by centroid distance after the alignment (closest pairs first), within
// max(20 mm, 0.75 x the larger longest diameter).
LesionMatches match_lesions(const std::vector<LesionRow>& lb, const std::vector<LesionRow>& la) {
  struct Pair {
    double d;
    std::size_t b, a;
  };
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < lb.size(); ++i) {
    for (std::size_t j = 0; j < la.size(); ++j) {
      const double d =
          std::hypot(lb[i].c[0] - la[j].c[0], lb[i].c[1] - la[j].c[1], lb[i].c[2] - la[j].c[2]);
      if (d <= std::max(20.0, 0.75 * std::max(lb[i].longest_mm, la[j].longest_mm)))
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

// The lesions found again, not found again and new; returns the number of new lesions.
std::size_t compare_lesions(const std::vector<LesionRow>& lb, const std::vector<LesionRow>& la,
                            const LesionMatches& m, Comparison& c) {
  json matched = json::array();
  for (std::size_t i = 0; i < lb.size(); ++i) {
    if (m.of_before[i] < 0) continue;
    const auto& b = lb[i];
    const auto& a = la[static_cast<std::size_t>(m.of_before[i])];
    matched.push_back(
        {{"number_before", b.number},
         {"number_after", a.number},
         {"distance_mm", std::hypot(b.c[0] - a.c[0], b.c[1] - a.c[1], b.c[2] - a.c[2])},
         {"longest_diameter_mm", before_after(b.longest_mm, a.longest_mm)},
         {"volume_ml", before_after(b.volume_ml, a.volume_ml)}});
  }
  json gone = json::array(), fresh = json::array();
  for (std::size_t i = 0; i < lb.size(); ++i) {
    if (m.of_before[i] < 0) gone.push_back(lb[i].number);
  }
  for (std::size_t j = 0; j < la.size(); ++j) {
    if (m.of_after[j] < 0) fresh.push_back(la[j].number);
  }
  c.out["lesions"] = {{"matched", matched}, {"not_found_again", gone}, {"new", fresh}};
  c.statements.push_back(std::to_string(matched.size()) + " lesion(s) found again, " +
                         std::to_string(gone.size()) + " not found again, " +
                         std::to_string(fresh.size()) + " new");
  return fresh.size();
}

// RECIST 1.1 sum: target lesions = the two largest measurable lesions of the earlier study
// (at most 2 per organ), followed to their match (0 mm when not found again).
void compare_recist(const std::vector<LesionRow>& lb, const std::vector<LesionRow>& la,
                    const LesionMatches& m, std::size_t new_lesions, Comparison& c) {
  std::vector<std::size_t> targets;
  for (std::size_t i = 0; i < lb.size(); ++i) {
    if (lb[i].measurable) targets.push_back(i);
  }
  std::sort(targets.begin(), targets.end(),
            [&](std::size_t x, std::size_t y) { return lb[x].longest_mm > lb[y].longest_mm; });
  if (targets.size() > 2) targets.resize(2);
  double sum_b = 0, sum_a = 0;
  json target_numbers = json::array();
  for (std::size_t i : targets) {
    sum_b += lb[i].longest_mm;
    if (m.of_before[i] >= 0) sum_a += la[static_cast<std::size_t>(m.of_before[i])].longest_mm;
    target_numbers.push_back(lb[i].number);
  }
  json recist = {
      {"target_lesions_before", target_numbers},
      {"sum_before_mm", sum_b},
      {"sum_after_mm", sum_a},
      {"change_mm", sum_a - sum_b},
      {"change_percent", sum_b > 0 ? json(100.0 * (sum_a - sum_b) / sum_b) : json(nullptr)},
      {"new_lesions", new_lesions}};
  if (sum_b > 0) {
    c.statements.push_back("RECIST 1.1 sum of " + std::to_string(targets.size()) +
                           " target lesion(s) " + fixed(sum_b, 1) + " -> " + fixed(sum_a, 1) +
                           " mm (" + fixed(100.0 * (sum_a - sum_b) / sum_b, 1) + " %); " +
                           std::to_string(new_lesions) + " new lesion(s)");
  }
  c.out["recist"] = std::move(recist);
}

}  // namespace

json compare_with_prior(const json& current, const json& prior, const std::string& prior_source) {
  Comparison c;
  c.out["prior_summary"] = prior_source;
  c.out["prior_study_instance_uids"] =
      prior.contains("study_instance_uids") ? prior["study_instance_uids"] : json::array();
  const std::optional<double> weeks = compare_interval(current, prior, c);
  compare_volumes(current, prior, c);
  compare_remnants(current, prior, weeks, c);
  auto lb = lesions_of(prior);
  const auto la = lesions_of(current);
  align_earlier_lesions(current, prior, lb, c);
  const LesionMatches matches = match_lesions(lb, la);
  const std::size_t new_lesions = compare_lesions(lb, la, matches, c);
  compare_recist(lb, la, matches, new_lesions, c);
  c.out["statements"] = std::move(c.statements);
  return c.out;
}

namespace {

double number_or_zero(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

std::optional<processing::FollowUpChange> change_of(const json& j) {
  if (!j.is_object() || !j.contains("before") || !j.contains("after")) return std::nullopt;
  return processing::FollowUpChange{j["before"].get<double>(), j["after"].get<double>()};
}

std::vector<int> numbers_of(const json& j) {
  std::vector<int> out;
  if (j.is_array()) {
    for (const auto& n : j) out.push_back(n.get<int>());
  }
  return out;
}

}  // namespace

processing::FollowUpComparison follow_up_figures(const json& f) {
  processing::FollowUpComparison out;
  if (f.contains("prior_study_instance_uids") && f["prior_study_instance_uids"].is_array() &&
      !f["prior_study_instance_uids"].empty()) {
    out.prior_study_uid = f["prior_study_instance_uids"][0].get<std::string>();
  }
  out.prior_study_date = f.value("prior_study_date", std::string());
  out.study_date = f.value("study_date", std::string());
  if (f.contains("interval_days") && f["interval_days"].is_number()) {
    out.interval_days = f["interval_days"].get<long>();
  }
  if (f.contains("total_liver_ml")) out.total_liver_ml = change_of(f["total_liver_ml"]);
  if (f.contains("functional_liver_ml"))
    out.functional_liver_ml = change_of(f["functional_liver_ml"]);
  if (f.contains("remnants") && f["remnants"].is_array()) {
    for (const auto& r : f["remnants"]) {
      processing::FollowUpRemnant rem;
      rem.key = r.value("key", std::string());
      rem.name = r.value("name", std::string());
      rem.segments = r.value("segments_remaining", std::string());
      rem.eslv_basis = r.value("basis", std::string()) == "FLR / ESLV";
      rem.flr_ml = change_of(r["flr_ml"]).value_or(processing::FollowUpChange{});
      rem.percent = {number_or_zero(r, "percent_before"), number_or_zero(r, "percent_after")};
      rem.hypertrophy_points = number_or_zero(r, "degree_of_hypertrophy_points");
      if (r.contains("kinetic_growth_rate_points_per_week") &&
          r["kinetic_growth_rate_points_per_week"].is_number()) {
        rem.growth_points_per_week = r["kinetic_growth_rate_points_per_week"].get<double>();
      }
      out.remnants.push_back(std::move(rem));
    }
  }
  if (f.contains("lesions") && f["lesions"].is_object()) {
    const json& l = f["lesions"];
    if (l.contains("matched")) {
      for (const auto& m : l["matched"]) {
        processing::FollowUpLesion les;
        les.number_before = m.value("number_before", 0);
        les.number_after = m.value("number_after", 0);
        les.distance_mm = number_or_zero(m, "distance_mm");
        les.longest_diameter_mm =
            change_of(m["longest_diameter_mm"]).value_or(processing::FollowUpChange{});
        les.volume_ml = change_of(m["volume_ml"]).value_or(processing::FollowUpChange{});
        out.lesions.push_back(les);
      }
    }
    if (l.contains("not_found_again"))
      out.lesions_not_found_again = numbers_of(l["not_found_again"]);
    if (l.contains("new")) out.new_lesions = numbers_of(l["new"]);
  }
  if (f.contains("recist") && f["recist"].is_object()) {
    const json& r = f["recist"];
    out.recist_target_lesions = r.contains("target_lesions_before")
                                    ? static_cast<int>(r["target_lesions_before"].size())
                                    : 0;
    out.recist_sum_mm = {number_or_zero(r, "sum_before_mm"), number_or_zero(r, "sum_after_mm")};
  }
  if (f.contains("statements") && f["statements"].is_array()) {
    for (const auto& s : f["statements"]) out.statements.push_back(s.get<std::string>());
  }
  return out;
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
    const json analysis = pick_prior_analysis(summary);
    if (analysis.is_null()) {
      problems.push_back(who + " has no analysed liver");
      continue;
    }
    // Another phase of the same examination, filed as another study, is not an earlier visit.
    const std::string for_uid = analysis.value("frame_of_reference_uid", std::string());
    if (!frame_of_reference_uid.empty() && for_uid == frame_of_reference_uid) continue;
    bool same_study = false;
    if (analysis.contains("study_instance_uids") && analysis["study_instance_uids"].is_array()) {
      for (const auto& u : analysis["study_instance_uids"])
        same_study = same_study || u == study_uid;
    }
    if (same_study) continue;
    const std::string date = analysis.value("study_date", std::string());
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
