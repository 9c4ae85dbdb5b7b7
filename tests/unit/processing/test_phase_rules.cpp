// The phase rules on the attenuation of the landmarks (CLINICAL.md's phase table) and the words
// of the header, one case per rule.
#include <gtest/gtest.h>

#include "phase_classifier.h"

namespace livernode::test {

using processing::Phase;
using processing::detail::classify_phase;
using processing::detail::phase_from_header;
using processing::detail::PhaseMeasurements;

namespace {

PhaseMeasurements measured(double aorta, double portal_vein, double liver) {
  PhaseMeasurements m;
  m.aorta_hu = aorta;
  m.portal_vein_hu = portal_vein;
  m.liver_hu = liver;
  return m;
}

processing::SeriesHints described(const char* description) {
  processing::SeriesHints h;
  h.description = description;
  return h;
}

}  // namespace

TEST(PhaseRules, HeaderWordsAreFoundBetweenUnderscoresAndDots) {
  EXPECT_EQ(phase_from_header(described("11_AP_Ax5.00mm")), Phase::kArterial);
  EXPECT_EQ(phase_from_header(described("21_PP_Ax5.00mm")), Phase::kPortalVenous);
  EXPECT_EQ(phase_from_header(described("31_EQP_Ax5.00mm")), Phase::kDelayed);
  EXPECT_EQ(phase_from_header(described("Abdomen 1.0 B30f")), Phase::kUnknown);
  EXPECT_EQ(phase_from_header(described("")), Phase::kUnknown);
  // A word that merely contains the letters is no evidence.
  EXPECT_EQ(phase_from_header(described("CAPTURE")), Phase::kUnknown);
}

TEST(PhaseRules, EarlyArterialHasTheAortaFarAboveTheLiver) {
  EXPECT_EQ(classify_phase(measured(320, 140, 62), {}).phase, Phase::kArterial);
}

// The portal vein already enhances but stays far below the aorta, and the liver has not yet
// reached its portal venous attenuation: late arterial, whatever the header says.
TEST(PhaseRules, LateArterialIsArterial) {
  const auto e = classify_phase(measured(163, 122, 55), described("AP"));
  EXPECT_EQ(e.phase, Phase::kArterial);
  EXPECT_NE(e.evidence.find("late arterial"), std::string::npos) << e.evidence;
  EXPECT_NE(e.evidence.find("the header agrees"), std::string::npos) << e.evidence;
  EXPECT_EQ(classify_phase(measured(163, 122, 55), {}).phase, Phase::kArterial);
  // Without a portal vein measurement the header's word decides between late arterial and
  // portal venous when the aorta is far above a liver that is not yet enhanced.
  PhaseMeasurements no_vein = measured(163, 0, 55);
  no_vein.portal_vein_hu.reset();
  EXPECT_EQ(classify_phase(no_vein, described("11_AP_Ax5.00mm")).phase, Phase::kArterial);
  EXPECT_EQ(classify_phase(no_vein, {}).phase, Phase::kPortalVenous);
}

TEST(PhaseRules, PortalVenousHasThePortalVeinAsBrightAsTheAorta) {
  EXPECT_EQ(classify_phase(measured(170, 185, 115), {}).phase, Phase::kPortalVenous);
  // A weak bolus: the aorta below the portal venous range, the portal vein clearly above it.
  EXPECT_EQ(classify_phase(measured(115, 143, 88), {}).phase, Phase::kPortalVenous);
}

TEST(PhaseRules, DelayedHasVesselsAndLiverConverging) {
  EXPECT_EQ(classify_phase(measured(116, 112, 94), {}).phase, Phase::kDelayed);
  EXPECT_EQ(classify_phase(measured(108, 117, 91), {}).phase, Phase::kDelayed);
}

TEST(PhaseRules, UnenhancedAortaIsNonContrast) {
  EXPECT_EQ(classify_phase(measured(42, 40, 58), {}).phase, Phase::kNonContrast);
}

}  // namespace livernode::test
