#pragma once
// The manual truth of the real cases in ../shared/data/real, on any grid of the same patient:
// DICOM SEGs placed by their frames' positions (the HCC cases), or one PNG per slice placed by
// its DICOM file's geometry (chaos-ct). Header-only, for the benchmark programs.
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/dicom/segmentation_reader.h"
#include "truth_masks.h"

namespace livernode::bench {

namespace fs = std::filesystem;

// The truth of a case on a grid: the liver, and its lesions numbered 1..n.
struct CaseTruth {
  processing::LabelMap liver, lesions;
  std::string note;  // what could not be read
  // The series the truth was drawn on, when known: on another series (another phase), breathing
  // between the two lowers the overlap whatever the segmentation.
  std::string drawn_on_series_uid;
};

// HCC cases: DICOM SEGs, placed by their frames' positions (read_segmentation does that).
inline CaseTruth seg_truth(const fs::path& truth_dir, const processing::Geometry& grid) {
  CaseTruth t;
  for (const auto& f : fs::directory_iterator(truth_dir)) {
    const std::string name = f.path().filename().string();
    const bool liver = name.find("Liver") != std::string::npos;
    const bool tumour = name.find("Tumor") != std::string::npos;
    if (!liver && !tumour) continue;
    const auto seg = dicom::read_segmentation(f.path(), grid);
    if (seg.segments.empty()) continue;
    if (liver) t.liver = seg.segments.front().mask;
    if (liver) t.drawn_on_series_uid = seg.referenced_series_uid;
    if (tumour) t.lesions = label_parts(seg.segments.front().mask);
  }
  return t;
}

// chaos-ct: liver_GT_NNN.png belongs to the NNN-th DICOM file of ct/ in file-name order, rows
// and columns as in that image.
inline CaseTruth png_truth(const fs::path& ct_dir, const fs::path& png_dir,
                           const processing::Geometry& grid) {
  CaseTruth t;
  t.liver = processing::LabelMap(grid, 0);
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(ct_dir))
    if (f.is_regular_file()) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  std::size_t placed = 0;
  for (std::size_t n = 0; n < files.size(); ++n) {
    char name[48];
    std::snprintf(name, sizeof name, "liver_GT_%03zu.png", n);
    const fs::path png = png_dir / name;
    if (!fs::exists(png)) continue;
    DcmFileFormat ff;
    if (ff.loadFile(OFFilename(files[n].c_str())).bad()) continue;
    DcmDataset* d = ff.getDataset();
    double ipp[3], iop[6], ps[2];
    bool ok = true;
    for (int i = 0; i < 3; ++i)
      ok = ok && d->findAndGetFloat64(DCM_ImagePositionPatient, ipp[i], i).good();
    for (int i = 0; i < 6; ++i)
      ok = ok && d->findAndGetFloat64(DCM_ImageOrientationPatient, iop[i], i).good();
    for (int i = 0; i < 2; ++i) ok = ok && d->findAndGetFloat64(DCM_PixelSpacing, ps[i], i).good();
    if (!ok) continue;
    cairo_surface_t* surface = cairo_image_surface_create_from_png(png.c_str());
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
      cairo_surface_destroy(surface);
      continue;
    }
    cairo_surface_flush(surface);
    const cairo_format_t format = cairo_image_surface_get_format(surface);
    const int w = cairo_image_surface_get_width(surface),
              h = cairo_image_surface_get_height(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    const unsigned char* data = cairo_image_surface_get_data(surface);
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) {
        bool inside = false;
        if (format == CAIRO_FORMAT_A8) {
          inside = data[r * stride + c] > 127;
        } else if (format == CAIRO_FORMAT_RGB24 || format == CAIRO_FORMAT_ARGB32) {
          std::uint32_t px;
          std::memcpy(&px, data + r * stride + 4 * c, 4);
          inside = ((px >> 8) & 0xFF) > 127;  // the green channel of a grey mask
        }
        if (!inside) continue;
        // The pixel's centre in patient space (PixelSpacing: row spacing \ column spacing).
        const processing::Vec3 p{ipp[0] + iop[0] * c * ps[1] + iop[3] * r * ps[0],
                                 ipp[1] + iop[1] * c * ps[1] + iop[4] * r * ps[0],
                                 ipp[2] + iop[2] * c * ps[1] + iop[5] * r * ps[0]};
        const processing::Vec3 x = grid.point_to_index(p);
        const long i = std::lround(x[0]), j = std::lround(x[1]), k = std::lround(x[2]);
        if (i < 0 || j < 0 || k < 0 || i >= static_cast<long>(grid.size[0]) ||
            j >= static_cast<long>(grid.size[1]) || k >= static_cast<long>(grid.size[2]))
          continue;
        t.liver.at(i, j, k) = 1;
      }
    cairo_surface_destroy(surface);
    ++placed;
  }
  if (placed == 0) t.note = "no PNG truth slice could be placed";
  t.lesions = processing::LabelMap(grid, 0);  // a healthy liver: every lesion is a false one
  return t;
}

}  // namespace livernode::bench
