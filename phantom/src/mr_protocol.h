#pragma once
// The MR mode of generate_phantom(): an abdominal MR liver protocol of the phantom's anatomy,
// acquired in this order, each acquisition a breath-hold of its own (motion_mm):
//   Dixon in/opposed phase (optional), T2 single-shot FSE, diffusion b 50 / b 800 and its ADC
//   map, T1 dynamic pre-contrast, then the post-contrast T1 time points (late arterial 35 s,
//   portal venous 70 s, transitional 3 min, hepatobiliary 20 min with gadoxetate) in one
//   multi-temporal series or one series each.
// Signal from mr_signal.h's table, scale / bias / noise from mr_synthesis.h.
#include <filesystem>
#include <string>
#include <vector>

#include "manifest.h"
#include "phantom_study.h"

namespace livernode::phantom {

// Every dicom/ folder the MR protocol may write (a previous run's files are removed from them).
const std::vector<std::string>& mr_series_folders();

// Writes the series and their truth label maps (truth/labels_<acquisition>.mha) into out_dir and
// appends one SeriesTruth and SeriesRecord per volume (one per time point of a multi-temporal
// series). Writes the Couinaud truth from the unshifted portal venous time point.
void write_mr_protocol(const StudyContext& c, const std::filesystem::path& out_dir,
                       PhantomTruth& truth, std::vector<SeriesRecord>& records);

}  // namespace livernode::phantom
