// Summary images as RGB Secondary Capture: key axial slices with the liver and lesion outlines,
// lesion numbers and RECIST lines, then a results page. Rendered with Cairo.
#include <cairo-pdf.h>
#include <cairo.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>

#include "follow_up_sections.h"
#include "livernode/dicom/result_writers.h"
#include "writer_common.h"

namespace livernode::dicom {

namespace {

using detail::require;
using detail::Rgb;

constexpr const char* kFont = "DejaVu Sans";

struct Surface {
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
  Surface(int w, int h) {
    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cr = cairo_create(surface);
  }
  ~Surface() {
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
  }
  Surface(const Surface&) = delete;
  Surface& operator=(const Surface&) = delete;
  int width() const { return cairo_image_surface_get_width(surface); }
  int height() const { return cairo_image_surface_get_height(surface); }
};

std::string fmt(const char* format, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

void set_rgb(cairo_t* cr, const Rgb& c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

std::string iso_date(const std::string& da) {
  if (da.size() != 8) return da.empty() ? "not recorded" : da;
  return da.substr(0, 4) + "-" + da.substr(4, 2) + "-" + da.substr(6, 2);
}

// Who and which examination the page belongs to, as every image in a PACS says it.
std::string patient_line(const SeriesInfo& series) {
  std::string name = series.patient.name;
  for (char& c : name)
    if (c == '^') c = ' ';
  while (!name.empty() && name.back() == ' ') name.pop_back();
  auto or_absent = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
  return "Patient " + or_absent(name) + "   ID " + or_absent(series.patient.id) + "   Study date " +
         iso_date(series.study_date) + "   Accession " + or_absent(series.accession_number);
}

// The patient-space direction a grid axis points to, as a viewer's orientation letter.
char direction_letter(const processing::Vec3& axis, bool positive) {
  int best = 0;
  for (int a = 1; a < 3; ++a)
    if (std::abs(axis[a]) > std::abs(axis[best])) best = a;
  const bool plus = (axis[best] >= 0) == positive;
  static const char pos[] = {'L', 'P', 'H'}, neg[] = {'R', 'A', 'F'};
  return plus ? pos[best] : neg[best];
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, s.c_str());
}

// Text with a dark halo so that it reads on any background.
void label(cairo_t* cr, double x, double y, const std::string& s, double size, const Rgb& c) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, size);
  cairo_move_to(cr, x, y);
  cairo_text_path(cr, s.c_str());
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 3.0);
  cairo_stroke_preserve(cr);
  set_rgb(cr, c);
  cairo_fill(cr);
}

// The outline of {voxel selected} on slice k: every pixel edge between inside and outside.
template <typename Inside>
void outline(cairo_t* cr, const processing::Geometry& g, std::size_t k, double scale, double ox,
             double oy, Inside inside) {
  const long nx = static_cast<long>(g.size[0]), ny = static_cast<long>(g.size[1]);
  auto in = [&](long i, long j) { return i >= 0 && j >= 0 && i < nx && j < ny && inside(i, j, k); };
  for (long j = 0; j < ny; ++j) {
    for (long i = 0; i < nx; ++i) {
      if (!in(i, j)) continue;
      const double x0 = ox + i * scale, y0 = oy + j * scale, x1 = x0 + scale, y1 = y0 + scale;
      if (!in(i - 1, j)) cairo_move_to(cr, x0, y0), cairo_line_to(cr, x0, y1);
      if (!in(i + 1, j)) cairo_move_to(cr, x1, y0), cairo_line_to(cr, x1, y1);
      if (!in(i, j - 1)) cairo_move_to(cr, x0, y0), cairo_line_to(cr, x1, y0);
      if (!in(i, j + 1)) cairo_move_to(cr, x0, y1), cairo_line_to(cr, x1, y1);
    }
  }
  cairo_stroke(cr);
}

struct KeySlice {
  std::size_t k = 0;
  std::string why;  // "largest liver section", "lesion 2 (RECIST)"
};

