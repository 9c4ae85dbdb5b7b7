// Odd headers never cost the result. A series rewritten with pydicom the way some converters
// (GDCM/VTK exports of public benchmarks) write it: CS/LO values padded with NUL bytes, decimal
// strings of 17-18 characters, no Frame of Reference UID, empty Patient ID and Series Number,
// Instance Numbers from 0, no Manufacturer. `livernode analyze` still writes a SEG and an SR that
// dciodvfy accepts, both on a new Frame of Reference that summary.json names, and measures the
// liver as on the unmodified series. On the synthetic phantom always; on a real series too when
// the shared data is present.
#include <dcmtk/dcmdata/dcbytstr.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dicom_checks.h"
#include "serve_test_support.h"
#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Rewrites every DICOM file under argv[1] into argv[2] (same names) with every trait at once.
const char* const kRewriteScript = R"PY(
import os, sys
import pydicom
from pydicom.dataelem import DataElement
try:  # keep pydicom from correcting or refusing what the test means to write
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE
except AttributeError:
    pass

src, dst = sys.argv[1], sys.argv[2]

def nul_padded(s):
    # NUL bytes where a space belongs, to an even length
    return s + '\0' * (1 if len(s) % 2 else 2)

def long_ds(values, fmt, noise):
    # floats printed with every digit, as a float32 value converted to double prints
    return '\\'.join(fmt % (float(v) + noise) for v in values)

found = []
for root, _, names in os.walk(src):
    for name in names:
        path = os.path.join(root, name)
        try:
            found.append((path, pydicom.dcmread(path)))
        except Exception:
            pass
# Instance Numbers from 0, in the order the source numbered them.
found.sort(key=lambda p: (int(p[1].get('InstanceNumber') or 0), p[0]))
os.makedirs(dst, exist_ok=True)
for number, (path, ds) in enumerate(found):
    ds['PatientSex'] = DataElement(0x00100040, 'CS', nul_padded('M'))
    ds['InstitutionName'] = DataElement(0x00080080, 'LO', nul_padded('IRCAD'))
    ds['ImageType'] = DataElement(0x00080008, 'CS', nul_padded('ORIGINAL\\PRIMARY\\AXIAL'))
    ds['PixelSpacing'] = DataElement(0x00280030, 'DS',
                                     long_ds(ds.PixelSpacing, '%.15f', 5.245209e-9))
    ds['SliceThickness'] = DataElement(0x00180050, 'DS',
                                       long_ds([ds.SliceThickness], '%.16f', 2.38418579e-8))
    ds['ImagePositionPatient'] = DataElement(0x00200032, 'DS',
                                             long_ds(ds.ImagePositionPatient, '%.12f', 0.0))
    for keyword in ('FrameOfReferenceUID', 'PositionReferenceIndicator', 'Manufacturer'):
        if keyword in ds:
            delattr(ds, keyword)
    ds['PatientID'] = DataElement(0x00100020, 'LO', '')
    ds['SeriesNumber'] = DataElement(0x00200011, 'IS', '')
    ds['InstanceNumber'] = DataElement(0x00200013, 'IS', str(number))
    if len(sys.argv) > 3 and sys.argv[3] == 'anonymised':
        # an anonymiser that says the identity was removed but not how
        ds['PatientIdentityRemoved'] = DataElement(0x00120062, 'CS', 'YES')
        for keyword in ('DeidentificationMethod', 'DeidentificationMethodCodeSequence'):
            if keyword in ds:
                delattr(ds, keyword)
    ds.save_as(os.path.join(dst, os.path.basename(path)), write_like_original=False)
print(len(found))
)PY";

std::string shell_quote(const fs::path& p) { return "'" + p.string() + "'"; }

// Every value of `tag` anywhere in the dataset (sequences included).
std::vector<std::string> all_values(DcmItem& item, const DcmTagKey& tag) {
  std::vector<std::string> out;
  DcmStack stack;
  while (item.search(tag, stack, ESM_afterStackTop, OFTrue).good()) {
    char* text = nullptr;
    if (OFstatic_cast(DcmElement*, stack.top())->getString(text).good() && text)
      out.push_back(text);
  }
  return out;
}

bool valid_uid(const std::string& uid) {
  static const std::regex kUid("(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))+");
  return !uid.empty() && uid.size() <= 64 && std::regex_match(uid, kUid);
}

struct Analysed {
  json summary;
  std::string log;
  int status = -1;
};

Analysed analyze(const fs::path& input, const fs::path& out) {
  Analysed a;
  const auto r = test::run_command(std::string(LIVERNODE_BINARY) + " analyze " +
                                   shell_quote(input) + " --out " + shell_quote(out));
  a.status = r.status;
  a.log = r.output;
  std::ifstream in(out / "summary.json");
  if (in) a.summary = json::parse(in);
  return a;
}

