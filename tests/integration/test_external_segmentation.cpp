// The external segmentation backend with a real program the test suite provides
// (tests/tools/threshold_segmenter.py): its liver is used when it answers properly; a failure,
// a hang, a label map on another grid or an empty answer fall back to the built-in method and
// the report says why.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "livernode/phantom/phantom.h"
#include "livernode/processing/nifti_io.h"
#include "livernode/study/external_segmentation.h"
#include "livernode/study/study_analysis.h"
#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;

namespace {

const fs::path kSegmenter =
    fs::path(LIVERNODE_SOURCE_DIR) / "tests" / "tools" / "threshold_segmenter.py";

class ExternalBackend : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::make_temp_dir("livernode-external"));
    phantom::generate_phantom(test::small_portal_venous_phantom(11), *dir_ / "phantom");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // Runs the analysis with the segmenter in `mode`; returns the analysis of summary.json.
  nlohmann::json analyse_with(const std::string& mode, int timeout_s = 60) {
    study::AnalyseFolderOptions options;
    options.write_objects = false;
    options.liver_backend = study::external_liver_backend(
        {{"/usr/bin/python3", kSegmenter.string(), "--mode", mode, "--count-file",
          (*dir_ / (mode + ".count")).string(), "{input}", "{output}"},
         timeout_s,
         1,
         *dir_ / ("work-" + mode)});
    const auto outcome =
        study::analyse_folder(*dir_ / "phantom" / "dicom", *dir_ / ("out-" + mode), options);
    EXPECT_TRUE(outcome.usable) << outcome.error;
    // The work folder is cleaned up whatever happened.
    EXPECT_TRUE(!fs::exists(*dir_ / ("work-" + mode)) || fs::is_empty(*dir_ / ("work-" + mode)));
    return outcome.summary["analyses"][0];
  }

  static std::string warnings(const nlohmann::json& analysis) {
    return analysis["warnings"].dump();
  }

  static fs::path* dir_;
};
fs::path* ExternalBackend::dir_ = nullptr;

}  // namespace

TEST_F(ExternalBackend, ItsLiverIsUsedWhenItAnswersOnTheSameGrid) {
  const auto a = analyse_with("ok");
  const std::string method = a["liver"]["method"].get<std::string>();
  EXPECT_NE(method.find("external: python3 (liver label 1)"), std::string::npos) << method;
  // The volume is the program's own voxel count, plus any tumour found beyond its surface
  // (tumours are part of the liver volume).
  std::ifstream count_file(*dir_ / "ok.count");
  std::size_t count = 0;
  count_file >> count;
  ASSERT_GT(count, 0u);
  const double voxel_ml = 3.0 * 3.0 * 5.0 / 1000.0;
  const double volume = a["liver"]["volume_ml"].get<double>();
  EXPECT_GE(volume, count * voxel_ml - 1e-6);
  EXPECT_LE(volume, count * voxel_ml + a["volumetry"]["tumour_ml"].get<double>() + 1e-6);
  EXPECT_EQ(warnings(a).find("external"), std::string::npos) << warnings(a);
}

TEST_F(ExternalBackend, AFailingProgramFallsBackWithItsMessage) {
  const auto a = analyse_with("fail");
  EXPECT_NE(a["liver"]["method"].get<std::string>().find("automatic, classical"),
            std::string::npos);
  EXPECT_NE(warnings(a).find("exit status 3"), std::string::npos) << warnings(a);
  EXPECT_NE(warnings(a).find("model weights not found"), std::string::npos) << warnings(a);
}

TEST_F(ExternalBackend, AHangingProgramIsStoppedAtTheTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto a = analyse_with("hang", 2);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 45.0);  // not the program's 60 s
  EXPECT_NE(warnings(a).find("did not finish within 2 s"), std::string::npos) << warnings(a);
  EXPECT_NE(a["liver"]["method"].get<std::string>().find("automatic, classical"),
            std::string::npos);
}

TEST_F(ExternalBackend, ALabelMapOnAnotherGridIsRefused) {
  const auto a = analyse_with("wrong-grid");
  EXPECT_NE(warnings(a).find("another grid"), std::string::npos) << warnings(a);
  EXPECT_FALSE(a["liver"].is_null());
}

TEST_F(ExternalBackend, AnAnswerWithoutTheLiverLabelIsRefused) {
  const auto a = analyse_with("empty");
  EXPECT_NE(warnings(a).find("no voxel with the liver label 1"), std::string::npos) << warnings(a);
}
