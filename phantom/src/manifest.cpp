#include "manifest.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "couinaud_truth.h"
#include "ct_synthesis.h"
#include "livernode/processing/surgical_planning.h"
#include "mr_signal.h"
#include "tissue.h"

namespace livernode::phantom {

namespace {

using Json = nlohmann::ordered_json;

const Phase kAllPhases[] = {Phase::kNonContrast, Phase::kArterial, Phase::kPortalVenous,
                            Phase::kDelayed};

std::string format_mm(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json options_json(const PhantomOptions& o) {
  Json phases = Json::array();
  for (Phase p : o.phases) phases.push_back(phase_name(p));
  return Json{{"seed", o.seed},
              {"matrix", o.matrix},
              {"pixel_spacing_mm", o.pixel_spacing_mm},
              {"slice_thickness_mm", o.slice_thickness_mm},
              {"slices", o.slices},
              {"phases", phases},
              {"motion_mm", o.motion_mm},
              {"series_descriptions", o.series_descriptions},
              {"contrast_tags", o.contrast_tags},
              {"patient_size_m", optional_number(o.patient_size_m)},
              {"patient_weight_kg", optional_number(o.patient_weight_kg)},
              {"patient_id", o.patient_id},
              {"patient_name", o.patient_name},
              {"study_date", o.study_date},
              {"remnant_growth", o.remnant_growth},
              {"arterial_hyperperfusion_hu", o.arterial_hyperperfusion_hu},
              {"shuffle_file_names", o.shuffle_file_names}};
}

const MrImage kMrImages[] = {
    MrImage::T1Pre,           MrImage::T1Arterial, MrImage::T1PortalVenous, MrImage::T1Transitional,
    MrImage::T1Hepatobiliary, MrImage::T2,         MrImage::DiffusionS0,    MrImage::Adc,
    MrImage::DixonWater,      MrImage::DixonFat};
const LesionType kLesionTypes[] = {LesionType::HypervascularWashout, LesionType::Hypervascular,
                                   LesionType::Hypovascular, LesionType::Cyst};

// The relative MR signal of every tissue and lesion type, per image, for the study's agent.
Json mr_signal_json(MrAgent agent) {
  Json table = Json::object();
  for (MrImage image : kMrImages) {
    if (image == MrImage::T1Hepatobiliary && agent != MrAgent::kGadoxetate) continue;
    Json row = Json::object();
    for (int t = 0; t < static_cast<int>(Tissue::Count); ++t)
      row[tissue_name(static_cast<Tissue>(t))] =
          mr_tissue_signal(static_cast<Tissue>(t), image, agent);
    for (LesionType type : kLesionTypes)
      row["lesion_" + lesion_type_name(type)] = mr_lesion_signal(type, image, agent);
    table[mr_image_key(image)] = row;
  }
  return Json{
      {"model",
       "no MR physics: a table of relative signals (arbitrary units) per tissue and image; each "
       "series multiplies them by its own arbitrary scale and a smooth coil bias field "
       "(exp of a second-order polynomial, coefficients per series) and adds Rician noise; "
       "stored values 0..4095 without rescale. Diffusion: S0 exp(-b ADC) per tissue; the ADC "
       "map is ln(S50 / S800) / 750 of the stored b images in 1e-6 mm2/s. Dixon: in phase = "
       "water + fat, opposed phase = |water - fat| per voxel."},
      {"agent", mr_agent_name(agent)},
      {"relative_signal", table}};
}

// HU of every tissue and lesion type, per phase.
Json attenuation_json() {
  Json table = Json::object();
  for (Phase p : kAllPhases) {
    Json row = Json::object();
    for (int t = 0; t < static_cast<int>(Tissue::Count); ++t) {
      row[tissue_name(static_cast<Tissue>(t))] = tissue_hu(static_cast<Tissue>(t), p);
    }
    for (LesionType type : {LesionType::HypervascularWashout, LesionType::Hypervascular,
                            LesionType::Hypovascular, LesionType::Cyst}) {
      row["lesion_" + lesion_type_name(type)] = lesion_hu(type, p);
    }
    table[phase_name(p)] = row;
  }
  return table;
}

}  // namespace

void write_manifest(const std::filesystem::path& path, const PhantomOptions& options,
                    const PhantomTruth& truth, const std::vector<SeriesRecord>& records,
                    const processing::Geometry& geometry, const std::vector<Lesion>& lesions,
                    const std::filesystem::path& out_dir) {
  Json lesion_list = Json::array();
  const bool mr = options.modality == PhantomModality::kMr;
  for (std::size_t k = 0; k < truth.lesions.size(); ++k) {
    const LesionTruth& l = truth.lesions[k];
    Json lesion{{"label", l.label},
                {"type", l.type},
                {"volume_ml", l.volume_ml},
                {"centre_lps_mm", l.centre_lps},
                {"diameter_mm", l.diameter_mm},
                {"longest_axial_diameter_mm", l.longest_axial_diameter_mm},
                {"measurable_recist", l.longest_axial_diameter_mm >= 10.0}};
    if (mr) {
      Json signal = Json::object();
      for (MrImage image : kMrImages) {
        if (image == MrImage::T1Hepatobiliary && options.mr_agent != MrAgent::kGadoxetate) continue;
        signal[mr_image_key(image)] = mr_lesion_signal(lesions[k].type, image, options.mr_agent);
      }
      lesion["relative_signal"] = signal;
    } else {
      Json hu = Json::object();
      for (Phase p : kAllPhases) hu[phase_name(p)] = lesion_hu(lesions[k].type, p);
      lesion["attenuation_hu"] = hu;
    }
    lesion_list.push_back(lesion);
  }
  Json series_list = Json::array();
  auto optional = [](const auto& v) { return v ? Json(*v) : Json(nullptr); };
  for (std::size_t s = 0; s < truth.series.size(); ++s) {
    const SeriesTruth& st = truth.series[s];
    const SeriesRecord& r = records.at(s);
    // What an MR series is first (its role in the protocol), then what every series has, then
    // the MR acquisition facts, then its files.
    Json j = Json::object();
    if (mr) {
      j["role"] = st.mr_role;
      j["sequence"] = st.mr_sequence;
      j["image"] = st.mr_image;
      j["phase"] = st.phase == Phase::kUnknown ? Json(nullptr) : Json(phase_name(st.phase));
      j["temporal_position"] = optional(st.temporal_position);
    } else {
      j["phase"] = phase_name(st.phase);
    }
    j["series_uid"] = st.series_uid;
    j["study_uid"] = st.study_uid;
    j["series_number"] = r.series_number;
    j["description"] = st.description;
    j["dir"] = std::filesystem::relative(st.dir, out_dir).generic_string();
    j["label_map"] = r.label_map;
    j["shift_lps_mm"] = st.shift_lps;
    j["acquisition_time"] = r.acquisition_time;
    j["contrast_bolus_start_time"] =
        r.contrast_start_time.empty() ? Json(nullptr) : Json(r.contrast_start_time);
    if (mr) {
      j["seconds_after_contrast"] = optional(r.seconds_after_contrast);
      j["b_value"] = optional(r.b_value);
      j["signal_scale"] = st.signal_scale;
      j["noise_sigma_relative"] = r.noise_sigma;
      j["bias_field_coefficients"] = r.bias_coefficients;
    }
    const bool frames = !r.frames_in_spatial_order.empty();  // one multi-frame object
    j["slice_count"] = frames ? r.frames_in_spatial_order.size() : r.files_in_spatial_order.size();
    j["files_in_spatial_order"] = r.files_in_spatial_order;
    if (frames) j["frames_in_spatial_order"] = r.frames_in_spatial_order;
    series_list.push_back(std::move(j));
  }
  Json label_table = Json::object();
  label_table[std::to_string(labels::kBackground)] = labels::label_description(labels::kBackground);
  for (std::uint8_t l = labels::kLiverParenchyma; l <= labels::kOtherBody; ++l) {
    label_table[std::to_string(l)] = labels::label_description(l);
  }
  for (const LesionTruth& l : truth.lesions) {
    label_table[std::to_string(l.label)] =
        "lesion " + std::to_string(l.label - labels::kFirstLesion + 1) + ": " + l.type + ", " +
        format_mm(l.diameter_mm) + " mm (part of the liver volume)";
  }

  Json doc{
      {"format", "livernode-phantom-truth"},
      {"format_version", 1},
      {"modality", modality_name(options.modality)},
      {"study_uid", truth.study_uid},
      {"frame_of_reference_uid", truth.frame_of_reference_uid},
      {"patient_id", truth.patient_id},
      {"liver_volume_ml", truth.liver_volume_ml},
      {"tumour_volume_ml", truth.tumour_volume_ml},
      {"functional_liver_volume_ml", truth.liver_volume_ml - truth.tumour_volume_ml},
      {"organ_volumes_ml", truth.organ_volumes_ml},
      {"volume_method",
       "integrated from the analytic shapes on a 2 mm grid refined to 0.5 mm at label boundaries, "
       "over the imaged slab of the unshifted anatomy; liver = labels 1, 2 and lesions"},
      {"lesions", lesion_list},
      {"series", series_list},
      {"geometry", Json{{"size", geometry.size},
                        {"spacing_mm", geometry.spacing},
                        {"origin_lps_mm", geometry.origin},
                        {"direction", geometry.direction}}},
      {"labels", label_table},
  };
  if (mr) {
    doc["mr_signal"] = mr_signal_json(options.mr_agent);
    Json o = options_json(options);
    o.erase("phases");
    o.erase("arterial_hyperperfusion_hu");
    o["modality"] = "mr";
    o["mr_agent"] = mr_agent_name(options.mr_agent);
    o["mr_dynamic_per_series"] = options.mr_dynamic_per_series;
    // Only when set: the manifest of a classic MR phantom stays as it was.
    if (options.mr_enhanced) o["mr_enhanced"] = true;
    o["mr_dixon"] = options.mr_dixon;
    doc["options"] = o;
  } else {
    doc["noise_sigma_hu"] = kNoiseSigmaHu;
    doc["attenuation_hu"] = attenuation_json();
    doc["options"] = options_json(options);
  }
  if (!truth.couinaud_label_map.empty()) {
    Json volumes = Json::object();
    for (int s = 1; s <= 8; ++s)
      volumes[processing::couinaud_roman(s)] = truth.couinaud_volumes_ml[s];
    const processing::CouinaudPlanes planes = couinaud_truth_planes();
    doc["couinaud"] =
        Json{{"label_map", truth.couinaud_label_map},
             {"labels", "1..8 = segment I..VIII, 0 outside the liver"},
             {"volumes_ml", volumes},
             {"volume_method", "voxel count of the label map x voxel volume (tumours included)"},
             {"ivc_axis_lps_mm", Json::array({planes.ivc_x, planes.ivc_y})},
             {"hepatic_vein_azimuth_deg", planes.vein_azimuth_deg},
             {"portal_plane_z_mm", planes.portal_z},
             {"caudate_top_z_mm", planes.caudate_top_z},
             {"rule",
              "vertical half-planes from the IVC axis through the right, middle and left hepatic "
              "veins, horizontal plane at the right portal vein, caudate box in front of the IVC "
              "(processing/couinaud_planes.h)"}};
  }
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << doc.dump(2) << "\n";
  out.close();
  if (!out) throw std::runtime_error("write failed: " + path.string());
}

}  // namespace livernode::phantom