std::vector<KeySlice> key_slices(const processing::AnalysisResult& result, std::size_t depth) {
  std::vector<KeySlice> keys;
  if (!result.liver_mask.empty()) {
    const auto& g = result.liver_mask.geometry;
    std::size_t best = 0, best_k = 0;
    for (std::size_t k = 0; k < g.size[2]; ++k) {
      std::size_t area = 0;
      const std::size_t plane = g.size[0] * g.size[1];
      for (std::size_t v = k * plane; v < (k + 1) * plane; ++v)
        area += result.liver_mask.voxels[v] != 0;
      if (area > best) best = area, best_k = k;
    }
    if (best > 0) keys.push_back({best_k, "largest liver section"});
  }
  for (const auto& lesion : result.lesions) {
    if (lesion.axial_slice >= depth) continue;
    auto same = std::find_if(keys.begin(), keys.end(),
                             [&](const KeySlice& s) { return s.k == lesion.axial_slice; });
    const std::string why = "lesion " + std::to_string(lesion.number) + " (RECIST)";
    if (same != keys.end()) {
      same->why += ", " + why;
    } else if (keys.size() < 12) {
      keys.push_back({lesion.axial_slice, why});
    }
  }
  return keys;
}

// Grey-value window of the pages: CT 400 / level 40 (HU); MR, whose signal has no absolute scale,
// from 0 to the 99.5th percentile of the series' own signal.
std::pair<double, double> display_window(const LoadedVolume& loaded,
                                         const processing::AnalysisResult& result) {
  if (!result.magnetic_resonance || loaded.volume.voxels.empty())
    return {40.0 - 200.0, 40.0 + 200.0};
  std::vector<float> v = loaded.volume.voxels;
  const auto at =
      v.begin() + static_cast<std::ptrdiff_t>(0.995 * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), at, v.end());
  return {0.0, std::max(1.0, static_cast<double>(*at))};
}

