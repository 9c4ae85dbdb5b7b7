#include "livernode/dicom/series_scanner.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <variant>

#include "dataset_util.h"
#include "geometry_util.h"

namespace livernode::dicom {

namespace fs = std::filesystem;
using detail::get_double;
using detail::get_doubles;
using detail::get_long;
using detail::get_string;

Vec3 SeriesInfo::normal() const { return detail::cross(row_direction(), column_direction()); }

namespace {

// SOP classes whose images we can turn into volumes.
bool is_volume_image_class(const std::string& uid) {
  static const char* const kClasses[] = {
      UID_CTImageStorage, UID_EnhancedCTImageStorage, UID_LegacyConvertedEnhancedCTImageStorage,
      UID_MRImageStorage, UID_EnhancedMRImageStorage, UID_LegacyConvertedEnhancedMRImageStorage,
  };
  return std::any_of(std::begin(kClasses), std::end(kClasses),
                     [&](const char* c) { return uid == c; });
}

std::string sop_class_name(const std::string& uid) {
  const char* name = dcmFindNameOfUID(uid.c_str(), nullptr);
  return name ? std::string(name) : uid;
}

// Everything read from one file: the series-level facts and one SliceRef per frame. One volume,
// or (an MR multi-frame object of several temporal positions) one per temporal position.
struct FileHeader {
  std::vector<SeriesInfo> volumes;  // slices holds this file's frames (of that volume)
};

// The time of day (TM) of a DT value: "" when it has none.
std::string time_of(const std::string& date_time) {
  if (date_time.size() <= 8) return {};
  std::string tm = date_time.substr(8);
  const auto offset = tm.find_first_of("+-");  // a UTC offset may follow
  return tm.substr(0, offset);
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : "\\") + v;
  return out;
}

// An Enhanced MR object keeps what the classic MR Image attributes say in its MR Pulse Sequence
// module and functional groups (shared first, else those of `frame`, the volume's first): the
// facts the classic attributes left empty are taken from there, in the classic terms, so that the
// series triage reads both alike.
void enhanced_mr_facts(DcmDataset& ds, unsigned frame, MrFacts& mr) {
  auto group = [&](const DcmTagKey& sequence) {
    return detail::shared_functional_group(ds, frame, sequence);
  };
  auto value = [&](const DcmTagKey& sequence, const DcmTagKey& tag) {
    DcmItem* g = group(sequence);
    return g ? get_string(*g, tag) : std::string();
  };
  auto number = [&](const DcmTagKey& sequence, const DcmTagKey& tag) -> std::optional<double> {
    DcmItem* g = group(sequence);
    return g ? get_double(*g, tag) : std::nullopt;
  };
  if (!mr.repetition_time_ms)
    mr.repetition_time_ms = number(DCM_MRTimingAndRelatedParametersSequence, DCM_RepetitionTime);
  if (!mr.flip_angle_deg)
    mr.flip_angle_deg = number(DCM_MRTimingAndRelatedParametersSequence, DCM_FlipAngle);
  if (!mr.echo_time_ms) mr.echo_time_ms = number(DCM_MREchoSequence, DCM_EffectiveEchoTime);
  if (!mr.b_value) mr.b_value = number(DCM_MRDiffusionSequence, DCM_DiffusionBValue);

  const std::string echo = get_string(ds, DCM_EchoPulseSequence);  // SPIN, GRADIENT, BOTH
  const bool inversion = value(DCM_MRModifierSequence, DCM_InversionRecovery) == "YES";
  if (mr.scanning_sequence.empty() && !echo.empty()) {
    std::vector<std::string> sequence;
    if (echo == "SPIN" || echo == "BOTH") sequence.push_back("SE");
    if (echo == "GRADIENT" || echo == "BOTH") sequence.push_back("GR");
    if (inversion) sequence.push_back("IR");
    if (get_string(ds, DCM_EchoPlanarPulseSequence) == "YES") sequence.push_back("EP");
    mr.scanning_sequence = join(sequence);
  }
  if (mr.sequence_variant.empty() && !echo.empty()) {
    std::vector<std::string> variant;
    const std::string segmented = get_string(ds, DCM_SegmentedKSpaceTraversal);
    if (segmented == "PARTIAL" || segmented == "FULL") variant.push_back("SK");
    const std::string spoiling = value(DCM_MRModifierSequence, DCM_Spoiling);
    if (!spoiling.empty() && spoiling != "NONE") variant.push_back("SP");
    const std::string steady = get_string(ds, DCM_SteadyStatePulseSequence);
    if (!steady.empty() && steady != "NONE") variant.push_back("SS");
    if (inversion || value(DCM_MRModifierSequence, DCM_T2Preparation) == "YES")
      variant.push_back("MP");
    const std::string transfer = value(DCM_MRImagingModifierSequence, DCM_MagnetizationTransfer);
    if (!transfer.empty() && transfer != "NONE") variant.push_back("MTC");
    mr.sequence_variant = variant.empty() ? "NONE" : join(variant);
  }
  if (mr.scan_options.empty()) {
    std::vector<std::string> options;
    // FAT or FAT_AND_WATER: fat saturation, the classic FS.
    if (get_string(ds, DCM_SpectrallySelectedSuppression).find("FAT") != std::string::npos)
      options.push_back("FS");
    if (value(DCM_MRModifierSequence, DCM_PartialFourier) == "YES")
      options.push_back(value(DCM_MRModifierSequence, DCM_PartialFourierDirection) == "FREQUENCY"
                            ? "PFF"
                            : "PFP");
    const std::string presaturation = value(DCM_MRModifierSequence, DCM_SpatialPresaturation);
    if (!presaturation.empty() && presaturation != "NONE") options.push_back("SP");
    const std::string flow = value(DCM_MRModifierSequence, DCM_FlowCompensation);
    if (!flow.empty() && flow != "NONE") options.push_back("FC");
    mr.scan_options = join(options);
  }
}

// One volume per distinct key of its slices (`keys[i]` for slice i; slices without a key, if
// any, together), each a copy of `s` with its own slices that `label(volume, key)` then marks;
// `s` unchanged when its slices have one key only.
template <class Key, class Label>
std::vector<SeriesInfo> split_by(SeriesInfo s, const std::vector<std::optional<Key>>& keys,
                                 Label label) {
  if (std::set<std::optional<Key>>(keys.begin(), keys.end()).size() < 2) return {std::move(s)};
  std::map<std::optional<Key>, std::vector<SliceRef>> groups;
  for (std::size_t i = 0; i < s.slices.size(); ++i)
    groups[keys[i]].push_back(std::move(s.slices[i]));
  s.slices.clear();
  std::vector<SeriesInfo> volumes;
  for (auto& [key, slices] : groups) {
    SeriesInfo v = s;
    v.slices = std::move(slices);
    label(v, key);
    volumes.push_back(std::move(v));
  }
  return volumes;
}

// The frames of an MR multi-frame object, one volume per TemporalPositionIndex when they carry
// more than one (Frame Content, per frame), as the classic series of several time points are
// split by TemporalPositionIdentifier; each with its acquisition time from its frames'
// FrameAcquisitionDateTime (the earliest). One volume, as before, otherwise.
std::vector<SeriesInfo> split_temporal_positions(DcmDataset& ds, SeriesInfo s) {
  std::vector<std::optional<long>> positions;  // per slice (frame)
  std::map<long, std::string> first_time;      // earliest FrameAcquisitionDateTime per position
  for (const auto& slice : s.slices) {
    DcmItem* content = detail::functional_group(ds, slice.frame, DCM_FrameContentSequence);
    positions.push_back(content ? get_long(*content, DCM_TemporalPositionIndex) : std::nullopt);
    if (!positions.back()) continue;
    const std::string when = get_string(*content, DCM_FrameAcquisitionDateTime);
    std::string& first = first_time[*positions.back()];
    if (!when.empty() && (first.empty() || when < first)) first = when;
  }
  if (first_time.size() < 2) return {std::move(s)};
  // Frames without a TemporalPositionIndex, if any, make a volume of their own.
  return split_by(std::move(s), positions, [&](SeriesInfo& v, const std::optional<long>& at) {
    v.mr.temporal_position = at;
    if (at && !first_time[*at].empty()) {
      v.acquisition_time = time_of(first_time[*at]);
      v.mr.acquisition_times = {v.acquisition_time};
    }
  });
}

// A diffusion object may hold every b value at every position (a b value per frame): each b
// value is a volume of its own, as each time point is, so that no b value is lost as a duplicate
// position. The volumes of one b value (or of none) pass unchanged.
std::vector<SeriesInfo> split_b_values(DcmDataset& ds, std::vector<SeriesInfo> volumes) {
  std::vector<SeriesInfo> out;
  for (SeriesInfo& v : volumes) {
    std::vector<std::optional<double>> b_values;  // per slice (frame)
    for (const auto& slice : v.slices) {
      DcmItem* d = detail::functional_group(ds, slice.frame, DCM_MRDiffusionSequence);
      b_values.push_back(d ? get_double(*d, DCM_DiffusionBValue) : std::nullopt);
    }
    for (auto& part :
         split_by(std::move(v), b_values,
                  [](SeriesInfo&p, const std::optional<double>&b) { p.mr.b_value = b; }))
      out.push_back(std::move(part));
  }
  return out;
}

std::string format_orientation(const std::array<double, 6>& o) {
  std::ostringstream s;
  s.precision(3);
  for (int i = 0; i < 6; ++i) s << (i ? "\\" : "") << o[i];
  return s.str();
}

// Reads the header of one file; returns the reason when the file cannot be part of a volume.
std::variant<FileHeader, std::string> read_header(const fs::path& path) {
  DcmFileFormat file;
  const OFCondition status = file.loadFileUntilTag(
      path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect, DCM_PixelData);
  if (status.bad()) return std::string("not a readable DICOM file (") + status.text() + ")";
  DcmDataset& ds = *file.getDataset();
  DcmMetaInfo& meta = *file.getMetaInfo();

  FileHeader h;
  SeriesInfo s;
  s.sop_class_uid = get_string(ds, DCM_SOPClassUID);
  if (s.sop_class_uid.empty()) s.sop_class_uid = get_string(meta, DCM_MediaStorageSOPClassUID);
  if (s.sop_class_uid.empty()) return std::string("no SOP Class UID");
  if (!is_volume_image_class(s.sop_class_uid)) {
    return "SOP class '" + sop_class_name(s.sop_class_uid) + "' is not a CT or MR image";
  }
  const std::string image_type = get_string(ds, DCM_ImageType);
  if (image_type.find("LOCALIZER") != std::string::npos) return std::string("localizer image");

  s.modality = get_string(ds, DCM_Modality);
  s.study_uid = get_string(ds, DCM_StudyInstanceUID);
  s.series_uid = get_string(ds, DCM_SeriesInstanceUID);
  s.frame_of_reference_uid = get_string(ds, DCM_FrameOfReferenceUID);
  if (s.series_uid.empty()) {
    // Stripped by some anonymisers. Without the UID the images are grouped by frame of
    // reference and folder, which is how such exports are laid out.
    if (s.frame_of_reference_uid.empty()) {
      return std::string("no SeriesInstanceUID and no FrameOfReferenceUID to group by");
    }
    s.warnings.push_back("no SeriesInstanceUID: images grouped by FrameOfReferenceUID and folder");
  }
  s.description = get_string(ds, DCM_SeriesDescription);
  s.series_number = get_string(ds, DCM_SeriesNumber);
  s.body_part = get_string(ds, DCM_BodyPartExamined);
  s.manufacturer = get_string(ds, DCM_Manufacturer);
  s.study_date = get_string(ds, DCM_StudyDate);
  s.study_time = get_string(ds, DCM_StudyTime);
  s.series_time = get_string(ds, DCM_SeriesTime);
  s.acquisition_time = get_string(ds, DCM_AcquisitionTime);
  s.contrast_agent = get_string(ds, DCM_ContrastBolusAgent);
  s.contrast_start_time = get_string(ds, DCM_ContrastBolusStartTime);
  s.accession_number = get_string(ds, DCM_AccessionNumber);
  s.study_id = get_string(ds, DCM_StudyID);
  s.patient.name = get_string(ds, DCM_PatientName);
  s.patient.id = get_string(ds, DCM_PatientID);
  s.patient.birth_date = get_string(ds, DCM_PatientBirthDate);
  s.patient.sex = get_string(ds, DCM_PatientSex);
  if (auto v = get_double(ds, DCM_PatientSize); v && *v > 0) s.patient.size_m = *v;
  if (auto v = get_double(ds, DCM_PatientWeight); v && *v > 0) s.patient.weight_kg = *v;
  if (s.modality == "MR") {
    MrFacts& mr = s.mr;
    mr.image_type = image_type;
    mr.scanning_sequence = get_string(ds, DCM_ScanningSequence);
    mr.sequence_variant = get_string(ds, DCM_SequenceVariant);
    mr.scan_options = get_string(ds, DCM_ScanOptions);
    mr.acquisition_type = get_string(ds, DCM_MRAcquisitionType);
    mr.repetition_time_ms = get_double(ds, DCM_RepetitionTime);
    mr.echo_time_ms = get_double(ds, DCM_EchoTime);
    mr.flip_angle_deg = get_double(ds, DCM_FlipAngle);
    mr.b_value = get_double(ds, DCM_DiffusionBValue);
    if (!s.acquisition_time.empty()) mr.acquisition_times.insert(s.acquisition_time);
    mr.temporal_position = get_long(ds, DCM_TemporalPositionIdentifier);
  }

  if (auto spp = get_long(ds, DCM_SamplesPerPixel); spp && *spp != 1) {
    return "colour image (" + std::to_string(*spp) + " samples per pixel)";
  }
  const auto rows = get_long(ds, DCM_Rows);
  const auto cols = get_long(ds, DCM_Columns);
  if (!rows || !cols || *rows <= 0 || *cols <= 0) return std::string("no Rows/Columns");
  s.rows = static_cast<unsigned>(*rows);
  s.columns = static_cast<unsigned>(*cols);
  const long frames = std::max(1L, get_long(ds, DCM_NumberOfFrames).value_or(1));
  s.multiframe = ds.tagExists(DCM_PerFrameFunctionalGroupsSequence) ||
                 ds.tagExists(DCM_SharedFunctionalGroupsSequence);

  // Geometry of frame 0 (shared for the whole file): orientation, pixel spacing, thickness.
  auto pick = [&](const DcmTagKey& tag, const DcmTagKey& group, unsigned frame) {
    std::vector<double> v = get_doubles(ds, tag);
    if (v.empty() && s.multiframe) {
      if (DcmItem* g = detail::functional_group(ds, frame, group)) v = get_doubles(*g, tag);
    }
    return v;
  };
  const std::vector<double> iop =
      pick(DCM_ImageOrientationPatient, DCM_PlaneOrientationSequence, 0);
  if (iop.size() != 6) return std::string("no valid ImageOrientationPatient");
  for (int i = 0; i < 6; ++i) s.orientation[i] = iop[i];
  if (!detail::orthonormalise(s.orientation)) {
    return "ImageOrientationPatient " + format_orientation(s.orientation) +
           " is not two perpendicular directions";
  }
  const std::vector<double> ps = pick(DCM_PixelSpacing, DCM_PixelMeasuresSequence, 0);
  if (ps.size() != 2 || ps[0] <= 0 || ps[1] <= 0) return std::string("no valid PixelSpacing");
  s.pixel_spacing = {ps[0], ps[1]};
  const std::vector<double> thick = pick(DCM_SliceThickness, DCM_PixelMeasuresSequence, 0);
  if (!thick.empty()) s.slice_thickness = thick[0];

  const Vec3 normal = s.normal();
  std::string sop_uid = get_string(ds, DCM_SOPInstanceUID);
  if (sop_uid.empty()) sop_uid = get_string(meta, DCM_MediaStorageSOPInstanceUID);
  for (long f = 0; f < frames; ++f) {
    const unsigned frame = static_cast<unsigned>(f);
    SliceRef ref;
    ref.file = path;
    ref.frame = frame;
    ref.sop_instance_uid = sop_uid;
    std::vector<double> ipp = get_doubles(ds, DCM_ImagePositionPatient);
    if (s.multiframe) {
      if (DcmItem* g = detail::functional_group(ds, frame, DCM_PlanePositionSequence)) {
        ipp = get_doubles(*g, DCM_ImagePositionPatient);
      }
    }
    if (ipp.size() != 3) {
      return "no valid ImagePositionPatient" +
             (frames > 1 ? " for frame " + std::to_string(frame + 1) : std::string());
    }
    ref.position = {ipp[0], ipp[1], ipp[2]};
    ref.normal_position = detail::dot(ref.position, normal);
    ref.rescale_slope = get_double(ds, DCM_RescaleSlope).value_or(1.0);
    ref.rescale_intercept = get_double(ds, DCM_RescaleIntercept).value_or(0.0);
    if (s.multiframe) {
      if (DcmItem* g = detail::functional_group(ds, frame, DCM_PixelValueTransformationSequence)) {
        ref.rescale_slope = get_double(*g, DCM_RescaleSlope).value_or(ref.rescale_slope);
        ref.rescale_intercept =
            get_double(*g, DCM_RescaleIntercept).value_or(ref.rescale_intercept);
      }
    }
    if (ref.rescale_slope == 0.0) ref.rescale_slope = 1.0;
    s.slices.push_back(std::move(ref));
  }
  if (s.modality != "MR" || !s.multiframe) {
    h.volumes.push_back(std::move(s));
    return h;
  }
  // An Enhanced MR object: AcquisitionDateTime stands for AcquisitionTime, its time points are
  // volumes of their own and its MR facts are where Enhanced MR keeps them.
  if (s.acquisition_time.empty()) {
    s.acquisition_time = time_of(get_string(ds, DCM_AcquisitionDateTime));
    if (!s.acquisition_time.empty()) s.mr.acquisition_times.insert(s.acquisition_time);
  }
  h.volumes = split_b_values(ds, split_temporal_positions(ds, std::move(s)));
  for (SeriesInfo& v : h.volumes) enhanced_mr_facts(ds, v.slices.front().frame, v.mr);
  return h;
}

bool same_orientation(const std::array<double, 6>& a, const std::array<double, 6>& b) {
  for (int i = 0; i < 6; ++i) {
    if (std::abs(a[i] - b[i]) > 0.01) return false;
  }
  return true;
}

// Sorts, de-duplicates and measures the slices of one orientation/matrix group.
void finish_series(SeriesInfo& s, std::vector<Rejected>& rejected) {
  std::stable_sort(s.slices.begin(), s.slices.end(), [](const SliceRef& a, const SliceRef& b) {
    return a.normal_position < b.normal_position;
  });
  std::vector<SliceRef> kept;
  std::size_t duplicates = 0;
  for (auto& slice : s.slices) {
    if (!kept.empty() && std::abs(slice.normal_position - kept.back().normal_position) < 0.01) {
      ++duplicates;
      const bool same_instance = slice.sop_instance_uid == kept.back().sop_instance_uid &&
                                 slice.frame == kept.back().frame;
      rejected.push_back(
          {slice.file, same_instance
                           ? "duplicate copy of SOP instance " + slice.sop_instance_uid
                           : "duplicate slice position (" + std::to_string(slice.normal_position) +
                                 " mm along the normal); first one kept"});
      continue;
    }
    kept.push_back(std::move(slice));
  }
  s.slices = std::move(kept);
  if (duplicates > 0) {
    s.warnings.push_back(std::to_string(duplicates) + " slice(s) at a duplicate position dropped");
  }

  if (s.slices.size() < 2) {
    s.slice_spacing = s.slice_thickness > 0 ? s.slice_thickness : 1.0;
    s.warnings.push_back("single-slice series: slice spacing taken from SliceThickness (" +
                         std::to_string(s.slice_spacing) + " mm)");
    return;
  }
  std::vector<double> gaps;
  for (std::size_t i = 1; i < s.slices.size(); ++i) {
    gaps.push_back(s.slices[i].normal_position - s.slices[i - 1].normal_position);
  }
  std::vector<double> sorted = gaps;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  s.slice_spacing = sorted[sorted.size() / 2];
  std::size_t irregular = 0;
  double largest_gap = 0.0;
  for (double g : gaps) {
    if (std::abs(g - s.slice_spacing) > 0.2 * s.slice_spacing) ++irregular;
    largest_gap = std::max(largest_gap, g);
  }
  if (irregular > 0) {
    std::ostringstream w;
    w.precision(3);
    w << "irregular slice spacing: " << irregular << " gap(s) differ from the median "
      << s.slice_spacing << " mm (largest " << largest_gap
      << " mm; missing slices?); the volume is resampled to a regular grid";
    s.warnings.push_back(w.str());
  }
  // Gantry tilt: the line through the slice origins is not along the normal.
  const Vec3 d = detail::sub(s.slices.back().position, s.slices.front().position);
  const double len = detail::norm(d);
  if (len > 0) {
    const double c = std::min(1.0, std::abs(detail::dot(d, s.normal())) / len);
    s.gantry_tilt_deg = std::acos(c) * 180.0 / M_PI;
    if (s.gantry_tilt_deg > 0.1) {
      std::ostringstream w;
      w.precision(3);
      w << "gantry tilt of " << s.gantry_tilt_deg
        << " degrees: slices are shifted in-plane onto an orthogonal grid";
      s.warnings.push_back(w.str());
    }
  }
}

}  // namespace

