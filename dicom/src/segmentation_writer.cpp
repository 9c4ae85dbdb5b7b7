// Binary DICOM Segmentation of the liver and the lesions, built with DCMTK's DcmSegmentation.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "dataset_util.h"
#include "livernode/dicom/copied_values.h"
#include "livernode/dicom/result_writers.h"
#include "writer_common.h"

namespace livernode::dicom {

namespace {

using detail::require;

std::string ds(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  // DS is at most 16 characters; %.6g stays well inside.
  return buffer;
}

using detail::Rgb;

void set_colour(DcmSegment& segment, const Rgb& c, const std::filesystem::path& file) {
  double L = 0, a = 0, b = 0;
  IODCIELabUtil::rgb2DicomLab(L, a, b, c.r, c.g, c.b);
  auto clamp16 = [](double v) {
    return static_cast<Uint16>(std::lround(std::min(65535.0, std::max(0.0, v))));
  };
  require(segment.setRecommendedDisplayCIELabValue(clamp16(L), clamp16(a), clamp16(b)),
          "cannot set the segment colour", file);
}

struct SegmentPlan {
  std::string label, description, tracking_id;
  CodeSequenceMacro category, type;
  Rgb colour;
  int lesion_number = 0;
  // Whether voxel p (linear index on the grid) belongs to the segment.
  std::function<bool(std::size_t)> in = nullptr;
  int couinaud_segment = 0;
  bool future_liver_remnant = false;
  bool drawn_remnant = false;
  bool manual = false;
};

// Eight distinguishable colours for Couinaud segments I..VIII.
Rgb couinaud_colour(int segment) {
  static const Rgb colours[] = {{0.90, 0.60, 0.00}, {0.35, 0.70, 0.90}, {0.00, 0.60, 0.50},
                                {0.95, 0.90, 0.25}, {0.00, 0.45, 0.70}, {0.80, 0.40, 0.00},
                                {0.80, 0.60, 0.70}, {0.55, 0.55, 0.55}};
  return colours[(segment - 1) % 8];
}

const CodeSequenceMacro kAnatomicalStructure() {
  return CodeSequenceMacro("123037004", "SCT", "Anatomical Structure");
}
const CodeSequenceMacro kLiverCode() { return CodeSequenceMacro("10200004", "SCT", "Liver"); }

struct LayerText {
  std::string content_label;        // ContentLabel (CS, at most 16 characters)
  std::string content_description;  // ContentDescription
  std::string series_description;   // before " (product...)"
  int series_offset = 1;            // added to the series number base
};

LayerText layer_text(SegLayer layer) {
  switch (layer) {
    case SegLayer::kLiverAndLesions:
      return {"LIVER_LESIONS", "Liver parenchyma and liver lesions, not overlapping",
              "SEG liver and lesions", 1};
    case SegLayer::kCouinaud:
      return {"COUINAUD", "Couinaud liver segments I-VIII, not overlapping",
              "SEG Couinaud segments I-VIII", 5};
    case SegLayer::kRemnant:
      return {"FLR", "FLR of a right hemihepatectomy: segments I-IV without lesions",
              "SEG FLR right hemihepatectomy", 6};
    case SegLayer::kDrawnRemnant:
      return {"FLR_DRAWN", "Future liver remnant drawn by hand", "SEG FLR drawn by hand", 7};
  }
  return {};
}

// The segments of one layer (empty when the analysis has nothing for it).
std::vector<SegmentPlan> plan_layer(SegLayer layer, const SeriesInfo& series,
                                    const processing::Geometry& grid,
                                    const processing::AnalysisResult& result,
                                    const std::filesystem::path& file) {
  std::vector<SegmentPlan> plans;
  const bool have_lesion_map = !result.lesion_labels.empty();
  if (have_lesion_map && !result.lesion_labels.geometry.same_grid(grid)) {
    throw DicomError(
        ErrorKind::kInconsistent,
        file.string() + ": the lesion label map is not on the grid of series " + series.series_uid);
  }
  const processing::LabelMap* lesions = have_lesion_map ? &result.lesion_labels : nullptr;
  auto no_lesion = [lesions](std::size_t p) { return !lesions || lesions->voxels[p] == 0; };
  const bool couinaud =
      !result.couinaud_labels.empty() && result.couinaud_labels.geometry.same_grid(grid);
  switch (layer) {
    case SegLayer::kLiverAndLesions: {
      if (!result.liver_mask.empty()) {
        if (!result.liver_mask.geometry.same_grid(grid)) {
          throw DicomError(
              ErrorKind::kInconsistent,
              file.string() + ": the liver mask is not on the grid of series " + series.series_uid);
        }
        SegmentPlan p{"Liver",
                      "Liver parenchyma: the liver without its lesions (intrahepatic vessels "
                      "included); liver and lesions together are the total liver volume",
                      "Liver",
                      kAnatomicalStructure(),
                      kLiverCode(),
                      detail::liver_colour()};
        const processing::LabelMap* liver = &result.liver_mask;
        p.in = [liver, no_lesion](std::size_t q) { return liver->voxels[q] != 0 && no_lesion(q); };
        p.manual = result.manual && result.manual->liver;
        if (p.manual) p.description = "Liver parenchyma without the lesions, corrected by hand";
        plans.push_back(std::move(p));
      }
      if (!result.lesions.empty()) {
        if (!lesions) {
          throw DicomError(ErrorKind::kInconsistent,
                           file.string() + ": the lesion label map is missing");
        }
        for (const auto& lesion : result.lesions) {
          if (lesion.number <= 0 || lesion.number > 255) continue;
          const std::string n = std::to_string(lesion.number);
          SegmentPlan p{
              "Lesion " + n,
              std::string("Liver lesion ") + n + ", " + processing::lesion_type_name(lesion.type),
              "Lesion " + n,
              CodeSequenceMacro("49755003", "SCT", "Morphologically Altered Structure"),
              CodeSequenceMacro("108369006", "SCT", "Neoplasm"),
              detail::lesion_colour(lesion.number)};
          p.lesion_number = lesion.number;
          p.manual = result.manual && result.manual->lesions;
          if (p.manual) p.description += ", drawn or corrected by hand";
          const auto value = static_cast<std::uint8_t>(lesion.number);
          p.in = [lesions, value](std::size_t q) { return lesions->voxels[q] == value; };
          plans.push_back(std::move(p));
        }
      }
      break;
    }
    case SegLayer::kCouinaud:
      if (!couinaud) break;
      for (int s = 1; s <= processing::kCouinaudSegments; ++s) {
        const std::string roman = processing::couinaud_roman(s);
        const auto code = couinaud_code(s);
        SegmentPlan p{"Couinaud " + roman,
                      "Couinaud liver segment " + roman +
                          " (planes through the IVC, hepatic veins "
                          "and portal bifurcation), lesions included",
                      "Segment " + roman,
                      kAnatomicalStructure(),
                      CodeSequenceMacro(code.first.c_str(), "SCT", code.second.c_str()),
                      couinaud_colour(s)};
        const processing::LabelMap* labels = &result.couinaud_labels;
        const auto value = static_cast<std::uint8_t>(s);
        p.in = [labels, value](std::size_t q) { return labels->voxels[q] == value; };
        p.couinaud_segment = s;
        plans.push_back(std::move(p));
      }
      break;
    case SegLayer::kRemnant: {
      if (!couinaud || !result.surgical_plan) break;
      SegmentPlan flr{"FLR right hemihepatectomy",
                      "Future liver remnant after a right hemihepatectomy: segments I-IV without "
                      "the lesions (the functional remnant the report gives)",
                      "FLR right hemihepatectomy",
                      kAnatomicalStructure(),
                      kLiverCode(),
                      Rgb{0.2, 0.8, 0.2}};
      const processing::LabelMap* labels = &result.couinaud_labels;
      flr.in = [labels, no_lesion](std::size_t q) {
        const std::uint8_t v = labels->voxels[q];
        return v >= 1 && v <= 4 && no_lesion(q);
      };
      flr.future_liver_remnant = true;
      plans.push_back(std::move(flr));
      break;
    }
    case SegLayer::kDrawnRemnant: {
      if (result.remnant_mask.empty() || !result.remnant_mask.geometry.same_grid(grid)) break;
      SegmentPlan drawn{"FLR drawn",  "Future liver remnant drawn by hand",
                        "FLR drawn",  kAnatomicalStructure(),
                        kLiverCode(), Rgb{0.1, 0.9, 0.4}};
      const processing::LabelMap* remnant = &result.remnant_mask;
      drawn.in = [remnant](std::size_t q) { return remnant->voxels[q] != 0; };
      drawn.drawn_remnant = true;
      drawn.manual = true;
      plans.push_back(std::move(drawn));
      break;
    }
  }
  return plans;
}

}  // namespace

const char* seg_layer_name(SegLayer layer) {
  switch (layer) {
    case SegLayer::kLiverAndLesions:
      return "liver_lesions";
    case SegLayer::kCouinaud:
      return "couinaud";
    case SegLayer::kRemnant:
      return "remnant";
    case SegLayer::kDrawnRemnant:
      return "drawn_remnant";
  }
  return "";
}

const char* seg_layer_file(SegLayer layer) {
  switch (layer) {
    case SegLayer::kLiverAndLesions:
      return "seg.dcm";
    case SegLayer::kCouinaud:
      return "seg-couinaud.dcm";
    case SegLayer::kRemnant:
      return "seg-flr.dcm";
    case SegLayer::kDrawnRemnant:
      return "seg-flr-drawn.dcm";
  }
  return "seg.dcm";
}

std::pair<std::string, std::string> couinaud_code(int segment) {
  // DICOM CID 7170 "Couinaud Liver Segment" (SNOMED CT; segment I is the caudate lobe).
  static const std::pair<const char*, const char*> codes[] = {
      {"71133005", "Couinaud hepatic segment I"},
      {"277956007", "Couinaud hepatic segment II"},
      {"277957003", "Couinaud hepatic segment III"},
      {"277958008", "Couinaud hepatic segment IV"},
      {"277959000", "Couinaud hepatic segment V"},
      {"277960005", "Couinaud hepatic segment VI"},
      {"277961009", "Couinaud hepatic segment VII"},
      {"277962002", "Couinaud hepatic segment VIII"}};
  if (segment < 1 || segment > 8) return {"10200004", "Liver"};
  return {codes[segment - 1].first, codes[segment - 1].second};
}

std::vector<WrittenSegmentation> write_segmentations(const SeriesInfo& series,
                                                     const LoadedVolume& loaded,
                                                     const processing::AnalysisResult& result,
                                                     const WriterIdentity& identity,
                                                     const std::filesystem::path& folder) {
  std::vector<WrittenSegmentation> out;
  for (SegLayer layer : {SegLayer::kLiverAndLesions, SegLayer::kCouinaud, SegLayer::kRemnant,
                         SegLayer::kDrawnRemnant}) {
    const std::filesystem::path file = folder / seg_layer_file(layer);
    if (plan_layer(layer, series, loaded.volume.geometry, result, file).empty()) {
      if (layer == SegLayer::kLiverAndLesions) {
        throw DicomError(
            ErrorKind::kInconsistent,
            file.string() + ": nothing to write, the analysis found no liver and no lesion");
      }
      continue;
    }
    out.push_back(write_segmentation(series, loaded, result, identity, file, layer));
  }
  return out;
}

WrittenSegmentation write_segmentation(const SeriesInfo& series, const LoadedVolume& loaded,
                                       const processing::AnalysisResult& result,
                                       const WriterIdentity& identity,
                                       const std::filesystem::path& file, SegLayer layer) {
  const processing::Geometry& grid = loaded.volume.geometry;
  if (loaded.source_slice.size() != grid.size[2]) {
    throw DicomError(ErrorKind::kInconsistent,
                     file.string() + ": the loaded volume has no slice-to-source mapping");
  }
  if (grid.size[0] > 65535 || grid.size[1] > 65535) {
    throw DicomError(ErrorKind::kUnsupported, file.string() + ": image matrix too large for a SEG");
  }
  const std::vector<SegmentPlan> plans = plan_layer(layer, series, grid, result, file);
  if (plans.empty()) {
    throw DicomError(
        ErrorKind::kInconsistent,
        file.string() + ": nothing to write, the analysis found no liver and no lesion");
  }
  const LayerText text = layer_text(layer);

  auto header = detail::load_source_header(series);
  DcmDataset& source = *header->getDataset();

  const std::string product = identity.product.empty() ? "livernode" : identity.product;
  IODGeneralEquipmentModule::EquipmentInfo equipment(product, product, "1", identity.version);
  ContentIdentificationMacro content("1", text.content_label, text.content_description, "");
  DcmSegmentation* raw = nullptr;
  require(DcmSegmentation::createBinarySegmentation(raw, static_cast<Uint16>(grid.size[1]),
                                                    static_cast<Uint16>(grid.size[0]), equipment,
                                                    content),
          "cannot create the segmentation", file);
  std::unique_ptr<DcmSegmentation> seg(raw);
  require(seg->importFromSourceImage(source),
          "cannot take over patient, study and frame of reference", file);
  // The import brings the scanner's equipment along; the SEG is made by this product.
  require(seg->setEquipmentInfo(equipment), "cannot set the equipment", file);
  const std::string series_uid = detail::new_uid();
  require(seg->getSeries().setSeriesInstanceUID(series_uid), "cannot set the series UID", file);
  const std::string series_number =
      std::to_string(std::atoi(identity.series_number_base.c_str()) + text.series_offset);
  seg->getSeries().setSeriesNumber(series_number);
  seg->getSeries().setSeriesDescription(text.series_description + " (" + product +
                                        version_suffix(identity) + ")");
  seg->getSeries().setSeriesDate(detail::today().c_str());
  seg->getSeries().setSeriesTime(detail::now_time().c_str());
  WrittenSegmentation out;
  out.layer = layer;
  // The frames are placed in patient coordinates, so the SEG needs a Frame of Reference even when
  // its source has none (some converters leave it out): then a new one, said in a warning.
  {
    OFString source_frame;
    source.findAndGetOFString(DCM_FrameOfReferenceUID, source_frame);
    out.frame_of_reference_uid = source_frame.c_str();
    if (out.frame_of_reference_uid.empty()) {
      out.frame_of_reference_uid = new_frame_of_reference_uid();
      out.warnings.push_back(
          "the source series has no Frame of Reference UID; the SEG carries a "
          "new one, " +
          out.frame_of_reference_uid);
    }
  }
  require(seg->getFrameOfReference().setFrameOfReferenceUID(out.frame_of_reference_uid.c_str()),
          "cannot set the frame of reference", file);

  // Shared functional groups: orientation and pixel measures of the source grid.
  const processing::Vec3 row = grid.axis(0), col = grid.axis(1);
  std::unique_ptr<FGPlaneOrientationPatient> orientation(FGPlaneOrientationPatient::createMinimal(
      ds(row[0]).c_str(), ds(row[1]).c_str(), ds(row[2]).c_str(), ds(col[0]).c_str(),
      ds(col[1]).c_str(), ds(col[2]).c_str()));
  if (!orientation) throw DicomError(ErrorKind::kInconsistent, file.string() + ": bad orientation");
  require(seg->addForAllFrames(*orientation), "cannot add the plane orientation", file);
  FGPixelMeasures measures;
  require(measures.setPixelSpacing((ds(grid.spacing[1]) + "\\" + ds(grid.spacing[0])).c_str()),
          "cannot set the pixel spacing", file);
  const double thickness = series.slice_thickness > 0 ? series.slice_thickness : grid.spacing[2];
  require(measures.setSliceThickness(ds(thickness).c_str()), "cannot set the slice thickness",
          file);
  require(measures.setSpacingBetweenSlices(ds(grid.spacing[2]).c_str()),
          "cannot set the slice spacing", file);
  require(seg->addForAllFrames(measures), "cannot add the pixel measures", file);

  // Dimensions: segment, then position along the normal.
  const std::string dimension_uid = detail::new_uid();
  IODMultiframeDimensionModule& dims = seg->getDimensions();
  require(dims.addDimensionIndex(DCM_ReferencedSegmentNumber, dimension_uid,
                                 DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"),
          "cannot add the segment dimension", file);
  require(dims.addDimensionIndex(DCM_ImagePositionPatient, dimension_uid, DCM_PlanePositionSequence,
                                 "ImagePositionPatient"),
          "cannot add the position dimension", file);

  const std::size_t nx = grid.size[0], ny = grid.size[1], nz = grid.size[2];
  std::vector<Uint8> frame(nx * ny);
  std::set<int> referenced_slices;
  for (const auto& plan : plans) {
    DcmSegment* segment = nullptr;
    require(DcmSegment::create(segment, plan.label.c_str(), plan.category, plan.type,
                               plan.manual ? DcmSegTypes::SAT_MANUAL : DcmSegTypes::SAT_AUTOMATIC,
                               plan.manual ? "" : product.c_str()),
            "cannot create segment " + plan.label, file);
    std::unique_ptr<DcmSegment> owned(segment);
    segment->setSegmentDescription(plan.description.c_str());
    set_colour(*segment, plan.colour, file);
    if (!plan.manual) {
      AlgorithmIdentificationMacro& algorithm = segment->getSegmentationAlgorithmIdentification();
      algorithm.getAlgorithmFamilyCode().set("123104", "DCM", "Morphological Operations");
      algorithm.setAlgorithmName(product.c_str());
      algorithm.setAlgorithmVersion(identity.version.c_str());
    }
    WrittenSegment written;
    written.label = plan.label;
    written.tracking_id = plan.tracking_id;
    written.tracking_uid = detail::new_uid();
    written.lesion_number = plan.lesion_number;
    written.couinaud_segment = plan.couinaud_segment;
    written.future_liver_remnant = plan.future_liver_remnant;
    written.drawn_remnant = plan.drawn_remnant;
    written.manual = plan.manual;
    written.voxel_ml = grid.voxel_volume_ml();
    written.description = plan.description;
    {
      CodeSequenceMacro type = plan.type;
      OFString scheme, value;
      type.getCodingSchemeDesignator(scheme);
      type.getCodeValue(value);
      written.type_code = std::string(scheme.c_str()) + ":" + value.c_str();
    }
    require(segment->setTrackingID(written.tracking_id.c_str()), "cannot set the tracking ID",
            file);
    require(segment->setTrackingUID(written.tracking_uid.c_str()), "cannot set the tracking UID",
            file);
    Uint16 number = 0;
    require(seg->addSegment(segment, number), "cannot add segment " + plan.label, file);
    owned.release();  // the segmentation owns it now
    written.number = number;

    for (std::size_t k = 0; k < nz; ++k) {
      std::size_t on = 0;
      const std::size_t base = k * nx * ny;
      for (std::size_t q = 0; q < nx * ny; ++q) {
        const bool in = plan.in(base + q);
        frame[q] = in ? 1 : 0;
        on += in ? 1 : 0;
      }
      written.mask_voxels += on;
      if (on == 0) continue;  // empty frames are not written
      const int source_index = loaded.source_slice[k];
      if (source_index < 0 || static_cast<std::size_t>(source_index) >= series.slices.size()) {
        out.omitted_interpolated_voxels += on;
        continue;
      }
      const SliceRef& slice = series.slices[source_index];
      const processing::Vec3 p = grid.index_to_point(0, 0, static_cast<double>(k));
      std::unique_ptr<FGPlanePosPatient> position(
          FGPlanePosPatient::createMinimal(ds(p[0]).c_str(), ds(p[1]).c_str(), ds(p[2]).c_str()));
      FGFrameContent frame_content;
      frame_content.setDimensionIndexValues(number, 0);
      frame_content.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1);
      ImageSOPInstanceReferenceMacro* reference = nullptr;
      require(ImageSOPInstanceReferenceMacro::create(series.sop_class_uid.c_str(),
                                                     slice.sop_instance_uid.c_str(), reference),
              "cannot reference source image " + slice.sop_instance_uid, file);
      std::unique_ptr<ImageSOPInstanceReferenceMacro> owned_reference(reference);
      if (series.multiframe) {
        require(reference->addReferencedFrameNumber(static_cast<Uint16>(slice.frame + 1)),
                "cannot reference frame " + std::to_string(slice.frame + 1) + " of " +
                    slice.sop_instance_uid,
                file);
      }
      OFVector<ImageSOPInstanceReferenceMacro> references;
      references.push_back(*reference);
      std::unique_ptr<FGDerivationImage> derivation(DcmSegmentation::createDerivationImageFG(
          references, plan.manual ? "Segmentation drawn or corrected by hand"
                                  : "Automatic segmentation of the liver and liver lesions"));
      if (!derivation) {
        throw DicomError(ErrorKind::kInconsistent,
                         file.string() + ": cannot build the derivation image reference");
      }
      OFVector<FGBase*> per_frame;
      per_frame.push_back(position.get());
      per_frame.push_back(&frame_content);
      per_frame.push_back(derivation.get());
      require(seg->addFrame(frame.data(), number, per_frame),
              "cannot add a frame of segment " + plan.label, file);
      referenced_slices.insert(source_index);
      written.voxels += on;
      ++out.frames;
    }
    out.segments.push_back(std::move(written));
  }
  if (out.frames == 0) {
    throw DicomError(ErrorKind::kInconsistent,
                     file.string() + ": every segment is empty on the source slices");
  }
  if (out.omitted_interpolated_voxels > 0) {
    out.warnings.push_back(std::to_string(out.omitted_interpolated_voxels) +
                           " segmented voxel(s) on interpolated slices were left out of the SEG "
                           "(those slices have no source image to reference)");
  }

  DcmFileFormat format;
  DcmDataset& dataset = *format.getDataset();
  require(seg->writeDataset(dataset), "cannot encode the segmentation", file);
  // No voxel belongs to two segments of this object: a viewer may load it as one label map.
  require(dataset.putAndInsertString(DCM_SegmentsOverlap, "NO"), "cannot set SegmentsOverlap",
          file);
  // Patient and study exactly as the source has them (DCMTK's import keeps only its own subset).
  detail::copy_patient_and_study(source, dataset);
  detail::settle_character_set(source, dataset);
  // Referenced Series Sequence: the source series and every image a frame was derived from.
  dataset.findAndDeleteElement(DCM_ReferencedSeriesSequence);
  DcmItem* series_item = nullptr;
  require(dataset.findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series_item, 0),
          "cannot add the referenced series", file);
  series_item->putAndInsertString(DCM_SeriesInstanceUID, series.series_uid.c_str());
  std::set<std::string> listed;
  long item_index = 0;
  for (int s : referenced_slices) {
    const SliceRef& slice = series.slices[s];
    if (!listed.insert(slice.sop_instance_uid).second) continue;
    DcmItem* instance = nullptr;
    require(series_item->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, instance,
                                                  item_index++),
            "cannot add a referenced instance", file);
    instance->putAndInsertString(DCM_ReferencedSOPClassUID, series.sop_class_uid.c_str());
    instance->putAndInsertString(DCM_ReferencedSOPInstanceUID, slice.sop_instance_uid.c_str());
  }
  OFString sop_instance;
  dataset.findAndGetOFString(DCM_SOPInstanceUID, sop_instance);
  detail::save(format, file);

  out.object = {file, "seg", UID_SegmentationStorage, sop_instance.c_str(), series_uid};
  return out;
}

}  // namespace livernode::dicom