// Renders slice k in the display window with the overlays.
void render_slice(Surface& s, const LoadedVolume& loaded, const processing::AnalysisResult& result,
                  const KeySlice& key, const WriterIdentity& identity, const std::string& title,
                  const std::string& patient) {
  const auto& g = loaded.volume.geometry;
  const int header = 66, footer = 32;
  const double scale =
      std::min((s.width() - 0.0) / g.size[0], (s.height() - header - footer - 0.0) / g.size[1]);
  const double ox = (s.width() - g.size[0] * scale) / 2.0, oy = header;
  // Grey values straight into the surface (nearest neighbour).
  cairo_surface_flush(s.surface);
  unsigned char* data = cairo_image_surface_get_data(s.surface);
  const int stride = cairo_image_surface_get_stride(s.surface);
  std::fill(data, data + static_cast<std::size_t>(stride) * s.height(), 0);
  const auto [lo, hi] = display_window(loaded, result);
  for (int y = static_cast<int>(oy); y < static_cast<int>(oy + g.size[1] * scale) && y < s.height();
       ++y) {
    const auto j = static_cast<std::size_t>((y - oy) / scale);
    if (j >= g.size[1]) continue;
    for (int x = static_cast<int>(ox);
         x < static_cast<int>(ox + g.size[0] * scale) && x < s.width(); ++x) {
      const auto i = static_cast<std::size_t>((x - ox) / scale);
      if (i >= g.size[0]) continue;
      const double hu = loaded.volume.at(i, j, key.k);
      const auto v = static_cast<std::uint32_t>(
          std::lround(255.0 * std::clamp((hu - lo) / (hi - lo), 0.0, 1.0)));
      reinterpret_cast<std::uint32_t*>(data + y * stride)[x] = (v << 16) | (v << 8) | v;
    }
  }
  cairo_surface_mark_dirty(s.surface);
  cairo_t* cr = s.cr;
  cairo_set_line_width(cr, std::max(1.5, scale * 0.6));
  if (!result.liver_mask.empty()) {
    set_rgb(cr, detail::liver_colour());
    outline(cr, g, key.k, scale, ox, oy,
            [&](long i, long j, std::size_t k) { return result.liver_mask.at(i, j, k) != 0; });
  }
  for (const auto& lesion : result.lesions) {
    if (result.lesion_labels.empty()) break;
    const Rgb c = detail::lesion_colour(lesion.number);
    set_rgb(cr, c);
    bool present = false;
    long sum_i = 0, sum_j = 0, n = 0;
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (result.lesion_labels.at(i, j, key.k) == lesion.number)
          present = true, sum_i += i, sum_j += j, ++n;
    if (!present) continue;
    outline(cr, g, key.k, scale, ox, oy, [&](long i, long j, std::size_t k) {
      return result.lesion_labels.at(i, j, k) == lesion.number;
    });
    // RECIST lines on the lesion's own measurement slice.
    if (lesion.axial_slice == key.k && lesion.longest_diameter_mm > 0) {
      auto to_px = [&](const processing::Vec3& p) {
        const auto idx = g.point_to_index(p);
        return std::array<double, 2>{ox + (idx[0] + 0.5) * scale, oy + (idx[1] + 0.5) * scale};
      };
      cairo_set_source_rgb(cr, 1, 1, 1);
      for (const auto* axis : {&lesion.long_axis, &lesion.short_axis}) {
        const auto a = to_px((*axis)[0]), b = to_px((*axis)[1]);
        cairo_move_to(cr, a[0], a[1]);
        cairo_line_to(cr, b[0], b[1]);
      }
      cairo_stroke(cr);
    }
    const double lx = ox + (static_cast<double>(sum_i) / n + 0.5) * scale;
    const double ly = oy + (static_cast<double>(sum_j) / n + 0.5) * scale;
    double max_j = 0;
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (result.lesion_labels.at(i, j, key.k) == lesion.number)
          max_j = std::max<double>(max_j, j);
    (void)ly;
    // A fragment of a few pixels gets its outline but no number: the number goes where the
    // lesion is seen (at least 10 mm2 on this slice, or its RECIST slice).
    const double area_mm2 = static_cast<double>(n) * g.spacing[0] * g.spacing[1];
    if (area_mm2 >= 10.0 || lesion.axial_slice == key.k)
      label(cr, lx - 6, oy + (max_j + 1.5) * scale + 16, std::to_string(lesion.number), 18, c);
  }
  // Orientation letters at the middle of each edge of the image, and a 50 mm scale bar.
  {
    const double x0 = ox, y0 = oy, x1 = ox + g.size[0] * scale, y1 = oy + g.size[1] * scale;
    const Rgb yellow{1.0, 0.9, 0.3};
    const processing::Vec3 row = g.axis(0), col = g.axis(1);
    label(cr, x0 + 6, (y0 + y1) / 2, std::string(1, direction_letter(row, false)), 18, yellow);
    label(cr, x1 - 20, (y0 + y1) / 2, std::string(1, direction_letter(row, true)), 18, yellow);
    label(cr, (x0 + x1) / 2 - 6, y0 + 22, std::string(1, direction_letter(col, false)), 18, yellow);
    label(cr, (x0 + x1) / 2 - 6, y1 - 8, std::string(1, direction_letter(col, true)), 18, yellow);
    const double bar_px = 50.0 / g.spacing[0] * scale;
    const double bx = x1 - bar_px - 16, by = y1 - 16;
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 5.0);
    cairo_move_to(cr, bx, by);
    cairo_line_to(cr, bx + bar_px, by);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_set_line_width(cr, 2.0);
    cairo_move_to(cr, bx, by - 5);
    cairo_line_to(cr, bx, by);
    cairo_line_to(cr, bx + bar_px, by);
    cairo_line_to(cr, bx + bar_px, by - 5);
    cairo_stroke(cr);
    label(cr, bx + bar_px / 2 - 18, by - 8, "50 mm", 13, Rgb{1, 1, 1});
  }
  // Header and footer.
  cairo_set_source_rgb(cr, 1, 1, 1);
  text(cr, 12, 20, title, 16, true);
  text(cr, 12, 40, patient, 13, true);
  const auto p = g.index_to_point(0, 0, static_cast<double>(key.k));
  text(cr, 12, 58,
       "slice " + std::to_string(key.k + 1) + "/" + std::to_string(g.size[2]) + ", z " +
           fmt("%.1f", p[2]) + " mm, " + key.why + ", " +
           (result.magnetic_resonance
                ? "MR signal 0 to " + fmt("%.0f", hi) + " (99.5th percentile of the series)"
                : std::string("W 400 / L 40")),
       13);
  const std::string foot = identity.product + " " + identity.version +
                           (identity.disclaimer.empty() ? "" : " - " + identity.disclaimer);
  cairo_set_source_rgb(cr, 1, 0.85, 0.3);
  text(cr, 12, s.height() - 10, foot.substr(0, 160), 12);
  cairo_surface_flush(s.surface);
}

