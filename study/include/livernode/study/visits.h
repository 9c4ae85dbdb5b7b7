#pragma once
// Which studies are one examination (a visit). Some archives file every contrast phase
// of one acquisition under its own StudyInstanceUID; analysed one by one they would each give a
// single-phase answer. The node analyses a visit as one job, as `livernode analyze` analyses the
// series of one patient and frame of reference together, whatever study they were filed under.
//
// Two studies are of one visit when they have the same (non-empty) PatientID and
//   - a series of one shares its FrameOfReferenceUID with a series of the other, or
//   - (a frame of reference differs or is missing) their series have the same StudyDate and
//     two of their acquisition times lie within kVisitWindowSeconds of each other.
// The node places received studies in visits with this relation (node/visits.h).
#include <optional>
#include <string>
#include <vector>

namespace livernode::study {

// Acquisitions of one examination are minutes apart; a second examination of the same day is
// hours later.
inline constexpr double kVisitWindowSeconds = 3600.0;

// Seconds since midnight of a DICOM TM value (HHMM, HHMMSS or HHMMSS.FFFFFF, also the older
// HH:MM:SS form), if it parses.
std::optional<double> seconds_of_day(std::string tm);

// What the visit relation looks at in one study.
struct VisitFacts {
  std::string study_uid;
  std::vector<std::string> frames_of_reference;
  std::vector<std::string> study_dates;
  std::vector<double> acquisition_seconds;  // since midnight
};

// True when the two studies (of one patient) are acquisitions of one visit.
bool same_visit(const VisitFacts& a, const VisitFacts& b,
                double window_seconds = kVisitWindowSeconds);

}  // namespace livernode::study
