// The result objects: a SEG that reads back voxel for voxel onto the source grid, that pydicom
// and dciodvfy accept, on the phantom (files shuffled against spatial order) and on real CT;
// a TID 1500 SR whose liver volume matches the SEG; summary secondary captures.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "dicom_checks.h"
#include "livernode/dicom/result_writers.h"
#include "livernode/dicom/segmentation_reader.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/phantom/metaimage.h"
#include "livernode/phantom/phantom.h"
#include "livernode/study/study_analysis.h"
#include "livernode/version.h"
#include "orthanc_peer.h"
#include "test_support.h"

using namespace livernode;
using livernode::test::dciodvfy_errors;
namespace fs = std::filesystem;

namespace {

// Output (stdout + stderr) of a shell command.
std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return "cannot run " + command;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  pclose(pipe);
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

dicom::WriterIdentity identity() {
  dicom::WriterIdentity id;
  id.product = kProductName;
  id.version = kVersion;
  id.disclaimer = "Research use only. Not for diagnostic use.";
  return id;
}

// The lesion measurements the summary and the SR need, taken from a label map the way the
// analysis would report them (largest axial extent along x on the slice of largest area).
processing::LesionResult lesion_from_labels(const processing::LabelMap& labels, int number,
                                            const processing::Volume& volume) {
  processing::LesionResult l;
  l.number = number;
  const auto& g = labels.geometry;
  std::size_t count = 0, best_k = 0, best_area = 0;
  double sum = 0, sum2 = 0;
  processing::Vec3 c{0, 0, 0};
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    std::size_t area = 0;
    for (std::size_t j = 0; j < g.size[1]; ++j) {
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        if (labels.at(i, j, k) != number) continue;
        ++count;
        ++area;
        const double hu = volume.at(i, j, k);
        sum += hu;
        sum2 += hu * hu;
        const auto p = g.index_to_point(i, j, k);
        for (int a = 0; a < 3; ++a) c[a] += p[a];
      }
    }
    if (area > best_area) best_area = area, best_k = k;
  }
  l.volume_ml = count * g.voxel_volume_ml();
  if (count) {
    for (int a = 0; a < 3; ++a) c[a] /= count;
    l.mean_hu = sum / count;
    l.sd_hu = std::sqrt(std::max(0.0, sum2 / count - l.mean_hu * l.mean_hu));
  }
  l.centroid_lps = c;
  l.axial_slice = best_k;
  long min_i = -1, max_i = -1, min_j = -1, max_j = -1;
  for (std::size_t j = 0; j < g.size[1]; ++j) {
    for (std::size_t i = 0; i < g.size[0]; ++i) {
      if (labels.at(i, j, best_k) != number) continue;
      if (min_i < 0 || static_cast<long>(i) < min_i) min_i = i;
      if (static_cast<long>(i) > max_i) max_i = i;
      if (min_j < 0 || static_cast<long>(j) < min_j) min_j = j;
      if (static_cast<long>(j) > max_j) max_j = j;
    }
  }
  const double ci = 0.5 * (min_i + max_i), cj = 0.5 * (min_j + max_j);
  l.long_axis = {g.index_to_point(min_i, cj, best_k), g.index_to_point(max_i, cj, best_k)};
  l.short_axis = {g.index_to_point(ci, min_j, best_k), g.index_to_point(ci, max_j, best_k)};
  l.longest_diameter_mm = (max_i - min_i + 1) * g.spacing[0];
  l.short_axis_mm = (max_j - min_j + 1) * g.spacing[1];
  l.measurable = l.longest_diameter_mm >= 10.0;
  l.type = processing::LesionType::kUnknown;
  return l;
}

// An AnalysisResult on the grid of `volume` with the given liver mask and lesion label map
// (voxel = lesion number), as processing::analyse would return it.
processing::AnalysisResult result_from_masks(const std::string& series_uid,
                                             const processing::Volume& volume,
                                             processing::LabelMap liver,
                                             processing::LabelMap lesions, int lesion_count) {
  processing::AnalysisResult r;
  processing::SeriesAnalysis sa;
  sa.series_uid = series_uid;
  sa.phase.phase = processing::Phase::kPortalVenous;
  sa.phase.confidence = 0.9;
  r.series.push_back(sa);
  r.reference_series = 0;
  std::size_t liver_voxels = 0;
  double hu = 0;
  for (std::size_t v = 0; v < liver.voxels.size(); ++v) {
    if (liver.voxels[v]) ++liver_voxels, hu += volume.voxels[v];
  }
  r.liver = processing::LiverResult{liver_voxels * volume.geometry.voxel_volume_ml(),
                                    liver_voxels ? hu / liver_voxels : 0.0, "test truth"};
  r.liver_mask = std::move(liver);
  double tumour = 0;
  for (int n = 1; n <= lesion_count; ++n) {
    r.lesions.push_back(lesion_from_labels(lesions, n, volume));
    tumour += r.lesions.back().volume_ml;
  }
  r.lesion_labels = std::move(lesions);
  processing::Volumetry v;
  v.liver_ml = r.liver->volume_ml;
  v.tumour_ml = tumour;
  v.functional_ml = v.liver_ml - tumour;
  v.burden_percent = v.liver_ml > 0 ? 100.0 * tumour / v.liver_ml : 0.0;
  v.lesion_count = lesion_count;
  r.volumetry = v;
  return r;
}

std::size_t count_on(const processing::LabelMap& m) {
  std::size_t n = 0;
  for (auto v : m.voxels) n += v != 0;
  return n;
}

