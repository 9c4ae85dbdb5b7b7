// Values copied from a source header into our result objects: NUL padding, over-long decimal
// strings, lower-case code strings, dates with separators are made valid for their VR, each value
// of a multi-valued element on its own, and DCMTK's own check accepts every repaired element.
#include <dcmtk/dcmdata/dcbytstr.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvrlo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "dicom_checks.h"
#include "livernode/dicom/copied_values.h"

using namespace livernode;
using namespace std::string_literals;

namespace {

// Puts `raw` (which may hold NUL bytes) as the value of `tag`, bypassing every check.
void put_raw(DcmItem& item, const DcmTagKey& tag, const std::string& raw) {
  DcmElement* element = nullptr;
  ASSERT_TRUE(DcmItem::newDicomElement(element, DcmTag(tag)).good());
  auto* text = dynamic_cast<DcmByteString*>(element);
  ASSERT_NE(text, nullptr);
  ASSERT_TRUE(text->putString(raw.data(), static_cast<Uint32>(raw.size())).good());
  ASSERT_TRUE(item.insert(element, OFTrue).good());
}

bool dcmtk_accepts(DcmItem& item, const DcmTagKey& tag) {
  DcmElement* element = nullptr;
  return item.findAndGetElement(tag, element).good() && element && element->checkValue().good();
}

}  // namespace

TEST(CopiedValues, NulPaddingIsRemovedFromTextAndCodeStrings) {
  auto sex = dicom::clean_values("CS", "M\0"s);
  EXPECT_EQ(sex.value, "M");
  EXPECT_NE(sex.change.find("NUL"), std::string::npos);
  EXPECT_EQ(dicom::clean_values("LO", "IRCAD\0"s).value, "IRCAD");
  // Every value of a multi-valued element on its own.
  EXPECT_EQ(dicom::clean_values("CS", "ORIGINAL\0\\PRIMARY \\ AXIAL\0\0"s).value,
            "ORIGINAL\\PRIMARY\\AXIAL");
  // Leading spaces are significant in text VRs and stay; trailing NULs go.
  EXPECT_EQ(dicom::clean_values("LT", "  indented\0"s).value, "  indented");
  // A valid value is left as it is and says so.
  const auto same = dicom::clean_values("LO", "Abdomen");
  EXPECT_EQ(same.value, "Abdomen");
  EXPECT_TRUE(same.change.empty());
}

TEST(CopiedValues, LongDecimalStringsKeepTheirPrecisionInSixteenCharacters) {
  for (const std::string raw : {"0.782000005245209", "1.6000000238418579", "-190.500000000000",
                                "123456789.123456789", "0.000000123456789012", "1e-300"}) {
    const auto cleaned = dicom::clean_values("DS", raw);
    ASSERT_TRUE(cleaned.usable) << raw;
    EXPECT_LE(cleaned.value.size(), 16u) << raw;
    const double before = std::strtod(raw.c_str(), nullptr);
    const double after = std::strtod(cleaned.value.c_str(), nullptr);
    // 12 significant digits at least (an exponent costs characters).
    EXPECT_NEAR(after, before, std::abs(before) * 1e-10) << raw << " -> " << cleaned.value;
  }
  // Pixel Spacing: both values rewritten.
  const auto spacing = dicom::clean_values("DS", "0.782000005245209\\0.782000005245209");
  EXPECT_EQ(spacing.value, "0.78200000524521\\0.78200000524521");
  EXPECT_FALSE(spacing.change.empty());
  // A short valid one is untouched; a word is no number and empties the element.
  EXPECT_EQ(dicom::clean_values("DS", "1.5").value, "1.5");
  EXPECT_TRUE(dicom::clean_values("DS", "1.5").change.empty());
  const auto word = dicom::clean_values("DS", "1.5\\abc");
  EXPECT_FALSE(word.usable);
  EXPECT_EQ(word.value, "");
  for (double v : {0.1, -123.456789012345678, 1e20, 6.02214076e-23, 1234567890123456789.0}) {
    const std::string s = dicom::format_decimal_string(v);
    EXPECT_LE(s.size(), 16u) << s;
    EXPECT_NEAR(std::strtod(s.c_str(), nullptr), v, std::abs(v) * 1e-10) << s;
  }
}

TEST(CopiedValues, IntegerStringsDatesTimesAndAgesBecomeValid) {
  EXPECT_EQ(dicom::clean_values("IS", "0").value, "0");
  EXPECT_EQ(dicom::clean_values("IS", " 7\0"s).value, "7");
  EXPECT_EQ(dicom::clean_values("IS", "12.0").value, "12");
  EXPECT_FALSE(dicom::clean_values("IS", "1.5").usable);
  EXPECT_FALSE(dicom::clean_values("IS", "99999999999").usable);
  EXPECT_EQ(dicom::clean_values("DA", "2001.02.03").value, "20010203");
  EXPECT_EQ(dicom::clean_values("DA", "2001-02-03").value, "20010203");
  EXPECT_FALSE(dicom::clean_values("DA", "20011340").usable);
  EXPECT_EQ(dicom::clean_values("TM", "12:30:15").value, "123015");
  EXPECT_EQ(dicom::clean_values("TM", "123015.1234567").value, "123015.123456");
  EXPECT_FALSE(dicom::clean_values("TM", "noon").usable);
  EXPECT_EQ(dicom::clean_values("AS", "45y").value, "045Y");
  EXPECT_FALSE(dicom::clean_values("AS", "45").usable);
}

