#include "mr_protocol.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "mr_enhanced_writer.h"
#include "mr_series_writer.h"
#include "mr_signal.h"
#include "mr_synthesis.h"
#include "random.h"
#include "tissue_sampler.h"
#include "tissue_synthesis.h"

namespace livernode::phantom {

namespace {

namespace fs = std::filesystem;

// Acquisition times of the protocol (seconds from midnight).
constexpr double kDixonSeconds = kStudyStartSeconds + 60.0;
constexpr double kT2Seconds = kStudyStartSeconds + 120.0;
constexpr double kDiffusionSeconds = kStudyStartSeconds + 240.0;
constexpr double kT1PreSeconds = kStudyStartSeconds + 360.0;
constexpr double kContrastStartSeconds = kStudyStartSeconds + 420.0;

// Relative units of mr_signal.h.
constexpr double kT1NoiseSigma = 8.0;
constexpr double kT2NoiseSigma = 10.0;
constexpr double kDiffusionNoiseSigma = 6.0;
constexpr double kDixonNoiseSigma = 8.0;
// Amplitude of the coil bias field's terms (about +-20-30 % over the body).
constexpr double kBiasAmplitude = 0.12;
constexpr double kLowB = 50.0, kHighB = 800.0;  // s/mm^2
// The ADC map is 0 where the b 50 image holds less than this much relative signal (air, lung).
constexpr double kAdcMaskSignal = 25.0;

const char* kProtocolName = "Liver MR";

// One post-contrast T1 time point.
struct TimePoint {
  MrImage image;
  const char* name;         // SeriesTruth::mr_image, "arterial"
  const char* folder;       // its folder when written as a series of its own
  const char* description;  // likewise
  Phase phase;
  double after_contrast_s;
};

const TimePoint kTimePoints[] = {
    {MrImage::T1Arterial, "arterial", "t1_arterial", "t1_vibe_fs_tra_art", Phase::kArterial, 35.0},
    {MrImage::T1PortalVenous, "portal_venous", "t1_portal_venous", "t1_vibe_fs_tra_pv",
     Phase::kPortalVenous, 70.0},
    {MrImage::T1Transitional, "transitional", "t1_transitional", "t1_vibe_fs_tra_trans",
     Phase::kDelayed, 180.0},
    {MrImage::T1Hepatobiliary, "hepatobiliary", "t1_hepatobiliary", "t1_vibe_fs_tra_hbp",
     Phase::kDelayed, 1200.0},
};

MrSequenceInfo t1_vibe_fs() {
  MrSequenceInfo q;
  q.image_type = "ORIGINAL\\PRIMARY\\M\\ND";
  q.enhanced_image_type = "ORIGINAL\\PRIMARY\\T1\\NONE";
  q.acquisition_contrast = "T1";
  q.acquisition_duration_s = 18.0;
  q.scanning_sequence = "GR";
  q.sequence_variant = "SP";
  q.scan_options = "FS";
  q.acquisition_type = "3D";
  q.sequence_name = "*fl3d1";
  q.repetition_time_ms = 3.9;
  q.echo_time_ms = 1.9;
  q.flip_angle_deg = 10.0;
  return q;
}

MrSequenceInfo t2_haste_fs() {
  MrSequenceInfo q;
  q.image_type = "ORIGINAL\\PRIMARY\\M\\ND";
  q.enhanced_image_type = "ORIGINAL\\PRIMARY\\T2\\NONE";
  q.acquisition_contrast = "T2";
  q.acquisition_duration_s = 40.0;
  q.scanning_sequence = "SE";
  q.sequence_variant = "SK";
  q.scan_options = "FS";
  q.acquisition_type = "2D";
  q.sequence_name = "*h2d1_256";
  q.repetition_time_ms = 1400.0;
  q.echo_time_ms = 90.0;
  q.flip_angle_deg = 160.0;
  q.echo_train_length = 128;
  return q;
}

MrSequenceInfo ep2d_diff(const char* image_type, const char* enhanced_image_type, const char* name,
                         std::optional<double> b) {
  MrSequenceInfo q;
  q.image_type = image_type;
  q.enhanced_image_type = enhanced_image_type;
  q.acquisition_contrast = "DIFFUSION";
  q.acquisition_duration_s = 100.0;
  q.scanning_sequence = "EP";
  q.sequence_variant = "SK";
  q.scan_options = "FS";
  q.acquisition_type = "2D";
  q.sequence_name = name;
  q.repetition_time_ms = 4500.0;
  q.echo_time_ms = 60.0;
  q.flip_angle_deg = 90.0;
  q.echo_train_length = 64;
  q.b_value = b;
  return q;
}

// Two-point Dixon at 1.5 T: opposed phase at 2.39 ms, in phase at 4.77 ms.
MrSequenceInfo t1_vibe_dixon(bool in_phase) {
  MrSequenceInfo q;
  q.image_type =
      in_phase ? "ORIGINAL\\PRIMARY\\DIXON\\IN_PHASE" : "ORIGINAL\\PRIMARY\\DIXON\\OPP_PHASE";
  q.enhanced_image_type =
      in_phase ? "ORIGINAL\\PRIMARY\\T1\\IN_PHASE" : "ORIGINAL\\PRIMARY\\T1\\OUT_PHASE";
  q.acquisition_contrast = "T1";
  q.acquisition_duration_s = 18.0;
  q.scanning_sequence = "GR";
  q.sequence_variant = "SP";
  q.scan_options = "";
  q.acquisition_type = "3D";
  q.sequence_name = "*fl3d2";
  q.repetition_time_ms = 6.7;
  q.echo_time_ms = in_phase ? 4.77 : 2.39;
  q.flip_angle_deg = 10.0;
  return q;
}

// Signal table of one image (lesion k takes its type's value).
CodeTable signal_table(const StudyContext& c, MrImage image) {
  const MrAgent agent = c.options.mr_agent;
  return code_table([&](Tissue t) { return mr_tissue_signal(t, image, agent); },
                    [&](LesionType type) { return mr_lesion_signal(type, image, agent); },
                    c.anatomy.lesions());
}

// Diffusion-weighted signal at b: S0 exp(-b ADC) per tissue.
CodeTable diffusion_table(const StudyContext& c, double b) {
  const MrAgent agent = c.options.mr_agent;
  auto weighted = [&](double s0, double adc) { return s0 * std::exp(-b * adc * 1e-6); };
  return code_table(
      [&](Tissue t) {
        return weighted(mr_tissue_signal(t, MrImage::DiffusionS0, agent),
                        mr_tissue_signal(t, MrImage::Adc, agent));
      },
      [&](LesionType type) {
        return weighted(mr_lesion_signal(type, MrImage::DiffusionS0, agent),
                        mr_lesion_signal(type, MrImage::Adc, agent));
      },
      c.anatomy.lesions());
}

// The anatomy of one breath-hold: its shift, sampled tissues and truth label map.
class BreathHold {
 public:
  BreathHold(const StudyContext& c, const fs::path& out_dir, PhantomTruth& truth,
             const std::string& key, std::uint64_t motion_stream, bool reference)
      : label_map_("truth/labels_" + key + ".mha") {
    shift_ = reference ? Vec3{0.0, 0.0, 0.0} : motion_shift(c.options, 100 + motion_stream);
    samples_ =
        sample_tissues(c.anatomy, c.geometry, shift_, kImageSubsamples, every_tissue_is_a_class());
    const processing::LabelMap labels = truth_labels(samples_);
    write_label_map_mha(labels, out_dir / label_map_);
    if (truth.couinaud_label_map.empty() && shift_ == Vec3{0.0, 0.0, 0.0})
      write_couinaud_truth(labels, out_dir, truth);
  }
  const Vec3& shift() const { return shift_; }
  const TissueSamples& samples() const { return samples_; }
  const std::string& label_map() const { return label_map_; }

