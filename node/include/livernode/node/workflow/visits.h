#pragma once
// Which received studies are one examination (a visit). Some archives file every contrast phase
// of one acquisition under its own StudyInstanceUID; analysed one by one they would each give a
// single-phase answer. The node analyses a visit as one job, as `livernode analyze` analyses the
// series of one patient and frame of reference together, whatever study they were filed under.
//
// Two studies are of one visit when they have the same (non-empty) PatientID and
//   - a series of one shares its FrameOfReferenceUID with a series of the other, or
//   - (a frame of reference differs or is missing) their series have the same StudyDate and
//     two of their acquisition times lie within kVisitWindowSeconds of each other.
// A visit is the closure of that relation over the patient's studies that are not stored
// (nothing analysed) or purged. Its lead study, which owns the job versions, is the earliest
// study of the visit that already has job versions, else the earliest to arrive.
#include <string>
#include <vector>

#include "livernode/node/store/state_store.h"
#include "livernode/study/visits.h"

namespace livernode::node {

// Facts of one study from its series rows.
study::VisitFacts visit_facts_of(const std::string& study_uid,
                                 const std::vector<SeriesRow>& series);

// Places every receiving study in its visit (StateStore::set_visit) and returns how many
// studies changed visit. Called by the study tracker before it looks for quiet visits.
int assign_visits(StateStore& store);

}  // namespace livernode::node
