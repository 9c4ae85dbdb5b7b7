#pragma once
// truth/manifest.json: every PhantomTruth field (units in the key names), the options used, the
// grid, the label meanings, the HU table per phase and the slice files of each series in
// spatial order.
#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lesions.h"
#include "livernode/phantom/phantom.h"
#include "livernode/processing/image.h"

namespace livernode::phantom {

// What the manifest records about a series beyond SeriesTruth.
struct SeriesRecord {
  int series_number = 0;
  std::string acquisition_time;                     // TM
  std::string contrast_start_time;                  // TM, empty if the tags were not written
  std::string label_map;                            // relative to out_dir
  std::vector<std::string> files_in_spatial_order;  // file names, InstanceNumber order
  // An Enhanced MR series (mr_enhanced): files_in_spatial_order holds its one file, and these
  // are the frame numbers (from 1) of this volume's slices in spatial order.
  std::vector<int> frames_in_spatial_order;
  // MR only: seconds from the contrast injection, b-value, Rician noise sigma in relative units
  // (before the scale) and the coil bias field's coefficients (mr_synthesis.h).
  std::optional<double> seconds_after_contrast, b_value;
  double noise_sigma = 0.0;
  std::array<double, 9> bias_coefficients{};
};

void write_manifest(const std::filesystem::path& path, const PhantomOptions& options,
                    const PhantomTruth& truth, const std::vector<SeriesRecord>& records,
                    const processing::Geometry& geometry, const std::vector<Lesion>& lesions,
                    const std::filesystem::path& out_dir);

}  // namespace livernode::phantom