// Reads the SEG back onto the source grid and checks every segment voxel for voxel against the
// masks it was written from (minus voxels of interpolated slices, which the SEG leaves out).
void expect_seg_reads_back(const fs::path& file, const dicom::WrittenSegmentation& written,
                           const dicom::LoadedVolume& loaded,
                           const processing::AnalysisResult& result) {
  const auto& grid = loaded.volume.geometry;
  const auto read = dicom::read_segmentation(file, grid);
  EXPECT_TRUE(read.warnings.empty()) << join(read.warnings);
  ASSERT_EQ(read.segments.size(), written.segments.size());
  for (const auto& ws : written.segments) {
    SCOPED_TRACE(ws.label);
    const auto it = std::find_if(read.segments.begin(), read.segments.end(),
                                 [&](const auto& s) { return s.number == ws.number; });
    ASSERT_NE(it, read.segments.end());
    EXPECT_EQ(it->label, ws.label);
    EXPECT_EQ(it->algorithm_type, "AUTOMATIC");
    std::size_t mismatches = 0, expected_on = 0;
    for (std::size_t k = 0; k < grid.size[2]; ++k) {
      const bool has_source = loaded.source_slice[k] >= 0;
      for (std::size_t j = 0; j < grid.size[1]; ++j) {
        for (std::size_t i = 0; i < grid.size[0]; ++i) {
          // The liver segment is the liver without its lesions: no voxel is in two segments.
          const bool lesion =
              !result.lesion_labels.empty() && result.lesion_labels.at(i, j, k) != 0;
          bool want = ws.lesion_number == 0 ? result.liver_mask.at(i, j, k) != 0 && !lesion
                                            : result.lesion_labels.at(i, j, k) == ws.lesion_number;
          want = want && has_source;
          expected_on += want;
          if (want != (it->mask.at(i, j, k) != 0)) ++mismatches;
        }
      }
    }
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(expected_on, ws.voxels);
    EXPECT_GT(ws.voxels, 0u);
  }
}

// Frame count and segment numbers as pydicom sees them.
void expect_pydicom_agrees(const fs::path& file, const dicom::WrittenSegmentation& written) {
  const std::string script =
      "import pydicom,sys\n"
      "d=pydicom.dcmread(sys.argv[1])\n"
      "segs=sorted(int(s.SegmentNumber) for s in d.SegmentSequence)\n"
      "used=sorted(set(int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber) for f in "
      "d.PerFrameFunctionalGroupsSequence))\n"
      "a=d.pixel_array\n"
      "print('frames', int(d.NumberOfFrames), len(d.PerFrameFunctionalGroupsSequence), "
      "a.shape[0] if a.ndim==3 else 1)\n"
      "print('segments', ','.join(map(str,segs)))\n"
      "print('used', ','.join(map(str,used)))\n"
      "print('on', int(a.sum()))\n";
  const fs::path py = file.parent_path() / "check_seg.py";
  std::ofstream(py) << script;
  const std::string out = run("/usr/bin/python3 '" + py.string() + "' '" + file.string() + "'");
  const std::string n = std::to_string(written.frames);
  EXPECT_NE(out.find("frames " + n + " " + n + " " + n), std::string::npos) << out;
  std::string numbers;
  std::size_t voxels = 0;
  for (const auto& s : written.segments) {
    numbers += (numbers.empty() ? "" : ",") + std::to_string(s.number);
    voxels += s.voxels;
  }
  EXPECT_NE(out.find("segments " + numbers + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("used " + numbers + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("on " + std::to_string(voxels) + "\n"), std::string::npos) << out;
}

// Patient and study attributes of a DICOM file as dcmdump prints them.
std::map<std::string, std::string> header_values(const fs::path& file) {
  std::map<std::string, std::string> v;
  for (const char* tag : {"PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                          "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber",
                          "ReferringPhysicianName", "StudyID", "FrameOfReferenceUID"}) {
    v[tag] = run(std::string("dcmdump -q -s +P ") + tag + " '" + file.string() +
                 "' | head -1 | "
                 "sed -e 's/^([^)]*) [A-Z][A-Z] //' -e 's/ *#.*$//'");
  }
  return v;
}

std::string sr_lines(const fs::path& file);
double sr_value(const std::string& lines, const std::string& tracking, const std::string& code);

class PhantomWriters : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::make_temp_dir("livernode-writers"));
    phantom::PhantomOptions o = test::small_portal_venous_phantom(11);
    o.shuffle_file_names = true;  // file order differs from spatial order
    truth_ = new phantom::PhantomTruth(phantom::generate_phantom(o, *dir_ / "phantom"));
    const auto scan = dicom::scan_directory(*dir_ / "phantom" / "dicom");
    ASSERT_EQ(scan.series.size(), 1u);
    series_ = new dicom::SeriesInfo(scan.series.front());
    loaded_ = new dicom::LoadedVolume(dicom::load_volume(*series_));
    const auto labels =
        phantom::read_label_map_mha(*dir_ / "phantom" / "truth" / "labels_portal_venous.mha");
    processing::LabelMap liver(labels.geometry, 0), lesions(labels.geometry, 0);
    for (std::size_t v = 0; v < labels.voxels.size(); ++v) {
      const int l = labels.voxels[v];
      if (l == 1 || l == 2 || l >= 10) liver.voxels[v] = 1;
      if (l >= 10) lesions.voxels[v] = static_cast<std::uint8_t>(l - 10 + 1);
    }
    int lesion_count = 0;
    for (auto v : lesions.voxels) lesion_count = std::max<int>(lesion_count, v);
    result_ = new processing::AnalysisResult(result_from_masks(
        series_->series_uid, loaded_->volume, std::move(liver), std::move(lesions), lesion_count));
  }
  static void TearDownTestSuite() {
    // LIVERNODE_KEEP_TEST_OUTPUT=1 keeps the written objects for a look with a viewer.
    if (std::getenv("LIVERNODE_KEEP_TEST_OUTPUT")) {
      std::cout << "kept " << dir_->string() << "\n";
    } else {
      fs::remove_all(*dir_);
    }
    delete dir_;
    delete truth_;
    delete series_;
    delete loaded_;
    delete result_;
  }
  static fs::path* dir_;
  static phantom::PhantomTruth* truth_;
  static dicom::SeriesInfo* series_;
  static dicom::LoadedVolume* loaded_;
  static processing::AnalysisResult* result_;
};
fs::path* PhantomWriters::dir_ = nullptr;
phantom::PhantomTruth* PhantomWriters::truth_ = nullptr;
dicom::SeriesInfo* PhantomWriters::series_ = nullptr;
dicom::LoadedVolume* PhantomWriters::loaded_ = nullptr;
processing::AnalysisResult* PhantomWriters::result_ = nullptr;

}  // namespace

