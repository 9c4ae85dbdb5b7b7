// The result objects as a radiologist's viewer reads them: every SEG loaded with dcmjs's
// Cornerstone adapter against the source images as one label map holding the voxel counts of
// summary.json, the SR's volumes, RECIST polylines and segment references found by dcmjs
// (tests/js/check_results.js), dciodvfy without errors or warnings of our own on every object
// (SEGs, SR, summary images, PDF), each lesion's Couinaud segments in summary.json, the SR and on
// the results page, and the PDF's first page rendered (pdftoppm) and read (pdftotext) as the
// results page naming the patient.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "dicom_checks.h"
#include "livernode/phantom/phantom.h"
#include "livernode/study/study_analysis.h"
#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;

namespace {

const fs::path kChecker = fs::path(LIVERNODE_SOURCE_DIR) / "tests" / "js" / "check_results.js";

// Runs the dcmjs checker on an analysis output; skips when Node.js is not installed.
#define CHECK_WITH_DCMJS(summary)                                                                \
  do {                                                                                           \
    if (test::run_command("command -v node").status != 0)                                        \
      GTEST_SKIP() << "node (Node.js) is not installed: scripts/install-deps.sh installs it";    \
    ASSERT_TRUE(fs::exists(kChecker.parent_path() / "node_modules" / "dcmjs"))                   \
        << "dcmjs is not installed in tests/js: run scripts/install-deps.sh (npm ci there)";     \
    const auto checked =                                                                         \
        test::run_command("node '" + kChecker.string() + "' '" + (summary).string() + "' 2>&1"); \
    std::cout << checked.output;                                                                 \
    EXPECT_EQ(checked.status, 0) << checked.output;                                              \
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
    for (const auto& part : inherited)
      from_source = from_source || line.find(part) != std::string::npos;
    if (!from_source) out.push_back(line);
  }
  return out;
}

// The PDF inside an Encapsulated PDF object, written to `work`/report.pdf.
fs::path extract_pdf(const fs::path& dicom_pdf, const fs::path& work) {
  const fs::path pdf = work / "report.pdf";
  test::run_command("dcm2pdf '" + dicom_pdf.string() + "' '" + pdf.string() + "'");
  return pdf;
}

std::string pdf_first_page_text(const fs::path& pdf) {
  return test::run_command("pdftotext -f 1 -l 1 '" + pdf.string() + "' - 2>&1").output;
}

// A grey image: `width` x `height` values 0..255, row by row.
struct GreyImage {
  int width = 0, height = 0;
  std::vector<double> grey;
  double at(int x, int y) const { return grey[static_cast<std::size_t>(y) * width + x]; }
};

// A binary PGM (P5, 8 bit) as pdftoppm -gray writes it; empty when unreadable.
GreyImage read_pgm(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string magic;
  int width = 0, height = 0, maxval = 0;
  in >> magic >> width >> height >> maxval;
  in.get();  // the single white space before the raster
  GreyImage image;
  if (magic != "P5" || width <= 0 || height <= 0 || maxval != 255) return image;
  std::vector<char> raw(static_cast<std::size_t>(width) * height);
  if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size()))) return image;
  image.width = width, image.height = height;
  for (char c : raw) image.grey.push_back(static_cast<unsigned char>(c));
  return image;
}

// Page `page` of `pdf` rendered by poppler at 72 dpi (one pixel per point), in grey.
GreyImage render_pdf_page(const fs::path& pdf, int page, const fs::path& work) {
  const fs::path prefix = work / ("page-" + std::to_string(page));
  const auto r = test::run_command("pdftoppm -f " + std::to_string(page) + " -l " +
                                   std::to_string(page) + " -r 72 -gray -singlefile '" +
                                   pdf.string() + "' '" + prefix.string() + "' 2>&1");
  EXPECT_EQ(r.status, 0) << r.output;
  return read_pgm(prefix.string() + ".pgm");
}

// The share of pixels brighter than mid-grey (text on the pages' black ground).
double ink(const GreyImage& image) {
  std::size_t bright = 0;
  for (double v : image.grey) bright += v > 128;
  return image.grey.empty() ? 0.0 : static_cast<double>(bright) / image.grey.size();
}

// A word of a PDF page's text layer and its box in points (pdftotext -bbox).
struct PdfWord {
  double x0, y0, x1, y1;
  std::string text;
};

std::vector<PdfWord> pdf_words(const fs::path& pdf, int page) {
  const std::string html =
      test::run_command("pdftotext -f " + std::to_string(page) + " -l " + std::to_string(page) +
                        " -bbox '" + pdf.string() + "' - 2>/dev/null")
          .output;
  static const std::regex word(
      R"re(<word xMin="([-0-9.]+)" yMin="([-0-9.]+)" xMax="([-0-9.]+)" yMax="([-0-9.]+)">)re"
      R"re(([^<]*)</word>)re");
  std::vector<PdfWord> words;
  for (std::sregex_iterator it(html.begin(), html.end(), word), end; it != end; ++it) {
    const auto& m = *it;
    words.push_back({std::stod(m[1]), std::stod(m[2]), std::stod(m[3]), std::stod(m[4]), m[5]});
  }
  return words;
}

// The first word `text` of `words`, or nullptr.
const PdfWord* find_word(const std::vector<PdfWord>& words, const std::string& text) {
  for (const auto& w : words)
    if (w.text == text) return &w;
  return nullptr;
}