// The liver volume of the (single) analysis of a summary, -1 when there is none.
double liver_ml(const json& summary) {
  if (!summary.contains("analyses") || summary["analyses"].size() != 1) return -1;
  const auto& liver = summary["analyses"][0]["liver"];
  return liver.is_null() ? -1 : liver["volume_ml"].get<double>();
}

// Rewrites `source` with every trait into `odd`, checks the traits are really there, analyses
// both and checks what the analysis of the rewritten one wrote.
// `anonymised`: the rewritten series also says its patient identity was removed, but not how.
void check_odd_series(const fs::path& source, const fs::path& work, double volume_tolerance,
                      bool anonymised = false) {
  const fs::path odd = work / "odd";
  const auto made = test::run_python_script(
      work, "rewrite.py", kRewriteScript,
      shell_quote(source) + " " + shell_quote(odd) + (anonymised ? " anonymised" : ""));
  ASSERT_EQ(made.status, 0) << made.output;

  // The rewritten files carry every trait (else this test would prove nothing).
  std::set<std::string> source_uids;
  long lowest_instance = 1 << 30;
  std::string patient_name;
  for (const auto& entry : fs::directory_iterator(odd)) {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(entry.path().c_str()).good()) << entry.path();
    DcmDataset& ds = *f.getDataset();
    EXPECT_EQ(test::raw_text(ds, DCM_PatientSex), std::string("M\0", 2));
    EXPECT_EQ(test::raw_text(ds, DCM_InstitutionName), std::string("IRCAD\0", 6));
    EXPECT_NE(test::raw_text(ds, DCM_ImageType).find('\0'), std::string::npos);
    const std::string spacing = test::raw_text(ds, DCM_PixelSpacing);
    EXPECT_GE(spacing.find('\\'), 17u) << spacing;
    EXPECT_GE(test::raw_text(ds, DCM_SliceThickness).size(), 18u);
    EXPECT_EQ(test::raw_text(ds, DCM_FrameOfReferenceUID), "<absent>");
    EXPECT_EQ(test::raw_text(ds, DCM_Manufacturer), "<absent>");
    EXPECT_EQ(test::raw_text(ds, DCM_PatientID), "");
    EXPECT_EQ(test::raw_text(ds, DCM_SeriesNumber), "");
    lowest_instance = std::min(lowest_instance, std::stol(test::raw_text(ds, DCM_InstanceNumber)));
    for (const auto& tag : {DCM_StudyInstanceUID, DCM_SeriesInstanceUID, DCM_SOPInstanceUID})
      source_uids.insert(test::raw_text(ds, tag).c_str());
    OFString name;
    ds.findAndGetOFString(DCM_PatientName, name);
    patient_name = name.c_str();
  }
  EXPECT_EQ(lowest_instance, 0);
  if (anonymised) {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(fs::directory_iterator(odd)->path().c_str()).good());
    EXPECT_EQ(test::raw_text(*f.getDataset(), DCM_PatientIdentityRemoved), "YES");
    EXPECT_EQ(test::raw_text(*f.getDataset(), DCM_DeidentificationMethod), "<absent>");
  }

  const auto plain = analyze(source, work / "plain-out");
  ASSERT_EQ(plain.status, 0) << plain.log;
  const auto rewritten = analyze(odd, work / "odd-out");
  ASSERT_EQ(rewritten.status, 0) << rewritten.log;
  const json& summary = rewritten.summary;
  ASSERT_EQ(summary["analyses"].size(), 1u) << summary.dump(2);
  const json& analysis = summary["analyses"][0];

  // The loader kept every slice (grouped without a frame of reference, numbered from 0, no
  // series number) and the series was analysed: the liver measured as on the unmodified series.
  ASSERT_EQ(plain.summary["analyses"].size(), 1u);
  ASSERT_EQ(analysis["series"].size(), 1u);
  EXPECT_EQ(analysis["series"][0]["slices"], plain.summary["analyses"][0]["series"][0]["slices"]);
  EXPECT_EQ(analysis["series"][0]["size"], plain.summary["analyses"][0]["series"][0]["size"]);
  const double before = liver_ml(plain.summary), after = liver_ml(summary);
  ASSERT_GT(before, 0) << plain.summary.dump(2);
  ASSERT_GT(after, 0) << analysis.dump(2);
  EXPECT_NEAR(after, before, volume_tolerance * before);

  // A SEG and an SR (and the summary objects), each accepted by dciodvfy.
  std::map<std::string, fs::path> by_kind;
  for (const auto& o : analysis["objects"]) {
    const fs::path file = work / "odd-out" / o["path"].get<std::string>();
    by_kind[o["kind"].get<std::string>()] = file;
    const auto errors = test::dciodvfy_errors(file, {source_uids.begin(), source_uids.end()});
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    EXPECT_TRUE(errors.empty()) << file << ":\n" << all;
  }
  ASSERT_TRUE(by_kind.count("seg")) << analysis["warnings"].dump(2);
  ASSERT_TRUE(by_kind.count("sr")) << analysis["warnings"].dump(2);
  EXPECT_TRUE(by_kind.count("summary"));
  EXPECT_TRUE(by_kind.count("pdf"));

  // Both on one new, valid Frame of Reference UID, which summary.json names and explains.
  DcmFileFormat seg, sr;
  ASSERT_TRUE(seg.loadFile(by_kind["seg"].c_str()).good());
  ASSERT_TRUE(sr.loadFile(by_kind["sr"].c_str()).good());
  OFString frame;
  seg.getDataset()->findAndGetOFString(DCM_FrameOfReferenceUID, frame);
  const std::string seg_frame = frame.c_str();
  if (anonymised) {
    // Type 1C once the identity is said to be removed: the results say the source lacks it.
    OFString method;
    seg.getDataset()->findAndGetOFString(DCM_DeidentificationMethod, method);
    EXPECT_EQ(std::string(method.c_str()), "not recorded in the source images");
  }
  EXPECT_TRUE(valid_uid(seg_frame)) << "'" << seg_frame << "'";
  EXPECT_EQ(source_uids.count(seg_frame), 0u);
  const auto sr_uids = all_values(*sr.getDataset(), DCM_UID);  // UIDREF content items
  EXPECT_NE(std::find(sr_uids.begin(), sr_uids.end(), seg_frame), sr_uids.end())
      << "the SR's image library does not name the SEG's frame of reference " << seg_frame;
  EXPECT_EQ(analysis["frame_of_reference_uid"].get<std::string>(), seg_frame);
  EXPECT_TRUE(analysis["frame_of_reference_generated"].get<bool>());
  EXPECT_FALSE(plain.summary["analyses"][0]["frame_of_reference_generated"].get<bool>());
  bool said = false;
  for (const auto& w : analysis["warnings"])
    said = said || (w.get<std::string>().find("no Frame of Reference UID") != std::string::npos &&
                    w.get<std::string>().find(seg_frame) != std::string::npos);
  EXPECT_TRUE(said) << analysis["warnings"].dump(2);
  // The repaired values are listed by attribute in the summary and in the log.
  const std::string warnings = analysis["warnings"].dump();
  for (const char* attribute : {"PatientSex", "InstitutionName", "PixelSpacing", "SliceThickness"})
    EXPECT_NE(warnings.find(attribute), std::string::npos) << attribute << " in " << warnings;
  EXPECT_NE(rewritten.log.find("event=frame_of_reference_generated"), std::string::npos)
      << rewritten.log;
  EXPECT_NE(rewritten.log.find("event=copied_values_repaired"), std::string::npos) << rewritten.log;
  // No patient name in the log at its default level.
  if (!patient_name.empty()) {
    EXPECT_EQ(rewritten.log.find(patient_name), std::string::npos);
  }
  EXPECT_TRUE(rewritten.summary["rejected_files"].size() <= plain.summary["rejected_files"].size());
}

