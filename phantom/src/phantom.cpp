#include "livernode/phantom/phantom.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>
#include <stdexcept>

#include "anatomy.h"
#include "couinaud_truth.h"
#include "ct_series_writer.h"
#include "ct_synthesis.h"
#include "image_geometry.h"
#include "manifest.h"
#include "mr_protocol.h"
#include "phantom_study.h"
#include "random.h"
#include "tissue_sampler.h"
#include "truth_volumes.h"
#include "uids.h"

namespace livernode::phantom {

namespace {

namespace fs = std::filesystem;

const Phase kAllPhases[] = {Phase::kNonContrast, Phase::kArterial, Phase::kPortalVenous,
                            Phase::kDelayed};

// Where the arterial hyperperfusion of PhantomOptions lies: anterior right lobe, clear of every
// lesion (the nearest, the 7 mm one, is 48 mm away) and of the hilum.
const Vec3 kHyperperfusionCentre{-90.0, -40.0, -40.0};
constexpr double kHyperperfusionSigmaMm = 18.0;
constexpr double kContrastStartSeconds = kStudyStartSeconds + 180.0;

[[noreturn]] void invalid(const std::string& what) {
  throw std::runtime_error("generate_phantom: invalid options: " + what);
}

bool valid_dicom_text(const std::string& s, std::size_t max_length) {
  return s.size() <= max_length && std::none_of(s.begin(), s.end(), [](char c) {
           return c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
                  static_cast<unsigned char>(c) > 0x7E;
         });
}

void validate(const PhantomOptions& o) {
  if (o.matrix < 16 || o.matrix > 1024) invalid("matrix must be 16..1024");
  if (!(o.pixel_spacing_mm >= 0.2 && o.pixel_spacing_mm <= 10.0))
    invalid("pixel_spacing_mm must be 0.2..10");
  if (!(o.slice_thickness_mm >= 0.2 && o.slice_thickness_mm <= 20.0))
    invalid("slice_thickness_mm must be 0.2..20");
  if (o.slices > 4000) invalid("slices must be <= 4000");
  if (o.phases.empty()) invalid("no phases");
  for (Phase p : o.phases) {
    if (p == Phase::kUnknown) invalid("a phantom series needs a known phase");
  }
  if (std::set<Phase>(o.phases.begin(), o.phases.end()).size() != o.phases.size())
    invalid("duplicate phase");
  if (!(o.motion_mm >= 0.0 && o.motion_mm <= 50.0)) invalid("motion_mm must be 0..50");
  if (o.patient_size_m && !(*o.patient_size_m > 0.3 && *o.patient_size_m < 3.0))
    invalid("patient_size_m out of range");
  if (o.patient_weight_kg && !(*o.patient_weight_kg > 1.0 && *o.patient_weight_kg < 500.0)) {
    invalid("patient_weight_kg out of range");
  }
  if (o.patient_id.empty() || !valid_dicom_text(o.patient_id, 64))
    invalid("patient_id must be 1-64 printable chars, no '\\'");
  if (!valid_dicom_text(o.patient_name, 64))
    invalid("patient_name must be <= 64 printable chars, no '\\'");
  if (o.study_date.size() != 8 || !std::all_of(o.study_date.begin(), o.study_date.end(),
                                               [](char c) { return c >= '0' && c <= '9'; })) {
    invalid("study_date must be YYYYMMDD");
  }
  if (!(o.remnant_growth >= 0.25 && o.remnant_growth <= 4.0))
    invalid("remnant_growth must be 0.25..4");
  if (!(o.arterial_hyperperfusion_hu >= 0.0 && o.arterial_hyperperfusion_hu <= 200.0))
    invalid("arterial_hyperperfusion_hu must be 0..200");
  if (o.modality == PhantomModality::kMr) {
    // Options in Hounsfield units or about CT phases have no meaning for the MR protocol.
    if (o.arterial_hyperperfusion_hu != 0.0)
      invalid("arterial_hyperperfusion_hu is a CT option (Hounsfield units)");
    if (o.study_per_phase) invalid("study_per_phase is a CT option");
  }
}

// 0 for non-contrast up to 3 for delayed: series numbers and random streams derive from it.
int phase_index(Phase p) { return static_cast<int>(p) - static_cast<int>(Phase::kNonContrast); }

int series_number(Phase p) { return 2 + phase_index(p); }

std::string series_description(Phase p, bool specific) {
  if (!specific) return "Abdomen";
  switch (p) {
    case Phase::kNonContrast:
      return "Abdomen non-contrast";
    case Phase::kArterial:
      return "Abdomen arterial";
    case Phase::kPortalVenous:
      return "Abdomen portal venous";
    case Phase::kDelayed:
      return "Abdomen delayed";
    case Phase::kUnknown:
      break;
  }
  return "Abdomen";
}

// Seconds after contrast start (none for the non-contrast phase).
std::optional<double> seconds_after_contrast(Phase p) {
  switch (p) {
    case Phase::kNonContrast:
      return std::nullopt;
    case Phase::kArterial:
      return 35.0;
    case Phase::kPortalVenous:
      return 70.0;
    case Phase::kDelayed:
      return 180.0;
    case Phase::kUnknown:
      break;
  }
  return std::nullopt;
}

double acquisition_seconds(Phase p) {
  const auto after = seconds_after_contrast(p);
  return after ? kContrastStartSeconds + *after : kStudyStartSeconds;
}

// The shift of the anatomy in a phase; the portal venous phase is the unshifted reference.
Vec3 phase_shift(const PhantomOptions& o, Phase p) {
  if (p == Phase::kPortalVenous) return {0.0, 0.0, 0.0};
  return motion_shift(o, static_cast<std::uint64_t>(phase_index(p)));
}

// Removes the .dcm files a previous run left in dir (file names depend on the seed).
void clear_old_slices(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".dcm") fs::remove(entry.path(), ec);
    if (ec)
      throw std::runtime_error("generate_phantom: cannot remove " + entry.path().string() + ": " +
                               ec.message());
  }
  if (ec)
    throw std::runtime_error("generate_phantom: cannot list " + dir.string() + ": " + ec.message());
}

