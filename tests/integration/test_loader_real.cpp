// The loader on real CT: the two HCC cases (with a coronal reformat hidden in each axial
// series) and the JPEG 2000 study.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "test_support.h"

using namespace livernode;

namespace {

// Fraction of voxels in the volume's outer rows (outside the patient) that are air (< -900 HU).
double air_fraction_at_corners(const processing::Volume& v) {
  std::size_t air = 0, n = 0;
  const auto& s = v.geometry.size;
  for (std::size_t k = 0; k < s[2]; ++k) {
    for (std::size_t i = 0; i < s[0]; i += 4) {
      for (std::size_t j : {std::size_t{2}, std::size_t{3}}) {
        ++n;
        if (v.at(i, j, k) < -900) ++air;
      }
    }
  }
  return n ? static_cast<double>(air) / n : 0.0;
}

}  // namespace

TEST(LoaderReal, HccCasesDropTheCoronalReformatAndLoadAxialVolumes) {
  for (const std::string case_name : {"hcc-tace-0697", "hcc-tace-1720"}) {
    const auto ct = test::shared_data() / "real" / case_name / "ct";
    LIVERNODE_REQUIRE_DATA(ct);
    SCOPED_TRACE(case_name);
    const dicom::ScanResult scan = dicom::scan_directory(ct);
    ASSERT_EQ(scan.series.size(), 2u);
    // One coronal image per series is dropped for its orientation.
    const auto coronal = std::count_if(
        scan.rejected.begin(), scan.rejected.end(),
        [](const dicom::Rejected& r) { return r.reason.find("orientation") != std::string::npos; });
    EXPECT_EQ(coronal, 2);
    for (const auto& series : scan.series) {
      SCOPED_TRACE(series.description);
      // Axial orientation, slices strictly ascending, 5 mm apart.
      EXPECT_NEAR(series.orientation[0], 1.0, 1e-3);
      EXPECT_NEAR(series.orientation[4], 1.0, 1e-3);
      EXPECT_NEAR(series.slice_spacing, 5.0, 0.05);
      EXPECT_GT(series.slices.size(), 20u);
      for (std::size_t i = 1; i < series.slices.size(); ++i) {
        EXPECT_GT(series.slices[i].normal_position, series.slices[i - 1].normal_position);
      }
      // The coronal image must not be counted: every file on disk minus one per series.
      const dicom::LoadedVolume loaded = dicom::load_volume(series);
      const auto& g = loaded.volume.geometry;
      EXPECT_EQ(g.size[0], 512u);
      EXPECT_EQ(g.size[1], 512u);
      EXPECT_EQ(g.size[2], series.slices.size());
      EXPECT_NEAR(g.spacing[2], 5.0, 0.05);
      EXPECT_NEAR(g.direction[0], 1.0, 1e-3);
      EXPECT_NEAR(g.direction[4], 1.0, 1e-3);
      EXPECT_NEAR(g.direction[8], 1.0, 1e-3);
      // Origin is the first slice's ImagePositionPatient.
      EXPECT_NEAR(g.origin[2], series.slices.front().position[2], 1e-3);
      // Air outside the patient is about -1000 HU.
      EXPECT_GT(air_fraction_at_corners(loaded.volume), 0.9);
      float lo = *std::min_element(loaded.volume.voxels.begin(), loaded.volume.voxels.end());
      EXPECT_LT(lo, -900.0f);
    }
  }
}

TEST(LoaderReal, Jpeg2000StudyLoadsThroughGdcm) {
  const auto dir = test::shared_data() / "real" / "j2k-upper-abdomen-ct";
  LIVERNODE_REQUIRE_DATA(dir);
  const dicom::ScanResult scan = dicom::scan_directory(dir);
  ASSERT_EQ(scan.series.size(), 1u);
  EXPECT_EQ(scan.series[0].slices.size(), 20u);
  const dicom::LoadedVolume loaded = dicom::load_volume(scan.series[0]);
  EXPECT_EQ(loaded.volume.geometry.size[2], 20u);
  // A contrast CT: air near -1000 HU, and soft tissue present (median of the centre region).
  const auto& g = loaded.volume.geometry;
  std::vector<float> centre;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = g.size[1] / 2 - 20; j < g.size[1] / 2 + 20; ++j)
      for (std::size_t i = g.size[0] / 2 - 20; i < g.size[0] / 2 + 20; ++i)
        centre.push_back(loaded.volume.at(i, j, k));
  std::nth_element(centre.begin(), centre.begin() + centre.size() / 2, centre.end());
  EXPECT_GT(centre[centre.size() / 2], -200.0f);
  EXPECT_LT(centre[centre.size() / 2], 400.0f);
  EXPECT_LT(*std::min_element(loaded.volume.voxels.begin(), loaded.volume.voxels.end()), -900.0f);
}

TEST(LoaderReal, ReferenceEncodingsDecodeToTheSamePixels) {
  // pydicom-data ships one Enhanced CT and J2K CT; the multi-frame Enhanced CT must load.
  const auto file = test::shared_data() / "reference" / "pydicom-data" / "eCT_Supplemental.dcm";
  LIVERNODE_REQUIRE_DATA(file);
  const dicom::ScanResult scan = dicom::scan_files({file});
  ASSERT_EQ(scan.series.size(), 1u) << (scan.rejected.empty() ? "" : scan.rejected[0].reason);
  EXPECT_TRUE(scan.series[0].multiframe);
  const dicom::LoadedVolume loaded = dicom::load_volume(scan.series[0]);
  EXPECT_EQ(loaded.volume.geometry.size[2], scan.series[0].slices.size());
}
