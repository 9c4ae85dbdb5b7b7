// Tests of the synthetic multi-phase liver CT phantom (phantom/): truth volumes against the
// label maps, determinism, attenuation per phase, file naming and motion (its options, phase
// names and MetaImage I/O: tests/unit/phantom/test_phantom_options.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "livernode/phantom/phantom.h"
#include "livernode/phantom/series_reader.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using livernode::processing::Geometry;
using livernode::processing::LabelMap;
using livernode::processing::Volume;
using livernode::test::read_bytes;
using namespace livernode::phantom;
using livernode::test::eroded_stats;
using livernode::test::ErodedStats;

const Phase kPhases[] = {Phase::kNonContrast, Phase::kArterial, Phase::kPortalVenous,
                         Phase::kDelayed};

fs::path fresh_dir(const std::string& name) {
  return livernode::test::make_temp_dir("livernode-phantom-" + name);
}

nlohmann::json read_manifest(const fs::path& dir) {
  std::ifstream in(dir / "truth" / "manifest.json");
  return nlohmann::json::parse(in);
}

LabelMap labels_of(const fs::path& dir, Phase p) {
  return read_label_map_mha(dir / "truth" / (std::string("labels_") + phase_name(p) + ".mha"));
}

// Volume (mL) of the voxels whose label satisfies `pick`.
template <typename Pick>
double counted_ml(const LabelMap& labels, Pick pick) {
  const auto n = std::count_if(labels.voxels.begin(), labels.voxels.end(), pick);
  return static_cast<double>(n) * labels.geometry.voxel_volume_ml();
}

std::array<double, 3> centroid(const LabelMap& labels, std::uint8_t label) {
  std::array<double, 3> c{0, 0, 0};
  std::size_t n = 0;
  const auto& s = labels.geometry.size;
  for (std::size_t k = 0; k < s[2]; ++k) {
    for (std::size_t j = 0; j < s[1]; ++j) {
      for (std::size_t i = 0; i < s[0]; ++i) {
        if (labels.at(i, j, k) != label) continue;
        const auto p = labels.geometry.index_to_point(double(i), double(j), double(k));
        for (int a = 0; a < 3; ++a) c[a] += p[a];
        ++n;
      }
    }
  }
  for (double& v : c) v /= static_cast<double>(std::max<std::size_t>(n, 1));
  return c;
}

// The default phantom (seed 7), generated once for the whole suite.
class PhantomDefault : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fresh_dir("default");
    PhantomOptions options;
    options.seed = 7;
    truth_ = generate_phantom(options, dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static inline fs::path dir_;
  static inline PhantomTruth truth_;
};

TEST_F(PhantomDefault, WritesOneSeriesPerPhaseWithMatchingTruthMaps) {
  ASSERT_EQ(truth_.series.size(), 4u);
  const nlohmann::json manifest = read_manifest(dir_);
  std::set<std::string> series_uids;
  for (const SeriesTruth& s : truth_.series) {
    series_uids.insert(s.series_uid);
    EXPECT_EQ(s.dir, dir_ / "dicom" / phase_name(s.phase));
    const Volume hu = read_phantom_series(s.dir);
    const LabelMap labels = labels_of(dir_, s.phase);
    EXPECT_TRUE(hu.geometry.same_grid(labels.geometry)) << phase_name(s.phase);
    EXPECT_EQ(hu.geometry.size[0], 256u);
    EXPECT_GE(static_cast<double>(hu.geometry.size[2]) * hu.geometry.spacing[2], 200.0);
  }
  EXPECT_EQ(series_uids.size(), 4u);
  EXPECT_EQ(manifest["study_uid"], truth_.study_uid);
  EXPECT_EQ(manifest["frame_of_reference_uid"], truth_.frame_of_reference_uid);
  EXPECT_EQ(manifest["series"].size(), 4u);
  EXPECT_EQ(manifest["labels"]["3"].get<std::string>().rfind("inferior vena cava", 0), 0u);
  EXPECT_EQ(truth_.series[0].description, "Abdomen non-contrast");
  EXPECT_EQ(truth_.series[2].description, "Abdomen portal venous");
}