ScanResult scan_files(const std::vector<fs::path>& input) {
  detail::ensure_codecs_registered();
  std::vector<fs::path> files = input;
  std::sort(files.begin(), files.end());
  ScanResult result;

  // study|series -> orientation groups, each a SeriesInfo accumulating slices
  std::map<std::string, std::vector<SeriesInfo>> groups;
  std::vector<std::string> order;
  for (const auto& path : files) {
    auto header = read_header(path);
    if (auto* reason = std::get_if<std::string>(&header)) {
      result.rejected.push_back({path, *reason});
      continue;
    }
    for (SeriesInfo& incoming : std::get<FileHeader>(header).volumes) {
      std::string key =
          incoming.series_uid.empty()
              ? "|" + incoming.frame_of_reference_uid + "|" + path.parent_path().string()
              : incoming.study_uid + "|" + incoming.series_uid;
      // The time points of an MR dynamic run in one series (classic or multi-frame) are volumes of
      // their own.
      if (incoming.mr.temporal_position)
        key += "|t" + std::to_string(*incoming.mr.temporal_position);
      // So are the b values of a diffusion series that holds several.
      if (incoming.modality == "MR" && incoming.mr.b_value)
        key += "|b" + std::to_string(*incoming.mr.b_value);
      auto [it, inserted] = groups.try_emplace(key);
      if (inserted) order.push_back(key);
      auto& clusters = it->second;
      auto match = std::find_if(clusters.begin(), clusters.end(), [&](const SeriesInfo& c) {
        return same_orientation(c.orientation, incoming.orientation) && c.rows == incoming.rows &&
               c.columns == incoming.columns;
      });
      if (match == clusters.end()) {
        clusters.push_back(std::move(incoming));
      } else {
        for (auto& slice : incoming.slices) match->slices.push_back(std::move(slice));
        match->mr.acquisition_times.insert(incoming.mr.acquisition_times.begin(),
                                           incoming.mr.acquisition_times.end());
      }
    }
  }

  for (const auto& key : order) {
    auto& clusters = groups[key];
    auto largest = std::max_element(
        clusters.begin(), clusters.end(),
        [](const SeriesInfo& a, const SeriesInfo& b) { return a.slices.size() < b.slices.size(); });
    SeriesInfo series = std::move(*largest);
    for (auto it = clusters.begin(); it != clusters.end(); ++it) {
      if (it == largest) continue;
      std::string why;
      if (!same_orientation(it->orientation, series.orientation)) {
        why = "orientation " + format_orientation(it->orientation) + " differs from the series' " +
              format_orientation(series.orientation);
      } else {
        why = "matrix " + std::to_string(it->rows) + "x" + std::to_string(it->columns) +
              " differs from the series' " + std::to_string(series.rows) + "x" +
              std::to_string(series.columns);
      }
      series.warnings.push_back(std::to_string(it->slices.size()) + " image(s) dropped: " + why);
      for (const auto& slice : it->slices) result.rejected.push_back({slice.file, why});
    }
    finish_series(series, result.rejected);
    result.series.push_back(std::move(series));
  }
  // Every time point of a split series knows every position the series holds.
  std::map<std::string, std::set<long>> positions;
  for (const auto& s : result.series)
    if (s.mr.temporal_position) positions[s.series_uid].insert(*s.mr.temporal_position);
  for (auto& s : result.series)
    if (s.mr.temporal_position) s.mr.temporal_positions = positions[s.series_uid];
  return result;
}

ScanResult scan_directory(const fs::path& root) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    files.push_back(root);
  } else {
    for (fs::recursive_directory_iterator
             it(root, fs::directory_options::skip_permission_denied, ec),
         end;
         it != end; it.increment(ec)) {
      if (ec) break;
      if (it->is_regular_file(ec)) files.push_back(it->path());
    }
  }
  return scan_files(files);
}

}  // namespace livernode::dicom
