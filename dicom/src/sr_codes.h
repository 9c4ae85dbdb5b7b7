#pragma once
// Coded concepts and units the measurement report and its follow-up sections share: standard
// SNOMED CT, DICOM and UCUM codes DCMTK's tables lack, and the product's own concepts where no
// standard code exists.
//
// The product's concepts are object identifiers: Coding Scheme Designator ISO_OID (PS3.16 section
// 8.2: the code value is the dotted form of an OID), Long Code Value (0008,0119) the OID
// "2.25.<arc>.<n>" under the product's UUID-derived arc (ITU-T X.667), meaning in Code Meaning.
// A private scheme ("99...") would do as well by the standard, but a validator cannot tell its
// designator from a mistyped standard one and reports it as an unknown term wherever it appears,
// its declaration in the Coding Scheme Identification Sequence included.
#include <dcmtk/dcmsr/dsrcodvl.h>

#include "livernode/dicom/result_writers.h"

namespace livernode::dicom::detail {

// Concept `n` of the product, coded by its OID.
inline DSRBasicCodedEntry product_concept(int n, const char* meaning) {
  return DSRBasicCodedEntry(product_concept_oid(n).c_str(), "ISO_OID", meaning, DSRTypes::CVT_Long);
}

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
inline const DSRBasicCodedEntry kFunctionalVolume = product_concept(1, "Functional liver volume");
inline const DSRBasicCodedEntry kFutureLiverRemnant = product_concept(11, "Future liver remnant");
inline const DSRBasicCodedEntry kFlrPercentEslv = product_concept(13, "FLR / ESLV");
inline const DSRBasicCodedEntry kFlrPercentFunctional =
    product_concept(14, "FLR / functional liver volume");

}  // namespace livernode::dicom::detail
