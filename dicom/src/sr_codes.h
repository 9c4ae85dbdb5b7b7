#pragma once
// Coded concepts and units the measurement report and its follow-up sections share: standard
// SNOMED CT and UCUM codes DCMTK's tables lack, and the product's own concepts (coding scheme
// 99LVN) where no standard code exists.
#include <dcmtk/dcmsr/dsrcodvl.h>

#include <filesystem>

namespace livernode::dicom::detail {

inline const DSRBasicCodedEntry kVolume("118565006", "SCT", "Volume");
inline const DSRBasicCodedEntry kLongAxis("103339001", "SCT", "Long Axis");
inline const DSRBasicCodedEntry kShortAxis("103340004", "SCT", "Short Axis");
inline const DSRBasicCodedEntry kNeoplasm("108369006", "SCT", "Neoplasm");
inline const DSRBasicCodedEntry kMilliliter("ml", "UCUM", "milliliter");
inline const DSRBasicCodedEntry kMillimeter("mm", "UCUM", "millimeter");
inline const DSRBasicCodedEntry kHounsfield("[hnsf'U]", "UCUM", "Hounsfield unit");
inline const DSRBasicCodedEntry kPercent("%", "UCUM", "percent");
// The measurement method of volumes summed over the voxels of a segment, as dcmqi writes it.
inline const DSRBasicCodedEntry kSumOfVoxelVolumes("126030", "DCM",
                                                   "Sum of segmented voxel volumes");
inline const DSRBasicCodedEntry kFunctionalVolume("LN0001", "99LVN", "Functional liver volume");
inline const DSRBasicCodedEntry kFutureLiverRemnant("LN0011", "99LVN", "Future liver remnant");
inline const DSRBasicCodedEntry kFlrPercentEslv("LN0013", "99LVN", "FLR / ESLV");
inline const DSRBasicCodedEntry kFlrPercentFunctional("LN0014", "99LVN", "FLR / functional liver volume");

// Declares the private coding scheme 99LVN in the Coding Scheme Identification Sequence
// (0008,0110) of `dataset`. Throws DicomError naming `file` on failure.
void declare_private_coding_scheme(DcmItem& dataset, const std::filesystem::path& file);

}  // namespace livernode::dicom::detail