// The PDF's first page, rendered by poppler, is the results page: the page size the writer draws
// it at (1024 x 768 points, where a key image page is 768 x 866), neither blank nor flooded, every
// word of its text layer drawn where the layer puts it and nothing drawn elsewhere (fonts
// embedded, no stray image), the findings (lesions with their Couinaud segments, volumes) above
// the methods' small print, which is set at the foot of the page in smaller type; and its text,
// in reading order, names the patient and gives the findings before the small print.
void check_pdf_first_page(const fs::path& dicom_pdf, const std::string& patient_id,
                          const fs::path& work) {
  const fs::path pdf = extract_pdf(dicom_pdf, work);
  const GreyImage page = render_pdf_page(pdf, 1, work);
  ASSERT_EQ(page.width, 1024) << "first page rendered " << page.width << " x " << page.height;
  ASSERT_EQ(page.height, 768);
  const double page_ink = ink(page);
  EXPECT_GT(page_ink, 0.005) << "the first page is (nearly) blank";
  EXPECT_LT(page_ink, 0.25) << "the first page is not text on the dark page ground";

  // Every word drawn in its box (at 72 dpi a point is a pixel); no ink outside the words.
  const auto words = pdf_words(pdf, 1);
  ASSERT_GE(words.size(), 50u) << "the first page has almost no text layer";
  std::vector<bool> in_words(page.grey.size(), false);
  std::size_t drawn = 0;
  for (const auto& w : words) {
    const int x0 = std::max(0, static_cast<int>(w.x0)), y0 = std::max(0, static_cast<int>(w.y0));
    const int x1 = std::min(page.width, static_cast<int>(std::ceil(w.x1)));
    const int y1 = std::min(page.height, static_cast<int>(std::ceil(w.y1)));
    std::size_t bright = 0, all = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) bright += page.at(x, y) > 100, ++all;
    drawn += all > 0 && bright >= 0.03 * all;
    for (int y = std::max(0, y0 - 2); y < std::min(page.height, y1 + 2); ++y)
      for (int x = std::max(0, x0 - 2); x < std::min(page.width, x1 + 2); ++x)
        in_words[static_cast<std::size_t>(y) * page.width + x] = true;
  }
  std::size_t stray = 0;
  for (std::size_t i = 0; i < page.grey.size(); ++i) stray += !in_words[i] && page.grey[i] > 100;
  const double drawn_share = static_cast<double>(drawn) / words.size();
  const double stray_share = static_cast<double>(stray) / page.grey.size();
  std::cout << "PDF page 1: " << page.width << " x " << page.height << " px, ink "
            << 100.0 * page_ink << " %, " << words.size() << " words, " << 100.0 * drawn_share
            << " % of them drawn in their box, " << 100.0 * stray_share
            << " % of the page inked outside the words\n";
  EXPECT_GE(drawn_share, 0.95) << "the text layer is not what the page shows";
  EXPECT_LT(stray_share, 0.002) << "the page shows more than its text";

  // Findings above the small print, which sits at the foot in smaller type.
  const PdfWord* lesions = find_word(words, "Lesions");
  const PdfWord* volumes = find_word(words, "Volumes");
  const PdfWord* phases = find_word(words, "Phases:");
  ASSERT_TRUE(lesions && volumes && phases) << "headings or small print missing";
  EXPECT_LT(lesions->y0, volumes->y0);
  EXPECT_LT(volumes->y0, phases->y0);
  EXPECT_GT(phases->y0, page.height - 160) << "the small print is not at the foot of the page";
  EXPECT_LT(phases->y1 - phases->y0, 0.6 * (lesions->y1 - lesions->y0))
      << "the small print is not smaller than the headings";

  const std::string text = pdf_first_page_text(pdf);
  EXPECT_NE(text.find(patient_id), std::string::npos) << text;
  const auto at = [&text](const std::string& what) { return text.find(what); };
  const std::size_t title = at("Liver analysis - results"), table = at("Couinaud segment"),
                    liver = at("Total liver volume"), small_print = at("Phases:");
  ASSERT_NE(title, std::string::npos) << text;
  ASSERT_NE(table, std::string::npos) << text;
  ASSERT_NE(liver, std::string::npos) << text;
  ASSERT_NE(small_print, std::string::npos) << text;
  EXPECT_LT(title, table) << text;
  EXPECT_LT(table, liver) << text;
  EXPECT_LT(liver, small_print) << "the findings come before the method small print\n" << text;
}

// The Patient ID an object carries ("" when unreadable).
std::string patient_id_of(const fs::path& file) {
  DcmFileFormat format;
  OFString id;
  if (format.loadFile(file.c_str()).good())
    format.getDataset()->findAndGetOFString(DCM_PatientID, id);
  return id.c_str();
}

// Checks the first page of the PDF object of `analysis`; there must be exactly one.
void check_pdf_of(const nlohmann::json& analysis, const fs::path& out,
                  const std::string& patient_id, const fs::path& work) {
  int pdfs = 0;
  for (const auto& obj : analysis["objects"]) {
    if (obj["kind"] != "pdf") continue;
    ++pdfs;
    check_pdf_first_page(out / obj["path"].get<std::string>(), patient_id, work);
  }
  EXPECT_EQ(pdfs, 1);
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
  // The PDF's first page is the results page, rendered and read.
  check_pdf_of(a, out, o.patient_id, dir);
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
  check_objects(
      a, dir, source_uids,
      {"needed to build DICOMDIR - Study Date", "Patient's Name  PN [1] = <RadCTTACEomics_1720>",
       "Unrecognized defined term <GEIIS>"});
  // Its PDF opens on the results page too, naming the patient of the source.
  const fs::path pdf_work = dir / "pdf";
  fs::create_directories(pdf_work);
  check_pdf_of(a, dir, patient_id_of(dir / a["objects"][0]["path"].get<std::string>()), pdf_work);
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