TEST_F(PhantomWriters, SegReadsBackVoxelForVoxelAndValidates) {
  // The phantom's files are named by hash: file order is not slice order.
  std::vector<std::string> names;
  for (const auto& s : series_->slices) names.push_back(s.file.filename().string());
  EXPECT_FALSE(std::is_sorted(names.begin(), names.end()));
  ASSERT_GE(result_->lesions.size(), 1u);

  const fs::path file = *dir_ / "out" / "seg.dcm";
  const auto written = dicom::write_segmentation(*series_, *loaded_, *result_, identity(), file);
  ASSERT_TRUE(fs::exists(file));
  EXPECT_EQ(written.segments.size(), 1 + result_->lesions.size());
  EXPECT_EQ(written.segments.front().label, "Liver");
  EXPECT_EQ(written.omitted_interpolated_voxels, 0u);
  // The liver segment is the parenchyma: the liver without its lesions.
  std::size_t parenchyma = 0;
  for (std::size_t p = 0; p < result_->liver_mask.voxels.size(); ++p)
    parenchyma += result_->liver_mask.voxels[p] && !result_->lesion_labels.voxels[p];
  EXPECT_EQ(written.segments.front().voxels, parenchyma);
  expect_seg_reads_back(file, written, *loaded_, *result_);
  expect_pydicom_agrees(file, written);
  const auto errors = dciodvfy_errors(file);
  EXPECT_TRUE(errors.empty()) << join(errors);

  // Same patient, study and frame of reference as the source; a new series.
  const auto src = header_values(series_->slices.front().file);
  const auto seg = header_values(file);
  for (const auto& [tag, value] : src) EXPECT_EQ(seg.at(tag), value) << tag;
  EXPECT_NE(src.at("PatientName"), "\n");
  EXPECT_NE(written.object.series_instance_uid, series_->series_uid);
}

TEST_F(PhantomWriters, SegLeavesOutInterpolatedSlicesAndSaysSo) {
  // Pretend the loader interpolated slice k: it has no source image to reference.
  dicom::LoadedVolume gap = *loaded_;
  std::size_t k = 0;
  for (; k < gap.source_slice.size(); ++k) {
    bool any = false;
    for (std::size_t j = 0; j < gap.volume.geometry.size[1] && !any; ++j)
      for (std::size_t i = 0; i < gap.volume.geometry.size[0] && !any; ++i)
        any = result_->liver_mask.at(i, j, k) != 0;
    if (any) break;
  }
  ASSERT_LT(k, gap.source_slice.size());
  gap.source_slice[k] = -1;
  const fs::path file = *dir_ / "gap" / "seg.dcm";
  const auto written = dicom::write_segmentation(*series_, gap, *result_, identity(), file);
  EXPECT_GT(written.omitted_interpolated_voxels, 0u);
  ASSERT_EQ(written.warnings.size(), 1u);
  expect_seg_reads_back(file, written, gap, *result_);
}

TEST_F(PhantomWriters, SegWithoutLesionsHasTheLiverOnly) {
  processing::AnalysisResult r = *result_;
  r.lesions.clear();
  r.lesion_labels = processing::LabelMap();
  const fs::path file = *dir_ / "nolesion" / "seg.dcm";
  const auto written = dicom::write_segmentation(*series_, *loaded_, r, identity(), file);
  ASSERT_EQ(written.segments.size(), 1u);
  expect_seg_reads_back(file, written, *loaded_, r);
  EXPECT_TRUE(dciodvfy_errors(file).empty());
}

TEST(RealWriters, SegAndSrOfTheHccTruthReadBackAndValidate) {
  for (const std::string case_name : {"hcc-tace-0697", "hcc-tace-1720"}) {
    const auto root = test::shared_data() / "real" / case_name;
    LIVERNODE_REQUIRE_DATA(root);
    SCOPED_TRACE(case_name);
    const auto scan = dicom::scan_directory(root / "ct" / "31_EQP_Ax5.00mm");
    ASSERT_EQ(scan.series.size(), 1u);
    const auto& series = scan.series.front();
    const auto loaded = dicom::load_volume(series);
    const auto& grid = loaded.volume.geometry;
    // The manual truth, placed by position, stands in for the analysis result.
    const auto liver_truth =
        dicom::read_segmentation(root / "truth" / "31_EQP_Ax5.00mm_ManualROI_Liver.dcm", grid);
    const auto tumour_truth =
        dicom::read_segmentation(root / "truth" / "31_EQP_Ax5.00mm_ManualROI_Tumor.dcm", grid);
    ASSERT_FALSE(liver_truth.segments.empty());
    ASSERT_FALSE(tumour_truth.segments.empty());
    processing::LabelMap liver = liver_truth.segments.front().mask;
    processing::LabelMap lesions(grid, 0);
    for (std::size_t v = 0; v < lesions.voxels.size(); ++v) {
      if (tumour_truth.segments.front().mask.voxels[v]) lesions.voxels[v] = 1, liver.voxels[v] = 1;
    }
    const auto result = result_from_masks(series.series_uid, loaded.volume, std::move(liver),
                                          std::move(lesions), 1);
    const auto dir = test::make_temp_dir("livernode-writers-real");
    const fs::path file = dir / "seg.dcm";
    const auto written = dicom::write_segmentation(series, loaded, result, identity(), file);
    EXPECT_EQ(written.segments.size(), 2u);
    expect_seg_reads_back(file, written, loaded, result);
    expect_pydicom_agrees(file, written);
    // The TCIA UIDs have a root dciodvfy does not accept; they are the study's own and are kept.
    const auto errors = dciodvfy_errors(file, {series.study_uid, series.series_uid});
    EXPECT_TRUE(errors.empty()) << join(errors);
    const auto src = header_values(series.slices.front().file);
    const auto seg = header_values(file);
    for (const auto& [tag, value] : src) EXPECT_EQ(seg.at(tag), value) << tag;
    // The SR over the same SEG: valid, and its liver volume is the SEG's.
    const auto sr = dicom::write_measurement_report(series, loaded, result, written, identity(),
                                                    dir / "sr.dcm");
    const std::string dump = run("dsrdump '" + sr.file.string() + "'");
    EXPECT_EQ(dump.find("W: "), std::string::npos) << dump.substr(0, 2000);
    EXPECT_EQ(dump.find("E: "), std::string::npos) << dump.substr(0, 2000);
    const auto sr_errors = dciodvfy_errors(sr.file, {series.study_uid, series.series_uid});
    EXPECT_TRUE(sr_errors.empty()) << join(sr_errors);
    const double seg_ml = written.segments.front().voxels * grid.voxel_volume_ml();
    const double sr_ml = sr_value(sr_lines(sr.file), "Liver", "118565006");
    EXPECT_NEAR(sr_ml, seg_ml, 0.005 * seg_ml);
    std::cout << case_name << ": SR liver volume " << sr_ml << " mL, SEG " << seg_ml << " mL\n";
    fs::remove_all(dir);
  }
}

