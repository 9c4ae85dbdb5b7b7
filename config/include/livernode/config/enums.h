#pragma once
// The closed sets of words an admin may write in the configuration file.
// Each enumerator is spelled as in the file; to_string() gives that spelling back.

#include <string_view>

namespace livernode::config {

// What a routing rule does with the series it matches.
enum class RuleAction { analyse, ignore };

// A kind of result object the node can send to a destination.
enum class ResultKind { seg, sr, summary, pdf };

enum class SegmentationBackend { builtin, external };

// Contrast phase used as the reference frame for registration and lesion measurement.
// `automatic` is written `auto` in the file (a C++ keyword otherwise).
enum class ReferencePhase { automatic, portal_venous, delayed, arterial };

enum class BsaFormula { mosteller, dubois };

enum class EslvFormula { vauthey, urata };

// Condition of the liver parenchyma; selects the minimum future-liver-remnant threshold.
enum class LiverCondition { normal, chemotherapy, cirrhosis };

enum class LogLevel { trace, debug, info, warn, error };

enum class LogFormat { text, json };

// Where the node keeps its state (studies, jobs, deliveries): an embedded SQLite file, or a
// PostgreSQL database server.
enum class StateBackend { sqlite, postgresql };

std::string_view to_string(RuleAction value);
std::string_view to_string(ResultKind value);
std::string_view to_string(SegmentationBackend value);
std::string_view to_string(ReferencePhase value);
std::string_view to_string(BsaFormula value);
std::string_view to_string(EslvFormula value);
std::string_view to_string(LiverCondition value);
std::string_view to_string(LogLevel value);
std::string_view to_string(LogFormat value);
std::string_view to_string(StateBackend value);

}  // namespace livernode::config
