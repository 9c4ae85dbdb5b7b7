#pragma once
// The comparison with an earlier study of the same patient in the result objects: a TID 1500
// section of the SR and the lines of the results page (and PDF).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmsr/cmr/tid1500.h>

#include <filesystem>
#include <string>
#include <vector>

#include "livernode/processing/follow_up.h"

namespace livernode::dicom::detail {

// Adds the follow-up to `report`: the prior study and the statements as qualitative
// evaluations; the liver and RECIST figures, each remnant and each lesion found again as
// measurement groups (TID 1501). When there is no comparison, says why. Throws DicomError.
void add_follow_up(TID1500_MeasurementReport& report, const processing::FollowUpComparison& f,
                   const std::filesystem::path& file);

// The follow-up as short lines of text for the results page: the prior study, total liver,
// the remnant that grew most, lesions and the RECIST sum.
std::vector<std::string> follow_up_lines(const processing::FollowUpComparison& f);

}  // namespace livernode::dicom::detail
