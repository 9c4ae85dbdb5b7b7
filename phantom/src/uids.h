#pragma once
// Deterministic DICOM UIDs and file names derived from a 64-bit study key (seed, patient ID and
// study date), under the phantom's UID root. Same key => same UIDs.
#include <cstddef>
#include <cstdint>
#include <string>

namespace livernode::phantom {

inline constexpr const char* kUidRoot = "1.2.826.0.1.3680043.10.1234.";

class UidGenerator {
 public:
  explicit UidGenerator(std::uint64_t study_key);
  std::string study() const { return base_ + ".1"; }
  std::string frame_of_reference() const { return base_ + ".2"; }
  // series_number >= 1; slice index from 0.
  std::string series(int series_number) const;
  std::string instance(int series_number, std::size_t slice) const;
  // The DimensionOrganizationUID of a series' multi-frame object.
  std::string dimension_organization(int series_number) const;
  // Short numeric string usable as AccessionNumber (SH, <= 16 chars).
  std::string accession_number() const;

 private:
  std::string base_;  // root + 19-digit key
  std::uint64_t key_;
};

// "<16 hex digits>.dcm" from a hash of the SOP instance UID: names carry no slice order.
std::string shuffled_file_name(std::uint64_t study_key, const std::string& sop_instance_uid);

}  // namespace livernode::phantom
