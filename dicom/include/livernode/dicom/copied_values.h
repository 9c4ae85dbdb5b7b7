#pragma once
// Values our result objects copy from a source image (patient, study, equipment, geometry
// descriptors), made valid for their Value Representation first. Scanners and converters write
// headers that readers tolerate but a strict writer refuses: text padded with NUL bytes instead of
// spaces, decimal strings of 17 or 18 characters (a float printed with every digit), lower-case
// code strings, dates with separators. Every writer takes its copied values through this one
// place, so that an odd header never costs the result objects.
#include <string>
#include <string_view>
#include <vector>

#include "livernode/dicom/series.h"

class DcmItem;

namespace livernode::dicom {

// One value (no backslash) made valid for `vr` ("CS", "DS", "LO", ...).
struct CleanedValue {
  std::string value;   // the valid value ("" when nothing valid could be made of it)
  std::string change;  // what was changed and why, "" when the value was already valid
  bool usable = true;  // false: the value could not be repaired and is dropped
};
CleanedValue clean_value(std::string_view vr, std::string_view raw);

// A whole element value: for VRs that allow several values each value between backslashes is
// cleaned on its own; a value that cannot be repaired empties the element (`usable` false).
CleanedValue clean_values(std::string_view vr, std::string_view raw);

// A decimal string (DS) of at most 16 characters for `v`, with as many significant digits as fit.
std::string format_decimal_string(double v);

struct CopiedValueFix {
  std::string attribute;  // keyword and tag, e.g. "PatientSex (0010,0040)"
  std::string change;     // what was done, without the value (values may identify the patient)
};

// Makes every text and number value in `item` (recursively through sequences) valid for its VR.
// Values that cannot be repaired are emptied. Returns one entry per attribute changed.
std::vector<CopiedValueFix> make_copied_values_valid(DcmItem& item);

// The fixes the result writers apply to the header of `series` (the first readable slice),
// for the summary and the log; empty when that header is valid as it is.
std::vector<CopiedValueFix> copied_value_fixes(const SeriesInfo& series);

// A new Frame of Reference UID for result objects whose source has none.
std::string new_frame_of_reference_uid();

}  // namespace livernode::dicom
