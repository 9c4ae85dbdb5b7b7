// The series scanner on Enhanced MR multi-frame objects: the phantom's T1 dynamic run written as
// one object (--mr-enhanced) comes back as one volume per temporal position, with the slices,
// positions, acquisition times and pixels of the classic phantom of the same seed; every series
// gives the triage the facts of its classic twin; the MR facts are read from the shared
// functional groups first and from a frame's own where only there, and a multi-frame object of
// one temporal position stays one volume.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/phantom/phantom.h"
#include "livernode/study/mr_triage.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using livernode::dicom::ScanResult;
using livernode::dicom::SeriesInfo;
using namespace livernode;

// A tiny MR phantom (48 x 48 pixels of 8 mm, 10 mm slices), without series descriptions so that
// the triage has only the header to go by.
phantom::PhantomOptions tiny_mr(bool enhanced) {
  phantom::PhantomOptions o;
  o.modality = phantom::PhantomModality::kMr;
  o.seed = 3;
  o.matrix = 48;
  o.pixel_spacing_mm = 8.0;
  o.slice_thickness_mm = 10.0;
  o.series_descriptions = false;
  o.mr_enhanced = enhanced;
  return o;
}

// (series UID, temporal position or 0) -> the volume of a scan.
std::map<std::pair<std::string, long>, const SeriesInfo*> by_volume(const ScanResult& scan) {
  std::map<std::pair<std::string, long>, const SeriesInfo*> out;
  for (const SeriesInfo& s : scan.series)
    out[{s.series_uid, s.mr.temporal_position.value_or(0)}] = &s;
  return out;
}

bool has_word(const std::string& values, const std::string& word) {
  std::string padded = "\\" + values + "\\";
  return padded.find("\\" + word + "\\") != std::string::npos;
}

// The same tiny phantom written as classic MR Image Storage and as Enhanced MR, scanned.
class SeriesScanner : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::make_temp_dir("livernode-scanner-enhanced"));
    truth_ =
        new phantom::PhantomTruth(phantom::generate_phantom(tiny_mr(false), *dir_ / "classic"));
    phantom::generate_phantom(tiny_mr(true), *dir_ / "enhanced");
    classic_ = new ScanResult(dicom::scan_directory(*dir_ / "classic" / "dicom"));
    enhanced_ = new ScanResult(dicom::scan_directory(*dir_ / "enhanced" / "dicom"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete truth_;
    delete classic_;
    delete enhanced_;
  }
  static fs::path* dir_;
  static phantom::PhantomTruth* truth_;
  static ScanResult* classic_;
  static ScanResult* enhanced_;
};
fs::path* SeriesScanner::dir_ = nullptr;
phantom::PhantomTruth* SeriesScanner::truth_ = nullptr;
ScanResult* SeriesScanner::classic_ = nullptr;
ScanResult* SeriesScanner::enhanced_ = nullptr;

