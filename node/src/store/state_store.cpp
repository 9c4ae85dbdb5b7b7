#include "livernode/node/store/state_store.h"

#include <ostream>
#include <string>

namespace livernode::node {

const char* to_string(SeriesAction action) {
  switch (action) {
    case SeriesAction::analyse:
      return "analyse";
    case SeriesAction::ignore:
      return "ignore";
    case SeriesAction::unrouted:
      return "unrouted";
    case SeriesAction::correction:
      return "correction";
    case SeriesAction::derived:
      return "derived";
  }
  return "unrouted";
}

const char* to_string(StudyState state) {
  switch (state) {
    case StudyState::receiving:
      return "receiving";
    case StudyState::stored:
      return "stored";
    case StudyState::queued:
      return "queued";
    case StudyState::running:
      return "running";
    case StudyState::done:
      return "done";
    case StudyState::failed:
      return "failed";
    case StudyState::purged:
      return "purged";
  }
  return "receiving";
}

std::optional<StudyState> study_state_from_string(const std::string& text) {
  for (StudyState state :
       {StudyState::receiving, StudyState::stored, StudyState::queued, StudyState::running,
        StudyState::done, StudyState::failed, StudyState::purged})
    if (text == to_string(state)) return state;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, StudyState state) { return out << to_string(state); }

const char* to_string(JobState state) {
  switch (state) {
    case JobState::queued:
      return "queued";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::failed:
      return "failed";
  }
  return "queued";
}

std::optional<JobState> job_state_from_string(const std::string& text) {
  for (JobState state : {JobState::queued, JobState::running, JobState::done, JobState::failed})
    if (text == to_string(state)) return state;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, JobState state) { return out << to_string(state); }

const char* to_string(DeliveryState state) {
  switch (state) {
    case DeliveryState::pending:
      return "pending";
    case DeliveryState::delivered:
      return "delivered";
    case DeliveryState::dead:
      return "dead";
  }
  return "pending";
}

std::optional<DeliveryState> delivery_state_from_string(const std::string& text) {
  for (DeliveryState state :
       {DeliveryState::pending, DeliveryState::delivered, DeliveryState::dead})
    if (text == to_string(state)) return state;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, DeliveryState state) { return out << to_string(state); }

SeriesAction series_action_from_string(const std::string& text) {
  if (text == "analyse") return SeriesAction::analyse;
  if (text == "ignore") return SeriesAction::ignore;
  if (text == "correction") return SeriesAction::correction;
  if (text == "derived") return SeriesAction::derived;
  return SeriesAction::unrouted;
}

}  // namespace livernode::node
