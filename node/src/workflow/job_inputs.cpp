#include "livernode/node/workflow/job_inputs.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/study/follow_up.h"

namespace livernode::node {

namespace fs = std::filesystem;
using study::AnalyseFolderOptions;
using study::PriorCandidate;
using study::PriorChoice;
using study::StudyAnalysisOutcome;

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
    options.prior_unavailable =
        std::string("the earlier analyses could not be looked up: ") + e.what();
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
      c.purged = study && study->state == StudyState::purged && !fs::exists(c.summary, ec);
    } catch (const std::exception&) {
      c.purged = false;  // its summary file tells
    }
    candidates.push_back(std::move(c));
  }
  const PriorChoice choice = study::choose_prior(candidates, job.study_uid, keys->study_date,
                                                 keys->frame_of_reference_uid);
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

std::string add_correction_inputs(const JobRow& job, StateStore& store,
                                  AnalyseFolderOptions& options) {
  const auto jobs = store.jobs(job.study_uid, 100000);  // newest first
  // Our own SEGs of the newest finished version before `version`: what the reader edited.
  auto previous_of = [&](int version) {
    std::vector<fs::path> segs;
    std::error_code ec;
    for (const auto& earlier : jobs) {
      if (earlier.state != JobState::done || earlier.version >= version ||
          earlier.result_dir.empty())
        continue;
      // Every SEG of every analysis of that version: the liver and lesions, the Couinaud
      // segments, the remnant (seg.dcm, seg-*.dcm).
      std::vector<fs::path> dirs;
      for (const auto& entry : fs::directory_iterator(earlier.result_dir, ec))
        if (entry.is_directory()) dirs.push_back(entry.path());
      std::sort(dirs.begin(), dirs.end());
      for (const auto& d : dirs) {
        std::vector<fs::path> files;
        std::error_code ec2;
        for (const auto& f : fs::directory_iterator(d, ec2)) {
          const std::string name = f.path().filename().string();
          if (name == "seg.dcm" || (name.rfind("seg-", 0) == 0 && f.path().extension() == ".dcm"))
            files.push_back(f.path());
        }
        std::sort(files.begin(), files.end());  // seg-*.dcm sort before seg.dcm
        std::stable_partition(files.begin(), files.end(),
                              [](const fs::path& f) { return f.filename() == "seg.dcm"; });
        segs.insert(segs.end(), files.begin(), files.end());
      }
      break;
    }
    return segs;
  };
  auto spool_path = [&](const std::string& sop) -> std::optional<fs::path> {
    const auto path = store.instance_path(sop);
    std::error_code ec;
    if (!path || !fs::exists(*path, ec)) return std::nullopt;
    return fs::path(*path);
  };
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {  // oldest first
    const JobRow& earlier = *it;
    if (earlier.kind != "correction" || earlier.state != JobState::done ||
        earlier.version >= job.version)
      continue;
    if (const auto path = spool_path(earlier.correction_sop))
      options.corrections.push_back({*path, previous_of(earlier.version)});
  }
  if (job.kind == "correction") {
    const auto path = spool_path(job.correction_sop);
    if (!path) return "the correcting SEG " + job.correction_sop + " is no longer in the spool";
    options.corrections.push_back({*path, previous_of(job.version)});
  }
  if (!options.corrections.empty())
    spdlog::info("event=correction_inputs job={} study={} segs={} earlier_segs={}", job.id,
                 job.study_uid, options.corrections.size(),
                 options.corrections.back().previous.size());
  return "";
}

std::string correction_outcome_error(const JobRow& job, const StudyAnalysisOutcome& outcome) {
  if (job.kind != "correction" || !outcome.usable) return "";
  // The job's own SEG must have changed something (earlier corrections apply as well).
  if (outcome.summary.contains("analyses")) {
    for (const auto& a : outcome.summary["analyses"]) {
      if (a.contains("corrections") && a["corrections"]["source"].get<std::string>().find(
                                           job.correction_sop) != std::string::npos)
        return "";
    }
  }
  std::string why = "the correcting SEG " + job.correction_sop +
                    " changed nothing: no analysed series shares its frame of reference, or none "
                    "of its liver, lesion or remnant segments differs from the earlier results";
  if (outcome.summary.contains("analyses")) {
    for (const auto& a : outcome.summary["analyses"]) {
      if (!a.contains("corrections")) continue;
      for (const auto& n : a["corrections"]["notes"]) why += "; " + n.get<std::string>();
    }
  }
  return why;
}

}  // namespace livernode::node