// Draws as many words of `s` as fit in `width` per line; returns the y after the last line.
double wrapped(cairo_t* cr, double x, double y, double width, const std::string& s, double size) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  std::string line, word;
  auto flush = [&]() {
    if (line.empty()) return;
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, line.c_str());
    y += size * 1.35;
    line.clear();
  };
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] != ' ') {
      word += s[i];
      continue;
    }
    const std::string candidate = line.empty() ? word : line + " " + word;
    cairo_text_extents_t e;
    cairo_text_extents(cr, candidate.c_str(), &e);
    if (e.x_advance > width && !line.empty()) {
      flush();
      line = word;
    } else {
      line = candidate;
    }
    word.clear();
  }
  flush();
  return y;
}

void render_results(cairo_t* cr, double page_width, double page_height,
                    const processing::AnalysisResult& result, const SeriesInfo& series,
                    const WriterIdentity& identity) {
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  const double left = 24, width = page_width - 48;
  // What goes in the small print at the bottom: how the figures were made.
  std::vector<std::string> methods;
  double y = 32;
  text(cr, left, y,
       "Liver analysis - results" +
           (identity.result_version > 1
                ? " (version " + std::to_string(identity.result_version) + ")"
                : std::string()),
       22, true);
  y += 24;
  text(cr, left, y, patient_line(series), 14, true);
  y += 20;
  y = wrapped(
      cr, left, y, width,
      "Reference series: " + (series.description.empty() ? series.series_uid : series.description) +
          (series.series_number.empty() ? "" : " (series " + series.series_number + ")"),
      12);
  if (result.manual && result.manual->any()) {
    std::string edited;
    auto add = [&](bool on, const char* what) {
      if (on) edited += (edited.empty() ? "" : ", ") + std::string(what);
    };
    add(result.manual->liver, "liver");
    add(result.manual->lesions, "lesions");
    add(result.manual->remnant, "future liver remnant");
    y = wrapped(cr, left, y, width,
                "Corrected by hand (MANUAL): " + edited + " - from " + result.manual->source +
                    "; everything else automatic.",
                13);
  }
  // Lesions first: where each one is, then its size.
  y += 6;
  text(cr, left, y, "Lesions", 18, true);
  y += 22;
  const auto sites = lesion_sites(result);
  if (result.lesions.empty()) {
    const auto no_lesions = detail::lesions_not_done(result);
    y = wrapped(cr, left, y, width,
                no_lesions ? "Lesions not searched: " + *no_lesions + "." : "No lesion reported.",
                14);
  } else {
    const double cols[] = {0, 36, 300, 385, 480, 565, 640};
    const char* heads[] = {"#",         "Couinaud segment",
                           "volume mL", "longest mm",
                           "short mm",  result.magnetic_resonance ? "x liver" : "mean HU",
                           "type"};
    cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
    for (int c = 0; c < 7; ++c) text(cr, left + cols[c], y, heads[c], 13, true);
    y += 19;
    for (const auto& l : result.lesions) {
      if (y > page_height - 260) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        text(cr, left, y, "... more lesions in the SR", 13);
        y += 19;
        break;
      }
      set_rgb(cr, detail::lesion_colour(l.number));
      text(cr, left + cols[0], y, std::to_string(l.number), 13, true);
      cairo_set_source_rgb(cr, 1, 1, 1);
      const auto site = sites.find(l.number);
      std::string where = site == sites.end() || site->second.empty()
                              ? (result.couinaud_labels.empty() ? "no segments" : "outside I-VIII")
                              : lesion_sites_text(site->second);
      if (where.size() > 34) where = where.substr(0, where.rfind(',', 32)) + ", ...";
      text(cr, left + cols[1], y, where, 13, true);
      text(cr, left + cols[2], y, fmt("%.2f", l.volume_ml), 13);
      text(cr, left + cols[3], y,
           fmt("%.1f", l.longest_diameter_mm) + (l.measurable ? "" : " (nm)"), 13);
      text(cr, left + cols[4], y, fmt("%.1f", l.short_axis_mm), 13);
      if (result.magnetic_resonance) {
        // MR: the lesion's signal over the surrounding liver on the page's time point.
        std::string ratio = "-";
        for (const auto& m : l.phases)
          if (m.signal_to_liver && m.reference) ratio = fmt("%.2f", *m.signal_to_liver);
        text(cr, left + cols[5], y, ratio, 13);
      } else {
        text(cr, left + cols[5], y, fmt("%.0f", l.mean_hu), 13);
      }
      text(cr, left + cols[6], y, processing::lesion_type_name(l.type), 13);
      y += 18;
    }
  }
  cairo_set_source_rgb(cr, 1, 1, 1);
  y += 6;
  text(cr, left, y, "Volumes", 18, true);
  y += 22;
  if (result.liver) {
    y = wrapped(
        cr, left, y, width,
        "Total liver volume: " + fmt("%.1f", result.liver->volume_ml) + " mL (lesions included)" +
            (result.magnetic_resonance ? std::string(" (MR).")
                                       : ", mean " + fmt("%.0f", result.liver->mean_hu) + " HU."),
        14);
    methods.push_back("Liver: " + result.liver->method);
  } else {
    y = wrapped(cr, left, y, width, "Liver volume: not computed.", 14);
  }
  const auto no_lesions = detail::lesions_not_done(result);
  if (result.volumetry && !no_lesions) {
    const auto& v = *result.volumetry;
    y = wrapped(cr, left, y, width,
                "Tumour volume: " + fmt("%.2f", v.tumour_ml) +
                    " mL; functional volume: " + fmt("%.1f", v.functional_ml) +
                    " mL; tumour burden: " + fmt("%.2f", v.burden_percent) +
                    " %; lesions: " + std::to_string(v.lesion_count),
                14);
    for (const auto& f : v.findings) y = wrapped(cr, left, y, width, "Finding: " + f, 14);
  } else {
    std::string why = "Tumour volume and burden: not computed";
    if (no_lesions) why += " (" + *no_lesions + ")";
    for (const auto& st : result.stages) {
      if (no_lesions) break;
      if ((st.stage == "lesions" || st.stage == "volumetry") && !st.done && !st.detail.empty()) {
        why += " (" + st.detail + ")";
        break;
      }
    }
    y = wrapped(cr, left, y, width, why + ".", 14);
  }
  if (result.surgical_plan && result.couinaud) {
    const auto& plan = *result.surgical_plan;
    y += 6;
    text(cr, left, y, "Surgical planning", 18, true);
    y += 22;
    std::string segs = "Couinaud segments (mL):";
    for (int n = 1; n <= processing::kCouinaudSegments; ++n) {
      segs += std::string(" ") + processing::couinaud_roman(n) + " " +
              fmt("%.0f", result.couinaud->volume_ml[n]) +
              (n < processing::kCouinaudSegments ? "," : "");
    }
    y = wrapped(cr, left, y, width, segs, 12);
    y = wrapped(cr, left, y, width,
                plan.eslv_ml ? "BSA " + fmt("%.2f", *plan.bsa_m2) + " m2, ESLV " +
                                   fmt("%.0f", *plan.eslv_ml) + " mL"
                             : plan.eslv_absent_reason,
                12);
    if (plan.eslv_ml) methods.push_back("BSA " + plan.bsa_formula + "; ESLV " + plan.eslv_formula);
    y = wrapped(cr, left, y, width,
                "FLR threshold " + fmt("%.0f", plan.flr_threshold_percent) + " % (" +
                    plan.flr_basis + ") for " + plan.liver_condition + ":",
                12);
    if (plan.drawn_remnant)
      y = wrapped(cr, left + 12, y, width - 12, plan.drawn_remnant->statement, 12);
    for (const auto& r : plan.resections) {
      if (y > page_height - 150) break;
      y = wrapped(cr, left + 12, y, width - 12, r.statement, 12);
    }
    if (plan.statements.size() >= 3) {
      for (std::size_t i = plan.statements.size() - 3; i < plan.statements.size(); ++i) {
        if (y > page_height - 150) break;
        y = wrapped(cr, left, y, width, plan.statements[i], 12);
      }
    }
    methods.push_back("Couinaud segments: " + result.couinaud->method);
  } else {
    // No remnant figures: the surgeon reads why instead of a blank.
    std::string why;
    for (const auto& st : result.stages) {
      if ((st.stage == "couinaud" || st.stage == "surgical_planning") && !st.done) {
        why = st.detail;
        break;
      }
    }
    const bool drawn = result.surgical_plan && result.surgical_plan->drawn_remnant;
    if (!why.empty() || drawn) {
      y += 6;
      text(cr, left, y, "Surgical planning", 18, true);
      y += 22;
      if (why.size() > 320) why = why.substr(0, 317) + "...";
      if (!why.empty()) y = wrapped(cr, left, y, width, "Not computed. " + why, 12);
      if (drawn)
        y = wrapped(cr, left, y, width, result.surgical_plan->drawn_remnant->statement, 12);
    }
  }
  if (result.follow_up) {
    y += 6;
    text(cr, left, y, "Follow-up", 18, true);
    y += 22;
    for (const auto& line : detail::follow_up_lines(*result.follow_up)) {
      if (y > page_height - 140) break;
      y = wrapped(cr, left, y, width, line, 12);
    }
  }
  for (const auto& w : result.warnings) {
    if (y > page_height - 140) break;
    cairo_set_source_rgb(cr, 1, 0.6, 0.4);
    y = wrapped(cr, left, y, width, "Note: " + w, 12);
  }
  // Small print: methods and the phase of every series with its evidence.
  std::string phases = "Phases:";
  for (const auto& text : result.mr_phases) phases += " " + text + ";";
  for (const auto& sa : result.series) {
    phases += std::string(" ") + processing::phase_name(sa.phase.phase) + " (confidence " +
              fmt("%.2f", sa.phase.confidence) + "): " + sa.phase.evidence + ";";
  }
  methods.push_back(phases);
  cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
  double sy = std::max(y + 10, page_height - 128);
  for (const auto& m : methods) {
    if (sy > page_height - 40) break;
    std::string line = m.size() > 600 ? m.substr(0, 597) + "..." : m;
    sy = wrapped(cr, left, sy, width, line, 8);
  }
  cairo_set_source_rgb(cr, 1, 0.85, 0.3);
  wrapped(cr, left, page_height - 18, width,
          identity.product + " " + identity.version +
              (identity.disclaimer.empty() ? "" : ". " + identity.disclaimer),
          11);
}