TEST_F(SeriesScanner, EnhancedMrDynamicObjectIsOneVolumePerTimePoint) {
  EXPECT_TRUE(enhanced_->rejected.empty()) << enhanced_->rejected.front().reason;
  ASSERT_EQ(enhanced_->series.size(), classic_->series.size());
  std::string dynamic_uid;
  for (const auto& s : truth_->series)
    if (s.temporal_position) dynamic_uid = s.series_uid;
  ASSERT_FALSE(dynamic_uid.empty());
  const auto classic = by_volume(*classic_);
  std::set<fs::path> files;
  std::set<std::string> times;
  std::size_t volumes = 0;
  for (const SeriesInfo& s : enhanced_->series) {
    if (s.series_uid != dynamic_uid) continue;
    ++volumes;
    ASSERT_TRUE(s.mr.temporal_position.has_value());
    const long t = *s.mr.temporal_position;
    SCOPED_TRACE("time point " + std::to_string(t));
    EXPECT_TRUE(s.multiframe);
    EXPECT_EQ(s.mr.temporal_positions, (std::set<long>{1, 2, 3}));
    EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
    const SeriesInfo& twin = *classic.at({dynamic_uid, t});
    ASSERT_EQ(s.slices.size(), twin.slices.size());
    ASSERT_EQ(s.slices.size(), 20u);  // the grid's slices, none dropped as a duplicate
    for (std::size_t i = 0; i < s.slices.size(); ++i) {
      files.insert(s.slices[i].file);
      EXPECT_NEAR(s.slices[i].normal_position, twin.slices[i].normal_position, 1e-6) << i;
      for (int a = 0; a < 3; ++a)
        EXPECT_NEAR(s.slices[i].position[a], twin.slices[i].position[a], 1e-6) << i;
      // Frames of a time point follow each other, time point after time point.
      EXPECT_EQ(s.slices[i].frame, static_cast<unsigned>((t - 1) * 20 + static_cast<long>(i)));
    }
    EXPECT_EQ(s.acquisition_time, twin.acquisition_time);
    EXPECT_EQ(s.mr.acquisition_times, std::set<std::string>{twin.acquisition_time});
    times.insert(s.acquisition_time);
    // The loader reads each time point's own frames: the classic twin's pixels, voxel for voxel.
    const auto volume = dicom::load_volume(s).volume;
    const auto expected = dicom::load_volume(twin).volume;
    EXPECT_EQ(volume.geometry.size, expected.geometry.size);
    EXPECT_EQ(volume.geometry.origin, expected.geometry.origin);
    EXPECT_TRUE(volume.voxels == expected.voxels);
  }
  EXPECT_EQ(volumes, 3u);
  EXPECT_EQ(files.size(), 1u) << "one object holds every time point";
  EXPECT_EQ(times.size(), 3u);
}

TEST_F(SeriesScanner, EnhancedMrSeriesGiveTheTriageTheFactsOfTheirClassicTwins) {
  const auto enhanced = by_volume(*enhanced_);
  ASSERT_EQ(enhanced.size(), classic_->series.size());
  for (const SeriesInfo& c : classic_->series) {
    const auto key = std::make_pair(c.series_uid, c.mr.temporal_position.value_or(0));
    ASSERT_TRUE(enhanced.count(key)) << c.series_uid;
    const SeriesInfo& e = *enhanced.at(key);
    SCOPED_TRACE(c.series_uid + " (classic image type " + c.mr.image_type + ")");
    EXPECT_EQ(e.sop_class_uid, UID_EnhancedMRImageStorage);
    EXPECT_EQ(e.slices.size(), c.slices.size());
    EXPECT_EQ(e.mr.repetition_time_ms, c.mr.repetition_time_ms);
    EXPECT_EQ(e.mr.echo_time_ms, c.mr.echo_time_ms);
    EXPECT_EQ(e.mr.flip_angle_deg, c.mr.flip_angle_deg);
    EXPECT_EQ(e.mr.b_value, c.mr.b_value);
    EXPECT_EQ(e.acquisition_time, c.acquisition_time);
    const bool derived = has_word(c.mr.image_type, "DERIVED");
    // A derived image (the ADC map) has no pulse sequence of its own in Enhanced MR.
    if (!derived) {
      EXPECT_EQ(e.mr.acquisition_type, c.mr.acquisition_type);
      EXPECT_EQ(has_word(e.mr.scanning_sequence, "GR"), has_word(c.mr.scanning_sequence, "GR"))
          << e.mr.scanning_sequence;
      EXPECT_EQ(has_word(e.mr.scanning_sequence, "EP"), has_word(c.mr.scanning_sequence, "EP"))
          << e.mr.scanning_sequence;
      EXPECT_EQ(has_word(e.mr.scan_options, "FS"), has_word(c.mr.scan_options, "FS"))
          << e.mr.scan_options;
      EXPECT_EQ(has_word(e.mr.sequence_variant, "SK"), has_word(c.mr.sequence_variant, "SK"))
          << e.mr.sequence_variant;
    }
    const auto te = study::triage_mr_series(e), tc = study::triage_mr_series(c);
    EXPECT_EQ(study::mr_role_name(te.role), study::mr_role_name(tc.role)) << te.evidence;
    EXPECT_EQ(te.time_points, tc.time_points);
    EXPECT_EQ(te.temporal_position, tc.temporal_position);
  }
}

