#include "writer_common.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <ctime>

#include "livernode/dicom/copied_values.h"
#include "livernode/dicom/result_writers.h"
#include "sr_codes.h"

namespace livernode::dicom::detail {

Rgb liver_colour() { return {0.86, 0.51, 0.40}; }

Rgb lesion_colour(int lesion_number) {
  static const Rgb colours[] = {{1.0, 0.9, 0.1}, {0.1, 0.9, 0.3},  {0.2, 0.8, 1.0},
                                {1.0, 0.3, 0.9}, {1.0, 0.55, 0.0}, {0.6, 0.4, 1.0},
                                {0.9, 0.1, 0.1}, {0.5, 1.0, 0.8}};
  const int n = static_cast<int>(sizeof colours / sizeof colours[0]);
  return colours[((lesion_number - 1) % n + n) % n];
}

std::optional<std::string> lesions_not_done(const processing::AnalysisResult& result) {
  if (!result.lesions.empty()) return std::nullopt;
  for (const auto& st : result.stages) {
    if (st.stage == "lesions" && !st.done)
      return st.detail.empty() ? "lesion detection not done" : st.detail;
  }
  return std::nullopt;
}

std::string new_uid() {
  char buffer[100];
  dcmGenerateUniqueIdentifier(buffer, SITE_INSTANCE_UID_ROOT);
  return buffer;
}

void require(const OFCondition& c, const std::string& what, const std::filesystem::path& file,
             ErrorKind kind) {
  if (c.good()) return;
  throw DicomError(kind, file.string() + ": " + what + " (" + c.text() + ")");
}

std::unique_ptr<DcmFileFormat> read_first_header(const SeriesInfo& series, std::string& reasons) {
  for (const auto& slice : series.slices) {
    auto format = std::make_unique<DcmFileFormat>();
    const OFCondition c =
        format->loadFileUntilTag(slice.file.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                 ERM_autoDetect, DCM_PixelData);
    if (c.good()) return format;
    reasons = slice.file.string() + ": " + c.text();
  }
  return nullptr;
}

std::unique_ptr<DcmFileFormat> load_source_header(const SeriesInfo& series) {
  std::string reasons;
  auto format = read_first_header(series, reasons);
  if (!format) {
    throw DicomError(ErrorKind::kIo, "series " + series.series_uid +
                                         ": no source header readable to copy the patient and "
                                         "study from (" +
                                         reasons + ")");
  }
  DcmDataset& ds = *format->getDataset();
  // Every value a result copies from here is made valid for its VR first (NUL padding,
  // over-long decimal strings, ...): a strict writer refuses what a tolerant reader accepts.
  make_copied_values_valid(ds);
  // A source without a Frame of Reference: the results carry the one the caller made for
  // this analysis (SEG, SR and summary.json agree).
  if (!ds.tagExistsWithValue(DCM_FrameOfReferenceUID) && !series.frame_of_reference_uid.empty())
    ds.putAndInsertString(DCM_FrameOfReferenceUID, series.frame_of_reference_uid.c_str());
  // Results are filed in the source's study and refer to its series: without these UIDs
  // (some anonymised files blank them) no valid object can be written.
  OFString study;
  ds.findAndGetOFString(DCM_StudyInstanceUID, study);
  if (study.empty() || series.series_uid.empty()) {
    throw DicomError(
        ErrorKind::kMissingAttribute,
        std::string("the source series has no ") +
            (study.empty() ? "Study Instance UID (0020,000D)" : "Series Instance UID (0020,000E)") +
            ": results cannot be filed with it");
  }
  return format;
}

namespace {
struct CopiedTag {
  DcmTagKey tag;
  bool type2;  // written empty when the source lacks it
};
const CopiedTag kPatientAndStudy[] = {
    // Patient module
    {DCM_PatientName, true},
    {DCM_PatientID, true},
    {DCM_IssuerOfPatientID, false},
    {DCM_PatientBirthDate, true},
    {DCM_PatientSex, true},
    {DCM_OtherPatientIDsSequence, false},
    {DCM_PatientComments, false},
    {DCM_PatientIdentityRemoved, false},
    {DCM_DeidentificationMethod, false},
    {DCM_DeidentificationMethodCodeSequence, false},
    // Patient Study module
    {DCM_PatientAge, false},
    {DCM_PatientSize, false},
    {DCM_PatientWeight, false},
    // General Study module
    {DCM_StudyInstanceUID, true},
    {DCM_StudyDate, true},
    {DCM_StudyTime, true},
    {DCM_ReferringPhysicianName, true},
    {DCM_StudyID, true},
    {DCM_AccessionNumber, true},
    {DCM_StudyDescription, false},
    {DCM_IssuerOfAccessionNumberSequence, false},
    {DCM_ProcedureCodeSequence, false},
};
}  // namespace

void copy_patient_and_study(DcmItem& source, DcmItem& target) {
  for (const auto& entry : kPatientAndStudy) {
    DcmElement* element = nullptr;
    if (source.findAndGetElement(entry.tag, element).good() && element) {
      target.insert(OFstatic_cast(DcmElement*, element->clone()), OFTrue);
    } else if (entry.type2) {
      if (!target.tagExists(entry.tag)) target.insertEmptyElement(entry.tag);
    } else {
      target.findAndDeleteElement(entry.tag);
    }
  }
  // Patient Identity Removed YES needs a De-identification Method or its code sequence (Type 1C);
  // some anonymisers write neither. The result says that the source does not record it.
  OFString removed;
  if (target.findAndGetOFString(DCM_PatientIdentityRemoved, removed).good() && removed == "YES" &&
      !target.tagExistsWithValue(DCM_DeidentificationMethod) &&
      !target.tagExistsWithValue(DCM_DeidentificationMethodCodeSequence)) {
    target.putAndInsertString(DCM_DeidentificationMethod, "not recorded in the source images");
  }
}

void settle_character_set(DcmItem& source, DcmItem& target) {
  bool ascii = true;
  DcmStack stack;
  while (ascii && target.nextObject(stack, OFTrue).good()) {
    DcmObject* object = stack.top();
    if (!object->isLeaf() || object->getTag() == DCM_PixelData) continue;
    DcmElement* element = OFstatic_cast(DcmElement*, object);
    if (!element->isAffectedBySpecificCharacterSet()) continue;
    char* text = nullptr;
    if (element->getString(text).good() && text) {
      for (const char* c = text; *c; ++c) ascii = ascii && static_cast<unsigned char>(*c) < 0x80;
    }
  }
  if (ascii) {
    target.findAndDeleteElement(DCM_SpecificCharacterSet);
    return;
  }
  OFString charset;
  if (source.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset).bad() || charset.empty()) {
    charset = "ISO_IR 192";
  }
  target.putAndInsertOFStringArray(DCM_SpecificCharacterSet, charset);
}