// RGB Secondary Capture of the surface, same patient and study as `source`.
WrittenObject write_capture(Surface& s, DcmItem& source, const SeriesInfo& series,
                            const std::string& series_uid, const std::string& series_number,
                            int instance, const SliceRef* derived_from, const std::string& what,
                            const WriterIdentity& identity, const std::filesystem::path& file) {
  const int w = s.width(), h = s.height(), stride = cairo_image_surface_get_stride(s.surface);
  const unsigned char* data = cairo_image_surface_get_data(s.surface);
  std::vector<Uint8> rgb(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    const auto* row = reinterpret_cast<const std::uint32_t*>(data + y * stride);
    for (int x = 0; x < w; ++x) {
      const std::uint32_t p = row[x];
      Uint8* o = &rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      o[0] = (p >> 16) & 0xff, o[1] = (p >> 8) & 0xff, o[2] = p & 0xff;
    }
  }
  DcmFileFormat format;
  DcmDataset& ds = *format.getDataset();
  const std::string sop = detail::new_uid();
  const std::string date = detail::today(), time = detail::now_time();
  const std::string product = identity.product.empty() ? "livernode" : identity.product;
  // General Series
  const auto put = detail::start_derived_object(
      ds, source, file, UID_SecondaryCaptureImageStorage, sop, "OT", series_uid, series_number,
      "Liver analysis summary (" + product + version_suffix(identity) + ")");
  put(DCM_BodyPartExamined, "ABDOMEN");  // unpaired: Laterality stays absent
  // General Equipment and SC Equipment
  put(DCM_Manufacturer, product);
  put(DCM_ManufacturerModelName, product);
  put(DCM_SoftwareVersions, identity.version);
  put(DCM_ConversionType, "WSD");
  put(DCM_SecondaryCaptureDeviceManufacturer, product);
  put(DCM_SecondaryCaptureDeviceManufacturerModelName, product);
  put(DCM_SecondaryCaptureDeviceSoftwareVersions, identity.version);
  // General Image and SC Image
  put(DCM_InstanceNumber, std::to_string(instance));
  ds.insertEmptyElement(DCM_PatientOrientation);
  put(DCM_ContentDate, date);
  put(DCM_ContentTime, time);
  put(DCM_ImageType, "DERIVED\\SECONDARY");
  put(DCM_DerivationDescription, what);
  put(DCM_BurnedInAnnotation, "YES");
  put(DCM_LossyImageCompression, "00");
  put(DCM_DateOfSecondaryCapture, date);
  put(DCM_TimeOfSecondaryCapture, time);
  if (derived_from) {
    DcmItem* item = nullptr;
    require(ds.findOrCreateSequenceItem(DCM_SourceImageSequence, item, 0),
            "cannot reference the source image", file);
    item->putAndInsertString(DCM_ReferencedSOPClassUID, series.sop_class_uid.c_str());
    item->putAndInsertString(DCM_ReferencedSOPInstanceUID, derived_from->sop_instance_uid.c_str());
    if (series.multiframe) {
      item->putAndInsertString(DCM_ReferencedFrameNumber,
                               std::to_string(derived_from->frame + 1).c_str());
    }
  }
  // Image Pixel
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
  put(DCM_PhotometricInterpretation, "RGB");
  ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(h));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(w));
  ds.putAndInsertUint16(DCM_BitsAllocated, 8);
  ds.putAndInsertUint16(DCM_BitsStored, 8);
  ds.putAndInsertUint16(DCM_HighBit, 7);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  require(
      ds.putAndInsertUint8Array(DCM_PixelData, rgb.data(), static_cast<unsigned long>(rgb.size())),
      "cannot store the pixels", file);
  detail::settle_character_set(source, ds);
  detail::save(format, file);

  return {file, "summary", UID_SecondaryCaptureImageStorage, sop, series_uid};
}

}  // namespace

