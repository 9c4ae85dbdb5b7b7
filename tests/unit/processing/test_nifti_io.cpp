// NIfTI files, as the external segmentation backend is given its input and answers: an HU
// volume keeps its patient geometry, and only a proper label map is read back as labels.
#include <gtest/gtest.h>

#include "livernode/processing/nifti_io.h"
#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;

TEST(NiftiIo, HuVolumeRoundTripsWithItsPatientGeometry) {
  const auto dir = test::make_temp_dir("livernode-nifti");
  processing::Geometry g;
  g.size = {7, 5, 3};
  g.spacing = {0.8, 0.9, 2.5};
  g.origin = {-120.5, 33.25, -410.0};
  g.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  processing::Volume v(g, 0.0f);
  for (std::size_t p = 0; p < v.voxels.size(); ++p) v.voxels[p] = static_cast<float>(p) - 40.0f;
  processing::write_nifti(v, dir / "v.nii.gz");
  // Read back as labels fails (negative values) with a clear message...
  EXPECT_THROW(processing::read_nifti_labels(dir / "v.nii.gz"), processing::NiftiError);
  // ...and a proper label map keeps the grid.
  for (auto& x : v.voxels) x = x > 20 ? 2.0f : 0.0f;
  processing::write_nifti(v, dir / "l.nii.gz");
  const auto labels = processing::read_nifti_labels(dir / "l.nii.gz");
  EXPECT_TRUE(labels.geometry.same_grid(g, 1e-3));
  for (std::size_t p = 0; p < v.voxels.size(); ++p) ASSERT_EQ(labels.voxels[p], v.voxels[p]);
  fs::remove_all(dir);
}
