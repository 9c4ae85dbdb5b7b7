#include "uids.h"

#include <cstdio>

#include "random.h"

namespace livernode::phantom {

UidGenerator::UidGenerator(std::uint64_t study_key) : key_(study_key) {
  // 19 decimal digits without a leading zero, as UID components require.
  const std::uint64_t component = 1000000000000000000ULL + study_key % 9000000000000000000ULL;
  base_ = std::string(kUidRoot) + std::to_string(component);
}

std::string UidGenerator::series(int series_number) const {
  return base_ + ".3." + std::to_string(series_number);
}

std::string UidGenerator::instance(int series_number, std::size_t slice) const {
  return base_ + ".4." + std::to_string(series_number) + "." + std::to_string(slice + 1);
}

std::string UidGenerator::dimension_organization(int series_number) const {
  return base_ + ".5." + std::to_string(series_number);
}

std::string UidGenerator::accession_number() const {
  return "LN" +
         std::to_string(10000000000000ULL + hash_combine(key_, 0xACCE55ULL) % 90000000000000ULL);
}

std::string shuffled_file_name(std::uint64_t study_key, const std::string& sop_instance_uid) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.dcm",
                static_cast<unsigned long long>(hash_combine(study_key, sop_instance_uid)));
  return name;
}

}  // namespace livernode::phantom