TEST_F(PhantomDefault, ManifestVolumesAgreeWithLabelMapCounts) {
  EXPECT_GT(truth_.liver_volume_ml, 1400.0);
  EXPECT_LT(truth_.liver_volume_ml, 1700.0);
  ASSERT_EQ(truth_.lesions.size(), 5u);
  double tumour = 0.0;
  for (const LesionTruth& l : truth_.lesions) tumour += l.volume_ml;
  EXPECT_NEAR(truth_.tumour_volume_ml, tumour, 1e-9);

  const nlohmann::json manifest = read_manifest(dir_);
  EXPECT_DOUBLE_EQ(manifest["liver_volume_ml"].get<double>(), truth_.liver_volume_ml);
  EXPECT_DOUBLE_EQ(manifest["tumour_volume_ml"].get<double>(), truth_.tumour_volume_ml);

  for (Phase p : kPhases) {  // no motion: every phase's map shows the same anatomy
    const LabelMap labels = labels_of(dir_, p);
    const double liver = counted_ml(labels, [](std::uint8_t v) { return labels::is_liver(v); });
    EXPECT_NEAR(liver, truth_.liver_volume_ml, 0.02 * truth_.liver_volume_ml) << phase_name(p);
    for (const LesionTruth& l : truth_.lesions) {
      const auto label = static_cast<std::uint8_t>(l.label);
      const double counted = counted_ml(labels, [label](std::uint8_t v) { return v == label; });
      EXPECT_GT(counted, 0.0) << "lesion " << l.label;
      if (l.diameter_mm >= 10.0) {
        EXPECT_NEAR(counted, l.volume_ml, 0.05 * l.volume_ml)
            << "lesion " << l.label << " " << phase_name(p);
      }
    }
    const double spleen = counted_ml(labels, [](std::uint8_t v) { return v == labels::kSpleen; });
    EXPECT_NEAR(spleen, truth_.organ_volumes_ml.at("spleen"),
                0.03 * truth_.organ_volumes_ml.at("spleen"));
  }
}

TEST_F(PhantomDefault, LesionSetMatchesTheSpecification) {
  const std::vector<std::pair<std::string, double>> expected = {{"hypervascular_washout", 30},
                                                                {"hypervascular", 18},
                                                                {"hypovascular", 35},
                                                                {"cyst", 15},
                                                                {"hypervascular", 7}};
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const LesionTruth& l = truth_.lesions[k];
    EXPECT_EQ(l.label, 10 + static_cast<int>(k));
    EXPECT_EQ(l.type, expected[k].first);
    EXPECT_DOUBLE_EQ(l.diameter_mm, expected[k].second);
    // Volume close to the sphere of the nominal diameter; longest axial diameter close to nominal.
    const double sphere_ml = 3.14159265358979 / 6.0 * std::pow(l.diameter_mm, 3) / 1000.0;
    EXPECT_NEAR(l.volume_ml, sphere_ml, 0.15 * sphere_ml);
    EXPECT_NEAR(l.longest_axial_diameter_mm, l.diameter_mm, 0.15 * l.diameter_mm);
  }
  EXPECT_LT(truth_.lesions[4].longest_axial_diameter_mm, 10.0);  // below the measurable limit
  EXPECT_LT(truth_.lesions[3].centre_lps[0], 0.0 + 100.0);
  EXPECT_GT(truth_.lesions[3].centre_lps[0], 0.0);    // cyst in the left lobe (patient left)
  EXPECT_LT(truth_.lesions[0].centre_lps[0], -50.0);  // right lobe
}

