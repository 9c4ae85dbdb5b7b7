#pragma once
// What a job's analysis gets beyond its images: the earlier analysis it is compared with
// (follow-up) and the correcting SEGs that apply to it, chosen from the state store.
#include <filesystem>
#include <string>

#include "livernode/node/store/state_store.h"
#include "livernode/study/study_analysis.h"

namespace livernode::node {

// Sets options.prior_summary to the summary of the most recent earlier visit of the job's
// patient that the node analysed (or options.prior_unavailable to why analyses of the patient's
// other studies cannot be used). `input` holds the job's images; the study date and frame of
// reference are read from one of them. Logs the choice with UIDs and job numbers only.
void choose_follow_up_prior(StateStore& store, const JobRow& job,
                            const std::filesystem::path& input,
                            study::AnalyseFolderOptions& options);

// The correcting SEGs of a job (from the spool), each with our SEGs of the version it corrected,
// go into `options`: those of the study's earlier finished correction jobs (corrections stay
// in every later version) and, for a correction job, its own. Returns why the job cannot run,
// or "".
std::string add_correction_inputs(const JobRow& job, StateStore& store,
                                  study::AnalyseFolderOptions& options);
// For a correction job: why its outcome must not be delivered (no analysis used the SEG), or "".
std::string correction_outcome_error(const JobRow& job, const study::StudyAnalysisOutcome& outcome);

}  // namespace livernode::node