 private:
  Vec3 shift_{};
  TissueSamples samples_;
  std::string label_map_;
};

// The scale and coil bias of one acquisition (shared by the series one scan produces).
struct Receiver {
  double scale = 1.0;
  BiasField bias;
};

Receiver receiver(const StudyContext& c, int id) {
  const std::uint64_t seed = c.options.seed;
  Receiver r;
  r.scale = series_scale_from_key(
      hash_combine(hash_combine(seed, "mr-scale"), static_cast<std::uint64_t>(id)));
  r.bias = BiasField::from_key(
      hash_combine(hash_combine(seed, "mr-bias"), static_cast<std::uint64_t>(id)), c.geometry,
      kBiasAmplitude);
  return r;
}

// With --mr-enhanced: the one Enhanced MR object of a series, which collects the frames of each
// of its volumes (every time point of a multi-temporal series) until it is written.
class EnhancedObject {
 public:
  EnhancedObject(const StudyContext& c, int series_number)
      : c_(c),
        number_(series_number),
        sop_(c.uids.instance(series_number, 0)),
        name_(slice_file_name(c, sop_, 1)),
        writer_(c.study, c.geometry) {}

  const std::string& file_name() const { return name_; }
  int add_frame(const MrSeriesInfo& volume, std::size_t k,
                const std::vector<std::uint16_t>& pixels) {
    return writer_.add_frame(volume, k, pixels);
  }
  void write(const fs::path& dir) const {
    if (fs::exists(dir / name_))
      throw std::logic_error("generate_phantom: file name collision " + name_);
    writer_.write(dir / name_, sop_, c_.uids.dimension_organization(number_));
  }