// An Enhanced MR object written here: 2 positions x `temporal` time points (TemporalPositionIndex
// per frame when temporal > 1, else each frame its own position), the echo time and inversion
// recovery shared, the repetition time and b-value in each frame's own groups only.
void write_enhanced_mr(const fs::path& file, int temporal) {
  DcmFileFormat format;
  DcmDataset& ds = *format.getDataset();
  const int frames = temporal > 1 ? 2 * temporal : 4;
  ds.putAndInsertString(DCM_SOPClassUID, UID_EnhancedMRImageStorage);
  ds.putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.10.1234.9.4.1");
  ds.putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.10.1234.9.1");
  ds.putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.10.1234.9.3.1");
  ds.putAndInsertString(DCM_Modality, "MR");
  ds.putAndInsertString(DCM_ImageType, "ORIGINAL\\PRIMARY\\T2\\NONE");
  ds.putAndInsertString(DCM_AcquisitionDateTime, "20261101095900");
  ds.putAndInsertUint16(DCM_Rows, 4);
  ds.putAndInsertUint16(DCM_Columns, 4);
  ds.putAndInsertString(DCM_NumberOfFrames, std::to_string(frames).c_str());
  ds.putAndInsertString(DCM_EchoPulseSequence, "SPIN");
  ds.putAndInsertString(DCM_SpectrallySelectedSuppression, "FAT_AND_WATER");
  ds.putAndInsertString(DCM_MRAcquisitionType, "2D");
  DcmItem* shared = nullptr;
  ds.findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
  DcmItem* item = nullptr;
  shared->findOrCreateSequenceItem(DCM_PixelMeasuresSequence, item, 0);
  item->putAndInsertString(DCM_PixelSpacing, "2\\2");
  item->putAndInsertString(DCM_SliceThickness, "5");
  shared->findOrCreateSequenceItem(DCM_PlaneOrientationSequence, item, 0);
  item->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
  shared->findOrCreateSequenceItem(DCM_MREchoSequence, item, 0);
  item->putAndInsertFloat64(DCM_EffectiveEchoTime, 85.0);
  shared->findOrCreateSequenceItem(DCM_MRModifierSequence, item, 0);
  item->putAndInsertString(DCM_InversionRecovery, "YES");
  for (int f = 0; f < frames; ++f) {
    DcmItem* frame = nullptr;
    ds.findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, f);
    const int time_point = temporal > 1 ? f / 2 + 1 : 1;
    const int position = temporal > 1 ? f % 2 : f;
    frame->findOrCreateSequenceItem(DCM_PlanePositionSequence, item, 0);
    item->putAndInsertString(DCM_ImagePositionPatient,
                             ("0\\0\\" + std::to_string(5 * position)).c_str());
    frame->findOrCreateSequenceItem(DCM_FrameContentSequence, item, 0);
    if (temporal > 1) item->putAndInsertUint32(DCM_TemporalPositionIndex, time_point);
    item->putAndInsertString(
        DCM_FrameAcquisitionDateTime,
        ("2026110110" + std::to_string(10 + time_point) + "00.000000+0100").c_str());
    frame->findOrCreateSequenceItem(DCM_MRTimingAndRelatedParametersSequence, item, 0);
    item->putAndInsertString(DCM_RepetitionTime, std::to_string(2000 + 500 * time_point).c_str());
    item->putAndInsertString(DCM_FlipAngle, "150");
    frame->findOrCreateSequenceItem(DCM_MRDiffusionSequence, item, 0);
    item->putAndInsertFloat64(DCM_DiffusionBValue, 100.0 * time_point);
  }
  ASSERT_TRUE(format.saveFile(file.c_str(), EXS_LittleEndianExplicit).good());
}

