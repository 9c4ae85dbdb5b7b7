#include "livernode/node/store/state_store.h"

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

SeriesAction series_action_from_string(const std::string& text) {
  if (text == "analyse") return SeriesAction::analyse;
  if (text == "ignore") return SeriesAction::ignore;
  if (text == "correction") return SeriesAction::correction;
  if (text == "derived") return SeriesAction::derived;
  return SeriesAction::unrouted;
}

}  // namespace livernode::node