std::string today() {
  char buffer[16];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buffer, sizeof buffer, "%Y%m%d", &tm);
  return buffer;
}

std::string now_time() {
  char buffer[16];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buffer, sizeof buffer, "%H%M%S", &tm);
  return buffer;
}

void save(DcmFileFormat& format, const std::filesystem::path& file) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    throw DicomError(ErrorKind::kIo,
                     file.parent_path().string() + ": cannot create folder (" + ec.message() + ")");
  }
  // kResultTransferSyntaxUid, which WrittenObject reports.
  const OFCondition c = format.saveFile(file.c_str(), EXS_LittleEndianExplicit, EET_ExplicitLength,
                                        EGL_recalcGL, EPD_noChange, 0, 0, EWM_createNewMeta);
  require(c, "cannot write the file", file, ErrorKind::kIo);
}

std::function<void(const DcmTagKey&, const std::string&)> start_derived_object(
    DcmItem& ds, DcmItem& source, const std::filesystem::path& file, const char* sop_class_uid,
    const std::string& sop_instance_uid, const std::string& modality, const std::string& series_uid,
    const std::string& series_number, const std::string& series_description) {
  auto put = [&ds, file](const DcmTagKey& tag, const std::string& value) {
    require(ds.putAndInsertString(tag, value.c_str()),
            std::string("cannot set ") + DcmTag(tag).getTagName(), file);
  };
  put(DCM_SOPClassUID, sop_class_uid);
  put(DCM_SOPInstanceUID, sop_instance_uid);
  copy_patient_and_study(source, ds);
  put(DCM_Modality, modality);
  put(DCM_SeriesInstanceUID, series_uid);
  put(DCM_SeriesNumber, series_number);
  put(DCM_SeriesDescription, series_description);
  put(DCM_SeriesDate, today());
  put(DCM_SeriesTime, now_time());
  return put;
}

}  // namespace livernode::dicom::detail

namespace livernode::dicom {

std::string product_concept_oid(int number) {
  // A UUID-derived OID (ITU-T X.667) that names the product's concepts; `number` is the arc of one.
  return "2.25.204081001242711483641964280517147878822." + std::to_string(number);
}

std::string version_suffix(const WriterIdentity& identity) {
  return identity.result_version > 1 ? ", version " + std::to_string(identity.result_version) : "";
}

}  // namespace livernode::dicom