TEST(SeriesScannerEnhancedMr, FactsFromSharedGroupsFirstAndFromEachFrameWhereOnlyThere) {
  const fs::path dir = test::make_temp_dir("livernode-scanner-groups");
  write_enhanced_mr(dir / "two_time_points.dcm", 2);
  const ScanResult scan = dicom::scan_files({dir / "two_time_points.dcm"});
  ASSERT_TRUE(scan.rejected.empty()) << scan.rejected.front().reason;
  ASSERT_EQ(scan.series.size(), 2u);
  for (const SeriesInfo& s : scan.series) {
    ASSERT_TRUE(s.mr.temporal_position.has_value());
    const long t = *s.mr.temporal_position;
    SCOPED_TRACE("time point " + std::to_string(t));
    EXPECT_EQ(s.mr.temporal_positions, (std::set<long>{1, 2}));
    ASSERT_EQ(s.slices.size(), 2u);
    EXPECT_EQ(s.slices[0].frame, static_cast<unsigned>(2 * (t - 1)));
    EXPECT_DOUBLE_EQ(s.slice_spacing, 5.0);
    // Per frame only: the time point's first frame.
    EXPECT_EQ(s.mr.repetition_time_ms, 2000.0 + 500.0 * t);
    EXPECT_EQ(s.mr.b_value, 100.0 * t);
    EXPECT_EQ(s.mr.flip_angle_deg, 150.0);
    // Shared.
    EXPECT_EQ(s.mr.echo_time_ms, 85.0);
    EXPECT_EQ(s.mr.scanning_sequence, "SE\\IR");
    EXPECT_TRUE(has_word(s.mr.sequence_variant, "MP")) << s.mr.sequence_variant;
    EXPECT_EQ(s.mr.scan_options, "FS");
    EXPECT_EQ(s.mr.acquisition_type, "2D");
    // The frames' acquisition time, without the UTC offset.
    EXPECT_EQ(s.acquisition_time, "10" + std::to_string(10 + t) + "00.000000");
    const auto triage = study::triage_mr_series(s);
    EXPECT_EQ(triage.time_points, 2u);
    EXPECT_EQ(triage.role, study::MrRole::kDiffusion) << triage.evidence;  // a b-value
  }

  // One temporal position: one volume of every frame, as before; AcquisitionDateTime gives the
  // acquisition time.
  write_enhanced_mr(dir / "one_time_point.dcm", 1);
  const ScanResult single = dicom::scan_files({dir / "one_time_point.dcm"});
  ASSERT_EQ(single.series.size(), 1u);
  const SeriesInfo& s = single.series[0];
  EXPECT_FALSE(s.mr.temporal_position.has_value());
  EXPECT_TRUE(s.mr.temporal_positions.empty());
  EXPECT_EQ(s.slices.size(), 4u);
  EXPECT_EQ(s.acquisition_time, "095900");
  EXPECT_EQ(study::triage_mr_series(s).time_points, 1u);
  fs::remove_all(dir);
}