namespace {

// Every measurement group of a TID 1500 SR as "group <tracking id> <segment sop>:<number>" and
// "num <tracking id> <code> <value> <unit>" lines, read with pydicom (a code is its Code Value, or
// its Long Code Value for the product's concepts).
std::string sr_lines(const fs::path& file) {
  const std::string script =
      "import pydicom,sys\n"
      "d=pydicom.dcmread(sys.argv[1])\n"
      "code=lambda s: s[0].get('CodeValue') or s[0].get('LongCodeValue')\n"
      "print('sop', d.SOPClassUID, d.StudyInstanceUID, d.PatientID)\n"
      "for c in d.ContentSequence:\n"
      "  if code(c.ConceptNameCodeSequence)!='126010': continue\n"
      "  for g in c.ContentSequence:\n"
      "    items=list(g.ContentSequence)\n"
      "    tid=[x.TextValue for x in items if code(x.ConceptNameCodeSequence)=='112039'][0]\n"
      "    for x in items:\n"
      "      if x.ValueType=='IMAGE':\n"
      "        r=x.ReferencedSOPSequence[0]\n"
      "        print('group', tid.replace(' ','_'), "
      "r.ReferencedSOPInstanceUID+':'+str(r.ReferencedSegmentNumber))\n"
      "      if x.ValueType=='NUM':\n"
      "        m=x.MeasuredValueSequence[0]\n"
      "        print('num', tid.replace(' ','_'), code(x.ConceptNameCodeSequence), "
      "m.NumericValue, code(m.MeasurementUnitsCodeSequence))\n";
  const fs::path py = file.parent_path() / "check_sr.py";
  std::ofstream(py) << script;
  return run("/usr/bin/python3 '" + py.string() + "' '" + file.string() + "'");
}

// The code (Long Code Value) of the product's own concept `n` in the SR.
std::string product(int n) { return dicom::product_concept_oid(n); }

// The value of "num <tracking id> <code> <value> <unit>", NaN if absent.
double sr_value(const std::string& lines, const std::string& tracking, const std::string& code) {
  std::istringstream in(lines);
  for (std::string kind, t, c, v, u; in >> kind;) {
    if (kind != "num") {
      std::getline(in, t);
      continue;
    }
    in >> t >> c >> v >> u;
    if (t == tracking && c == code) return std::stod(v);
  }
  return std::nan("");
}

}  // namespace

TEST_F(PhantomWriters, SrMeasuresEverySegmentAndMatchesTheSegVolume) {
  const fs::path dir = *dir_ / "sr";
  const auto seg =
      dicom::write_segmentation(*series_, *loaded_, *result_, identity(), dir / "seg.dcm");
  const auto sr = dicom::write_measurement_report(*series_, *loaded_, *result_, seg, identity(),
                                                  dir / "sr.dcm");
  ASSERT_TRUE(fs::exists(sr.file));
  // dsrdump reads it without a warning or error; dciodvfy finds no error.
  const std::string dump = run("dsrdump +Pl '" + sr.file.string() + "'");
  EXPECT_EQ(dump.find("W: "), std::string::npos) << dump.substr(0, 3000);
  EXPECT_EQ(dump.find("E: "), std::string::npos) << dump.substr(0, 3000);
  EXPECT_NE(dump.find("Imaging Measurement Report"), std::string::npos);
  const auto errors = dciodvfy_errors(sr.file);
  EXPECT_TRUE(errors.empty()) << join(errors);

  const std::string lines = sr_lines(sr.file);
  EXPECT_NE(lines.find("sop 1.2.840.10008.5.1.4.1.1.88.34 " + series_->study_uid),
            std::string::npos)
      << lines;
  // One group per segment, each pointing at its segment of the SEG.
  for (const auto& s : seg.segments) {
    std::string id = s.tracking_id;
    std::replace(id.begin(), id.end(), ' ', '_');
    EXPECT_NE(lines.find("group " + id + " " + seg.object.sop_instance_uid + ":" +
                         std::to_string(s.number)),
              std::string::npos)
        << lines;
  }
  // The liver volume in the SR is the SEG's voxel count times the voxel volume (within 0.5 %).
  const auto read = dicom::read_segmentation(seg.object.file, loaded_->volume.geometry);
  const auto liver = std::find_if(read.segments.begin(), read.segments.end(),
                                  [](const auto& s) { return s.label == "Liver"; });
  ASSERT_NE(liver, read.segments.end());
  const double seg_ml = count_on(liver->mask) * loaded_->volume.geometry.voxel_volume_ml();
  const double sr_ml = sr_value(lines, "Liver", "118565006");
  EXPECT_NEAR(sr_ml, seg_ml, 0.005 * seg_ml) << lines;
  std::cout << "SR liver volume " << sr_ml << " mL, SEG " << seg_ml << " mL\n";
  // Lesion 1: volume, diameters in mm, attenuation in HU.
  const auto& l1 = result_->lesions.front();
  EXPECT_NEAR(sr_value(lines, "Lesion_1", "118565006"), l1.volume_ml, 0.01);
  EXPECT_NEAR(sr_value(lines, "Lesion_1", "103339001"), l1.longest_diameter_mm, 0.05);
  EXPECT_NEAR(sr_value(lines, "Lesion_1", "112181"), l1.mean_hu, 0.05);
  EXPECT_NE(lines.find("num Lesion_1 103339001"), std::string::npos);
  EXPECT_NE(lines.find(" mm\n"), std::string::npos);
  EXPECT_NE(lines.find(" [hnsf'U]\n"), std::string::npos);
  // Study-level volumetry.
  EXPECT_NEAR(sr_value(lines, "Liver_volumetry", product(3)), result_->volumetry->burden_percent,
              0.01);
}

