#include "ct_synthesis.h"

#include <algorithm>
#include <cmath>

namespace livernode::phantom {

CodeTable phase_hu_table(Phase phase, const std::vector<Lesion>& lesions) {
  return code_table([phase](Tissue t) { return tissue_hu(t, phase); },
                    [phase](LesionType type) { return lesion_hu(type, phase); }, lesions);
}

void synthesise_slice(const TissueSamples& samples, std::size_t k, const CodeTable& hu,
                      Random& noise, double sigma, std::vector<std::int16_t>& out,
                      const RegionalExcess* excess) {
  thread_local std::vector<double> mean;
  mean_slice(samples, k, hu, mean, excess);
  out.resize(mean.size());
  for (std::size_t n = 0; n < mean.size(); ++n) {
    const double value = mean[n] + sigma * noise.gaussian();
    out[n] = static_cast<std::int16_t>(std::clamp(std::lround(value), -1024L, 3071L));
  }
}

}  // namespace livernode::phantom