TEST(CopiedValues, ValuesLongerThanTheirVrAllowsAreCut) {
  const auto lo = dicom::clean_values("LO", std::string(70, 'a'));
  EXPECT_EQ(lo.value.size(), 64u);
  EXPECT_NE(lo.change.find("64"), std::string::npos);
  EXPECT_EQ(dicom::clean_values("SH", std::string(20, 'b')).value.size(), 16u);
  const auto cs = dicom::clean_values("CS", "primary-axial");
  EXPECT_EQ(cs.value, "PRIMARY_AXIAL");
  // A UTF-8 character is never split.
  const std::string umlauts = std::string(63, 'x') + "\xC3\xBC\xC3\xBC";
  EXPECT_EQ(dicom::clean_values("LO", umlauts).value, std::string(63, 'x'));
  // Each component group of a person name on its own.
  const auto pn = dicom::clean_values("PN", std::string(70, 'N') + "=" + "Ideographic");
  EXPECT_EQ(pn.value, std::string(64, 'N') + "=Ideographic");
  // UIDs are never altered beyond their padding: they name what the results refer to.
  EXPECT_EQ(dicom::clean_values("UI", "1.2.3.4\0"s).value, "1.2.3.4");
}

TEST(CopiedValues, ADatasetFromAConverterPassesDcmtksOwnChecksAfterRepair) {
  DcmDataset ds;
  put_raw(ds, DCM_PatientSex, "M\0"s);
  put_raw(ds, DCM_InstitutionName, "IRCAD\0"s);
  put_raw(ds, DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL\0\0"s);
  put_raw(ds, DCM_PixelSpacing, "0.782000005245209\\0.782000005245209");
  put_raw(ds, DCM_SliceThickness, "1.6000000238418579");
  put_raw(ds, DCM_StudyDate, "2001.02.03");
  put_raw(ds, DCM_PatientID, "");
  put_raw(ds, DCM_InstanceNumber, "0");
  put_raw(ds, DCM_StudyDescription, "Liver\0"s);
  DcmItem* nested = nullptr;
  ASSERT_TRUE(ds.findOrCreateSequenceItem(DCM_ProcedureCodeSequence, nested, 0).good());
  put_raw(*nested, DCM_CodeMeaning, "CT abdomen\0"s);
  // A private element is never ours to copy and is left alone.
  DcmTag private_tag(0x0009, 0x1010, EVR_LO);
  put_raw(ds, DcmTagKey(0x0009, 0x0010), "ACME\0"s);
  auto* private_element = new DcmLongString(private_tag);
  private_element->putString("odd\0", 4);
  ds.insert(private_element, OFTrue);

  for (const DcmTagKey& tag :
       {DCM_PatientSex, DCM_InstitutionName, DCM_PixelSpacing, DCM_SliceThickness})
    EXPECT_FALSE(dcmtk_accepts(ds, tag)) << DcmTag(tag).getTagName() << " should start invalid";

  const auto fixes = dicom::make_copied_values_valid(ds);
  EXPECT_EQ(test::raw_text(ds, DCM_PatientSex), "M");
  EXPECT_EQ(test::raw_text(ds, DCM_InstitutionName), "IRCAD");
  EXPECT_EQ(test::raw_text(ds, DCM_ImageType), "ORIGINAL\\PRIMARY\\AXIAL");
  EXPECT_EQ(test::raw_text(ds, DCM_SliceThickness), "1.60000002384186");
  EXPECT_EQ(test::raw_text(ds, DCM_StudyDate), "20010203");
  EXPECT_EQ(test::raw_text(ds, DCM_InstanceNumber), "0");
  EXPECT_EQ(test::raw_text(ds, DCM_PatientID), "");
  EXPECT_EQ(test::raw_text(*nested, DCM_CodeMeaning), "CT abdomen");
  EXPECT_EQ(test::raw_text(ds, DcmTagKey(0x0009, 0x1010)), "odd\0"s);
  for (const DcmTagKey& tag :
       {DCM_PatientSex, DCM_InstitutionName, DCM_ImageType, DCM_PixelSpacing, DCM_SliceThickness,
        DCM_StudyDate, DCM_InstanceNumber, DCM_StudyDescription})
    EXPECT_TRUE(dcmtk_accepts(ds, tag)) << DcmTag(tag).getTagName();
  EXPECT_TRUE(dcmtk_accepts(*nested, DCM_CodeMeaning));
  // One entry per repaired attribute, naming it but never its value.
  EXPECT_EQ(fixes.size(), 8u);
  for (const auto& f : fixes) {
    EXPECT_EQ(f.change.find("IRCAD"), std::string::npos);
    EXPECT_FALSE(f.attribute.empty());
  }
  // A second pass finds nothing left to repair.
  EXPECT_TRUE(dicom::make_copied_values_valid(ds).empty());
}

TEST(CopiedValues, PatientSexOutsideTheEnumeratedValuesIsMappedOrEmptied) {
  DcmDataset ds;
  put_raw(ds, DCM_PatientSex, "male");
  dicom::make_copied_values_valid(ds);
  EXPECT_EQ(test::raw_text(ds, DCM_PatientSex), "M");
  DcmDataset other;
  put_raw(other, DCM_PatientSex, "unknown");
  const auto fixes = dicom::make_copied_values_valid(other);
  EXPECT_EQ(test::raw_text(other, DCM_PatientSex), "");
  ASSERT_EQ(fixes.size(), 1u);
  EXPECT_NE(fixes[0].change.find("M, F, O"), std::string::npos);
}