TEST_F(PhantomWriters, SrWithoutVolumetrySaysSoInWords) {
  processing::AnalysisResult r = *result_;
  r.lesions.clear();
  r.lesion_labels = processing::LabelMap();
  r.volumetry.reset();
  r.stages.push_back({"lesions", false, "lesion detection is not available yet"});
  const fs::path dir = *dir_ / "sr-novol";
  const auto seg = dicom::write_segmentation(*series_, *loaded_, r, identity(), dir / "seg.dcm");
  const auto sr =
      dicom::write_measurement_report(*series_, *loaded_, r, seg, identity(), dir / "sr.dcm");
  const std::string dump = run("dsrdump +Pl '" + sr.file.string() + "'");
  EXPECT_NE(dump.find("not computed: lesion detection is not available yet"), std::string::npos)
      << dump.substr(dump.size() > 3000 ? dump.size() - 3000 : 0);
  EXPECT_EQ(dump.find("W: "), std::string::npos);
  EXPECT_TRUE(dciodvfy_errors(sr.file).empty());
}

TEST_F(PhantomWriters, SummaryImagesAreValidRgbSecondaryCaptures) {
  const fs::path dir = *dir_ / "summary";
  const auto images = dicom::write_summary_images(*series_, *loaded_, *result_, identity(), dir);
  // The largest liver section, each lesion's RECIST slice (some may share one), the results page.
  std::set<std::size_t> slices;
  for (const auto& l : result_->lesions) slices.insert(l.axial_slice);
  ASSERT_GE(images.size(), 2u);
  EXPECT_LE(images.size(), slices.size() + 2);
  const auto src = header_values(series_->slices.front().file);
  for (const auto& image : images) {
    SCOPED_TRACE(image.file.string());
    EXPECT_EQ(image.kind, "summary");
    const auto errors = dciodvfy_errors(image.file);
    EXPECT_TRUE(errors.empty()) << join(errors);
    const std::string dump = run("dcmdump -q '" + image.file.string() + "'");
    EXPECT_NE(dump.find("[WSD]"), std::string::npos);
    EXPECT_NE(dump.find("(0028,0301) CS [YES]"), std::string::npos);
    EXPECT_NE(dump.find("[RGB]"), std::string::npos);
    EXPECT_NE(dump.find("=SecondaryCaptureImageStorage"), std::string::npos);
    const auto sc = header_values(image.file);
    for (const char* tag : {"PatientName", "PatientID", "StudyInstanceUID", "AccessionNumber"}) {
      EXPECT_EQ(sc.at(tag), src.at(tag)) << tag;
    }
  }
  EXPECT_EQ(images.back().file.filename().string(),
            "summary-0" + std::to_string(images.size()) + ".dcm");
  // The key image is not blank: dcm2pnm renders it and it holds outline colours.
  const std::string png = (dir / "key.ppm").string();
  run("dcm2pnm --write-raw-pnm '" + images.front().file.string() + "' '" + png + "'");
  EXPECT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 768u * 848u * 3u);
}

TEST_F(PhantomWriters, AnalyzeFolderWritesAndListsTheResultObjects) {
  const fs::path out = *dir_ / "analyze-out";
  const auto outcome = study::analyse_folder(*dir_ / "phantom" / "dicom", out);
  ASSERT_TRUE(outcome.usable) << outcome.error;
  std::ifstream in(outcome.summary_path);
  const auto summary = nlohmann::json::parse(in);
  ASSERT_EQ(summary["analyses"].size(), 1u);
  const auto& a = summary["analyses"][0];
  ASSERT_FALSE(a["liver"].is_null());
  std::map<std::string, int> kinds;
  std::string seg_path;
  for (const auto& o : a["objects"]) {
    const fs::path file = out / o["path"].get<std::string>();
    EXPECT_TRUE(fs::exists(file)) << file;
    EXPECT_FALSE(o["sop_instance_uid"].get<std::string>().empty());
    ++kinds[o["kind"].get<std::string>()];
    if (o["kind"] == "seg" && o["content"] == "liver_lesions") seg_path = file.string();
    const auto errors = dciodvfy_errors(file);
    EXPECT_TRUE(errors.empty()) << file << "\n" << join(errors);
  }
  // The liver and lesions SEG, and with Couinaud segments also theirs and the remnant's.
  EXPECT_EQ(kinds["seg"], a["couinaud"].is_null() ? 1 : 3);
  EXPECT_EQ(kinds["sr"], 1);
  EXPECT_GE(kinds["summary"], 2);  // at least the largest liver section and the results page
  EXPECT_EQ(kinds["pdf"], 1);
  EXPECT_EQ(outcome.objects.size(), a["objects"].size());
  // What the writers say of each object (the node queues it for sending from this alone) is
  // what the file holds.
  const std::map<std::string, std::string> kind_of_class = {
      {UID_SegmentationStorage, "seg"},
      {UID_Comprehensive3DSRStorage, "sr"},
      {UID_ComprehensiveSRStorage, "sr"},
      {UID_SecondaryCaptureImageStorage, "summary"},
      {UID_EncapsulatedPDFStorage, "pdf"}};
  for (const auto& o : outcome.objects) {
    DcmFileFormat ff;
    ASSERT_TRUE(ff.loadFile(OFFilename(o.file.c_str())).good()) << o.file;
    OFString sop_class, sop_instance, series;
    ff.getDataset()->findAndGetOFString(DCM_SOPClassUID, sop_class);
    ff.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, sop_instance);
    ff.getDataset()->findAndGetOFString(DCM_SeriesInstanceUID, series);
    EXPECT_EQ(o.sop_class_uid, sop_class.c_str()) << o.file;
    EXPECT_EQ(o.sop_instance_uid, sop_instance.c_str()) << o.file;
    EXPECT_EQ(o.series_instance_uid, series.c_str()) << o.file;
    EXPECT_EQ(o.transfer_syntax_uid, DcmXfer(ff.getDataset()->getOriginalXfer()).getXferID())
        << o.file;
    ASSERT_TRUE(kind_of_class.count(o.sop_class_uid)) << o.sop_class_uid;
    EXPECT_EQ(o.kind, kind_of_class.at(o.sop_class_uid)) << o.file;
  }
  EXPECT_EQ(fs::path(seg_path).parent_path().filename().string(), "1");
  // The SEG's liver parenchyma and lesions together are the volume the summary reports.
  ASSERT_FALSE(seg_path.empty());
  const auto read = dicom::read_segmentation(seg_path, loaded_->volume.geometry);
  ASSERT_FALSE(read.segments.empty());
  std::size_t on = 0;
  for (const auto& segment : read.segments) on += count_on(segment.mask);
  const double seg_ml = on * loaded_->volume.geometry.voxel_volume_ml();
  const double reported = a["liver"]["volume_ml"].get<double>();
  EXPECT_NEAR(seg_ml, reported, 0.005 * reported);
}

