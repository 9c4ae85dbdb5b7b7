// The result objects as a radiologist's viewer reads them: every SEG loaded with dcmjs's
// Cornerstone adapter against the source images as one label map holding the voxel counts of
// summary.json, the SR's volumes, RECIST polylines and segment references found by dcmjs
// (tests/js/check_results.js), dciodvfy without errors or warnings of our own on every object
// (SEGs, SR, summary images, PDF), each lesion's Couinaud segments in summary.json, the SR and on
// the results page, and the PDF's first page naming the patient.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "dicom_checks.h"
#include "livernode/study/study_analysis.h"
#include "livernode/phantom/phantom.h"
#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;

namespace {

const fs::path kChecker = fs::path(LIVERNODE_SOURCE_DIR) / "tests" / "js" / "check_results.js";

// Runs the dcmjs checker on an analysis output; skips when Node.js is not installed.
#define CHECK_WITH_DCMJS(summary)                                                              \
  do {                                                                                         \
    if (test::run_command("command -v node").status != 0)                                      \
      GTEST_SKIP() << "node (Node.js) is not installed: scripts/install-deps.sh installs it";  \
    ASSERT_TRUE(fs::exists(kChecker.parent_path() / "node_modules" / "dcmjs"))                 \
        << "dcmjs is not installed in tests/js: run scripts/install-deps.sh (npm ci there)";   \
    const auto checked = test::run_command("node '" + kChecker.string() + "' '" +              \
                                           (summary).string() + "' 2>&1");                     \
    std::cout << checked.output;                                                               \
    EXPECT_EQ(checked.status, 0) << checked.output;                                            \
  } while (0)

// dciodvfy's warnings on `file`. `inherited`: parts of warnings about values copied from the
// source (its patient's name form, its missing study date, codes of its own scheme), judged by
// the source and not by us.
std::vector<std::string> our_warnings(const fs::path& file,
                                      const std::vector<std::string>& inherited) {
  std::istringstream in(test::run_command("dciodvfy '" + file.string() + "' 2>&1").output);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (line.find("Warning") == std::string::npos) continue;
    bool from_source = false;
    for (const auto& part : inherited) from_source = from_source || line.find(part) != std::string::npos;
    if (!from_source) out.push_back(line);
  }
  return out;
}

std::string pdf_first_page_text(const fs::path& dicom_pdf, const fs::path& work) {
  const fs::path pdf = work / "report.pdf";
  test::run_command("dcm2pdf '" + dicom_pdf.string() + "' '" + pdf.string() + "'");
  return test::run_command("pdftotext -l 1 '" + pdf.string() + "' - 2>&1").output;
}

// Every object the analysis wrote: no dciodvfy error (but those about the source's own UIDs,
// `source_uids`) and no warning (but those about values copied from the source, `inherited`).
void check_objects(const nlohmann::json& analysis, const fs::path& out,
                   const std::vector<std::string>& source_uids,
                   const std::vector<std::string>& inherited = {}) {
  int segs = 0, checked = 0;
  for (const auto& o : analysis["objects"]) {
    const fs::path file = out / o["path"].get<std::string>();
    const auto errors = test::dciodvfy_errors(file, source_uids);
    EXPECT_TRUE(errors.empty()) << file << ": " << (errors.empty() ? "" : errors.front());
    const auto warnings = our_warnings(file, inherited);
    EXPECT_TRUE(warnings.empty()) << file << ": " << warnings.size() << " warnings, first "
                                  << (warnings.empty() ? "" : warnings.front());
    ++checked;
    if (o["kind"] == "seg") ++segs;
  }
  std::cout << "dciodvfy: " << checked << " objects without an error or warning of our own\n";
  EXPECT_GE(segs, 1);
}

}  // namespace

