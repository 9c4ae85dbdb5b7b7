// The synthetic liver CT phantom (phantom/) without generating a study: invalid options are
// refused, phase names round-trip, and its MetaImage label maps keep geometry and voxels.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "livernode/phantom/phantom.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using livernode::processing::Geometry;
using livernode::processing::LabelMap;
using livernode::test::read_bytes;
using namespace livernode::phantom;

const Phase kPhases[] = {Phase::kNonContrast, Phase::kArterial, Phase::kPortalVenous,
                         Phase::kDelayed};

fs::path fresh_dir(const std::string& name) {
  return livernode::test::make_temp_dir("livernode-phantom-" + name);
}

TEST(Phantom, RejectsInvalidOptions) {
  const fs::path dir = fresh_dir("invalid");
  PhantomOptions options;
  options.phases = {Phase::kArterial, Phase::kArterial};
  EXPECT_THROW(generate_phantom(options, dir), std::runtime_error);
  options = PhantomOptions{};
  options.study_date = "2026-11-01";
  EXPECT_THROW(generate_phantom(options, dir), std::runtime_error);
  options = PhantomOptions{};
  options.phases.clear();
  EXPECT_THROW(generate_phantom(options, dir), std::runtime_error);
  fs::remove_all(dir);
}

TEST(Phantom, PhaseNamesRoundTrip) {
  for (Phase p : kPhases) EXPECT_EQ(parse_phase(phase_name(p)), p);
  EXPECT_EQ(parse_phase("Portal-Venous"), Phase::kPortalVenous);
  EXPECT_STREQ(phase_name(Phase::kNonContrast), "non_contrast");
  EXPECT_FALSE(parse_phase("venous").has_value());
}

TEST(Phantom, MetaImageRoundTripKeepsGeometryAndVoxels) {
  Geometry g;
  g.size = {5, 4, 3};
  g.spacing = {0.7, 0.8, 2.5};
  g.origin = {-10.5, 20.25, 3.0};
  g.direction = {0, 1, 0, -1, 0, 0, 0, 0, 1};  // columns: i -> -y... a 90 degree rotation
  LabelMap labels(g);
  for (std::size_t v = 0; v < labels.voxels.size(); ++v)
    labels.voxels[v] = static_cast<std::uint8_t>(v * 7);
  const fs::path dir = fresh_dir("mha");
  fs::create_directories(dir);
  write_label_map_mha(labels, dir / "x.mha");
  const LabelMap back = read_label_map_mha(dir / "x.mha");
  EXPECT_TRUE(back.geometry.same_grid(g, 1e-12));
  EXPECT_EQ(back.voxels, labels.voxels);
  const std::string text = read_bytes(dir / "x.mha");
  EXPECT_NE(text.find("TransformMatrix = 0 -1 0 1 0 0 0 0 1\n"), std::string::npos);
  EXPECT_NE(text.find("ElementType = MET_UCHAR\nElementDataFile = LOCAL\n"), std::string::npos);
  EXPECT_THROW(read_label_map_mha(dir / "missing.mha"), std::runtime_error);
  fs::remove_all(dir);
}

}  // namespace

TEST(Phantom, ModalityAndMrAgentNamesRoundTrip) {
  for (PhantomModality m : {PhantomModality::kCt, PhantomModality::kMr})
    EXPECT_EQ(parse_modality(modality_name(m)), m);
  for (MrAgent a : {MrAgent::kExtracellular, MrAgent::kGadoxetate})
    EXPECT_EQ(parse_mr_agent(mr_agent_name(a)), a);
  EXPECT_EQ(parse_modality("MR"), PhantomModality::kMr);
  EXPECT_FALSE(parse_modality("pet").has_value());
  EXPECT_FALSE(parse_mr_agent("iodine").has_value());
  EXPECT_EQ(PhantomOptions{}.modality, PhantomModality::kCt);
}

TEST(Phantom, MrRefusesTheCtOnlyOptions) {
  const fs::path dir = fresh_dir("mr-invalid");
  PhantomOptions options;
  options.modality = PhantomModality::kMr;
  options.arterial_hyperperfusion_hu = 30.0;
  EXPECT_THROW(generate_phantom(options, dir), std::runtime_error);
  options.arterial_hyperperfusion_hu = 0.0;
  options.study_per_phase = true;
  EXPECT_THROW(generate_phantom(options, dir), std::runtime_error);
  fs::remove_all(dir);
}
