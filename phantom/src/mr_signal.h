#pragma once
// The MR mode's signal model: not MR physics but a small table of relative signals (arbitrary
// units, 0..1000) per tissue and lesion type for each image the protocol holds. The written
// series multiply these by a per-series scale and a coil bias field (mr_synthesis.h).
#include "livernode/phantom/phantom.h"
#include "tissue.h"

namespace livernode::phantom {

enum class MrImage {
  T1Pre,            // T1 fat-suppressed gradient echo before contrast
  T1Arterial,       // late arterial, ~35 s after the injection
  T1PortalVenous,   // ~70 s
  T1Transitional,   // ~3 min
  T1Hepatobiliary,  // ~20 min, gadoxetate only
  T2,               // single-shot fast spin echo, fat-suppressed
  DiffusionS0,      // echo planar signal without diffusion weighting
  Adc,              // apparent diffusion coefficient, 1e-6 mm^2/s
  DixonWater,       // water and fat signal of the (not fat-suppressed) Dixon gradient echo
  DixonFat,
  Count
};

const char* mr_image_key(MrImage image);  // "t1_pre", ..., "adc_1e-6_mm2_per_s", "dixon_fat"

double mr_tissue_signal(Tissue t, MrImage image, MrAgent agent);
double mr_lesion_signal(LesionType type, MrImage image, MrAgent agent);

}  // namespace livernode::phantom