TEST(ViewerResults, PhantomSegsSrAndPagesReadAsAViewerReadsThem) {
  const fs::path dir = test::make_temp_dir("livernode-viewer");
  phantom::PhantomOptions o;
  o.seed = 11;
  phantom::generate_phantom(o, dir / "phantom");
  const fs::path out = dir / "out";
  const auto outcome = study::analyse_folder(dir / "phantom" / "dicom", out);
  ASSERT_TRUE(outcome.usable) << outcome.error;
  const auto& a = outcome.summary["analyses"][0];
  // Three SEGs, each its own series: liver and lesions, Couinaud I-VIII, the remnant.
  std::map<std::string, std::string> series_of;
  for (const auto& obj : a["objects"])
    if (obj["kind"] == "seg")
      series_of[obj["content"].get<std::string>()] = obj["series_instance_uid"].get<std::string>();
  ASSERT_EQ(series_of.size(), 3u) << a["objects"].dump(1);
  EXPECT_NE(series_of["liver_lesions"], series_of["couinaud"]);
  EXPECT_NE(series_of["couinaud"], series_of["remnant"]);
  // Every lesion has its segments, largest share first.
  ASSERT_FALSE(a["lesions"].empty());
  for (const auto& l : a["lesions"]) {
    ASSERT_TRUE(l["couinaud_segments"].is_array()) << l.dump();
    ASSERT_FALSE(l["couinaud_segments"].empty()) << l.dump();
    EXPECT_GE(l["couinaud_segments"][0]["percent"].get<double>(), 50.0 / 8);
  }
  // The remnant SEG holds the FLR the report gives (lesions excluded).
  for (const auto& obj : a["objects"]) {
    if (obj.value("content", "") != "remnant") continue;
    const double flr = a["surgical_plan"]["resections"][0]["flr_ml"].get<double>();
    EXPECT_NEAR(obj["segments"][0]["volume_ml"].get<double>(), flr, 0.01);
  }
  CHECK_WITH_DCMJS(outcome.summary_path);
  check_objects(a, out, {});
  // The PDF's first page is the results page and names the patient.
  for (const auto& obj : a["objects"]) {
    if (obj["kind"] != "pdf") continue;
    const std::string text = pdf_first_page_text(out / obj["path"].get<std::string>(), dir);
    EXPECT_NE(text.find("Liver analysis - results"), std::string::npos) << text;
    EXPECT_NE(text.find(o.patient_id), std::string::npos) << text;
    EXPECT_NE(text.find("Couinaud segment"), std::string::npos) << text;
  }
  fs::remove_all(dir);
}

// hcc-tace-1720: two HCCs, the larger reaching from V into IV and VIII. The distribution text
// agrees with the segments the lesions occupy.
TEST(ViewerResults, Hcc1720LesionSegmentsAndDistributionAgree) {
  const fs::path input = test::shared_data() / "real" / "hcc-tace-1720" / "ct";
  LIVERNODE_REQUIRE_DATA(input);
  const fs::path dir = test::make_temp_dir("livernode-viewer-1720");
  const auto outcome = study::analyse_folder(input, dir);
  ASSERT_TRUE(outcome.usable) << outcome.error;
  const auto& a = outcome.summary["analyses"][0];
  CHECK_WITH_DCMJS(outcome.summary_path);
  std::vector<std::string> source_uids;
  for (const auto& s : a["series"]) {
    source_uids.push_back(s["series_instance_uid"].get<std::string>());
    source_uids.push_back(s["study_instance_uid"].get<std::string>());
  }
  // The source has no Study Date, a patient's name in the retired form and codes of the scheme
  // GEIIS in its study attributes: all copied as they are.
  check_objects(a, dir, source_uids,
                {"needed to build DICOMDIR - Study Date", "Patient's Name  PN [1] = <RadCTTACEomics_1720>",
                 "Unrecognized defined term <GEIIS>"});
  ASSERT_FALSE(a["surgical_plan"].is_null());
  bool any_left = false;
  for (const auto& l : a["lesions"])
    for (const auto& s : l["couinaud_segments"]) {
      const std::string seg = s["segment"].get<std::string>();
      if ((seg == "II" || seg == "III" || seg == "IV") && s["percent"].get<double>() >= 10.0)
        any_left = true;
    }
  const std::string distribution = a["surgical_plan"]["distribution_evidence"].get<std::string>();
  if (any_left) {
    EXPECT_EQ(distribution.find("0 in the left"), std::string::npos) << distribution;
    EXPECT_NE(distribution.find("extends into the left hemiliver"), std::string::npos)
        << distribution;
  }
  fs::remove_all(dir);
}
