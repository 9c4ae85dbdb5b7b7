#pragma once
// What the CT and MR synthesis share: a value per tissue code (tissue table plus each lesion's
// type), the partial-volume mean of those values over a voxel's sub-points, and the truth label
// map (tissue at the voxel centre).
#include <array>
#include <cstdint>
#include <vector>

#include "lesions.h"
#include "livernode/processing/image.h"
#include "tissue_sampler.h"

namespace livernode::phantom {

using CodeTable = std::array<float, 256>;

// value_of(Tissue) for every tissue code, lesion_value_of(LesionType) for lesion k's code.
template <typename TissueValue, typename LesionValue>
CodeTable code_table(TissueValue value_of, LesionValue lesion_value_of,
                     const std::vector<Lesion>& lesions) {
  CodeTable table{};
  table.fill(0.0f);
  for (int t = 0; t < static_cast<int>(Tissue::Count); ++t)
    table[t] = static_cast<float>(value_of(static_cast<Tissue>(t)));
  for (std::size_t k = 0; k < lesions.size(); ++k)
    table[lesion_code(static_cast<int>(k))] = static_cast<float>(lesion_value_of(lesions[k].type));
  return table;
}

// A smooth excess of one tissue's value: amplitude * exp(-r^2 / (2 sigma^2)) around a centre
// given in the unshifted anatomy, applied to that tissue's share of each voxel.
struct RegionalExcess {
  TissueCode tissue = 0;
  Vec3 centre{};
  double sigma_mm = 1.0;
  double amplitude_hu = 0.0;
  Vec3 shift{};  // the acquisition's shift of the anatomy
};

// Slice k in stored order (i fastest): the mean of `table` over each voxel's sub-points (plus
// `excess` where given), into `out`.
void mean_slice(const TissueSamples& samples, std::size_t k, const CodeTable& table,
                std::vector<double>& out, const RegionalExcess* excess = nullptr);

// Truth label map: the label of the tissue at each voxel centre.
processing::LabelMap truth_labels(const TissueSamples& samples);

}  // namespace livernode::phantom