 private:
  const StudyContext& c_;
  int number_;
  std::string sop_, name_;
  EnhancedMrWriter writer_;
};

// Writes the slices of one volume (a series, or one time point of a multi-temporal series) and
// keeps its truth and manifest record. With --mr-enhanced the slices are frames of the series'
// Enhanced MR object instead: its own, written by finish(), or `shared`, the multi-temporal
// series' one, which the caller writes once every time point has its frames.
class VolumeOutput {
 public:
  VolumeOutput(const StudyContext& c, const fs::path& out_dir, const std::string& folder,
               MrSeriesInfo info, const BreathHold& breath, const Receiver& rx, double sigma,
               std::shared_ptr<EnhancedObject> shared = nullptr)
      : c_(c),
        number_(info.series_number),
        first_instance_(1),
        info_(info),
        writer_(c.study, info, c.geometry),
        object_(std::move(shared)) {
    if (c.options.mr_enhanced && !object_) {
      object_ = std::make_shared<EnhancedObject>(c, number_);
      owns_object_ = true;
    }
    const std::size_t slices = c.geometry.size[2];
    if (info.temporal_position)
      first_instance_ = 1 + static_cast<int>(slices) * (*info.temporal_position - 1);
    st_.series_uid = info.series_uid;
    st_.description = info.description;
    st_.study_uid = c.study.study_uid;
    st_.phase = Phase::kUnknown;
    st_.dir = out_dir / "dicom" / folder;
    st_.shift_lps = breath.shift();
    st_.temporal_position = info.temporal_position;
    st_.signal_scale = rx.scale;
    make_dirs(st_.dir);
    record_.series_number = number_;
    record_.acquisition_time = info.acquisition_time;
    if (info.contrast_start_time) record_.contrast_start_time = *info.contrast_start_time;
    record_.label_map = breath.label_map();
    record_.b_value = info.sequence.b_value;
    record_.noise_sigma = sigma;
    record_.bias_coefficients = rx.bias.c;
  }

  SeriesTruth& truth() { return st_; }
  SeriesRecord& record() { return record_; }

  void write(std::size_t k, const std::vector<std::uint16_t>& pixels) {
    if (object_) {
      record_.frames_in_spatial_order.push_back(object_->add_frame(info_, k, pixels));
      if (record_.files_in_spatial_order.empty())
        record_.files_in_spatial_order.push_back(object_->file_name());
      return;
    }
    const int instance = first_instance_ + static_cast<int>(k);
    const std::string sop = c_.uids.instance(number_, static_cast<std::size_t>(instance - 1));
    const std::string name = slice_file_name(c_, sop, instance);
    if (fs::exists(st_.dir / name))
      throw std::logic_error("generate_phantom: file name collision " + name);
    writer_.write_slice(st_.dir / name, k, instance, sop, pixels);
    record_.files_in_spatial_order.push_back(name);
  }

  void finish(PhantomTruth& truth, std::vector<SeriesRecord>& records) {
    if (owns_object_) object_->write(st_.dir);
    truth.series.push_back(st_);
    records.push_back(record_);
  }