TEST_F(PhantomDefault, AttenuationFollowsThePhaseTable) {
  const nlohmann::json manifest = read_manifest(dir_);
  const std::map<Phase, double> liver_table = {{Phase::kNonContrast, 55},
                                               {Phase::kArterial, 80},
                                               {Phase::kPortalVenous, 110},
                                               {Phase::kDelayed, 90}};
  std::map<Phase, std::map<std::uint8_t, ErodedStats>> stats;
  const std::uint8_t structures[] = {labels::kLiverParenchyma,
                                     labels::kAorta,
                                     labels::kPortalVeinExtrahepatic,
                                     labels::kIvc,
                                     10,
                                     12,
                                     13};
  for (Phase p : kPhases) {
    const Volume hu = read_phantom_series(dir_ / "dicom" / phase_name(p));
    const LabelMap labels = labels_of(dir_, p);
    for (std::uint8_t s : structures) stats[p][s] = eroded_stats(hu, labels, s);

    const ErodedStats& liver = stats[p][labels::kLiverParenchyma];
    ASSERT_GT(liver.n, 10000u);
    EXPECT_NEAR(liver.mean, liver_table.at(p), 5.0) << phase_name(p);
    EXPECT_NEAR(liver.mean, manifest["attenuation_hu"][phase_name(p)]["liver"].get<double>(), 5.0);
    EXPECT_NEAR(liver.sd, 10.0, 2.0) << "noise sigma";
    EXPECT_NEAR(stats[p][13].mean, 5.0, 10.0) << "cyst stays near water";
  }
  const auto mean = [&](Phase p, std::uint8_t s) {
    EXPECT_GT(stats[p][s].n, 5u) << "label " << int(s) << " " << phase_name(p);
    return stats[p][s].mean;
  };
  // Arterial: aorta far brighter than the portal vein; hypervascular lesion brighter than liver.
  EXPECT_GT(mean(Phase::kArterial, labels::kAorta),
            mean(Phase::kArterial, labels::kPortalVeinExtrahepatic) + 100.0);
  EXPECT_GT(mean(Phase::kArterial, 10), mean(Phase::kArterial, labels::kLiverParenchyma) + 30.0);
  // Portal venous: portal vein at least as bright as the aorta, liver at its brightest.
  EXPECT_GE(mean(Phase::kPortalVenous, labels::kPortalVeinExtrahepatic),
            mean(Phase::kPortalVenous, labels::kAorta));
  for (Phase p : kPhases) {
    EXPECT_LE(mean(p, labels::kLiverParenchyma),
              mean(Phase::kPortalVenous, labels::kLiverParenchyma) + 1.0);
  }
  // Washout: the hypervascular-washout lesion is darker than the liver after the arterial phase.
  EXPECT_LT(mean(Phase::kPortalVenous, 10),
            mean(Phase::kPortalVenous, labels::kLiverParenchyma) - 10.0);
  // Hypovascular lesion darker than the liver in the portal venous phase.
  EXPECT_LT(mean(Phase::kPortalVenous, 12),
            mean(Phase::kPortalVenous, labels::kLiverParenchyma) - 30.0);
  // Non-contrast: vessels and liver without enhancement.
  EXPECT_LT(mean(Phase::kNonContrast, labels::kAorta), 60.0);
}

TEST_F(PhantomDefault, FileNamesDoNotFollowSpatialOrder) {
  const nlohmann::json manifest = read_manifest(dir_);
  for (const auto& series : manifest["series"]) {
    const auto spatial = series["files_in_spatial_order"].get<std::vector<std::string>>();
    ASSERT_EQ(spatial.size(), series["slice_count"].get<std::size_t>());
    std::vector<std::string> by_name = spatial;
    std::sort(by_name.begin(), by_name.end());
    EXPECT_NE(by_name, spatial) << series["phase"];
    std::vector<std::string> on_disk;
    for (const auto& e : fs::directory_iterator(dir_ / series["dir"].get<std::string>())) {
      on_disk.push_back(e.path().filename().string());
    }
    std::sort(on_disk.begin(), on_disk.end());
    EXPECT_EQ(on_disk, by_name);
  }
}

TEST_F(PhantomDefault, SameSeedIsByteIdenticalAndAnotherSeedChangesOnlyTheNoise) {
  const fs::path again = fresh_dir("again");
  PhantomOptions options;
  options.seed = 7;
  const PhantomTruth truth2 = generate_phantom(options, again);
  EXPECT_EQ(truth2.study_uid, truth_.study_uid);
  std::size_t compared = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    if (!e.is_regular_file()) continue;
    const fs::path other = again / fs::relative(e.path(), dir_);
    ASSERT_TRUE(fs::exists(other)) << other;
    EXPECT_TRUE(read_bytes(e.path()) == read_bytes(other)) << "differs: " << other;
    ++compared;
  }
  EXPECT_GT(compared, 4u * 80u);
  fs::remove_all(again);

  const fs::path other_seed = fresh_dir("seed8");
  options.seed = 8;
  options.phases = {Phase::kArterial};
  const PhantomTruth truth3 = generate_phantom(options, other_seed);
  EXPECT_NE(truth3.study_uid, truth_.study_uid);
  EXPECT_DOUBLE_EQ(truth3.liver_volume_ml,
                   truth_.liver_volume_ml);  // anatomy does not depend on the seed
  const Volume a = read_phantom_series(dir_ / "dicom" / "arterial");
  const Volume b = read_phantom_series(other_seed / "dicom" / "arterial");
  ASSERT_EQ(a.voxels.size(), b.voxels.size());
  std::size_t different = 0;
  double diff_sum = 0.0;
  for (std::size_t v = 0; v < a.voxels.size(); ++v) {
    different += a.voxels[v] != b.voxels[v];
    diff_sum += a.voxels[v] - b.voxels[v];
  }
  EXPECT_GT(different, a.voxels.size() / 2);                     // new noise almost everywhere
  EXPECT_LT(std::abs(diff_sum / double(a.voxels.size())), 0.5);  // same underlying image
  EXPECT_EQ(labels_of(dir_, Phase::kArterial).voxels,
            labels_of(other_seed, Phase::kArterial).voxels);
  fs::remove_all(other_seed);
}

