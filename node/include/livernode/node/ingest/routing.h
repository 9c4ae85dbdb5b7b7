#pragma once
// Where a received instance goes: the routing rules compiled once (config.routing, first match
// wins), and for a SEG whether it corrects an analysed study.
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "livernode/config/config.h"
#include "livernode/dicom/seg_header.h"
#include "livernode/node/store/state_store.h"

class DcmItem;

namespace livernode::node {

struct SeriesFacts {
  std::string modality;
  std::string calling_ae;
  std::string body_part;
  std::string description;
};

struct RouteDecision {
  SeriesAction action = SeriesAction::unrouted;
  std::string rule;  // empty when no rule matched
};

class Router {
 public:
  explicit Router(const config::RoutingConfig& routing);
  RouteDecision route(const SeriesFacts& facts) const;

 private:
  struct CompiledRule {
    config::RoutingRule rule;
    std::vector<std::regex> body_parts;
    std::vector<std::regex> descriptions;
  };
  std::vector<CompiledRule> rules_;
};

// What the node does with an incoming SEG.
struct SegDecision {
  enum Kind { correction, own_result, unrelated } kind = unrelated;
  std::string target_study;   // the analysed study it corrects (the lead of its visit)
  std::string target_series;  // the analysed series it refers to, when known
  std::string reason;         // for the log
};

// A correction when it refers to a series of a study that has a finished analysis (by
// ReferencedSeriesSequence, by its frames' source images, or failing both by lying in such a
// study with the same frame of reference); our own result echoed back (an instance we sent,
// or one written by this product whose segments are all automatic) is never one.
SegDecision classify_incoming_seg(const dicom::SegHeader& seg, StateStore& store,
                                  const std::string& product_name);

// The routing decision of a received instance, or of one recovered from the spool, into
// r.action and r.rule (r's modality, calling AE, body part, description and SOP class must be
// set): the routing rules, except that a SEG is never analysed itself. A SEG that corrects an
// analysed study is recorded as a correction of it (r.corrects_study; recording it queues the
// correction job); any other SEG (our own result echoed back, unrelated, unusable) as derived.
// Logs what it made of a SEG. Returns the decision for a usable SEG.
std::optional<SegDecision> decide_routing(DcmItem& dataset, InstanceRecord& r, const Router& router,
                                          StateStore& store);

}  // namespace livernode::node