 private:
  const StudyContext& c_;
  int number_;
  int first_instance_;
  MrSeriesInfo info_;
  MrSeriesWriter writer_;
  std::shared_ptr<EnhancedObject> object_;
  bool owns_object_ = false;
  SeriesTruth st_;
  SeriesRecord record_;
};

Random noise_stream(const StudyContext& c, int series_number, int temporal_position) {
  return Random(hash_combine(hash_combine(c.options.seed, "mr-noise"),
                             static_cast<std::uint64_t>(series_number * 16 + temporal_position)));
}

MrSeriesInfo series_info(const StudyContext& c, int number, const char* description, double seconds,
                         MrSequenceInfo sequence, const Receiver& rx) {
  MrSeriesInfo info;
  info.series_uid = c.uids.series(number);
  info.description = c.options.series_descriptions ? description : "Abdomen";
  info.protocol_name = kProtocolName;
  info.series_number = number;
  info.series_time = info.acquisition_time = dicom_time(seconds);
  info.sequence = std::move(sequence);
  info.window_centre = std::round(500.0 * rx.scale);
  info.window_width = std::round(1000.0 * rx.scale);
  return info;
}

// A series of one image of one breath-hold (T2, T1 pre, a T1 time point).
void write_single_image(const StudyContext& c, VolumeOutput& out, const BreathHold& breath,
                        const CodeTable& table, const Receiver& rx, double sigma, Random noise) {
  std::vector<double> mean;
  std::vector<std::uint16_t> pixels;
  for (std::size_t k = 0; k < c.geometry.size[2]; ++k) {
    mean_slice(breath.samples(), k, table, mean);
    mr_stored_slice(mean, c.geometry, k, rx.scale, rx.bias, sigma, noise, pixels);
    out.write(k, pixels);
  }
}

void write_dixon(const StudyContext& c, const fs::path& out_dir, PhantomTruth& truth,
                 std::vector<SeriesRecord>& records) {
  const BreathHold breath(c, out_dir, truth, "dixon", 0, false);
  const Receiver rx = receiver(c, 2);
  VolumeOutput in(c, out_dir, "dixon_in",
                  series_info(c, 2, "t1_vibe_dixon_tra_in", kDixonSeconds, t1_vibe_dixon(true), rx),
                  breath, rx, kDixonNoiseSigma);
  VolumeOutput opp(
      c, out_dir, "dixon_opp",
      series_info(c, 3, "t1_vibe_dixon_tra_opp", kDixonSeconds, t1_vibe_dixon(false), rx), breath,
      rx, kDixonNoiseSigma);
  const CodeTable water = signal_table(c, MrImage::DixonWater);
  const CodeTable fat = signal_table(c, MrImage::DixonFat);
  Random in_noise = noise_stream(c, 2, 0), opp_noise = noise_stream(c, 3, 0);
  std::vector<double> w, f, sum, difference;
  std::vector<std::uint16_t> pixels;
  for (std::size_t k = 0; k < c.geometry.size[2]; ++k) {
    mean_slice(breath.samples(), k, water, w);
    mean_slice(breath.samples(), k, fat, f);
    sum.resize(w.size());
    difference.resize(w.size());
    // Opposed phase: water and fat of a voxel cancel (the dark rim at fat-water interfaces).
    for (std::size_t n = 0; n < w.size(); ++n) {
      sum[n] = w[n] + f[n];
      difference[n] = std::abs(w[n] - f[n]);
    }
    mr_stored_slice(sum, c.geometry, k, rx.scale, rx.bias, kDixonNoiseSigma, in_noise, pixels);
    in.write(k, pixels);
    mr_stored_slice(difference, c.geometry, k, rx.scale, rx.bias, kDixonNoiseSigma, opp_noise,
                    pixels);
    opp.write(k, pixels);
  }
  for (VolumeOutput* v : {&in, &opp}) {
    v->truth().mr_role = "t1_dixon";
    v->truth().mr_sequence = "t1_vibe_dixon";
  }
  in.truth().mr_image = "in_phase";
  opp.truth().mr_image = "opp_phase";
  in.finish(truth, records);
  opp.finish(truth, records);
}

void write_t2(const StudyContext& c, const fs::path& out_dir, PhantomTruth& truth,
              std::vector<SeriesRecord>& records) {
  const BreathHold breath(c, out_dir, truth, "t2", 1, false);
  const Receiver rx = receiver(c, 4);
  VolumeOutput out(c, out_dir, "t2",
                   series_info(c, 4, "t2_haste_fs_tra", kT2Seconds, t2_haste_fs(), rx), breath, rx,
                   kT2NoiseSigma);
  write_single_image(c, out, breath, signal_table(c, MrImage::T2), rx, kT2NoiseSigma,
                     noise_stream(c, 4, 0));
  out.truth().mr_role = "t2";
  out.truth().mr_sequence = "t2_haste_fs";
  out.truth().mr_image = "t2";
  out.finish(truth, records);
}

// b 50 and b 800 as two series of one acquisition (one scale and bias), and the ADC map
// computed from their stored values: ln(S50 / S800) / 750 in 1e-6 mm^2/s.
void write_diffusion(const StudyContext& c, const fs::path& out_dir, PhantomTruth& truth,
                     std::vector<SeriesRecord>& records) {
  const BreathHold breath(c, out_dir, truth, "dwi", 2, false);
  const Receiver rx = receiver(c, 5);
  VolumeOutput low(c, out_dir, "dwi_b50",
                   series_info(c, 5, "ep2d_diff_tra_b50", kDiffusionSeconds,
                               ep2d_diff("ORIGINAL\\PRIMARY\\DIFFUSION\\TRACEW",
                                         "ORIGINAL\\PRIMARY\\DIFFUSION\\NONE", "*ep_b50t", kLowB),
                               rx),
                   breath, rx, kDiffusionNoiseSigma);
  VolumeOutput high(
      c, out_dir, "dwi_b800",
      series_info(c, 6, "ep2d_diff_tra_b800", kDiffusionSeconds,
                  ep2d_diff("ORIGINAL\\PRIMARY\\DIFFUSION\\TRACEW",
                            "ORIGINAL\\PRIMARY\\DIFFUSION\\NONE", "*ep_b800t", kHighB),
                  rx),
      breath, rx, kDiffusionNoiseSigma);
  MrSeriesInfo adc_info =
      series_info(c, 7, "ep2d_diff_tra_ADC", kDiffusionSeconds,
                  ep2d_diff("DERIVED\\PRIMARY\\DIFFUSION\\ADC", "DERIVED\\PRIMARY\\DIFFUSION\\ADC",
                            "*ep_b50_800", std::nullopt),
                  rx);
  adc_info.window_centre = 1500.0;
  adc_info.window_width = 3000.0;
  Receiver unit;  // the ADC map is quantitative: no scale, no bias
  unit.bias.c.fill(0.0);
  VolumeOutput adc(c, out_dir, "adc", adc_info, breath, unit, 0.0);
  const CodeTable low_table = diffusion_table(c, kLowB), high_table = diffusion_table(c, kHighB);
  Random low_noise = noise_stream(c, 5, 0), high_noise = noise_stream(c, 6, 0);
  std::vector<double> mean;
  std::vector<std::uint16_t> s_low, s_high, map;
  const double mask = kAdcMaskSignal * rx.scale;
  for (std::size_t k = 0; k < c.geometry.size[2]; ++k) {
    mean_slice(breath.samples(), k, low_table, mean);
    mr_stored_slice(mean, c.geometry, k, rx.scale, rx.bias, kDiffusionNoiseSigma, low_noise, s_low);
    low.write(k, s_low);
    mean_slice(breath.samples(), k, high_table, mean);
    mr_stored_slice(mean, c.geometry, k, rx.scale, rx.bias, kDiffusionNoiseSigma, high_noise,
                    s_high);
    high.write(k, s_high);
    map.resize(s_low.size());
    for (std::size_t n = 0; n < s_low.size(); ++n) {
      double value = 0.0;
      if (s_low[n] >= mask) {
        value = s_high[n] == 0
                    ? kMrMaxStored
                    : std::log(double(s_low[n]) / double(s_high[n])) / ((kHighB - kLowB) * 1e-6);
      }
      map[n] = static_cast<std::uint16_t>(std::lround(std::clamp(value, 0.0, kMrMaxStored)));
    }
    adc.write(k, map);
  }
  low.truth().mr_image = "b50";
  high.truth().mr_image = "b800";
  adc.truth().mr_image = "adc";
  for (VolumeOutput* v : {&low, &high, &adc}) {
    v->truth().mr_role = v == &adc ? "adc" : "diffusion";
    v->truth().mr_sequence = "ep2d_diff";
    v->finish(truth, records);
  }
}

void write_t1_dynamic(const StudyContext& c, const fs::path& out_dir, PhantomTruth& truth,
                      std::vector<SeriesRecord>& records) {
  const PhantomOptions& o = c.options;
  const std::string contrast_start = dicom_time(kContrastStartSeconds);
  const char* agent =
      o.mr_agent == MrAgent::kGadoxetate ? "Gadoxetate disodium" : "Gadoterate meglumine";
  auto finish = [&](VolumeOutput& v, const char* image, Phase phase) {
    v.truth().mr_role = "t1_dynamic";
    v.truth().mr_sequence = "t1_vibe_fs";
    v.truth().mr_image = image;
    v.truth().phase = phase;
    v.finish(truth, records);
  };
  {
    const BreathHold breath(c, out_dir, truth, "t1_pre", 3, false);
    const Receiver rx = receiver(c, 8);
    VolumeOutput out(c, out_dir, "t1_pre",
                     series_info(c, 8, "t1_vibe_fs_tra_pre", kT1PreSeconds, t1_vibe_fs(), rx),
                     breath, rx, kT1NoiseSigma);
    write_single_image(c, out, breath, signal_table(c, MrImage::T1Pre), rx, kT1NoiseSigma,
                       noise_stream(c, 8, 0));
    finish(out, "pre", Phase::kNonContrast);
  }
  const std::size_t count = o.mr_agent == MrAgent::kGadoxetate ? 4 : 3;
  const double first_seconds = kContrastStartSeconds + kTimePoints[0].after_contrast_s;
  const bool one_series = !o.mr_dynamic_per_series;
  // The multi-temporal series as one Enhanced MR object: the frames of every time point.
  std::shared_ptr<EnhancedObject> dynamic_object;
  if (one_series && o.mr_enhanced) dynamic_object = std::make_shared<EnhancedObject>(c, 9);
  for (std::size_t t = 0; t < count; ++t) {
    const TimePoint& tp = kTimePoints[t];
    const int number = one_series ? 9 : 9 + static_cast<int>(t);
    const BreathHold breath(c, out_dir, truth, tp.folder, 4 + t, tp.phase == Phase::kPortalVenous);
    const Receiver rx = receiver(c, number);
    const double seconds = kContrastStartSeconds + tp.after_contrast_s;
    MrSeriesInfo info = series_info(c, number, one_series ? "t1_vibe_fs_tra_dyn" : tp.description,
                                    one_series ? first_seconds : seconds, t1_vibe_fs(), rx);
    info.acquisition_time = dicom_time(seconds);
    if (o.contrast_tags) {
      info.contrast_agent = agent;
      info.contrast_start_time = contrast_start;
    }
    if (one_series) {
      info.temporal_position = static_cast<int>(t + 1);
      info.temporal_positions = static_cast<int>(count);
    }
    VolumeOutput out(c, out_dir, one_series ? "t1_dyn" : tp.folder, info, breath, rx, kT1NoiseSigma,
                     dynamic_object);
    out.record().seconds_after_contrast = tp.after_contrast_s;
    write_single_image(c, out, breath, signal_table(c, tp.image), rx, kT1NoiseSigma,
                       noise_stream(c, number, static_cast<int>(t + 1)));
    finish(out, tp.name, tp.phase);
  }
  if (dynamic_object) dynamic_object->write(out_dir / "dicom" / "t1_dyn");
}

}  // namespace

const std::vector<std::string>& mr_series_folders() {
  static const std::vector<std::string> folders = {
      "dixon_in",         "dixon_opp",       "t2",
      "dwi_b50",          "dwi_b800",        "adc",
      "t1_pre",           "t1_dyn",          "t1_arterial",
      "t1_portal_venous", "t1_transitional", "t1_hepatobiliary"};
  return folders;
}

void write_mr_protocol(const StudyContext& c, const fs::path& out_dir, PhantomTruth& truth,
                       std::vector<SeriesRecord>& records) {
  if (c.options.mr_dixon) write_dixon(c, out_dir, truth, records);
  write_t2(c, out_dir, truth, records);
  write_diffusion(c, out_dir, truth, records);
  write_t1_dynamic(c, out_dir, truth, records);
}

}  // namespace livernode::phantom