TEST_F(PhantomWriters, OrthancFilesSegSrSummaryAndPdfUnderTheSourcePatientAndStudy) {
  const fs::path dir = *dir_ / "orthanc-objects";
  const auto seg =
      dicom::write_segmentation(*series_, *loaded_, *result_, identity(), dir / "seg.dcm");
  const auto sr = dicom::write_measurement_report(*series_, *loaded_, *result_, seg, identity(),
                                                  dir / "sr.dcm");
  const auto summary = dicom::write_summary_images(*series_, *loaded_, *result_, identity(), dir);
  const auto pdf =
      dicom::write_summary_pdf(*series_, *loaded_, *result_, identity(), dir / "summary-pdf.dcm");
  std::vector<dicom::WrittenObject> objects{seg.object, sr, pdf};
  objects.insert(objects.end(), summary.begin(), summary.end());

  auto pacs = test::OrthancPeer::start(*dir_ / "orthanc");
  const std::string peer =
      "-aec " + pacs->ae_title() + " 127.0.0.1 " + std::to_string(pacs->dicom_port());
  std::string files = "'" + series_->slices.front().file.string() + "'";
  for (const auto& o : objects) files += " '" + o.file.string() + "'";
  // -R: propose exactly the SOP classes of the files (SEG is not in storescu's default list).
  const auto store = test::run_command("storescu -R -aet LIVERNODE " + peer + " " + files);
  ASSERT_EQ(store.status, 0) << store.output;

  const auto ids = pacs->instances();
  ASSERT_EQ(ids.size(), objects.size() + 1);
  EXPECT_EQ(pacs->get("/patients").size(), 1u);
  EXPECT_EQ(pacs->get("/studies").size(), 1u);
  std::set<std::string> patients, studies, sops;
  for (const auto& id : ids) {
    patients.insert(pacs->get("/instances/" + id + "/patient")["ID"].get<std::string>());
    studies.insert(pacs->get("/instances/" + id + "/study")["ID"].get<std::string>());
    const auto tags = pacs->tags(id);
    sops.insert(tags["SOPInstanceUID"].get<std::string>());
    EXPECT_EQ(tags["StudyInstanceUID"].get<std::string>(), series_->study_uid);
    EXPECT_EQ(tags["PatientID"].get<std::string>(), series_->patient.id);
  }
  EXPECT_EQ(patients.size(), 1u);
  EXPECT_EQ(studies.size(), 1u);
  for (const auto& o : objects) EXPECT_EQ(sops.count(o.sop_instance_uid), 1u) << o.kind;
}

TEST(RealWriters, SegOfAnEnhancedMultiFrameCtReferencesEachFrame) {
  const auto file = test::shared_data() / "reference" / "pydicom-data" / "eCT_Supplemental.dcm";
  LIVERNODE_REQUIRE_DATA(file);
  const auto scan = dicom::scan_files({file});
  ASSERT_EQ(scan.series.size(), 1u);
  const auto& series = scan.series.front();
  ASSERT_TRUE(series.multiframe);
  const auto loaded = dicom::load_volume(series);
  // Soft tissue (0..200 HU) stands in for the liver.
  processing::LabelMap liver(loaded.volume.geometry, 0);
  for (std::size_t v = 0; v < liver.voxels.size(); ++v) {
    liver.voxels[v] = loaded.volume.voxels[v] > 0 && loaded.volume.voxels[v] < 200;
  }
  const auto result = result_from_masks(series.series_uid, loaded.volume, std::move(liver),
                                        processing::LabelMap(), 0);
  const auto dir = test::make_temp_dir("livernode-writers-ect");
  const auto written =
      dicom::write_segmentation(series, loaded, result, identity(), dir / "seg.dcm");
  expect_seg_reads_back(written.object.file, written, loaded, result);
  expect_pydicom_agrees(written.object.file, written);
  const auto errors = dciodvfy_errors(written.object.file);
  EXPECT_TRUE(errors.empty()) << join(errors);
  // Every frame names the source instance and its frame number.
  const std::string dump = run("dcmdump -q +P 0008,1160 '" + written.object.file.string() + "'");
  EXPECT_NE(dump.find("IS [1]"), std::string::npos) << dump;
  EXPECT_NE(dump.find("IS [2]"), std::string::npos) << dump;
  // The SR and the summary images handle a multi-frame source too.
  const auto sr =
      dicom::write_measurement_report(series, loaded, result, written, identity(), dir / "sr.dcm");
  const std::string sr_dump = run("dsrdump '" + sr.file.string() + "'");
  EXPECT_EQ(sr_dump.find("W: "), std::string::npos) << sr_dump.substr(0, 2000);
  EXPECT_TRUE(dciodvfy_errors(sr.file).empty());
  for (const auto& image : dicom::write_summary_images(series, loaded, result, identity(), dir)) {
    EXPECT_TRUE(dciodvfy_errors(image.file).empty()) << image.file;
  }
  fs::remove_all(dir);
}