// A diffusion series holding b 50 and b 800 at each of two positions, written as classic MR
// Image files (one per slice and b value) or as one Enhanced MR object (a b value per frame).
void write_two_b_values(const fs::path& dir, bool enhanced) {
  const double b_values[] = {50.0, 800.0};
  auto header = [&](DcmDataset& ds, const std::string& sop) {
    ds.putAndInsertString(DCM_SOPClassUID,
                          enhanced ? UID_EnhancedMRImageStorage : UID_MRImageStorage);
    ds.putAndInsertString(DCM_SOPInstanceUID, sop.c_str());
    ds.putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.10.1234.8.1");
    ds.putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.10.1234.8.3.1");
    ds.putAndInsertString(DCM_Modality, "MR");
    ds.putAndInsertString(DCM_ImageType, "ORIGINAL\\PRIMARY\\DIFFUSION\\NONE");
    ds.putAndInsertUint16(DCM_Rows, 4);
    ds.putAndInsertUint16(DCM_Columns, 4);
  };
  if (!enhanced) {
    int n = 0;
    for (double b : b_values)
      for (int position = 0; position < 2; ++position) {
        DcmFileFormat format;
        DcmDataset& ds = *format.getDataset();
        header(ds, "1.2.826.0.1.3680043.10.1234.8.4." + std::to_string(++n));
        ds.putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
        ds.putAndInsertString(DCM_ImagePositionPatient,
                              ("0\\0\\" + std::to_string(5 * position)).c_str());
        ds.putAndInsertString(DCM_PixelSpacing, "2\\2");
        ds.putAndInsertString(DCM_ScanningSequence, "SE\\EP");
        ds.putAndInsertFloat64(DCM_DiffusionBValue, b);
        ASSERT_TRUE(format
                        .saveFile((dir / ("dwi" + std::to_string(n) + ".dcm")).c_str(),
                                  EXS_LittleEndianExplicit)
                        .good());
      }
    return;
  }
  DcmFileFormat format;
  DcmDataset& ds = *format.getDataset();
  header(ds, "1.2.826.0.1.3680043.10.1234.8.4.9");
  ds.putAndInsertString(DCM_NumberOfFrames, "4");
  ds.putAndInsertString(DCM_EchoPulseSequence, "SPIN");
  ds.putAndInsertString(DCM_EchoPlanarPulseSequence, "YES");
  DcmItem* shared = nullptr;
  ds.findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
  DcmItem* item = nullptr;
  shared->findOrCreateSequenceItem(DCM_PixelMeasuresSequence, item, 0);
  item->putAndInsertString(DCM_PixelSpacing, "2\\2");
  shared->findOrCreateSequenceItem(DCM_PlaneOrientationSequence, item, 0);
  item->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
  for (int f = 0; f < 4; ++f) {
    DcmItem* frame = nullptr;
    ds.findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, f);
    frame->findOrCreateSequenceItem(DCM_PlanePositionSequence, item, 0);
    item->putAndInsertString(DCM_ImagePositionPatient,
                             ("0\\0\\" + std::to_string(5 * (f % 2))).c_str());
    frame->findOrCreateSequenceItem(DCM_MRDiffusionSequence, item, 0);
    item->putAndInsertFloat64(DCM_DiffusionBValue, b_values[f / 2]);
  }
  ASSERT_TRUE(format.saveFile((dir / "dwi.dcm").c_str(), EXS_LittleEndianExplicit).good());
}

// Both ways, each b value is a volume of its own with every position: none is dropped as a
// duplicate position, and the triage names each with its b value.
TEST(SeriesScannerDiffusion, EachBValueOfOneSeriesIsAVolumeOfItsOwn) {
  for (bool enhanced : {false, true}) {
    SCOPED_TRACE(enhanced ? "Enhanced MR" : "classic MR");
    const fs::path dir = test::make_temp_dir("livernode-scanner-dwi");
    write_two_b_values(dir, enhanced);
    const ScanResult scan = dicom::scan_directory(dir);
    EXPECT_TRUE(scan.rejected.empty()) << scan.rejected.front().reason;
    ASSERT_EQ(scan.series.size(), 2u);
    std::set<double> b_values;
    for (const SeriesInfo& s : scan.series) {
      ASSERT_TRUE(s.mr.b_value.has_value());
      b_values.insert(*s.mr.b_value);
      EXPECT_EQ(s.slices.size(), 2u);
      EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
      const auto triage = study::triage_mr_series(s);
      EXPECT_EQ(triage.role, study::MrRole::kDiffusion) << triage.evidence;
      EXPECT_NE(triage.evidence.find("b " + std::to_string(static_cast<int>(*s.mr.b_value))),
                std::string::npos)
          << triage.evidence;
    }
    EXPECT_EQ(b_values, (std::set<double>{50.0, 800.0}));
    fs::remove_all(dir);
  }
}

}  // namespace
