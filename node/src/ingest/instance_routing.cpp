#include "livernode/node/ingest/routing.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "dcmtk/dcmdata/dcuid.h"
#include "livernode/version.h"

namespace livernode::node {

using dicom::SegHeader;
using dicom::SegSegmentHeader;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The jobs of a study are those of its visit's lead study.
bool has_finished_analysis(StateStore& store, const std::string& study_uid) {
  for (const auto& job : store.jobs(store.visit_of(study_uid), 1000))
    if (job.state == JobState::done) return true;
  return false;
}

}  // namespace

SegDecision classify_incoming_seg(const SegHeader& seg, StateStore& store,
                                  const std::string& product_name) {
  SegDecision d;
  if (store.sent_instance(seg.sop_instance_uid)) {
    d.kind = SegDecision::own_result;
    d.reason = "an instance this node sent";
    return d;
  }
  // Written by this product (another node's, or ours with new UIDs) and every segment still
  // automatic: nobody edited it. A copy of a corrected version of ours goes on, and is stopped
  // by the comparison with our own SEG (its segments are unchanged).
  const bool automatic_only =
      std::all_of(seg.segments.begin(), seg.segments.end(),
                  [](const SegSegmentHeader& s) { return s.algorithm_type == "AUTOMATIC"; });
  if (!product_name.empty() && lower(seg.manufacturer) == lower(product_name) && automatic_only) {
    d.kind = SegDecision::own_result;
    d.reason = "written by " + product_name + " (Manufacturer) with automatic segments only";
    return d;
  }
  auto analysed = [&](const std::optional<SeriesRow>& row) {
    return row && row->action == SeriesAction::analyse &&
           has_finished_analysis(store, row->study_uid);
  };
  for (const auto& uid : seg.referenced_series) {
    const auto row = store.series_by_uid(uid);
    if (analysed(row)) {
      d.kind = SegDecision::correction;
      d.target_study = store.visit_of(row->study_uid);
      d.target_series = uid;
      d.reason = "ReferencedSeriesSequence names an analysed series";
      return d;
    }
  }
  for (const auto& sop : seg.referenced_instances) {
    const auto series = store.series_of_instance(sop);
    if (!series) continue;
    const auto row = store.series_by_uid(*series);
    if (analysed(row)) {
      d.kind = SegDecision::correction;
      d.target_study = store.visit_of(row->study_uid);
      d.target_series = *series;
      d.reason = "its frames reference images of an analysed series";
      return d;
    }
  }
  if (!seg.study_uid.empty() && has_finished_analysis(store, seg.study_uid)) {
    d.kind = SegDecision::correction;
    d.target_study = store.visit_of(seg.study_uid);
    d.reason = "it lies in an analysed study (frame of reference checked by the analysis)";
    return d;
  }
  d.reason = seg.referenced_series.empty() && seg.referenced_instances.empty()
                 ? "it references no series and its study was never analysed"
                 : "the series it references were never analysed by this node";
  return d;
}

std::optional<SegDecision> decide_routing(DcmItem& dataset, InstanceRecord& r, const Router& router,
                                          StateStore& store) {
  const auto decision = router.route({r.modality, r.calling_ae, r.body_part, r.series_description});
  r.action = decision.action;
  r.rule = decision.rule;
  if (r.sop_class_uid != UID_SegmentationStorage) return std::nullopt;
  // A SEG is never analysed itself: one that corrects nothing is kept without reopening its
  // study (a new study holding only such SEGs is stored and deleted like unrouted ones).
  r.action = SeriesAction::derived;
  r.rule = "segmentation";
  SegDecision d;
  try {
    d = classify_incoming_seg(dicom::read_seg_header(dataset), store, kProductName);
  } catch (const std::exception& e) {
    spdlog::warn("event=correction_ignored sop={} series={} reason=\"unusable SEG: {}\"",
                 r.sop_instance_uid, r.series_uid, e.what());
    return std::nullopt;
  }
  switch (d.kind) {
    case SegDecision::correction:
      r.action = SeriesAction::correction;
      r.rule = "correction";
      r.corrects_study = d.target_study;
      spdlog::info("event=correction_received sop={} study={} reason=\"{}\"", r.sop_instance_uid,
                   d.target_study, d.reason);
      break;
    case SegDecision::own_result:
      r.rule = "own result";
      spdlog::info("event=correction_ignored sop={} series={} reason=\"our own result: {}\"",
                   r.sop_instance_uid, r.series_uid, d.reason);
      break;
    case SegDecision::unrelated:
      spdlog::info("event=correction_ignored sop={} series={} reason=\"not a correction: {}\"",
                   r.sop_instance_uid, r.series_uid, d.reason);
      break;
  }
  return d;
}

}  // namespace livernode::node
