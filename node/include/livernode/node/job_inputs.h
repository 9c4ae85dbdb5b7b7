#pragma once
// The node's choice of the earlier analysis a job is compared with (see follow_up.h).
#include <filesystem>

#include "livernode/node/state_store.h"
#include "livernode/node/study_analysis.h"

namespace livernode::node {

// Sets options.prior_summary to the summary of the most recent earlier visit of the job's
// patient that the node analysed (or options.prior_unavailable to why analyses of the patient's
// other studies cannot be used). `input` holds the job's images; the study date and frame of
// reference are read from one of them. Logs the choice with UIDs and job numbers only.
void choose_follow_up_prior(StateStore& store, const JobRow& job,
                            const std::filesystem::path& input, AnalyseFolderOptions& options);

}  // namespace livernode::node
