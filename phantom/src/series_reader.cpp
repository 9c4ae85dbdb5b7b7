#include "livernode/phantom/series_reader.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace livernode::phantom {

namespace {

struct Slice {
  processing::Vec3 position{};
  std::vector<float> hu;
};

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw std::runtime_error("phantom series file " + file.string() + ": " + what);
}

double get_double(DcmItem& ds, const DcmTagKey& tag, unsigned long pos,
                  const std::filesystem::path& file) {
  Float64 v = 0.0;
  if (ds.findAndGetFloat64(tag, v, pos).bad())
    fail(file, std::string("missing ") + tag.toString().c_str());
  return v;
}

// Item 0 of `sequence` in item `index` of `groups` (the shared or per-frame functional groups).
DcmItem* group(DcmDataset& ds, const DcmTagKey& groups, unsigned long index,
               const DcmTagKey& sequence) {
  DcmItem* outer = nullptr;
  DcmItem* inner = nullptr;
  if (ds.findAndGetSequenceItem(groups, outer, static_cast<int>(index)).good() && outer &&
      outer->findAndGetSequenceItem(sequence, inner, 0).good())
    return inner;
  return nullptr;
}

// Item 0 of `sequence` in the shared functional groups, else in those of frame `frame`.
DcmItem& frame_group(DcmDataset& ds, unsigned long frame, const DcmTagKey& sequence,
                     const std::filesystem::path& file) {
  if (DcmItem* g = group(ds, DCM_SharedFunctionalGroupsSequence, 0, sequence)) return *g;
  if (DcmItem* g = group(ds, DCM_PerFrameFunctionalGroupsSequence, frame, sequence)) return *g;
  fail(file, std::string("missing ") + sequence.toString().c_str() + " for frame " +
                 std::to_string(frame + 1));
}

}  // namespace