class OddHeaders : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("livernode-odd-headers"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_F(OddHeaders, PhantomSeriesWithEveryConverterTraitGetsValidSegAndSr) {
  // A small single-phase phantom keeps the test fast; it has a liver, lesions and segments.
  const auto made = test::run_command(std::string(LIVERNODE_BINARY) + " phantom --out " +
                                      shell_quote(dir_ / "phantom") +
                                      " --seed 5 --matrix 128 --pixel-spacing 3 "
                                      "--slice-thickness 5 --phases portal_venous");
  ASSERT_EQ(made.status, 0) << made.output;
  check_odd_series(dir_ / "phantom" / "dicom" / "portal_venous", dir_, 0.01, /*anonymised=*/true);
}

TEST_F(OddHeaders, RealSeriesWithEveryConverterTraitGetsValidSegAndSr) {
  const fs::path chaos = test::shared_data() / "real" / "chaos-ct" / "ct";
  const fs::path hcc = test::shared_data() / "real" / "hcc-tace-0697" / "ct" / "31_EQP_Ax5.00mm";
  const fs::path source = fs::exists(chaos) ? chaos : hcc;
  if (!fs::exists(source)) {
    GTEST_SKIP() << "test data absent: neither " << chaos << " nor " << hcc;
  }
  check_odd_series(source, dir_, 0.01);
}
