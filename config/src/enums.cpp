#include "livernode/config/enums.h"

#include "enum_names.h"

namespace livernode::config {

std::string_view to_string(RuleAction value) { return detail::enum_name(value); }
std::string_view to_string(ResultKind value) { return detail::enum_name(value); }
std::string_view to_string(SegmentationBackend value) { return detail::enum_name(value); }
std::string_view to_string(ReferencePhase value) { return detail::enum_name(value); }
std::string_view to_string(BsaFormula value) { return detail::enum_name(value); }
std::string_view to_string(EslvFormula value) { return detail::enum_name(value); }
std::string_view to_string(LiverCondition value) { return detail::enum_name(value); }
std::string_view to_string(LogLevel value) { return detail::enum_name(value); }
std::string_view to_string(LogFormat value) { return detail::enum_name(value); }
std::string_view to_string(StateBackend value) { return detail::enum_name(value); }

}  // namespace livernode::config
