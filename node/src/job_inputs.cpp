#include "livernode/node/follow_up_prior.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <spdlog/spdlog.h>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/node/follow_up.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

struct StudyKeys {
  std::string study_date;
  std::string frame_of_reference_uid;
};

// Study date and frame of reference of the first readable image under `input`.
std::optional<StudyKeys> keys_of(const fs::path& input) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(input, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".dcm") continue;
    DcmFileFormat ff;
    if (ff.loadFileUntilTag(OFFilename(it->path().c_str()), EXS_Unknown, EGL_noChange,
                            DCM_MaxReadLength, ERM_autoDetect, DCM_PixelData)
            .bad()) {
      continue;
    }
    OFString date, frame;
    ff.getDataset()->findAndGetOFString(DCM_StudyDate, date);
    ff.getDataset()->findAndGetOFString(DCM_FrameOfReferenceUID, frame);
    return StudyKeys{date.c_str(), frame.c_str()};
  }
  return std::nullopt;
}

}  // namespace

void choose_follow_up_prior(StateStore& store, const JobRow& job, const fs::path& input,
                            AnalyseFolderOptions& options) {
  std::vector<JobRow> earlier;
  try {
    earlier = store.analyses_of_same_patient(job.study_uid);
  } catch (const std::exception& e) {
    // The analysis goes on without a comparison; its results say why.
    options.prior_unavailable = std::string("the earlier analyses could not be looked up: ") + e.what();
    spdlog::warn("event=follow_up_prior_unavailable job={} study={} reason=\"{}\"", job.id,
                 job.study_uid, options.prior_unavailable);
    return;
  }
  if (earlier.empty()) return;
  const auto keys = keys_of(input);
  if (!keys) return;  // nothing readable: the analysis itself will say so
  std::vector<PriorCandidate> candidates;
  for (const auto& j : earlier) {
    PriorCandidate c;
    c.job_id = j.id;
    c.study_uid = j.study_uid;
    c.summary = fs::path(j.result_dir) / "summary.json";
    try {
      const auto study = store.study(j.study_uid);
      // Retention deletes images and result objects but keeps the summary for a while
      // (storage.summary_retention_days): a purged study compares as long as it is there.
      std::error_code ec;
      c.purged = study && study->state == "purged" && !fs::exists(c.summary, ec);
    } catch (const std::exception&) {
      c.purged = false;  // its summary file tells
    }
    candidates.push_back(std::move(c));
  }
  const PriorChoice choice =
      choose_prior(candidates, job.study_uid, keys->study_date, keys->frame_of_reference_uid);
  if (!choice.summary.empty()) {
    options.prior_summary = choice.summary;
    spdlog::info("event=follow_up_prior job={} study={} prior_job={} prior_study={}", job.id,
                 job.study_uid, choice.job_id, choice.study_uid);
  } else if (!choice.unavailable_reason.empty()) {
    options.prior_unavailable = choice.unavailable_reason;
    spdlog::warn("event=follow_up_prior_unavailable job={} study={} reason=\"{}\"", job.id,
                 job.study_uid, choice.unavailable_reason);
  } else {
    spdlog::info("event=follow_up_prior job={} study={} prior_job=none candidates={}", job.id,
                 job.study_uid, candidates.size());
  }
}

}  // namespace livernode::node
