#include "livernode/study/mr_triage.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>
#include <vector>

#include "livernode/study/visits.h"

namespace livernode::study {

namespace {

// Header values are matched by whole words (split at '\', spaces, '_', '-', '.', '/', '+'),
// upper case.
std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      current += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (!current.empty()) {
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

bool has_word(const std::vector<std::string>& w, std::initializer_list<const char*> any) {
  for (const char* a : any)
    if (std::find(w.begin(), w.end(), a) != w.end()) return true;
  return false;
}

// A T1-weighted gradient echo: short TR and TE (spoiled 3D GRE: TR under 10 ms, TE under 5 ms;
// 2D FLASH up to about 250 ms TR with TE under 5 ms).
constexpr double kT1MaxTrMs = 300.0;
constexpr double kT1MaxTeMs = 5.0;
// T2 weighting: long TE (single-shot and turbo spin echo use 80-120 ms).
constexpr double kT2MinTeMs = 60.0;
constexpr double kT2MinTrMs = 800.0;

}  // namespace

const char* mr_role_name(MrRole role) {
  switch (role) {
    case MrRole::kT1Dynamic:
      return "t1_dynamic";
    case MrRole::kT1Dixon:
      return "t1_dixon";
    case MrRole::kT2:
      return "t2";
    case MrRole::kDiffusion:
      return "diffusion";
    case MrRole::kAdc:
      return "adc";
    case MrRole::kSubtraction:
      return "subtraction";
    case MrRole::kDerived:
      return "derived";
    case MrRole::kOther:
      return "other";
  }
  return "other";
}

MrTriage triage_mr_series(const dicom::SeriesInfo& series) {
  const dicom::MrFacts& mr = series.mr;
  MrTriage t;
  t.temporal_position = mr.temporal_position;
  t.time_points = std::max<std::size_t>(
      1, mr.temporal_position ? mr.temporal_positions.size() : mr.acquisition_times.size());
  const auto image_type = words(mr.image_type);
  const auto description = words(series.description);
  const auto sequence = words(mr.scanning_sequence + " " + mr.sequence_variant);
  const auto options = words(mr.scan_options);
  std::ostringstream why;
  why.precision(3);
  auto timing = [&] {
    std::ostringstream s;
    s << "TR ";
    if (mr.repetition_time_ms)
      s << *mr.repetition_time_ms;
    else
      s << "?";
    s << " ms, TE ";
    if (mr.echo_time_ms)
      s << *mr.echo_time_ms;
    else
      s << "?";
    s << " ms";
    return s.str();
  };
  // In/opposed phase or water/fat images of a Dixon acquisition ("IN_PHASE", "OPP_PHASE",
  // "OUT_PHASE", "DIXON", GE's "InPhase"/"OutPhase" descriptions).
  auto dixon_words = [](const std::vector<std::string>& w) {
    return has_word(w, {"DIXON", "INPHASE", "OUTPHASE", "OPPOSED", "OPP"}) ||
           (has_word(w, {"IN", "OUT"}) && has_word(w, {"PHASE"}));
  };

  if (has_word(image_type, {"ADC"}) || has_word(description, {"ADC"})) {
    t.role = MrRole::kAdc;
    why << "ADC map (ImageType or description)";
  } else if (has_word(image_type, {"SUB", "SUBTRACT", "SUBTRACTION"}) ||
             has_word(description, {"SUB", "SUBTRACT", "SUBTRACTION"})) {
    t.role = MrRole::kSubtraction;
    why << "subtraction image (ImageType or description)";
  } else if (has_word(image_type, {"DIFFUSION", "TRACEW", "TRACE"}) || mr.b_value ||
             has_word(description, {"DWI", "DIFFUSION", "EPI2D", "TRACEW"})) {
    t.role = MrRole::kDiffusion;
    why << "diffusion weighted";
    if (mr.b_value) why << " (b " << *mr.b_value << " s/mm2)";
  } else if (has_word(image_type, {"MPR", "PROJECTION", "MIP", "REFORMATTED"})) {
    t.role = MrRole::kDerived;
    why << "derived image (" << mr.image_type << ")";
  } else if (dixon_words(image_type) || dixon_words(description)) {
    t.role = MrRole::kT1Dixon;
    why << "Dixon or in/opposed-phase image (ImageType '" << mr.image_type << "', description '"
        << series.description << "')";
  } else if (has_word(sequence, {"GR"}) && mr.repetition_time_ms && mr.echo_time_ms &&
             *mr.repetition_time_ms <= kT1MaxTrMs && *mr.echo_time_ms <= kT1MaxTeMs) {
    t.role = MrRole::kT1Dynamic;
    why << "T1-weighted gradient echo (" << timing();
    if (mr.flip_angle_deg) why << ", flip " << *mr.flip_angle_deg << " deg";
    if (!mr.acquisition_type.empty()) why << ", " << mr.acquisition_type;
    if (has_word(options, {"FS", "SFS", "FAT", "SPAIR", "SPIR", "CHESS"}))
      why << ", fat suppressed";
    why << ")";
  } else if (has_word(sequence, {"SE", "IR"}) && mr.echo_time_ms &&
             *mr.echo_time_ms >= kT2MinTeMs &&
             (!mr.repetition_time_ms || *mr.repetition_time_ms >= kT2MinTrMs)) {
    t.role = MrRole::kT2;
    why << "T2-weighted spin echo (" << timing() << ")";
  } else if (has_word(description, {"T2", "HASTE", "SSFSE", "SSH", "TSE", "FSE"})) {
    t.role = MrRole::kT2;
    why << "T2 by its description '" << series.description << "'";
  } else if (has_word(description, {"VIBE", "LAVA", "THRIVE", "T1"})) {
    t.role = MrRole::kT1Dynamic;
    why << "T1 gradient echo by its description '" << series.description << "'";
  } else {
    t.role = MrRole::kOther;
    why << "not recognised (sequence '" << mr.scanning_sequence << "', " << timing()
        << ", description '" << series.description << "')";
  }
  if (mr.temporal_position && t.time_points > 1) {
    why << "; time point " << *mr.temporal_position << " of the " << t.time_points
        << " the series holds";
  } else if (t.time_points > 1) {
    why << "; " << t.time_points << " acquisition times in the series";
  }
  t.evidence = why.str();
  return t;
}

namespace {

std::string rounded(double v, double step) {
  std::ostringstream s;
  s << std::lround(v / step);
  return s.str();
}

// The acquisition protocol and grid a dynamic run shares across its time points.
std::string dynamic_key(const dicom::SeriesInfo& s) {
  const dicom::MrFacts& mr = s.mr;
  std::ostringstream k;
  k << s.rows << "x" << s.columns << "x" << s.slices.size() << "|"
    << rounded(s.pixel_spacing[0], 0.01) << "," << rounded(s.pixel_spacing[1], 0.01) << "|";
  for (double o : s.orientation) k << rounded(o, 0.01) << ",";
  if (!s.slices.empty())
    for (double c : s.slices.front().position) k << rounded(c, 0.5) << ",";
  k << "|TR" << (mr.repetition_time_ms ? rounded(*mr.repetition_time_ms, 0.1) : "?") << "|TE"
    << (mr.echo_time_ms ? rounded(*mr.echo_time_ms, 0.1) : "?") << "|FA"
    << (mr.flip_angle_deg ? rounded(*mr.flip_angle_deg, 1.0) : "?") << "|" << mr.scan_options;
  return k.str();
}

long series_number(const dicom::SeriesInfo& s) {
  try {
    return std::stol(s.series_number);
  } catch (...) {
    return 0;
  }
}

}  // namespace

std::vector<std::size_t> select_mr_dynamic(std::vector<MrSeriesChoice>& choices) {
  std::map<std::string, std::vector<std::size_t>> runs;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (choices[i].triage.role == MrRole::kT1Dynamic)
      runs[dynamic_key(*choices[i].series)].push_back(i);
  }
  std::vector<std::size_t> best;
  for (const auto& [key, members] : runs)
    if (members.size() > best.size()) best = members;
  auto time_of = [&](std::size_t i) { return seconds_of_day(choices[i].series->acquisition_time); };
  std::stable_sort(best.begin(), best.end(), [&](std::size_t a, std::size_t b) {
    const auto ta = time_of(a), tb = time_of(b);
    if (ta && tb && *ta != *tb) return *ta < *tb;
    const auto pa = choices[a].triage.temporal_position, pb = choices[b].triage.temporal_position;
    const auto na = series_number(*choices[a].series), nb = series_number(*choices[b].series);
    if (na != nb) return na < nb;
    if (pa && pb) return *pa < *pb;
    return false;
  });
  for (std::size_t rank = 0; rank < best.size(); ++rank) {
    MrSeriesChoice& c = choices[best[rank]];
    c.used = true;
    c.reason = "T1 dynamic run, time point " + std::to_string(rank + 1) + " of " +
               std::to_string(best.size()) +
               " (same grid, TR, TE, flip angle and scan options; in order of acquisition time)";
  }
  for (MrSeriesChoice& c : choices) {
    if (c.used) continue;
    switch (c.triage.role) {
      case MrRole::kT1Dynamic:
        c.reason =
            "not used: a T1 gradient echo with another grid or protocol than the dynamic run of " +
            std::to_string(best.size()) + " time points";
        break;
      case MrRole::kT2:
      case MrRole::kAdc:
        c.reason = std::string("not used: ") + mr_role_name(c.triage.role) +
                   " (optional evidence for the lesions, read from one such series when "
                   "lesions are measured; the phases and the liver are read from the T1 dynamic "
                   "run)";
        break;
      case MrRole::kDiffusion:
        c.reason = std::string("not used: ") + mr_role_name(c.triage.role) +
                   " (the lesions' diffusion is read from an ADC map when there is one; the "
                   "phases and the liver are read from the T1 dynamic run)";
        break;
      default:
        c.reason = std::string("not used: ") + mr_role_name(c.triage.role) +
                   " (the phases and the liver are read from the T1 dynamic run)";
        break;
    }
  }
  return best;
}

}  // namespace livernode::study
