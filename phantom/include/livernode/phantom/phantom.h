#pragma once
// Deterministic synthetic abdominal phantom with known truth: a multi-phase CT study or, with
// PhantomOptions::modality = kMr, an MR liver protocol of the same anatomy.
//
// generate_phantom() writes into out_dir:
//   dicom/<phase>/<hash>.dcm       one CT series per phase (file names do not follow slice order)
//   truth/labels_<phase>.mha       uint8 truth label map in exactly that series' geometry
//   truth/manifest.json            PhantomTruth, label meanings, HU table, geometry
// In MR mode the series folders and label maps are named after the acquisitions instead
// (dicom/t1_pre, dicom/t1_dyn, dicom/t2, ...; truth/labels_t1_pre.mha, ...; see mr_protocol in
// phantom/README.md) and the manifest holds the relative signal table instead of the HU table.
// The anatomy is a fixed set of analytic shapes in patient LPS millimetres (x = patient left,
// y = posterior, z = head); the seed drives the noise, the UIDs, the inter-phase motion and the
// file names. Same options => byte-identical output.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "livernode/phantom/labels.h"
#include "livernode/phantom/metaimage.h"
#include "livernode/processing/phase.h"

namespace livernode::phantom {

// The product's phase type; a phantom series never has Phase::kUnknown.
using Phase = processing::Phase;

// Phase names are processing::phase_name's: "non_contrast", "arterial", "portal_venous", "delayed".
// Inverse of phase_name(); case-insensitive, '-' and ' ' accepted for '_'. nullopt if unknown.
std::optional<Phase> parse_phase(const std::string& name);

enum class PhantomModality { kCt, kMr };
// The MR contrast agent: extracellular gadolinium (no hepatobiliary phase) or gadoxetate, taken
// up by hepatocytes, which adds a hepatobiliary phase at 20 minutes.
enum class MrAgent { kExtracellular, kGadoxetate };

const char* modality_name(PhantomModality modality);  // "ct", "mr"
const char* mr_agent_name(MrAgent agent);             // "extracellular", "gadoxetate"
// Inverses, case-insensitive; nullopt if unknown.
std::optional<PhantomModality> parse_modality(const std::string& name);
std::optional<MrAgent> parse_mr_agent(const std::string& name);

struct PhantomOptions {
  PhantomModality modality = PhantomModality::kCt;
  std::uint32_t seed = 1;
  std::size_t matrix = 256;         // rows = columns
  double pixel_spacing_mm = 1.5;    // in-plane
  double slice_thickness_mm = 2.5;  // = slice spacing
  std::size_t slices = 0;           // 0 = enough to cover the liver plus margins (>= 200 mm)
  std::vector<Phase> phases = {Phase::kNonContrast, Phase::kArterial, Phase::kPortalVenous,
                               Phase::kDelayed};
  double motion_mm = 0.0;           // max rigid shift of the anatomy between phases (from seed);
                                    // the portal venous phase is never shifted
  bool series_descriptions = true;  // false: every series is described as "Abdomen"
  bool contrast_tags = true;        // false: no ContrastBolusAgent / ContrastBolusStartTime
  std::optional<double> patient_size_m = 1.75;     // nullopt: PatientSize absent
  std::optional<double> patient_weight_kg = 75.0;  // nullopt: PatientWeight absent
  std::string patient_id = "PHANTOM-0001";
  std::string patient_name = "PHANTOM^LIVER";
  std::string study_date = "20261101";  // YYYYMMDD
  // Volume factor applied to the left lobe primitive (segments II-III and the left part of IV)
  // for follow-up studies: its three semi-axes are scaled by cbrt(remnant_growth) about its
  // attachment to the right lobe and lesions in it move along (1 = unchanged, 0.25..4 allowed).
  // The liver grows by less than the factor suggests: the primitive overlaps the right lobe and
  // is clipped by the diaphragm and the abdominal wall (1.5 adds about 95 mL). The right lobe
  // (VI-VII) is not scaled.
  double remnant_growth = 1.0;
  bool shuffle_file_names = true;  // false: IM0001.dcm... in spatial order
  // true: every phase is filed under its own StudyInstanceUID (the study UID with ".<series
  // number>" appended), as some archives do, while all keep one patient and frame of reference.
  bool study_per_phase = false;
  // Regional arterial hyperperfusion (a transient hepatic attenuation difference, a classic
  // look-alike of a hypervascular lesion): in the arterial phase only, the parenchyma of the
  // anterior right lobe around (-90, -40, -40) mm is brighter by up to this many HU, fading out
  // as a Gaussian of 18 mm with no edge. Not a lesion: the truth has none there. 0 = none.
  double arterial_hyperperfusion_hu = 0.0;

