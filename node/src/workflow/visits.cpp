#include "livernode/node/workflow/visits.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace livernode::node {

using study::VisitFacts;

namespace {

template <class T>
void add_unique(std::vector<T>& values, const T& v) {
  if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
}

}  // namespace

VisitFacts visit_facts_of(const std::string& study_uid, const std::vector<SeriesRow>& series) {
  VisitFacts f;
  f.study_uid = study_uid;
  for (const auto& s : series) {
    // Our own results and hand-drawn SEGs sent back say nothing about the acquisition.
    if (s.action == SeriesAction::derived || s.action == SeriesAction::correction) continue;
    if (!s.frame_of_reference_uid.empty())
      add_unique(f.frames_of_reference, s.frame_of_reference_uid);
    if (!s.study_date.empty()) add_unique(f.study_dates, s.study_date);
    if (const auto t = study::seconds_of_day(s.acquisition_time))
      add_unique(f.acquisition_seconds, *t);
  }
  return f;
}

int assign_visits(StateStore& store) {
  int changed = 0;
  std::set<std::string> placed;  // studies already placed in this pass
  for (const auto& receiving : store.studies(StudyState::receiving, 10000)) {
    if (placed.count(receiving.study_uid)) continue;
    const std::vector<StudyRow> candidates = store.studies_of_same_patient(receiving.study_uid);
    std::vector<VisitFacts> facts;
    facts.reserve(candidates.size());
    for (const auto& c : candidates)
      facts.push_back(visit_facts_of(c.study_uid, store.series_of(c.study_uid)));
    // The closure of the relation from the receiving study.
    std::vector<bool> member(candidates.size(), false);
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < candidates.size(); ++i)
      if (candidates[i].study_uid == receiving.study_uid) {
        member[i] = true;
        todo.push_back(i);
      }
    while (!todo.empty()) {
      const std::size_t i = todo.back();
      todo.pop_back();
      for (std::size_t j = 0; j < candidates.size(); ++j)
        if (!member[j] && study::same_visit(facts[i], facts[j])) {
          member[j] = true;
          todo.push_back(j);
        }
    }
    // The lead: the earliest study that already has job versions (so that a visit keeps its
    // versions), else the earliest to arrive.
    std::optional<std::size_t> lead;
    auto earlier = [&](std::size_t i, std::size_t j) {
      const bool ji = candidates[i].job_versions > 0, jj = candidates[j].job_versions > 0;
      if (ji != jj) return ji;
      if (candidates[i].first_arrival != candidates[j].first_arrival)
        return candidates[i].first_arrival < candidates[j].first_arrival;
      return candidates[i].study_uid < candidates[j].study_uid;
    };
    for (std::size_t i = 0; i < candidates.size(); ++i)
      if (member[i] && (!lead || earlier(i, *lead))) lead = i;
    if (!lead) continue;
    const std::string visit = candidates[*lead].study_uid;
    std::vector<std::string> moved;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (!member[i]) continue;
      placed.insert(candidates[i].study_uid);
      if (candidates[i].visit_uid != visit) moved.push_back(candidates[i].study_uid);
    }
    if (moved.empty()) continue;
    store.set_visit(moved, visit);
    changed += static_cast<int>(moved.size());
    for (const auto& uid : moved)
      if (uid != visit)
        spdlog::info("event=study_visit study={} visit={} studies_in_visit={}", uid, visit,
                     std::count(member.begin(), member.end(), true));
  }
  return changed;
}

}  // namespace livernode::node