std::vector<WrittenObject> write_summary_images(const SeriesInfo& series,
                                                const LoadedVolume& loaded,
                                                const processing::AnalysisResult& result,
                                                const WriterIdentity& identity,
                                                const std::filesystem::path& folder) {
  const auto& g = loaded.volume.geometry;
  if (!result.liver_mask.empty() && !result.liver_mask.geometry.same_grid(g)) {
    throw DicomError(
        ErrorKind::kInconsistent,
        folder.string() + ": the liver mask is not on the grid of series " + series.series_uid);
  }
  if (!result.lesion_labels.empty() && !result.lesion_labels.geometry.same_grid(g)) {
    throw DicomError(ErrorKind::kInconsistent, folder.string() +
                                                   ": the lesion labels are not on the grid of "
                                                   "series " +
                                                   series.series_uid);
  }
  auto header = detail::load_source_header(series);
  DcmDataset& source = *header->getDataset();
  const std::string series_uid = detail::new_uid();
  const std::string series_number =
      std::to_string(std::atoi(identity.series_number_base.c_str()) + 3);
  std::vector<WrittenObject> written;
  auto name = [&](int n) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "summary-%02d.dcm", n);
    return folder / buffer;
  };
  const auto keys = key_slices(result, g.size[2]);
  const std::string patient = patient_line(series);
  // The results page first: it is what a reader opens the series for.
  int instance = 1;
  {
    Surface page(1024, 768);
    render_results(page.cr, page.width(), page.height(), result, series, identity);
    cairo_surface_flush(page.surface);
    written.push_back(write_capture(page, source, series, series_uid, series_number, instance,
                                    nullptr, "Results table of the liver analysis", identity,
                                    name(instance)));
  }
  for (const auto& key : keys) {
    ++instance;
    Surface s(768, 768 + 98);
    if (cairo_surface_status(s.surface) != CAIRO_STATUS_SUCCESS) {
      throw DicomError(ErrorKind::kIo, folder.string() + ": cannot create a drawing surface");
    }
    render_slice(s, loaded, result, key, identity,
                 "Key image " + std::to_string(instance - 1) + " of " + std::to_string(keys.size()),
                 patient);
    const int source_index = key.k < loaded.source_slice.size() ? loaded.source_slice[key.k] : -1;
    const SliceRef* from = source_index >= 0 ? &series.slices[source_index] : nullptr;
    written.push_back(write_capture(s, source, series, series_uid, series_number, instance, from,
                                    "Axial slice with liver and lesion outlines, " + key.why,
                                    identity, name(instance)));
  }
  return written;
}

