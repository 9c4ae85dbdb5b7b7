#pragma once
// Coded concepts and units the measurement report and its follow-up sections share: standard
// SNOMED CT and UCUM codes DCMTK's tables lack, and the product's own concepts (coding scheme
// 99LVN) where no standard code exists.
#include <dcmtk/dcmsr/dsrcodvl.h>

namespace livernode::dicom::detail {

inline const DSRBasicCodedEntry kVolume("118565006", "SCT", "Volume");
inline const DSRBasicCodedEntry kLongAxis("103339001", "SCT", "Long Axis");
inline const DSRBasicCodedEntry kShortAxis("103340004", "SCT", "Short Axis");
inline const DSRBasicCodedEntry kNeoplasm("108369006", "SCT", "Neoplasm");
inline const DSRBasicCodedEntry kMilliliter("ml", "UCUM", "milliliter");
inline const DSRBasicCodedEntry kMillimeter("mm", "UCUM", "millimeter");
inline const DSRBasicCodedEntry kHounsfield("[hnsf'U]", "UCUM", "Hounsfield unit");
inline const DSRBasicCodedEntry kPercent("%", "UCUM", "percent");
inline const DSRBasicCodedEntry kFunctionalVolume("LN0001", "99LVN", "Functional liver volume");
inline const DSRBasicCodedEntry kFutureLiverRemnant("LN0011", "99LVN", "Future liver remnant");
inline const DSRBasicCodedEntry kFlrPercentEslv("LN0013", "99LVN", "FLR / ESLV");
inline const DSRBasicCodedEntry kFlrPercentFunctional("LN0014", "99LVN", "FLR / functional liver volume");

}  // namespace livernode::dicom::detail