TEST_F(PhantomWriters, SummaryPdfIsAValidEncapsulatedPdf) {
  const fs::path file = *dir_ / "pdf" / "summary.dcm";
  const auto pdf = dicom::write_summary_pdf(*series_, *loaded_, *result_, identity(), file);
  EXPECT_EQ(pdf.kind, "pdf");
  const auto errors = dciodvfy_errors(file);
  EXPECT_TRUE(errors.empty()) << join(errors);
  // The document pydicom extracts is a PDF with the results page and the key images.
  const std::string script =
      "import pydicom,sys,re\n"
      "d=pydicom.dcmread(sys.argv[1])\n"
      "b=bytes(d.EncapsulatedDocument)[:int(d.EncapsulatedDocumentLength)]\n"
      "print(d.MIMETypeOfEncapsulatedDocument, b[:5].decode(), b.rstrip()[-5:].decode(),\n"
      "      len(re.findall(rb'/Type\\s*/Page[^s]', b)))\n";
  const fs::path py = file.parent_path() / "check_pdf.py";
  std::ofstream(py) << script;
  const std::string out = run("/usr/bin/python3 '" + py.string() + "' '" + file.string() + "'");
  std::set<std::size_t> slices;
  for (const auto& l : result_->lesions) slices.insert(l.axial_slice);
  EXPECT_NE(out.find("application/pdf %PDF- %%EOF"), std::string::npos) << out;
  const int pages = std::atoi(out.substr(out.rfind(' ') + 1).c_str());
  EXPECT_GE(pages, 2) << out;
  EXPECT_LE(pages, static_cast<int>(slices.size()) + 2) << out;
  const auto src = header_values(series_->slices.front().file);
  const auto doc = header_values(file);
  for (const char* tag : {"PatientName", "PatientID", "StudyInstanceUID", "AccessionNumber"}) {
    EXPECT_EQ(doc.at(tag), src.at(tag)) << tag;
  }
}

namespace {

// The ALPPS course of the clinical notes: after the first stage, 14 days later, the remnant of a
// left trisectionectomy (I, VI-VII) grew from 328 to 504 mL and FLR / ESLV from 24 to 38 %.
processing::FollowUpComparison alpps_follow_up() {
  processing::FollowUpComparison f;
  f.prior_study_uid = "1.2.826.0.1.3680043.8.498.1";
  f.prior_study_date = "20260101";
  f.study_date = "20260115";
  f.interval_days = 14;
  f.total_liver_ml = processing::FollowUpChange{1500, 1600};
  f.functional_liver_ml = processing::FollowUpChange{1450, 1550};
  processing::FollowUpRemnant r;
  r.key = "left_trisectionectomy";
  r.name = "left trisectionectomy";
  r.segments = "I, VI-VII";
  r.flr_ml = {328, 504};
  r.percent = {24, 38};
  r.hypertrophy_points = 14;
  r.growth_points_per_week = 7;
  f.remnants.push_back(r);
  processing::FollowUpLesion l;
  l.number_before = 2;
  l.number_after = 1;
  l.distance_mm = 5;
  l.longest_diameter_mm = {30, 33};
  l.volume_ml = {10, 12};
  f.lesions.push_back(l);
  f.lesions_not_found_again = {3};
  f.new_lesions = {2};
  f.recist_target_lesions = 2;
  f.recist_sum_mm = {90, 81};
  f.statements = {"left trisectionectomy: FLR I, VI-VII 328 -> 504 mL"};
  return f;
}

}  // namespace

