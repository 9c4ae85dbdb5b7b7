#include <algorithm>

#include "livernode/config/config.h"

namespace livernode::config {

Config default_config() { return Config{}; }

bool Destination::accepts_kind(ResultKind kind) const {
  return std::find(accepts.begin(), accepts.end(), kind) != accepts.end();
}

double ClinicalConfig::flr_threshold_percent() const {
  switch (liver_condition) {
    case LiverCondition::chemotherapy:
      return flr_thresholds_percent.chemotherapy;
    case LiverCondition::cirrhosis:
      return flr_thresholds_percent.cirrhosis;
    case LiverCondition::normal:
      break;
  }
  return flr_thresholds_percent.normal;
}

}  // namespace livernode::config