std::string label_key(std::uint8_t label) {
  switch (label) {
    case labels::kLiverParenchyma:
      return "liver_parenchyma";
    case labels::kIntrahepaticVessels:
      return "intrahepatic_vessels";
    case labels::kIvc:
      return "ivc";
    case labels::kAorta:
      return "aorta";
    case labels::kPortalVeinExtrahepatic:
      return "portal_vein_extrahepatic";
    case labels::kSpleen:
      return "spleen";
    case labels::kKidneys:
      return "kidneys";
    case labels::kBone:
      return "bone";
    default:
      return "lesion_" + std::to_string(label - labels::kFirstLesion + 1);
  }
}

}  // namespace

std::string dicom_time(double seconds) {
  const long s = std::lround(seconds);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02ld%02ld%02ld", (s / 3600) % 24, (s / 60) % 60, s % 60);
  return buf;
}

Vec3 motion_shift(const PhantomOptions& o, std::uint64_t stream) {
  if (o.motion_mm <= 0.0) return {0.0, 0.0, 0.0};
  Random r(hash_combine(hash_combine(o.seed, "motion"), stream));
  Vec3 d{0.4 * r.gaussian(), 0.4 * r.gaussian(), r.gaussian()};
  const double norm = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  const double length = o.motion_mm * (0.5 + 0.5 * r.uniform());
  for (double& c : d) c = norm > 0.0 ? c / norm * length : 0.0;
  if (norm == 0.0) d[2] = length;
  return d;
}

std::string slice_file_name(const StudyContext& c, const std::string& sop_instance_uid,
                            int instance_number) {
  if (c.options.shuffle_file_names) return shuffled_file_name(c.study_key, sop_instance_uid);
  char plain[32];
  std::snprintf(plain, sizeof plain, "IM%04d.dcm", instance_number);
  return plain;
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("generate_phantom: cannot create " + dir.string() + ": " +
                             ec.message());
}

void write_couinaud_truth(const processing::LabelMap& labels, const fs::path& out_dir,
                          PhantomTruth& truth) {
  const processing::LabelMap segments = couinaud_truth_labels(labels);
  truth.couinaud_label_map = "truth/labels_couinaud.mha";
  write_label_map_mha(segments, out_dir / truth.couinaud_label_map);
  truth.couinaud_volumes_ml = segment_volumes_ml(segments);
}

const char* modality_name(PhantomModality modality) {
  return modality == PhantomModality::kMr ? "mr" : "ct";
}

const char* mr_agent_name(MrAgent agent) {
  return agent == MrAgent::kGadoxetate ? "gadoxetate" : "extracellular";
}