// The follow-up in the SR: prior study, interval, volumes before and after, degree of
// hypertrophy and kinetic growth rate, the lesion found again and the RECIST sum; valid for
// dsrdump and dciodvfy. The results page and the PDF carry it and stay valid.
TEST_F(PhantomWriters, FollowUpInTheSrAndOnTheResultsPage) {
  processing::AnalysisResult r = *result_;
  r.follow_up = alpps_follow_up();
  const fs::path dir = *dir_ / "follow-up";
  const auto seg = dicom::write_segmentation(*series_, *loaded_, r, identity(), dir / "seg.dcm");
  const auto sr =
      dicom::write_measurement_report(*series_, *loaded_, r, seg, identity(), dir / "sr.dcm");
  const std::string dump = run("dsrdump +Pl '" + sr.file.string() + "'");
  EXPECT_EQ(dump.find("W: "), std::string::npos) << dump.substr(0, 3000);
  EXPECT_EQ(dump.find("E: "), std::string::npos) << dump.substr(0, 3000);
  EXPECT_NE(dump.find("study 1.2.826.0.1.3680043.8.498.1 of 20260101, 14 days earlier"),
            std::string::npos);
  EXPECT_NE(dump.find("lesion 1 is lesion 2 of the prior study"), std::string::npos);
  EXPECT_NE(dump.find("not found again: 3; new: 2"), std::string::npos);
  const auto errors = dciodvfy_errors(sr.file);
  EXPECT_TRUE(errors.empty()) << join(errors);

  const std::string lines = sr_lines(sr.file);
  const std::string liver = "Follow-up:_liver", flr = "Follow-up:_FLR_left_trisectionectomy";
  EXPECT_EQ(sr_value(lines, liver, product(32)), 14.0) << lines;
  EXPECT_EQ(sr_value(lines, liver, product(33)), 1500.0);
  EXPECT_EQ(sr_value(lines, liver, "118565006"), 1600.0);
  EXPECT_NEAR(sr_value(lines, liver, product(42)), 6.7, 1e-9);
  EXPECT_EQ(sr_value(lines, liver, product(44)), 90.0);
  EXPECT_EQ(sr_value(lines, liver, product(45)), 81.0);
  EXPECT_EQ(sr_value(lines, liver, product(46)), -10.0);
  EXPECT_EQ(sr_value(lines, flr, product(35)), 328.0);
  EXPECT_EQ(sr_value(lines, flr, product(11)), 504.0);
  EXPECT_EQ(sr_value(lines, flr, product(36)), 24.0);
  EXPECT_EQ(sr_value(lines, flr, product(13)), 38.0);
  EXPECT_EQ(sr_value(lines, flr, product(38)), 14.0);
  EXPECT_EQ(sr_value(lines, flr, product(39)), 7.0);
  EXPECT_NE(lines.find("num " + flr + " " + product(39) + " 7.00 %/wk"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("num " + liver + " " + product(32) + " 14 d"), std::string::npos) << lines;
  EXPECT_EQ(sr_value(lines, "Follow-up:_lesion_1", product(40)), 30.0);
  EXPECT_EQ(sr_value(lines, "Follow-up:_lesion_1", "103339001"), 33.0);
  EXPECT_EQ(sr_value(lines, "Follow-up:_lesion_1", product(41)), 10.0);
  // The report without a follow-up has none of it.
  const auto plain = dicom::write_measurement_report(*series_, *loaded_, *result_, seg, identity(),
                                                     dir / "plain.dcm");
  EXPECT_EQ(sr_lines(plain.file).find("Follow-up"), std::string::npos);

  const auto images = dicom::write_summary_images(*series_, *loaded_, r, identity(), dir / "page");
  ASSERT_FALSE(images.empty());
  for (const auto& image : images) {
    const auto e = dciodvfy_errors(image.file);
    EXPECT_TRUE(e.empty()) << image.file << "\n" << join(e);
  }
  const auto pdf = dicom::write_summary_pdf(*series_, *loaded_, r, identity(), dir / "pdf.dcm");
  const auto pdf_errors = dciodvfy_errors(pdf.file);
  EXPECT_TRUE(pdf_errors.empty()) << join(pdf_errors);
}

// An earlier analysis that cannot be used: the SR says there is no comparison, and why.
TEST_F(PhantomWriters, FollowUpUnavailableIsSaidInTheSr) {
  processing::AnalysisResult r = *result_;
  r.follow_up = processing::FollowUpComparison{};
  r.follow_up->unavailable_reason = "the results of study 1.2.3 (job 4) were purged by retention";
  const fs::path dir = *dir_ / "follow-up-none";
  const auto seg = dicom::write_segmentation(*series_, *loaded_, r, identity(), dir / "seg.dcm");
  const auto sr =
      dicom::write_measurement_report(*series_, *loaded_, r, seg, identity(), dir / "sr.dcm");
  const std::string dump = run("dsrdump +Pl '" + sr.file.string() + "'");
  EXPECT_NE(dump.find("not made: the results of study 1.2.3 (job 4) were purged by retention"),
            std::string::npos)
      << dump.substr(dump.size() > 3000 ? dump.size() - 3000 : 0);
  EXPECT_EQ(dump.find("W: "), std::string::npos);
  EXPECT_EQ(sr_lines(sr.file).find("Follow-up"), std::string::npos);
  EXPECT_TRUE(dciodvfy_errors(sr.file).empty());
  for (const auto& image : dicom::write_summary_images(*series_, *loaded_, r, identity(), dir)) {
    EXPECT_TRUE(dciodvfy_errors(image.file).empty()) << image.file;
  }
}

namespace {
// Rewrites every file under `dir` with `tags` emptied in the dataset; the meta header is kept.
void blank_in_dataset(const fs::path& dir, const std::vector<DcmTagKey>& tags) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    DcmFileFormat file;
    ASSERT_TRUE(file.loadFile(entry.path().c_str()).good()) << entry.path();
    file.loadAllDataIntoMemory();  // the file is overwritten below
    for (const auto& tag : tags) file.getDataset()->putAndInsertString(tag, "");
    ASSERT_TRUE(file.saveFile(entry.path().c_str(), EXS_Unknown, EET_ExplicitLength, EGL_recalcGL,
                              EPD_noChange, 0, 0, EWM_dontUpdateMeta)
                    .good())
        << entry.path();
  }
}
}  // namespace

// Some anonymised files keep their SOP Class and Instance UIDs only in the meta header: the
// results are written all the same, and valid. Files whose Study Instance UID is blank cannot
// have results filed with them: the measurements are in summary.json, no DICOM object is
// written, and the report says why.
TEST(SourceUids, OnlyInTheMetaHeaderOrBlankAreHandled) {
  const fs::path dir = test::make_temp_dir("livernode-blank-uids");
  phantom::generate_phantom(test::small_portal_venous_phantom(12), dir / "phantom");
  fs::copy(dir / "phantom" / "dicom", dir / "meta-only", fs::copy_options::recursive);
  fs::copy(dir / "phantom" / "dicom", dir / "no-study", fs::copy_options::recursive);
  blank_in_dataset(dir / "meta-only", {DCM_SOPClassUID, DCM_SOPInstanceUID});
  blank_in_dataset(dir / "no-study", {DCM_StudyInstanceUID});

  {
    const auto outcome = study::analyse_folder(dir / "meta-only", dir / "out-meta-only");
    ASSERT_TRUE(outcome.usable) << outcome.error;
    std::ifstream in(outcome.summary_path);
    const auto a = nlohmann::json::parse(in)["analyses"][0];
    std::map<std::string, int> kinds;
    for (const auto& o : a["objects"]) {
      ++kinds[o["kind"].get<std::string>()];
      const fs::path file = dir / "out-meta-only" / o["path"].get<std::string>();
      const auto errors = dciodvfy_errors(file);
      EXPECT_TRUE(errors.empty()) << file << "\n" << join(errors);
    }
    EXPECT_EQ(kinds["seg"], a["couinaud"].is_null() ? 1 : 3);
    EXPECT_EQ(kinds["sr"], 1);
    EXPECT_EQ(kinds["pdf"], 1);
  }
  {
    const auto outcome = study::analyse_folder(dir / "no-study", dir / "out-no-study");
    ASSERT_TRUE(outcome.usable) << outcome.error;
    std::ifstream in(outcome.summary_path);
    const auto a = nlohmann::json::parse(in)["analyses"][0];
    EXPECT_TRUE(a["objects"].empty());
    EXPECT_FALSE(a["liver"].is_null());
    EXPECT_NE(a["warnings"].dump().find("no Study Instance UID"), std::string::npos)
        << a["warnings"].dump();
  }
  fs::remove_all(dir);
}
