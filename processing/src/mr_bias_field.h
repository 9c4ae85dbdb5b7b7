#pragma once
// The coil's smooth multiplicative bias field of an MR volume, estimated with N4 (Tustison et
// al., IEEE TMI 2010; ITK's N4BiasFieldCorrectionImageFilter) on a downsampled copy inside the
// body, evaluated back on the full grid and divided out.
#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct BiasCorrection {
  Volume corrected;  // the input divided by the field, same grid
  // Range of the estimated field inside the body (1 = no bias), normalised to a median of 1
  // there, so that the corrected signal keeps the input's scale.
  double field_low = 1.0, field_high = 1.0;
  double coarse_mm = 0.0;  // in-plane spacing the field was estimated on
};

// The field is estimated on a copy block-averaged to about `coarse_mm`, inside mr_body_mask of it.
BiasCorrection correct_bias_field(const Volume& volume, double coarse_mm);

// The body of an MR volume (coarse grid): signal above a tenth of the 98th percentile, the
// largest connected part, holes filled slice by slice.
LabelMap mr_body_mask(const Volume& coarse);

}  // namespace livernode::processing::detail
