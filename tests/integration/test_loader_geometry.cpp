// Geometry findings of the loader on a phantom series that has been damaged on purpose:
// missing slices, a duplicated file, a stray image of another matrix size.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <gtest/gtest.h>

#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/phantom/phantom.h"
#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;

namespace {
bool mentions(const std::vector<std::string>& warnings, const std::string& word) {
  for (const auto& w : warnings)
    if (w.find(word) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST(LoaderGeometry, GapsAreInterpolatedDuplicatesDroppedStrayMatricesRejected) {
  const auto dir = test::make_temp_dir("livernode-geometry");
  phantom::PhantomOptions o;
  o.phases = {phantom::Phase::kPortalVenous};
  o.slices = 30;
  o.matrix = 128;
  o.pixel_spacing_mm = 3.0;
  const auto truth = phantom::generate_phantom(o, dir / "p");
  const auto intact = dicom::scan_directory(dir / "p" / "dicom");
  ASSERT_EQ(intact.series.size(), 1u);
  const auto& slices = intact.series[0].slices;
  ASSERT_EQ(slices.size(), 30u);
  const auto reference = dicom::load_volume(intact.series[0]);

  // Remove two neighbouring slices in the middle, copy one file, add a 64x64 stray image.
  fs::remove(slices[10].file);
  fs::remove(slices[11].file);
  fs::copy_file(slices[20].file, dir / "p" / "dicom" / "copy-of-20.dcm");
  {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(slices[5].file.c_str()).good());
    DcmDataset* ds = f.getDataset();
    ds->putAndInsertUint16(DCM_Rows, 64);
    ds->putAndInsertUint16(DCM_Columns, 64);
    ds->putAndInsertUint16Array(DCM_PixelData, std::vector<Uint16>(64 * 64, 0).data(), 64 * 64);
    ds->putAndInsertString(DCM_SOPInstanceUID, "1.2.3.4.5.6.7.8.9");
    ASSERT_TRUE(
        f.saveFile((dir / "p" / "dicom" / "stray.dcm").c_str(), EXS_LittleEndianExplicit).good());
  }

  const auto scan = dicom::scan_directory(dir / "p" / "dicom");
  ASSERT_EQ(scan.series.size(), 1u);
  const auto& s = scan.series[0];
  EXPECT_EQ(s.slices.size(), 28u);
  EXPECT_TRUE(mentions(s.warnings, "irregular slice spacing"));
  EXPECT_TRUE(mentions(s.warnings, "duplicate"));
  EXPECT_TRUE(mentions(s.warnings, "matrix 64x64"));
  const auto loaded = dicom::load_volume(s);
  // The regular grid is restored: 30 slices, the two missing ones interpolated.
  ASSERT_EQ(loaded.volume.geometry.size[2], 30u);
  EXPECT_TRUE(loaded.volume.geometry.same_grid(reference.volume.geometry));
  EXPECT_EQ(loaded.source_slice[10], -1);
  EXPECT_EQ(loaded.source_slice[11], -1);
  EXPECT_TRUE(mentions(loaded.warnings, "interpolated"));
  // Untouched slices are bit-identical to the intact load.
  for (std::size_t k : {0u, 5u, 20u, 29u}) {
    for (std::size_t j = 0; j < 128; j += 7)
      for (std::size_t i = 0; i < 128; i += 7)
        ASSERT_EQ(loaded.volume.at(i, j, k), reference.volume.at(i, j, k));
  }
  fs::remove_all(dir);
}