namespace {

std::string lower(const std::string& s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<PhantomModality> parse_modality(const std::string& name) {
  const std::string key = lower(name);
  if (key == "ct") return PhantomModality::kCt;
  if (key == "mr" || key == "mri") return PhantomModality::kMr;
  return std::nullopt;
}

std::optional<MrAgent> parse_mr_agent(const std::string& name) {
  const std::string key = lower(name);
  if (key == "extracellular") return MrAgent::kExtracellular;
  if (key == "gadoxetate") return MrAgent::kGadoxetate;
  return std::nullopt;
}

std::optional<Phase> parse_phase(const std::string& name) {
  std::string key;
  for (char c : name)
    key += (c == '-' || c == ' ') ? '_'
                                  : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto phase = processing::parse_phase(key);
  if (!phase || *phase == Phase::kUnknown) return std::nullopt;
  return phase;
}

namespace {

// The true volumes over the imaged region of the unshifted anatomy: organs, lesions, liver.
void add_true_volumes(const Anatomy& anatomy, const processing::Geometry& geometry,
                      PhantomTruth& truth) {
  Box region = grid_extent(geometry);
  const Box body = anatomy.torso().body_bounds().expanded(2.0);
  for (int a = 0; a < 2; ++a) {
    region.lo[a] = std::max(region.lo[a], body.lo[a]);
    region.hi[a] = std::min(region.hi[a], body.hi[a]);
  }
  const std::map<std::uint8_t, double> volumes = integrate_label_volumes(anatomy, region);
  auto volume_of = [&](std::uint8_t label) {
    const auto it = volumes.find(label);
    return it == volumes.end() ? 0.0 : it->second;
  };
  for (std::size_t k = 0; k < anatomy.lesions().size(); ++k) {
    const Lesion& lesion = anatomy.lesions()[k];
    LesionTruth lt;
    lt.label = labels::kFirstLesion + static_cast<int>(k);
    lt.type = lesion_type_name(lesion.type);
    lt.volume_ml = volume_of(static_cast<std::uint8_t>(lt.label));
    lt.centre_lps = lesion.centre;
    lt.diameter_mm = lesion.diameter_mm;
    lt.longest_axial_diameter_mm = longest_axial_diameter(*lesion.solid, lesion.centre);
    truth.tumour_volume_ml += lt.volume_ml;
    truth.lesions.push_back(lt);
  }
  truth.liver_volume_ml = volume_of(labels::kLiverParenchyma) +
                          volume_of(labels::kIntrahepaticVessels) + truth.tumour_volume_ml;
  for (const auto& [label, ml] : volumes) {
    if (label < labels::kFirstLesion) truth.organ_volumes_ml[label_key(label)] = ml;
  }
  truth.organ_volumes_ml["liver"] = truth.liver_volume_ml;
  truth.organ_volumes_ml["tumour"] = truth.tumour_volume_ml;
}

// The patient and study of the phantom's series.
StudyInfo study_info(const PhantomOptions& options, const PhantomTruth& truth,
                     const UidGenerator& uids) {
  StudyInfo study;
  study.patient_name = options.patient_name;
  study.patient_id = options.patient_id;
  study.patient_birth_date = "19600101";
  study.patient_sex = "M";
  study.patient_size_m = options.patient_size_m;
  study.patient_weight_kg = options.patient_weight_kg;
  study.study_date = options.study_date;
  study.study_time = dicom_time(kStudyStartSeconds);
  study.study_uid = truth.study_uid;
  study.frame_of_reference_uid = truth.frame_of_reference_uid;
  study.accession_number = uids.accession_number();
  study.study_id = "1";
  study.study_description =
      options.modality == PhantomModality::kMr ? "MR ABDOMEN LIVER" : "CT ABDOMEN LIVER MULTIPHASE";
  return study;
}

// The slices of one phase's series, synthesised from `samples` with the phase's attenuation,
// noise and (arterial) hyperperfusion and written into st.dir; their names go into `record`.
void write_series_slices(const StudyContext& c, Phase phase, const TissueSamples& samples,
                         SeriesTruth& st, SeriesRecord& record, std::vector<std::int16_t>& pixels) {
  const PhantomOptions& options = c.options;
  const int number = record.series_number;
  CtSeriesInfo info;
  info.series_uid = st.series_uid;
  info.description = st.description;
  info.protocol_name = "Liver multiphase";
  info.series_number = number;
  info.acquisition_time = record.acquisition_time;
  if (options.contrast_tags && seconds_after_contrast(phase)) {
    info.contrast_start_time = dicom_time(kContrastStartSeconds);
    record.contrast_start_time = *info.contrast_start_time;
  }
  StudyInfo series_study = c.study;
  if (options.study_per_phase) series_study.study_uid += "." + std::to_string(number);
  st.study_uid = series_study.study_uid;
  const CtSeriesWriter writer(series_study, info, c.geometry);
  const CodeTable hu = phase_hu_table(phase, c.anatomy.lesions());
  Random noise(hash_combine(hash_combine(options.seed, "noise"),
                            static_cast<std::uint64_t>(phase_index(phase))));
  std::set<std::string> names;
  std::optional<RegionalExcess> hyperperfusion;
  if (phase == Phase::kArterial && options.arterial_hyperperfusion_hu != 0.0) {
    hyperperfusion =
        RegionalExcess{static_cast<TissueCode>(Tissue::Liver), kHyperperfusionCentre,
                       kHyperperfusionSigmaMm, options.arterial_hyperperfusion_hu, st.shift_lps};
  }
  for (std::size_t k = 0; k < c.geometry.size[2]; ++k) {
    synthesise_slice(samples, k, hu, noise, kNoiseSigmaHu, pixels,
                     hyperperfusion ? &*hyperperfusion : nullptr);
    const std::string sop = c.uids.instance(number, k);
    const std::string name = slice_file_name(c, sop, static_cast<int>(k + 1));
    if (!names.insert(name).second)
      throw std::logic_error("generate_phantom: file name collision " + name);
    writer.write_slice(st.dir / name, k, sop, pixels);
    record.files_in_spatial_order.push_back(name);
  }
}

}  // namespace

PhantomTruth generate_phantom(const PhantomOptions& options, const fs::path& out_dir) {
  validate(options);
  const Anatomy anatomy(options.remnant_growth);
  const processing::Geometry geometry = phantom_geometry(options, anatomy);
  const std::uint64_t study_key =
      hash_combine(hash_combine(hash_combine(0x11FE7A0DEULL, options.seed), options.patient_id),
                   options.study_date);
  const UidGenerator uids(study_key);

  PhantomTruth truth;
  truth.study_uid = uids.study();
  truth.frame_of_reference_uid = uids.frame_of_reference();
  truth.patient_id = options.patient_id;

  add_true_volumes(anatomy, geometry, truth);

  const fs::path truth_dir = out_dir / "truth";
  make_dirs(truth_dir);
  for (Phase p : kAllPhases) clear_old_slices(out_dir / "dicom" / phase_name(p));
  for (const std::string& folder : mr_series_folders())
    clear_old_slices(out_dir / "dicom" / folder);

  truth.modality = options.modality;
  const StudyInfo study = study_info(options, truth, uids);
  const StudyContext context{options, anatomy, geometry, uids, study_key, study};

  std::vector<SeriesRecord> records;
  if (options.modality == PhantomModality::kMr) {
    write_mr_protocol(context, out_dir, truth, records);
    write_manifest(truth_dir / "manifest.json", options, truth, records, geometry,
                   anatomy.lesions(), out_dir);
    return truth;
  }
  std::optional<TissueSamples> samples;
  Vec3 sampled_shift{};
  std::vector<std::int16_t> pixels;
  for (Phase phase : options.phases) {
    const int number = series_number(phase);
    SeriesTruth st;
    st.series_uid = uids.series(number);
    st.description = series_description(phase, options.series_descriptions);
    st.phase = phase;
    st.dir = out_dir / "dicom" / phase_name(phase);
    st.shift_lps = phase_shift(options, phase);
    make_dirs(st.dir);

    if (!samples || st.shift_lps != sampled_shift) {
      samples = sample_tissues(anatomy, geometry, st.shift_lps, kImageSubsamples,
                               every_tissue_is_a_class());
      sampled_shift = st.shift_lps;
    }
    SeriesRecord record;
    record.series_number = number;
    record.acquisition_time = dicom_time(acquisition_seconds(phase));
    record.label_map = std::string("truth/labels_") + phase_name(phase) + ".mha";
    const processing::LabelMap phase_labels = truth_labels(*samples);
    write_label_map_mha(phase_labels, out_dir / record.label_map);
    if (truth.couinaud_label_map.empty() && st.shift_lps == Vec3{0.0, 0.0, 0.0}) {
      write_couinaud_truth(phase_labels, out_dir, truth);
    }

    write_series_slices(context, phase, *samples, st, record, pixels);
    truth.series.push_back(st);
    records.push_back(std::move(record));
  }

  if (truth.couinaud_label_map.empty()) {
    write_couinaud_truth(truth_labels(sample_tissues(anatomy, geometry, {0.0, 0.0, 0.0},
                                                     kImageSubsamples, every_tissue_is_a_class())),
                         out_dir, truth);
  }
  write_manifest(truth_dir / "manifest.json", options, truth, records, geometry, anatomy.lesions(),
                 out_dir);
  return truth;
}

}  // namespace livernode::phantom