processing::Volume read_phantom_series(const std::filesystem::path& series_dir,
                                       std::optional<long> temporal_position) {
  std::vector<Slice> slices;
  Uint16 rows = 0, columns = 0;
  double spacing_row = 0.0, spacing_col = 0.0;
  std::array<double, 6> orientation{};
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(series_dir, ec)) {
    if (entry.path().extension() == ".dcm") files.push_back(entry.path());
  }
  if (ec) throw std::runtime_error("cannot list " + series_dir.string() + ": " + ec.message());
  if (files.empty()) throw std::runtime_error("no .dcm files in " + series_dir.string());
  std::sort(files.begin(), files.end());

  for (const auto& file : files) {
    DcmFileFormat format;
    if (format.loadFile(file.c_str()).bad()) fail(file, "not readable as DICOM");
    DcmDataset& ds = *format.getDataset();
    // An Enhanced MR object (mr_enhanced): its frames, their geometry in the functional groups.
    const bool multiframe = ds.tagExists(DCM_PerFrameFunctionalGroupsSequence);
    if (temporal_position && !multiframe) {
      Sint32 position = 0;
      if (ds.findAndGetSint32(DCM_TemporalPositionIdentifier, position).bad() ||
          position != *temporal_position) {
        continue;
      }
    }
    Sint32 frames = 1;
    if (multiframe && (ds.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1))
      fail(file, "missing NumberOfFrames");
    Uint16 r = 0, c = 0, representation = 0;
    if (ds.findAndGetUint16(DCM_Rows, r).bad() || ds.findAndGetUint16(DCM_Columns, c).bad()) {
      fail(file, "missing Rows/Columns");
    }
    ds.findAndGetUint16(DCM_PixelRepresentation, representation);
    DcmItem& measures = multiframe ? frame_group(ds, 0, DCM_PixelMeasuresSequence, file)
                                   : static_cast<DcmItem&>(ds);
    DcmItem& plane = multiframe ? frame_group(ds, 0, DCM_PlaneOrientationSequence, file)
                                : static_cast<DcmItem&>(ds);
    if (slices.empty()) {
      rows = r;
      columns = c;
      spacing_row = get_double(measures, DCM_PixelSpacing, 0, file);
      spacing_col = get_double(measures, DCM_PixelSpacing, 1, file);
      for (unsigned long i = 0; i < 6; ++i)
        orientation[i] = get_double(plane, DCM_ImageOrientationPatient, i, file);
    } else if (r != rows || c != columns) {
      fail(file, "matrix differs from the other slices");
    }
    const unsigned long per_frame = static_cast<unsigned long>(rows) * columns;
    const Uint16* raw = nullptr;
    unsigned long count = 0;
    if (ds.findAndGetUint16Array(DCM_PixelData, raw, &count).bad() || raw == nullptr ||
        count != per_frame * static_cast<unsigned long>(frames)) {
      fail(file, "missing or short pixel data");
    }
    for (unsigned long f = 0; f < static_cast<unsigned long>(frames); ++f) {
      DcmItem& position = multiframe ? frame_group(ds, f, DCM_PlanePositionSequence, file)
                                     : static_cast<DcmItem&>(ds);
      DcmItem& rescale = multiframe ? frame_group(ds, f, DCM_PixelValueTransformationSequence, file)
                                    : static_cast<DcmItem&>(ds);
      if (temporal_position && multiframe) {
        Uint32 index = 0;
        if (frame_group(ds, f, DCM_FrameContentSequence, file)
                .findAndGetUint32(DCM_TemporalPositionIndex, index)
                .bad() ||
            static_cast<long>(index) != *temporal_position)
          continue;
      }
      Slice s;
      for (unsigned long i = 0; i < 3; ++i)
        s.position[i] = get_double(position, DCM_ImagePositionPatient, i, file);
      // MR slices have no rescale (DCMTK zeroes the output of a failed lookup).
      Float64 slope = 1.0, intercept = 0.0;
      if (rescale.findAndGetFloat64(DCM_RescaleSlope, slope).bad()) slope = 1.0;
      if (rescale.findAndGetFloat64(DCM_RescaleIntercept, intercept).bad()) intercept = 0.0;
      s.hu.resize(per_frame);
      const Uint16* frame_raw = raw + f * per_frame;
      for (unsigned long n = 0; n < per_frame; ++n) {
        const double stored =
            representation ? static_cast<double>(static_cast<Sint16>(frame_raw[n])) : frame_raw[n];
        s.hu[n] = static_cast<float>(stored * slope + intercept);
      }
      slices.push_back(std::move(s));
    }
  }

  if (slices.empty())
    throw std::runtime_error("no slices of the temporal position in " + series_dir.string());
  // Sort along the slice normal (row x column direction).
  const processing::Vec3 normal{orientation[1] * orientation[5] - orientation[2] * orientation[4],
                                orientation[2] * orientation[3] - orientation[0] * orientation[5],
                                orientation[0] * orientation[4] - orientation[1] * orientation[3]};
  auto along = [&](const Slice& s) {
    return s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
  };
  std::sort(slices.begin(), slices.end(),
            [&](const Slice& a, const Slice& b) { return along(a) < along(b); });

  processing::Geometry g;
  g.size = {columns, rows, slices.size()};
  g.spacing = {spacing_col, spacing_row,
               slices.size() > 1 ? along(slices[1]) - along(slices[0]) : 1.0};
  g.origin = slices.front().position;
  g.direction = {orientation[0], orientation[3], normal[0],      orientation[1], orientation[4],
                 normal[1],      orientation[2], orientation[5], normal[2]};
  processing::Volume volume(g);
  const std::size_t per_slice = static_cast<std::size_t>(rows) * columns;
  for (std::size_t k = 0; k < slices.size(); ++k) {
    std::copy(slices[k].hu.begin(), slices[k].hu.end(),
              volume.voxels.begin() + static_cast<long>(k * per_slice));
  }
  return volume;
}

}  // namespace livernode::phantom