namespace {

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<std::vector<Uint8>*>(closure);
  out->insert(out->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

WrittenObject write_summary_pdf(const SeriesInfo& series, const LoadedVolume& loaded,
                                const processing::AnalysisResult& result,
                                const WriterIdentity& identity, const std::filesystem::path& file) {
  const auto& g = loaded.volume.geometry;
  if ((!result.liver_mask.empty() && !result.liver_mask.geometry.same_grid(g)) ||
      (!result.lesion_labels.empty() && !result.lesion_labels.geometry.same_grid(g))) {
    throw DicomError(
        ErrorKind::kInconsistent,
        file.string() + ": the masks are not on the grid of series " + series.series_uid);
  }
  // The PDF: the results page as vector text, then every key image (one page each).
  std::vector<Uint8> pdf;
  {
    cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(append_bytes, &pdf, 1024, 768);
    cairo_t* cr = cairo_create(surface);
    render_results(cr, 1024, 768, result, series, identity);
    cairo_show_page(cr);
    const auto keys = key_slices(result, g.size[2]);
    int n = 0;
    for (const auto& key : keys) {
      ++n;
      Surface image(768, 768 + 98);
      render_slice(image, loaded, result, key, identity,
                   "Key image " + std::to_string(n) + " of " + std::to_string(keys.size()),
                   patient_line(series));
      cairo_pdf_surface_set_size(surface, image.width(), image.height());
      cairo_set_source_surface(cr, image.surface, 0, 0);
      cairo_paint(cr);
      cairo_show_page(cr);
    }
    const cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    const cairo_status_t surface_status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (status != CAIRO_STATUS_SUCCESS || surface_status != CAIRO_STATUS_SUCCESS) {
      throw DicomError(
          ErrorKind::kIo,
          file.string() + ": cannot render the PDF (" +
              cairo_status_to_string(status != CAIRO_STATUS_SUCCESS ? status : surface_status) +
              ")");
    }
  }
  const unsigned long pdf_length = static_cast<unsigned long>(pdf.size());
  if (pdf.size() % 2) pdf.push_back(0);  // OB values have an even length

  auto header = detail::load_source_header(series);
  DcmDataset& source = *header->getDataset();
  DcmFileFormat format;
  DcmDataset& ds = *format.getDataset();
  const std::string sop = detail::new_uid(), series_uid = detail::new_uid();
  const std::string date = detail::today(), time = detail::now_time();
  const std::string product = identity.product.empty() ? "livernode" : identity.product;
  // Encapsulated Document Series
  const auto put = detail::start_derived_object(
      ds, source, file, UID_EncapsulatedPDFStorage, sop, "DOC", series_uid,
      std::to_string(std::atoi(identity.series_number_base.c_str()) + 4),
      "Liver analysis report (" + product + version_suffix(identity) + ")");
  // General Equipment and SC Equipment
  put(DCM_Manufacturer, product);
  put(DCM_ManufacturerModelName, product);
  put(DCM_SoftwareVersions, identity.version);
  put(DCM_ConversionType, "WSD");
  // Encapsulated Document
  put(DCM_InstanceNumber, "1");
  put(DCM_ContentDate, date);
  put(DCM_ContentTime, time);
  ds.insertEmptyElement(DCM_AcquisitionDateTime);
  put(DCM_BurnedInAnnotation, "YES");
  put(DCM_DocumentTitle, "Liver analysis summary");
  ds.insertEmptyElement(DCM_ConceptNameCodeSequence);
  put(DCM_MIMETypeOfEncapsulatedDocument, "application/pdf");
  require(ds.putAndInsertUint32(DCM_EncapsulatedDocumentLength, pdf_length),
          "cannot set the document length", file);
  require(ds.putAndInsertUint8Array(DCM_EncapsulatedDocument, pdf.data(),
                                    static_cast<unsigned long>(pdf.size())),
          "cannot store the PDF", file);
  detail::settle_character_set(source, ds);
  detail::save(format, file);

  return {file, "pdf", UID_EncapsulatedPDFStorage, sop, series_uid};
}

}  // namespace livernode::dicom
