#include "livernode/dicom/segmentation_reader.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cmath>

#include "dataset_util.h"
#include "livernode/dicom/error.h"

namespace livernode::dicom {

using detail::get_double;
using detail::get_doubles;
using detail::get_long;
using detail::get_string;

SegmentationRead read_segmentation(const std::filesystem::path& file,
                                   const processing::Geometry& target) {
  detail::ensure_codecs_registered();
  const std::string name = file.string();
  DcmFileFormat format;
  if (OFCondition c = format.loadFile(file.c_str()); c.bad()) {
    throw DicomError(ErrorKind::kNotDicom, name + ": cannot read (" + c.text() + ")");
  }
  DcmDataset& ds = *format.getDataset();
  if (get_string(ds, DCM_SOPClassUID) != UID_SegmentationStorage) {
    throw DicomError(ErrorKind::kUnsupported, name + ": not a DICOM Segmentation");
  }
  // Decompress (RLE, deflate, JPEG 2000 via DCMTK codecs where present).
  if (ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad()) {
    throw DicomError(ErrorKind::kDecode, name + ": cannot decompress the segmentation frames");
  }
  SegmentationRead out;
  out.series_uid = get_string(ds, DCM_SeriesInstanceUID);
  out.frame_of_reference_uid = get_string(ds, DCM_FrameOfReferenceUID);
  DcmItem* ref = nullptr;
  if (ds.findAndGetSequenceItem(DCM_ReferencedSeriesSequence, ref, 0).good() && ref) {
    out.referenced_series_uid = get_string(*ref, DCM_SeriesInstanceUID);
  }
  const long rows = get_long(ds, DCM_Rows).value_or(0);
  const long cols = get_long(ds, DCM_Columns).value_or(0);
  const long frames = get_long(ds, DCM_NumberOfFrames).value_or(1);
  const long bits = get_long(ds, DCM_BitsAllocated).value_or(1);
  if (rows <= 0 || cols <= 0 || (bits != 1 && bits != 8)) {
    throw DicomError(ErrorKind::kMissingAttribute, name + ": invalid Rows/Columns/BitsAllocated");
  }
  const long max_fraction = get_long(ds, DCM_MaximumFractionalValue).value_or(255);

  std::map<unsigned, std::size_t> index_of;
  DcmSequenceOfItems* segments = nullptr;
  if (ds.findAndGetSequence(DCM_SegmentSequence, segments).good() && segments) {
    for (unsigned long i = 0; i < segments->card(); ++i) {
      DcmItem* item = segments->getItem(i);
      SegmentMask m;
      m.number = static_cast<unsigned>(get_long(*item, DCM_SegmentNumber).value_or(i + 1));
      m.label = get_string(*item, DCM_SegmentLabel);
      m.algorithm_type = get_string(*item, DCM_SegmentAlgorithmType);
      auto code = [&](const DcmTagKey& sequence) {
        DcmItem* c = nullptr;
        if (item->findAndGetSequenceItem(sequence, c, 0).bad() || !c) return std::string();
        return get_string(*c, DCM_CodingSchemeDesignator) + ":" + get_string(*c, DCM_CodeValue);
      };
      m.category_code = code(DCM_SegmentedPropertyCategoryCodeSequence);
      m.type_code = code(DCM_SegmentedPropertyTypeCodeSequence);
      m.mask = processing::LabelMap(target, 0);
      index_of[m.number] = out.segments.size();
      out.segments.push_back(std::move(m));
    }
  }
  const Uint8* pixels = nullptr;
  unsigned long length = 0;
  DcmElement* pixel_element = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixel_element).bad() ||
      pixel_element->getUint8Array(const_cast<Uint8*&>(pixels)).bad() || pixels == nullptr) {
    throw DicomError(ErrorKind::kDecode, name + ": no readable pixel data");
  }
  length = pixel_element->getLength();
  const std::size_t frame_pixels = static_cast<std::size_t>(rows) * cols;
  const std::vector<double> shared_iop = [&] {
    if (DcmItem* g = detail::functional_group(ds, 0, DCM_PlaneOrientationSequence)) {
      return get_doubles(*g, DCM_ImageOrientationPatient);
    }
    return std::vector<double>{};
  }();
  std::size_t outside = 0;
  for (long f = 0; f < frames; ++f) {
    const unsigned frame = static_cast<unsigned>(f);
    unsigned segment = 1;
    if (DcmItem* g = detail::functional_group(ds, frame, DCM_SegmentIdentificationSequence)) {
      segment = static_cast<unsigned>(get_long(*g, DCM_ReferencedSegmentNumber).value_or(1));
    }
    auto seg_it = index_of.find(segment);
    if (seg_it == index_of.end()) {
      index_of[segment] = out.segments.size();
      SegmentMask m;
      m.number = segment;
      m.label = "segment " + std::to_string(segment);
      m.mask = processing::LabelMap(target, 0);
      out.segments.push_back(std::move(m));
      seg_it = index_of.find(segment);
    }
    DcmItem* pos = detail::functional_group(ds, frame, DCM_PlanePositionSequence);
    const std::vector<double> ipp =
        pos ? get_doubles(*pos, DCM_ImagePositionPatient) : std::vector<double>{};
    if (ipp.size() != 3) {
      throw DicomError(ErrorKind::kMissingAttribute,
                       name + ": frame " + std::to_string(frame + 1) + " has no plane position");
    }
    std::vector<double> iop = shared_iop;
    if (DcmItem* g = detail::functional_group(ds, frame, DCM_PlaneOrientationSequence)) {
      iop = get_doubles(*g, DCM_ImageOrientationPatient);
    }
    std::array<double, 2> ps{target.spacing[1], target.spacing[0]};
    if (DcmItem* g = detail::functional_group(ds, frame, DCM_PixelMeasuresSequence)) {
      auto v = get_doubles(*g, DCM_PixelSpacing);
      if (v.size() == 2) ps = {v[0], v[1]};
    }
    if (iop.size() != 6) iop = {1, 0, 0, 0, 1, 0};
    processing::LabelMap& mask = out.segments[seg_it->second].mask;
    for (long r = 0; r < rows; ++r) {
      for (long c = 0; c < cols; ++c) {
        const std::size_t bit = static_cast<std::size_t>(f) * frame_pixels + r * cols + c;
        bool on = false;
        if (bits == 1) {
          if (bit / 8 >= length) continue;
          on = (pixels[bit / 8] >> (bit % 8)) & 1u;
        } else {
          if (bit >= length) continue;
          on = pixels[bit] * 2 > max_fraction;
        }
        if (!on) continue;
        const processing::Vec3 p{ipp[0] + iop[0] * c * ps[1] + iop[3] * r * ps[0],
                                 ipp[1] + iop[1] * c * ps[1] + iop[4] * r * ps[0],
                                 ipp[2] + iop[2] * c * ps[1] + iop[5] * r * ps[0]};
        const processing::Vec3 idx = target.point_to_index(p);
        const long i = std::lround(idx[0]), j = std::lround(idx[1]), k = std::lround(idx[2]);
        if (i < 0 || j < 0 || k < 0 || i >= static_cast<long>(target.size[0]) ||
            j >= static_cast<long>(target.size[1]) || k >= static_cast<long>(target.size[2])) {
          ++outside;
          continue;
        }
        mask.at(i, j, k) = 1;
      }
    }
  }
  if (outside > 0) {
    out.warnings.push_back(std::to_string(outside) +
                           " segmented pixel(s) fall outside the target grid");
  }
  return out;
}

}  // namespace livernode::dicom
