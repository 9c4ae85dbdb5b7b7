#pragma once
// What the CT and MR modes of generate_phantom() share while writing one study: the study's
// context, times, breath-hold motion, file names, folders and the Couinaud truth.
#include <cstdint>
#include <filesystem>
#include <string>

#include "anatomy.h"
#include "dicom_slice.h"
#include "livernode/phantom/phantom.h"
#include "livernode/processing/image.h"
#include "uids.h"

namespace livernode::phantom {

inline constexpr int kImageSubsamples = 3;             // 3 x 3 x 3 partial-volume sub-points
inline constexpr double kStudyStartSeconds = 36000.0;  // 10:00:00, first acquisition

// What the series of one phantom study share.
struct StudyContext {
  const PhantomOptions& options;
  const Anatomy& anatomy;
  const processing::Geometry& geometry;
  const UidGenerator& uids;
  std::uint64_t study_key;
  const StudyInfo& study;
};

// TM of a time of day in seconds.
std::string dicom_time(double seconds);

// Rigid shift of the anatomy in one breath-hold: mostly craniocaudal, length between half and all
// of options.motion_mm, from the seed and `stream` (one per acquisition); none without motion.
Vec3 motion_shift(const PhantomOptions& options, std::uint64_t stream);

// The file name of a slice: shuffled from its SOP instance UID, or IM<instance>.dcm.
std::string slice_file_name(const StudyContext& c, const std::string& sop_instance_uid,
                            int instance_number);

void make_dirs(const std::filesystem::path& dir);

// truth/labels_couinaud.mha from the liver voxels of an unshifted truth label map.
void write_couinaud_truth(const processing::LabelMap& labels, const std::filesystem::path& out_dir,
                          PhantomTruth& truth);

}  // namespace livernode::phantom
