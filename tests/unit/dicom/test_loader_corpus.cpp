// Every file of Debian's pydicom test corpus is either loaded or rejected with a one-line
// reason; nothing crashes or hangs the loader.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "livernode/dicom/error.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;

TEST(LoaderCorpus, EveryPydicomTestFileIsLoadedOrRejectedWithAReason) {
  const fs::path corpus = LIVERNODE_PYDICOM_FILES;
  LIVERNODE_REQUIRE_DATA(corpus);
  std::size_t files = 0, loaded = 0, rejected = 0;
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    const auto start = std::chrono::steady_clock::now();
    const dicom::ScanResult scan = dicom::scan_files({entry.path()});
    for (const auto& r : scan.rejected) {
      ++rejected;
      EXPECT_FALSE(r.reason.empty());
      EXPECT_EQ(r.reason.find('\n'), std::string::npos) << r.reason;
    }
    for (const auto& series : scan.series) {
      try {
        const auto volume = dicom::load_volume(series);
        EXPECT_EQ(volume.volume.voxels.size(), volume.volume.geometry.voxel_count());
        ++loaded;
      } catch (const dicom::DicomError& e) {
        ++rejected;
        const std::string what = e.what();
        EXPECT_FALSE(what.empty());
        EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 20.0) << "loader took too long (hang?)";
  }
  std::cout << "pydicom corpus: " << files << " files, " << loaded << " volumes loaded, "
            << rejected << " rejections\n";
  EXPECT_GT(files, 50u);
  EXPECT_GT(loaded, 5u);
}

// The same MR image in every lossless transfer syntax decodes to the same values.
TEST(LoaderCorpus, LosslessEncodingsOfOneImageDecodeIdentically) {
  const fs::path corpus = LIVERNODE_PYDICOM_FILES;
  LIVERNODE_REQUIRE_DATA(corpus / "MR_small.dcm");
  auto load = [&](const std::string& name) {
    const auto scan = dicom::scan_files({corpus / name});
    EXPECT_EQ(scan.series.size(), 1u) << name;
    if (scan.series.empty()) return processing::Volume{};
    return dicom::load_volume(scan.series[0]).volume;
  };
  const processing::Volume reference = load("MR_small.dcm");
  ASSERT_FALSE(reference.empty());
  for (const std::string name :
       {"MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_implicit.dcm",
        "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm"}) {
    SCOPED_TRACE(name);
    const processing::Volume other = load(name);
    ASSERT_EQ(other.voxels.size(), reference.voxels.size());
    EXPECT_TRUE(other.voxels == reference.voxels);
    EXPECT_TRUE(other.geometry.same_grid(reference.geometry));
  }
}