TEST(Phantom, MotionShiftsTheAnatomyAndItsTruthMap) {
  const fs::path dir = fresh_dir("motion");
  PhantomOptions options;
  options.matrix = 128;
  options.pixel_spacing_mm = 3.0;
  options.slice_thickness_mm = 3.0;
  options.motion_mm = 8.0;
  options.phases = {Phase::kArterial, Phase::kPortalVenous};
  const PhantomTruth truth = generate_phantom(options, dir);
  ASSERT_EQ(truth.series.size(), 2u);
  const auto& shift = truth.series[0].shift_lps;
  const double length = std::sqrt(shift[0] * shift[0] + shift[1] * shift[1] + shift[2] * shift[2]);
  EXPECT_GT(length, 0.0);
  EXPECT_LE(length, 8.0 + 1e-9);
  EXPECT_EQ(truth.series[1].shift_lps, (std::array<double, 3>{0, 0, 0}));
  const auto moved = centroid(labels_of(dir, Phase::kArterial), labels::kLiverParenchyma);
  const auto still = centroid(labels_of(dir, Phase::kPortalVenous), labels::kLiverParenchyma);
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(moved[a] - still[a], shift[a], 1.0) << "axis " << a;
  fs::remove_all(dir);
}

TEST(Phantom, OptionsControlHeadersAndNaming) {
  const fs::path dir = fresh_dir("options");
  PhantomOptions options;
  options.matrix = 64;
  options.pixel_spacing_mm = 6.0;
  options.slice_thickness_mm = 5.0;
  options.slices = 12;
  options.phases = {Phase::kDelayed, Phase::kNonContrast};
  options.series_descriptions = false;
  options.contrast_tags = false;
  options.patient_size_m.reset();
  options.shuffle_file_names = false;
  const PhantomTruth truth = generate_phantom(options, dir);
  ASSERT_EQ(truth.series.size(), 2u);
  EXPECT_EQ(truth.series[0].phase, Phase::kDelayed);
  for (const SeriesTruth& s : truth.series) EXPECT_EQ(s.description, "Abdomen");
  const nlohmann::json manifest = read_manifest(dir);
  for (const auto& s : manifest["series"]) {
    EXPECT_TRUE(s["contrast_bolus_start_time"].is_null());
    const auto files = s["files_in_spatial_order"].get<std::vector<std::string>>();
    ASSERT_EQ(files.size(), 12u);
    EXPECT_EQ(files.front(), "IM0001.dcm");
    EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  }
  EXPECT_TRUE(manifest["options"]["patient_size_m"].is_null());
  const Volume hu = read_phantom_series(dir / "dicom" / "delayed");
  EXPECT_EQ(hu.geometry.size, (std::array<std::size_t, 3>{64, 64, 12}));
  fs::remove_all(dir);
}

TEST(Phantom, RemnantGrowthEnlargesTheLeftLobe) {
  PhantomOptions options;
  options.matrix = 48;
  options.pixel_spacing_mm = 8.0;
  options.slice_thickness_mm = 10.0;
  options.phases = {Phase::kPortalVenous};
  const fs::path dir = fresh_dir("growth");
  const PhantomTruth before = generate_phantom(options, dir);
  options.remnant_growth = 1.5;
  const PhantomTruth after = generate_phantom(options, dir);
  EXPECT_GT(after.liver_volume_ml, before.liver_volume_ml + 50.0);
  // Lesions keep their size (the cyst moves with the lobe; integration differs by grid alignment).
  EXPECT_NEAR(after.lesions[3].volume_ml, before.lesions[3].volume_ml,
              0.01 * before.lesions[3].volume_ml);
  EXPECT_GT(after.lesions[3].centre_lps[0], before.lesions[3].centre_lps[0]);
  fs::remove_all(dir);
}

}  // namespace
