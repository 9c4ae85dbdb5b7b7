// TID 1500 Imaging Measurement Report (Comprehensive 3D SR) built with DCMTK's dcmsr/cmr
// template classes: one volumetric measurement group per SEG segment, study-level figures.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmsr/cmr/tid1500.h>
#include <dcmtk/dcmsr/codes/dcm.h>
#include <dcmtk/dcmsr/codes/sct.h>
#include <dcmtk/dcmsr/codes/ucum.h>
#include <dcmtk/dcmsr/dsrdoc.h>
#include <dcmtk/dcmsr/dsrsc3vl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "follow_up_sections.h"
#include "livernode/dicom/result_writers.h"
#include "sr_codes.h"
#include "sr_items.h"
#include "writer_common.h"

namespace livernode::dicom {

namespace {

using detail::require;
using Measurements = TID1500_MeasurementReport::TID1411_Measurements;

using namespace detail;  // the shared codes (sr_codes.h)

// Concepts without a standard code: the product's own (sr_codes.h).
const DSRBasicCodedEntry kTumourVolume = product_concept(2, "Total tumour volume");
const DSRBasicCodedEntry kTumourBurden = product_concept(3, "Tumour burden");
const DSRBasicCodedEntry kEnhancementPattern = product_concept(4, "Enhancement pattern");
// MR lesions: no attenuation; signal ratios (the lesion's mean signal over the surrounding
// parenchyma's, over paraspinal muscle's, and on T2 over the surrounding parenchyma's).
const DSRBasicCodedEntry kSignalToLiver =
    product_concept(5, "Signal intensity relative to surrounding liver");
const DSRBasicCodedEntry kSignalToMuscle =
    product_concept(6, "Signal intensity relative to paraspinal muscle");
const DSRBasicCodedEntry kT2SignalToLiver =
    product_concept(7, "T2 signal intensity relative to surrounding liver");
const DSRBasicCodedEntry kAdcToLiver =
    product_concept(8, "Apparent diffusion coefficient relative to surrounding liver");
const DSRBasicCodedEntry kRatio("{ratio}", "UCUM", "ratio");
const DSRBasicCodedEntry kCouinaudSegment = product_concept(10, "Couinaud liver segment");
const DSRBasicCodedEntry kEslv = product_concept(12, "Estimated standard liver volume");
const DSRBasicCodedEntry kFlrThreshold = product_concept(15, "FLR threshold applied");
const DSRBasicCodedEntry kEslvAbsent = product_concept(16, "ESLV not computed");
const DSRBasicCodedEntry kResectionFacts = product_concept(17, "Resection remnant");
const DSRBasicCodedEntry kSurgicalFact = product_concept(21, "Surgical planning fact");
// Standard concepts where the product once had its own: the count of lesions (a SNOMED CT
// observable entity); the methods of the liver and Couinaud segmentations are Segmentation Method
// (DCM 122554), the BSA and ESLV formulas Equation (DCM 121420), the BSA one coded from CID 3663
// "Body Surface Area Equations".
const DSRBasicCodedEntry kLesionCount("246206008", "SCT", "Number of lesions");
const DSRBasicCodedEntry kBodySurfaceArea("301898006", "SCT", "Body surface area");
const DSRBasicCodedEntry kSquareMeter("m2", "UCUM", "square meter");

// The CID 3663 code of a BSA formula the surgical plan names, if it has one.
std::optional<DSRBasicCodedEntry> bsa_equation_code(const std::string& formula) {
  using processing::BsaFormula;
  if (formula == processing::bsa_formula_text(BsaFormula::kMosteller)) return CODE_DCM_122244;
  if (formula == processing::bsa_formula_text(BsaFormula::kDuBois)) return CODE_DCM_122241;
  return std::nullopt;
}

std::string phase_text(const processing::SeriesAnalysis& s) {
  return std::string(processing::phase_name(s.phase.phase)) + " (confidence " +
         sr_number(s.phase.confidence, 2) + "), series " + s.series_uid;
}

}  // namespace

WrittenObject write_measurement_report(const SeriesInfo& series, const LoadedVolume& loaded,
                                       const processing::AnalysisResult& result,
                                       const WrittenSegmentation& seg,
                                       const WriterIdentity& identity,
                                       const std::filesystem::path& file) {
  return write_measurement_report(series, loaded, result, std::vector<WrittenSegmentation>{seg},
                                  identity, file);
}

WrittenObject write_measurement_report(const SeriesInfo& series, const LoadedVolume& loaded,
                                       const processing::AnalysisResult& result,
                                       const std::vector<WrittenSegmentation>& segs,
                                       const WriterIdentity& identity,
                                       const std::filesystem::path& file,
                                       const std::vector<const SeriesInfo*>& other_series) {
  (void)loaded;
  if (segs.empty()) {
    throw DicomError(ErrorKind::kInconsistent, file.string() + ": no SEG to measure");
  }
  const std::string product = identity.product.empty() ? "livernode" : identity.product;
  auto header = detail::load_source_header(series);
  DcmDataset& source = *header->getDataset();
  const std::string frame_of_reference = segs.front().frame_of_reference_uid;
  // The image library names the frame of reference of the SEG it measures.
  if (!source.tagExistsWithValue(DCM_FrameOfReferenceUID) && !frame_of_reference.empty())
    source.putAndInsertString(DCM_FrameOfReferenceUID, frame_of_reference.c_str());

  TID1500_MeasurementReport report(CMR_CID7021::ImagingMeasurementReport);
  require(report.setLanguage(CID5000_Languages::English), "cannot set the language", file);
  require(report.getObservationContext().addDeviceObserver(detail::new_uid(), product, product,
                                                           product + " " + identity.version),
          "cannot set the observer device", file);
  require(
      report.addProcedureReported(result.magnetic_resonance ? CMR_CID100::MRIUnspecifiedBodyRegion
                                                            : CMR_CID100::CTUnspecifiedBodyRegion),
      "cannot set the procedure reported", file);

  // Image library: the source series, descriptors common to the group taken from its header.
  TID1600_ImageLibrary& library = report.getImageLibrary();
  require(library.createNewImageLibrary(), "cannot create the image library", file);
  require(library.addImageGroup(), "cannot add the image library group", file);
  for (const auto& slice : series.slices) {
    DcmFileFormat h;
    require(h.loadFileUntilTag(slice.file.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                               ERM_autoDetect, DCM_PixelData),
            "cannot read source header " + slice.file.string(), file, ErrorKind::kIo);
    // Some files carry their SOP Class and Instance UIDs only in the meta header (the series
    // scanner took them from there); the image library needs them in the dataset.
    DcmDataset& entry = *h.getDataset();
    if (!entry.tagExistsWithValue(DCM_SOPClassUID))
      entry.putAndInsertString(DCM_SOPClassUID, series.sop_class_uid.c_str());
    if (!entry.tagExistsWithValue(DCM_SOPInstanceUID))
      entry.putAndInsertString(DCM_SOPInstanceUID, slice.sop_instance_uid.c_str());
    require(library.addImageEntry(entry, TID1600_ImageLibrary::withoutDescriptors),
            "cannot add image " + slice.sop_instance_uid + " to the library", file);
    if (series.multiframe) break;  // every slice is a frame of the same instance
  }
  {
    const OFCondition c =
        library.addImageGroupDescriptors(source, TID1600_ImageLibrary::withAllDescriptors);
    if (c.bad() && c != CMR_EC_NoImageLibraryEntryDescriptorsToBeAdded) {
      require(c, "cannot add the image library descriptors", file);
    }
  }

  // One volumetric ROI measurement group per segment of every SEG.
  const DSRCodedEntryValue liver_code(CODE_SCT_Liver);
  const auto sites = lesion_sites(result);
  std::map<int, int> lesion_group;  // lesion number -> index of its group among the groups
  int group_index = 0;
  for (const auto& seg : segs) {
    for (const auto& segment : seg.segments) {
      require(report.addVolumetricROIMeasurements(), "cannot add a measurement group", file);
      ++group_index;
      Measurements& group = report.getVolumetricROIMeasurements();
      require(group.setTrackingIdentifier(segment.tracking_id), "cannot set the tracking ID", file);
      require(group.setTrackingUniqueIdentifier(segment.tracking_uid),
              "cannot set the tracking UID", file);
      DSRImageReferenceValue reference(UID_SegmentationStorage,
                                       seg.object.sop_instance_uid.c_str());
      reference.getSegmentList().addItem(static_cast<Uint16>(segment.number));
      require(group.setReferencedSegment(reference), "cannot reference the segment", file);
      require(group.setSourceSeriesForSegmentation(series.series_uid),
              "cannot set the source series", file);
      require(group.addFindingSite(liver_code), "cannot set the finding site", file);
      auto add = [&](const DSRBasicCodedEntry& concept, double value, int decimals,
                     const DSRBasicCodedEntry& unit) {
        add_measurement(group, concept, value, decimals, unit, file);
      };
      auto note = [&](const std::string& text) {
        require(group.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_Comment),
                                               OFString(text.substr(0, 1000).c_str())),
                "cannot add a note", file);
      };
      // The volume of what the segment holds on the analysis grid, by the method dcmqi names.
      auto add_segment_volume = [&](int decimals) {
        add(kVolume, segment.mask_volume_ml(), decimals, kMilliliter);
        require(group.getMeasurement().setMeasurementMethod(
                    CMR_CID6147(DSRCodedEntryValue(kSumOfVoxelVolumes))),
                "cannot set the volume method", file);
        if (segment.voxels != segment.mask_voxels) {
          note(
              "the SEG holds " + std::to_string(segment.voxels) + " of the segment's " +
              std::to_string(segment.mask_voxels) + " voxels (" +
              sr_number(segment.volume_ml(), 1) + " of " + sr_number(segment.mask_volume_ml(), 1) +
              " mL): the others lie on slices the loader interpolated, which have no source image");
        }
      };
      // The FLR segment: its volume and shares against the threshold, and the statement.
      auto add_remnant = [&](const processing::ResectionEvaluation& r) {
        require(group.setFinding(DSRCodedEntryValue(kFutureLiverRemnant)), "cannot set the finding",
                file);
        add_segment_volume(1);
        add(kFutureLiverRemnant, r.flr_ml, 1, kMilliliter);
        add(kFlrPercentFunctional, r.flr_percent_of_functional, 1, kPercent);
        if (r.flr_percent_of_eslv) add(kFlrPercentEslv, *r.flr_percent_of_eslv, 1, kPercent);
        add(kFlrThreshold, r.threshold_percent, 0, kPercent);
        require(group.addQualitativeEvaluation(DSRCodedEntryValue(kResectionFacts),
                                               OFString(r.statement.substr(0, 1000).c_str())),
                "cannot add the remnant statement", file);
        if (std::abs(segment.mask_volume_ml() - r.flr_ml) >= 0.05) {
          note("the segment holds " + sr_number(segment.mask_volume_ml(), 1) +
               " mL, lesions included; the future liver remnant, " + sr_number(r.flr_ml, 1) +
               " mL, is its part without lesions");
        }
      };
      if (segment.manual) {
        const std::string source = result.manual ? result.manual->source : std::string("a SEG");
        note("segment drawn or corrected manually (MANUAL), from " + source);
      }
      if (segment.drawn_remnant && result.surgical_plan && result.surgical_plan->drawn_remnant) {
        add_remnant(*result.surgical_plan->drawn_remnant);
        continue;
      }
      if (segment.couinaud_segment > 0 && result.couinaud) {
        const int n = segment.couinaud_segment;
        const auto code = couinaud_code(n);
        const DSRCodedEntryValue segment_code(code.first.c_str(), "SCT", code.second.c_str());
        require(group.setFinding(segment_code), "cannot set the finding", file);
        require(group.addFindingSite(segment_code), "cannot set the segment as finding site", file);
        add_segment_volume(1);
        add(kTumourVolume, result.couinaud->tumour_ml[n], 2, kMilliliter);
        add(kFunctionalVolume, result.couinaud->volume_ml[n] - result.couinaud->tumour_ml[n], 1,
            kMilliliter);
        continue;
      }
      if (segment.future_liver_remnant && result.surgical_plan) {
        add_remnant(result.surgical_plan->resections.front());  // right hemihepatectomy
        continue;
      }
      if (segment.lesion_number == 0) {
        require(group.setFinding(liver_code), "cannot set the finding", file);
        if (result.liver) {
          add_segment_volume(1);
          if (result.magnetic_resonance) {
            note(
                "MR: no attenuation; the liver's signal relative to paraspinal muscle in each "
                "time point is given with the phases");
          } else {
            add(CODE_DCM_MeanAttenuationCoefficient, result.liver->mean_hu, 1, kHounsfield);
          }
          if (std::abs(segment.mask_volume_ml() - result.liver->volume_ml) >= 0.05) {
            note("the segment is the liver without its lesions (" +
                 sr_number(segment.mask_volume_ml(), 1) +
                 " mL); the total liver volume, lesions "
                 "included, is " +
                 sr_number(result.liver->volume_ml, 1) + " mL (Liver volumetry)");
          }
        } else {
          note("liver volume not computed");
        }
        continue;
      }
      require(group.setFinding(DSRCodedEntryValue(kNeoplasm)), "cannot set the finding", file);
      const auto it =
          std::find_if(result.lesions.begin(), result.lesions.end(),
                       [&](const auto& l) { return l.number == segment.lesion_number; });
      if (it == result.lesions.end()) continue;
      const processing::LesionResult& lesion = *it;
      const auto site = sites.find(lesion.number);
      if (site != sites.end()) {
        for (const auto& s : site->second) {
          const auto code = couinaud_code(s.segment);
          require(group.addFindingSite(
                      DSRCodedEntryValue(code.first.c_str(), "SCT", code.second.c_str())),
                  "cannot add the lesion's segment", file);
        }
      }
      add_segment_volume(2);
      if (std::abs(segment.mask_volume_ml() - lesion.volume_ml) >= 0.005) {
        note("lesion volume as measured by the analysis: " + sr_number(lesion.volume_ml, 2) +
             " mL");
      }
      if (result.magnetic_resonance) {
        // The reference time point's ratios as measurements; every time point's in the
        // enhancement pattern's evidence and in a note.
        std::string each, measured_on;
        for (const auto& m : lesion.phases) {
          if (!m.signal_to_liver) continue;
          std::string phase = m.mr_phase;
          std::replace(phase.begin(), phase.end(), '_', ' ');
          if (m.reference) {
            add(kSignalToLiver, *m.signal_to_liver, 2, kRatio);
            add(kSignalToMuscle, m.mean_hu, 2, kRatio);
            measured_on = phase;
          }
          each += (each.empty() ? "" : ", ") + phase + " " + sr_number(*m.signal_to_liver, 2);
        }
        if (lesion.t2_to_liver) add(kT2SignalToLiver, *lesion.t2_to_liver, 2, kRatio);
        if (lesion.adc_to_liver) add(kAdcToLiver, *lesion.adc_to_liver, 2, kRatio);
        if (!each.empty()) {
          note("MR signal over the surrounding liver per time point: " + each +
               (measured_on.empty() ? std::string()
                                    : " (the T1 ratios above: the " + measured_on +
                                          " time point, the segmented series)"));
        }
      } else {
        add(CODE_DCM_MeanAttenuationCoefficient, lesion.mean_hu, 1, kHounsfield);
        add(CODE_DCM_StandardDeviationOfAttenuationCoefficient, lesion.sd_hu, 1, kHounsfield);
      }
      add(kLongAxis, lesion.longest_diameter_mm, 1, CODE_UCUM_Millimeter);
      require(group.getMeasurement().setMeasurementMethod(CMR_CID6147::RECIST11),
              "cannot set the RECIST method", file);
      add(kShortAxis, lesion.short_axis_mm, 1, CODE_UCUM_Millimeter);
      require(group.getMeasurement().setMeasurementMethod(CMR_CID6147::RECIST11),
              "cannot set the RECIST method", file);
      lesion_group[lesion.number] = group_index;
      if (site != sites.end() && !site->second.empty()) {
        require(group.addQualitativeEvaluation(
                    DSRCodedEntryValue(kCouinaudSegment),
                    OFString(("Couinaud segment " + lesion_sites_text(site->second)).c_str())),
                "cannot add the lesion location", file);
      }
      std::string pattern = processing::lesion_type_name(lesion.type);
      if (!lesion.type_evidence.empty()) pattern += ": " + lesion.type_evidence;
      require(group.addQualitativeEvaluation(DSRCodedEntryValue(kEnhancementPattern),
                                             OFString(pattern.substr(0, 1000).c_str())),
              "cannot add the enhancement pattern", file);
    }
  }

  // Study-level figures: volumetry as an individual measurement group, phases and notes as
  // qualitative evaluations; what could not be computed is said in words.
  const std::optional<std::string> no_lesions = detail::lesions_not_done(result);
  if (result.volumetry) {
    const processing::Volumetry& v = *result.volumetry;
    auto& group = new_measurement_group(report, "Liver volumetry", liver_code, file);
    auto add = [&](const DSRBasicCodedEntry& concept, double value, int decimals,
                   const DSRBasicCodedEntry& unit) {
      add_measurement(group, concept, value, decimals, unit, file);
    };
    add(kVolume, v.liver_ml, 1, kMilliliter);
    if (!no_lesions) {  // tumour figures only when lesions were looked for
      add(kTumourVolume, v.tumour_ml, 2, kMilliliter);
      add(kFunctionalVolume, v.functional_ml, 1, kMilliliter);
      add(kTumourBurden, v.burden_percent, 2, kPercent);
      add(kLesionCount, v.lesion_count, 0, DSRBasicCodedEntry("1", "UCUM", "no units"));
    }
    for (const auto& finding : v.findings) {
      require(report.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_Finding),
                                              OFString(finding.c_str())),
              "cannot add a finding", file);
    }
  }
  if (!result.volumetry || no_lesions) {
    std::string why = "not computed";
    if (no_lesions) {
      why += ": " + *no_lesions;
    } else {
      for (const auto& st : result.stages) {
        if (st.stage == "volumetry" && !st.done && !st.detail.empty()) why += ": " + st.detail;
      }
    }
    require(report.addQualitativeEvaluation(DSRCodedEntryValue(kTumourBurden),
                                            OFString(why.substr(0, 1000).c_str())),
            "cannot add a note", file);
  }
  // Surgical planning: BSA and ESLV with their formulas, the FLR of every standard resection
  // against the threshold of the liver condition, or why the ESLV is absent.
  if (result.surgical_plan) {
    const auto& plan = *result.surgical_plan;
    auto& group = new_measurement_group(report, "Surgical planning", liver_code, file);
    auto add = [&](const DSRBasicCodedEntry& concept, double value, int decimals,
                   const DSRBasicCodedEntry& unit) {
      add_measurement(group, concept, value, decimals, unit, file);
    };
    if (plan.bsa_m2) add(kBodySurfaceArea, *plan.bsa_m2, 2, kSquareMeter);
    if (plan.eslv_ml) add(kEslv, *plan.eslv_ml, 0, kMilliliter);
    add(kFlrThreshold, plan.flr_threshold_percent, 0, kPercent);
    auto say = [&](const DSRBasicCodedEntry& concept, const std::string& text) {
      add_text(report, concept, text, file);
    };
    if (plan.eslv_ml) {
      // The BSA formula by its CID 3663 code when it has one; the ESLV formula has none.
      const auto bsa_code = bsa_equation_code(plan.bsa_formula);
      if (bsa_code) {
        require(report.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_Equation),
                                                DSRCodedEntryValue(*bsa_code)),
                "cannot add the BSA formula", file);
      } else {
        say(CODE_DCM_Equation, "BSA " + plan.bsa_formula);
      }
      say(CODE_DCM_Equation, "ESLV " + plan.eslv_formula);
    } else {
      say(kEslvAbsent, plan.eslv_absent_reason);
    }
    say(kFlrThreshold, "FLR threshold " + sr_number(plan.flr_threshold_percent, 0) + " % (" +
                           plan.flr_basis + ") for " + plan.liver_condition);
    if (plan.drawn_remnant) say(kResectionFacts, plan.drawn_remnant->statement);
    for (const auto& r : plan.resections) say(kResectionFacts, r.statement);
    for (std::size_t i = plan.statements.size() >= 3 ? plan.statements.size() - 3 : 0;
         i < plan.statements.size(); ++i) {
      say(kSurgicalFact, plan.statements[i]);  // burden, ablation limits, distribution
    }
    if (result.couinaud) {
      say(CODE_DCM_SegmentationMethod, "Couinaud segments: " + result.couinaud->method);
    }
  }
  for (const auto& text : result.mr_phases) {
    require(report.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_ContrastPhase),
                                            OFString(text.substr(0, 1000).c_str())),
            "cannot add the phase of a time point", file);
  }
  for (const auto& s : result.series) {
    require(report.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_ContrastPhase),
                                            OFString(phase_text(s).c_str())),
            "cannot add the phase of a series", file);
  }
  if (result.liver && !result.liver->method.empty()) {
    add_text(report, CODE_DCM_SegmentationMethod, "Liver: " + result.liver->method, file);
  }
  if (result.follow_up) detail::add_follow_up(report, *result.follow_up, file);
  if (result.manual && result.manual->any()) {
    std::string edited;
    auto name = [&](bool on, const char* what) {
      if (on) edited += (edited.empty() ? "" : ", ") + std::string(what);
    };
    name(result.manual->liver, "liver");
    name(result.manual->lesions, "lesions");
    name(result.manual->remnant, "future liver remnant");
    const std::string note = "Corrected manually: " + edited + " (from " + result.manual->source +
                             "); the other results are automatic";
    require(report.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_Comment),
                                            OFString(note.substr(0, 1000).c_str())),
            "cannot add the correction note", file);
  }
  if (!identity.disclaimer.empty()) {
    require(report.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_Comment),
                                            OFString(identity.disclaimer.substr(0, 1000).c_str())),
            "cannot add the disclaimer", file);
  }
  if (!report.isValid()) {
    throw DicomError(ErrorKind::kInconsistent,
                     file.string() + ": the measurement report is incomplete");
  }

  // Lesion axes as 3D polylines under their NUM items: a viewer draws them where the
  // measurement was made. They need a Comprehensive 3D SR; without any, a Comprehensive SR.
  struct Axis {
    int lesion;
    bool long_axis;
    std::array<processing::Vec3, 2> ends;
  };
  std::vector<Axis> axes;
  for (const auto& lesion : result.lesions) {
    if (!lesion_group.count(lesion.number) || frame_of_reference.empty()) continue;
    if (lesion.longest_diameter_mm > 0) axes.push_back({lesion.number, true, lesion.long_axis});
    if (lesion.short_axis_mm > 0) axes.push_back({lesion.number, false, lesion.short_axis});
  }
  const bool three_d = !axes.empty();
  const DSRTypes::E_DocumentType type =
      three_d ? DSRTypes::DT_Comprehensive3DSR : DSRTypes::DT_ComprehensiveSR;
  DSRDocument document;
  require(document.createNewDocument(type), "cannot create the SR", file);
  require(document.setTreeFromRootTemplate(report, OFTrue), "cannot build the SR tree", file);
  // The template builds an Enhanced SR tree; the report is filed as Comprehensive (3D) SR.
  require(document.changeDocumentType(type), "cannot set the SR document type", file);
  if (three_d) {
    DSRDocumentTree& tree = document.getTree();
    // Find the NUM items of the long and short axes, by the tracking identifier of their group.
    std::map<std::string, int> lesion_of_tracking;
    for (const auto& seg : segs)
      for (const auto& segment : seg.segments)
        if (segment.lesion_number > 0)
          lesion_of_tracking[segment.tracking_id] = segment.lesion_number;
    std::map<std::pair<int, bool>, std::size_t> axis_nodes;
    int current_lesion = 0;
    if (tree.gotoRoot() > 0) {
      do {
        const DSRContentItem& item = tree.getCurrentContentItem();
        const DSRCodedEntryValue& concept = item.getConceptName();
        if (item.getValueType() == DSRTypes::VT_Container &&
            concept.getCodeValue() == "125007") {  // Measurement Group
          current_lesion = 0;
        } else if (item.getValueType() == DSRTypes::VT_Text &&
                   concept.getCodeValue() == "112039") {  // Tracking Identifier
          const auto it = lesion_of_tracking.find(item.getStringValue().c_str());
          current_lesion = it == lesion_of_tracking.end() ? 0 : it->second;
        } else if (item.getValueType() == DSRTypes::VT_Num && current_lesion > 0 &&
                   concept.getCodingSchemeDesignator() == "SCT") {
          if (concept.getCodeValue() == kLongAxis.CodeValue)
            axis_nodes[{current_lesion, true}] = tree.getNodeID();
          if (concept.getCodeValue() == kShortAxis.CodeValue)
            axis_nodes[{current_lesion, false}] = tree.getNodeID();
        }
      } while (tree.iterate() > 0);
    }
    for (const auto& axis : axes) {
      const auto node = axis_nodes.find({axis.lesion, axis.long_axis});
      if (node == axis_nodes.end() || tree.gotoNode(node->second) == 0) {
        throw DicomError(
            ErrorKind::kInconsistent,
            file.string() + ": no axis measurement for lesion " + std::to_string(axis.lesion));
      }
      if (tree.addContentItem(DSRTypes::RT_inferredFrom, DSRTypes::VT_SCoord3D,
                              DSRTypes::AM_belowCurrent) == 0) {
        throw DicomError(ErrorKind::kInconsistent,
                         file.string() + ": cannot add the axis coordinates of lesion " +
                             std::to_string(axis.lesion));
      }
      DSRSpatialCoordinates3DValue coordinates(DSRTypes::GT3_Polyline);
      for (const auto& p : axis.ends) {
        coordinates.getGraphicDataList().addItem(
            static_cast<Float32>(p[0]), static_cast<Float32>(p[1]), static_cast<Float32>(p[2]));
      }
      require(coordinates.setFrameOfReferenceUID(frame_of_reference.c_str()),
              "cannot set the frame of reference of the axis", file);
      require(tree.getCurrentContentItem().setSpatialCoordinates3D(coordinates),
              "cannot set the axis coordinates", file);
    }
  }
  require(document.createNewSeriesInStudy(series.study_uid.c_str()), "cannot start the series",
          file);
  document.setSeriesDescription(
      ("SR liver measurements (" + product + version_suffix(identity) + ")").c_str());
  document.setSeriesNumber(
      std::to_string(std::atoi(identity.series_number_base.c_str()) + 2).c_str());
  document.setInstanceNumber("1");
  document.setManufacturer(product.c_str());
  document.setManufacturerModelName(product.c_str());
  document.setSoftwareVersions(identity.version.c_str());
  document.setDeviceSerialNumber("1");
  // Evidence: the SEGs and every image of every series the measurements used (the reference
  // series and the other phases). Series of another study are pertinent other evidence.
  DSRSOPInstanceReferenceList& evidence = document.getCurrentRequestedProcedureEvidence();
  for (const auto& seg : segs) {
    require(evidence.addItem(series.study_uid.c_str(), seg.object.series_instance_uid.c_str(),
                             UID_SegmentationStorage, seg.object.sop_instance_uid.c_str()),
            "cannot list the SEG as evidence", file);
  }
  std::vector<const SeriesInfo*> used{&series};
  for (const SeriesInfo* other : other_series)
    if (other && other->series_uid != series.series_uid) used.push_back(other);
  for (const SeriesInfo* s : used) {
    DSRSOPInstanceReferenceList& list =
        s->study_uid == series.study_uid ? evidence : document.getPertinentOtherEvidence();
    std::set<std::string> listed;
    for (const auto& slice : s->slices) {
      if (!listed.insert(slice.sop_instance_uid).second) continue;
      require(list.addItem(s->study_uid.c_str(), s->series_uid.c_str(), s->sop_class_uid.c_str(),
                           slice.sop_instance_uid.c_str()),
              "cannot list a source image as evidence", file);
    }
  }
  require(document.completeDocument(), "cannot complete the SR", file);

  DcmFileFormat format;
  DcmDataset& dataset = *format.getDataset();
  require(document.write(dataset), "cannot encode the SR", file);
  detail::copy_patient_and_study(source, dataset);
  detail::settle_character_set(source, dataset);
  OFString sop_instance, series_uid;
  dataset.findAndGetOFString(DCM_SOPInstanceUID, sop_instance);
  dataset.findAndGetOFString(DCM_SeriesInstanceUID, series_uid);
  detail::save(format, file);

  return {file, "sr", three_d ? UID_Comprehensive3DSRStorage : UID_ComprehensiveSRStorage,
          sop_instance.c_str(), series_uid.c_str()};
}

}  // namespace livernode::dicom