  // MR mode only (`phases`, `contrast_tags` = false aside, the CT options above do not apply
  // to the MR protocol, which always has its fixed set of acquisitions; motion_mm shifts the
  // anatomy between its breath-holds, the portal venous time point being the reference).
  MrAgent mr_agent = MrAgent::kExtracellular;
  // false: the post-contrast T1 time points form one multi-temporal series
  // (TemporalPositionIdentifier 1..N); true: one series each.
  bool mr_dynamic_per_series = false;
  // true: every series as one Enhanced MR Image Storage multi-frame object (the multi-temporal
  // series' frames = slices x time points, told apart by TemporalPositionIndex) instead of MR
  // Image Storage, one file per slice.
  bool mr_enhanced = false;
  bool mr_dixon = true;  // false: no in/opposed-phase series
};

struct LesionTruth {
  int label = 0;           // 10 + k
  std::string type;        // "hypervascular_washout", "hypervascular", "hypovascular", "cyst"
  double volume_ml = 0.0;  // integrated from the analytic shape
  std::array<double, 3> centre_lps{};      // mm, in the unshifted (portal venous) anatomy
  double diameter_mm = 0.0;                // nominal diameter of the shape
  double longest_axial_diameter_mm = 0.0;  // longest in-plane diameter over all axial sections
};

// One volume of the study: a CT series, or in MR mode one series or one time point of a
// multi-temporal series (several SeriesTruth with the same series_uid).
struct SeriesTruth {
  std::string series_uid, description;
  std::string study_uid;  // PhantomTruth::study_uid, or its own with study_per_phase
  // CT: the phase. MR: the CT phase a T1 dynamic time point corresponds to (pre-contrast =
  // non-contrast, transitional and hepatobiliary = delayed); kUnknown for the other MR series.
  Phase phase = Phase::kPortalVenous;
  std::filesystem::path dir;          // out_dir/dicom/<phase>, MR: out_dir/dicom/<acquisition>
  std::array<double, 3> shift_lps{};  // mm, rigid shift of the anatomy in this phase
  // MR only: the role the series triage should give it ("t1_dynamic", "t2", "diffusion", "adc",
  // "t1_dixon"), the sequence ("t1_vibe_fs", "t2_haste_fs", "ep2d_diff", "t1_vibe_dixon"), the
  // image ("pre", "arterial", "portal_venous", "transitional", "hepatobiliary", "t2", "b50",
  // "b800", "adc", "in_phase", "opp_phase"), its temporal position in a multi-temporal series
  // and the arbitrary scale of its stored values (no Hounsfield units).
  std::string mr_role, mr_sequence, mr_image;
  std::optional<int> temporal_position;
  double signal_scale = 1.0;
};

struct PhantomTruth {
  PhantomModality modality = PhantomModality::kCt;
  std::string study_uid, frame_of_reference_uid, patient_id;  // study_uid: see study_per_phase
  double liver_volume_ml = 0.0;   // parenchyma + intrahepatic vessels + lesions, not the IVC
  double tumour_volume_ml = 0.0;  // sum of the lesion volumes
  std::vector<LesionTruth> lesions;
  std::vector<SeriesTruth> series;
  // Per structure, integrated from the analytic shapes over the imaged slab of the unshifted
  // anatomy (keys: liver, liver_parenchyma, intrahepatic_vessels, ivc, aorta,
  // portal_vein_extrahepatic, spleen, kidneys, bone, tumour).
  std::map<std::string, double> organ_volumes_ml;
  // Couinaud segments I..VIII (index 1..8; 0 unused) of truth/labels_couinaud.mha: the segment
  // rule of processing/couinaud_planes.h with the landmarks the vessels are built from (IVC
  // axis, hepatic veins, right portal vein), voxel count x voxel volume, tumours included.
  std::array<double, 9> couinaud_volumes_ml{};
  std::string couinaud_label_map;  // relative to out_dir
};

// Throws std::runtime_error with a clear message on invalid options or I/O failure.
PhantomTruth generate_phantom(const PhantomOptions& options, const std::filesystem::path& out_dir);

}  // namespace livernode::phantom
