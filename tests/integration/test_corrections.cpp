// Corrections sent back as DICOM SEG: the analyses that take a correction, and the whole round
// trip with real peers: storescu -> node -> Orthanc, our SEG edited with pydicom as a viewer
// would, sent back, and a new version of the results in Orthanc with the volumes of the edited
// masks and the edited segments named as manual.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "dicom_checks.h"
#include "livernode/node/ingest/routing.h"
#include "livernode/node/ingest/spool_recovery.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/node/workflow/job_inputs.h"
#include "livernode/phantom/phantom.h"
#include "livernode/study/corrections.h"
#include "livernode/study/study_analysis.h"
#include "node_process.h"
#include "orthanc_peer.h"
#include "serve_test_support.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kSegTool = fs::path(LIVERNODE_SOURCE_DIR) / "tests" / "tools" / "seg_tool.py";

json seg_tool(const std::string& arguments) {
  const auto r = run_command("/usr/bin/python3 '" + kSegTool.string() + "' " + arguments);
  if (r.status != 0) throw std::runtime_error("seg_tool.py " + arguments + ": " + r.output);
  return r.output.empty() ? json() : json::parse(r.output);
}

// Sends one file to the node with storescu; the output when it fails.
CommandResult send_file(const NodeProcess& node, const fs::path& file) {
  return run_command("storescu -R -aet VIEWER " + node.peer() + " '" + file.string() + "'");
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

// A SEG written by another tool (the manual truth of a real HCC case, two files: liver and
// tumour) as the correction of the analysis of that case: the liver and tumour volumes become
// the truth's, named as manual in every object, and every object passes dciodvfy.
TEST(CorrectionAnalysis, ManualTruthOfARealCaseReplacesLiverAndLesions) {
  const fs::path data = shared_data() / "real" / "hcc-tace-0697";
  LIVERNODE_REQUIRE_DATA(data / "truth" / "31_EQP_Ax5.00mm_ManualROI_Liver.dcm");
  const fs::path out = make_temp_dir("livernode-correction-real");
  study::AnalyseFolderOptions options;
  options.corrections = {{data / "truth" / "31_EQP_Ax5.00mm_ManualROI_Liver.dcm", {}},
                         {data / "truth" / "31_EQP_Ax5.00mm_ManualROI_Tumor.dcm", {}}};
  options.result_version = 2;
  const auto outcome = study::analyse_folder(data / "ct", out, options);
  ASSERT_TRUE(outcome.usable) << outcome.error;
  EXPECT_EQ(outcome.corrected_analyses, 1);
  ASSERT_EQ(outcome.summary["analyses"].size(), 1u);
  const json& a = outcome.summary["analyses"][0];
  ASSERT_TRUE(a.contains("corrections")) << a.dump(2);
  EXPECT_TRUE(a["corrections"]["liver_manual"].get<bool>());
  EXPECT_TRUE(a["corrections"]["lesions_manual"].get<bool>());
  EXPECT_FALSE(a["corrections"]["remnant_manual"].get<bool>());
  EXPECT_EQ(outcome.summary["result_version"], 2);
  // The truth placed by position: about 927 mL of liver and 2.4 mL of tumour.
  const double liver = a["volumetry"]["liver_ml"].get<double>();
  const double tumour = a["volumetry"]["tumour_ml"].get<double>();
  std::cout << "hcc-tace-0697 corrected by its manual truth: liver " << liver << " mL, tumour "
            << tumour << " mL, " << a["lesions"].size() << " lesion(s)\n";
  EXPECT_NEAR(liver, 927.0, 15.0);
  EXPECT_NEAR(tumour, 2.4, 0.6);
  EXPECT_GE(a["lesions"].size(), 1u);
  EXPECT_NE(a["liver"]["method"].get<std::string>().find("corrected by hand"), std::string::npos);
  std::vector<std::string> source_uids;
  for (const auto& uid : a["study_instance_uids"]) source_uids.push_back(uid);
  for (const auto& series : a["series"]) source_uids.push_back(series["series_instance_uid"]);
  std::size_t checked = 0;
  for (const auto& written : outcome.objects) {
    const fs::path& o = written.file;
    const auto errors = dciodvfy_errors(o, source_uids);
    EXPECT_TRUE(errors.empty()) << o << "\n" << join(errors);
    ++checked;
    if (o.filename() == "seg.dcm") {
      const json segments = seg_tool("segments '" + o.string() + "'");
      for (const auto& s : segments) {
        const std::string label = s[0];
        if (label == "Liver" || label.rfind("Lesion", 0) == 0)
          EXPECT_EQ(s[1], "MANUAL") << label;
        else
          EXPECT_EQ(s[1], "AUTOMATIC") << label;
      }
    }
    if (o.filename() == "sr.dcm") {
      const json sr = seg_tool("sr '" + o.string() + "'");
      EXPECT_NE(sr["series_description"].get<std::string>().find("version 2"), std::string::npos);
      bool named = false;
      for (const auto& t : sr["texts"])
        named = named || t.get<std::string>().find("Corrected manually: liver, lesions") !=
                             std::string::npos;
      EXPECT_TRUE(named) << sr.dump(2);
      EXPECT_NEAR(sr["groups"]["Liver volumetry"]["Volume"].get<double>(), liver, 0.06);
    }
  }
  EXPECT_GE(checked, 3u);
  if (!HasFailure()) fs::remove_all(out);
}

// A remnant drawn by hand (added to our SEG by another tool): its FLR replaces the presets'
// place as the surgeon's own figure; the liver and lesions, not edited, stay automatic.
TEST(CorrectionAnalysis, DrawnRemnantGivesTheFlrAndUneditedSegmentsStayAutomatic) {
  const fs::path dir = make_temp_dir("livernode-correction-remnant");
  phantom::generate_phantom(small_portal_venous_phantom(31), dir / "study");
  const auto first = study::analyse_folder(dir / "study" / "dicom", dir / "v1");
  ASSERT_TRUE(first.usable) << first.error;
  const fs::path ours = dir / "v1" / "1" / "seg.dcm";
  ASSERT_TRUE(fs::exists(ours));
  const fs::path edited = dir / "remnant.dcm";
  const json expected = seg_tool("remnant '" + ours.string() + "' '" + edited.string() + "'");
  study::AnalyseFolderOptions options;
  options.corrections = {{edited, {ours}}};
  options.result_version = 2;
  const auto second = study::analyse_folder(dir / "study" / "dicom", dir / "v2", options);
  ASSERT_TRUE(second.usable) << second.error;
  EXPECT_EQ(second.corrected_analyses, 1);
  const json& a = second.summary["analyses"][0];
  ASSERT_TRUE(a.contains("corrections")) << a.dump(2);
  const json& c = a["corrections"];
  EXPECT_FALSE(c["liver_manual"].get<bool>());
  EXPECT_FALSE(c["lesions_manual"].get<bool>());
  EXPECT_TRUE(c["remnant_manual"].get<bool>());
  ASSERT_TRUE(c.contains("drawn_remnant")) << c.dump(2);
  EXPECT_NEAR(c["drawn_remnant"]["flr_ml"].get<double>(), expected["flr_ml"].get<double>(), 1e-6);
  const double functional = a["volumetry"]["functional_ml"].get<double>();
  EXPECT_NEAR(c["drawn_remnant"]["flr_percent_of_functional_liver"].get<double>(),
              100.0 * expected["flr_ml"].get<double>() / functional, 1e-6);
  // Not edited: the same automatic liver and lesions as the first version.
  const json& a1 = first.summary["analyses"][0];
  EXPECT_DOUBLE_EQ(a["volumetry"]["liver_ml"].get<double>(),
                   a1["volumetry"]["liver_ml"].get<double>());
  EXPECT_EQ(a["lesions"].size(), a1["lesions"].size());
  EXPECT_EQ(a["liver"]["method"], a1["liver"]["method"]);
  bool drawn = false;  // the drawn remnant's own SEG
  for (const auto& written : second.objects) {
    const fs::path& o = written.file;
    const auto errors = dciodvfy_errors(o);
    EXPECT_TRUE(errors.empty()) << o << "\n" << join(errors);
    const std::string name = o.filename().string();
    if (name == "seg.dcm" || name.rfind("seg-", 0) == 0) {
      for (const auto& s : seg_tool("segments '" + o.string() + "'")) {
        const std::string label = s[0];
        if (label == "FLR drawn") {
          drawn = true;
          EXPECT_EQ(s[1], "MANUAL");
          EXPECT_EQ(name, "seg-flr-drawn.dcm");
        } else {
          EXPECT_EQ(s[1], "AUTOMATIC") << label;
        }
      }
    }
    if (o.filename() == "sr.dcm") {
      const json sr = seg_tool("sr '" + o.string() + "'");
      bool named = false, statement = false;
      for (const auto& t : sr["texts"]) {
        const std::string text = t;
        named = named || text.find("Corrected manually: future liver remnant") != std::string::npos;
        statement = statement || text.find("remnant drawn by hand") != std::string::npos;
      }
      EXPECT_TRUE(named) << sr.dump(2);
      EXPECT_TRUE(statement) << sr.dump(2);
      EXPECT_NEAR(sr["groups"]["FLR drawn"]["Future liver remnant"].get<double>(),
                  expected["flr_ml"].get<double>(), 0.06)
          << sr.dump(2);
    }
  }
  EXPECT_TRUE(drawn);
  if (!HasFailure()) fs::remove_all(dir);
}

// A source without a Frame of Reference UID: each analysis gives its SEG a new one, so the SEG a
// reader corrects names another frame of reference than the next analysis makes. The correction
// is still taken, known by the series it refers to.
TEST(CorrectionAnalysis, SourceWithoutFrameOfReferenceStillTakesItsCorrection) {
  const fs::path dir = make_temp_dir("livernode-correction-no-frame");
  phantom::generate_phantom(small_portal_venous_phantom(37), dir / "study");
  const std::string script =
      "import os, sys, pydicom\n"
      "os.makedirs(sys.argv[2], exist_ok=True)\n"
      "for name in os.listdir(sys.argv[1]):\n"
      "    ds = pydicom.dcmread(os.path.join(sys.argv[1], name))\n"
      "    del ds.FrameOfReferenceUID\n"
      "    ds.save_as(os.path.join(sys.argv[2], name), write_like_original=False)\n";
  const auto made = run_python_script(dir, "no_frame.py", script,
                                      "'" + (dir / "study" / "dicom" / "portal_venous").string() +
                                          "' '" + (dir / "odd").string() + "'");
  ASSERT_EQ(made.status, 0) << made.output;
  const auto first = study::analyse_folder(dir / "odd", dir / "v1");
  ASSERT_TRUE(first.usable) << first.error;
  ASSERT_TRUE(first.summary["analyses"][0]["frame_of_reference_generated"].get<bool>());
  const fs::path ours = dir / "v1" / "1" / "seg.dcm";
  ASSERT_TRUE(fs::exists(ours));
  const fs::path edited = dir / "remnant.dcm";
  seg_tool("remnant '" + ours.string() + "' '" + edited.string() + "'");
  study::AnalyseFolderOptions options;
  options.corrections = {{edited, {ours}}};
  options.result_version = 2;
  const auto second = study::analyse_folder(dir / "odd", dir / "v2", options);
  ASSERT_TRUE(second.usable) << second.error;
  EXPECT_EQ(second.corrected_analyses, 1);
  const json& a = second.summary["analyses"][0];
  ASSERT_TRUE(a.contains("corrections")) << a.dump(2);
  EXPECT_TRUE(a["corrections"]["remnant_manual"].get<bool>());
  EXPECT_NE(a["frame_of_reference_uid"], first.summary["analyses"][0]["frame_of_reference_uid"]);
  if (!HasFailure()) fs::remove_all(dir);
}

// The round trip with real peers.
TEST(CorrectionServe, EditedSegFromAViewerGivesANewVersionInThePacs) {
  const fs::path dir = make_temp_dir("livernode-correction-serve");
  const auto truth = phantom::generate_phantom(tiny_two_phase_study(23), dir / "study");
  auto pacs = OrthancPeer::start(dir / "orthanc");
  NodeProcess node(dir / "node", "",
                   loopback_destination("orthanc", pacs->ae_title(), pacs->dicom_port()));
  node.start();
  ASSERT_EQ(send_with_storescu(node, dir / "study" / "dicom").status, 0);
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(single_job_done(store, 90)) << node.log();
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 30))
      << node.log();
  const auto first = store.jobs("", 10)[0];
  const std::size_t first_objects = pacs->instances().size();
  ASSERT_EQ(static_cast<std::int64_t>(first_objects), first.objects);
  const fs::path ours = fs::path(first.result_dir) / "1" / "seg.dcm";
  ASSERT_TRUE(fs::exists(ours)) << first.result_dir;

  // Our own SEG echoed back by the PACS is not a correction.
  ASSERT_EQ(send_file(node, ours).status, 0) << send_file(node, ours).output;
  // A SEG nobody can read as one, and a SEG of a study the node never analysed: stored,
  // logged, nothing else.
  const fs::path broken = dir / "broken.dcm";
  seg_tool("break '" + ours.string() + "' '" + broken.string() + "'");
  ASSERT_EQ(send_file(node, broken).status, 0);
  const fs::path foreign = fs::path(LIVERNODE_PYDICOM_FILES) / "liver_1frame.dcm";
  if (fs::exists(foreign)) {
    ASSERT_EQ(send_file(node, foreign).status, 0);
  }
  ASSERT_TRUE(eventually(
      [&] {
        const std::string log = node.log();
        return log.find("our own result") != std::string::npos &&
               log.find("unusable SEG") != std::string::npos;
      },
      10))
      << node.log();
  if (fs::exists(foreign)) {
    EXPECT_NE(node.log().find("reason=\"not a correction"), std::string::npos) << node.log();
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // a study timer would have fired
  EXPECT_EQ(store.jobs("", 10).size(), 1u) << node.log();
  // Nothing lost: every SEG is kept in the spool.
  EXPECT_EQ(store.counts().instances, 48 + 2 + (fs::exists(foreign) ? 1 : 0));
  EXPECT_EQ(store.study(truth.study_uid)->state, node::StudyState::done);
  EXPECT_EQ(run_command("echoscu " + node.peer()).status, 0) << node.log();

  // The radiologist erases a lesion and trims the liver in the viewer, which sends the SEG.
  const fs::path edited = dir / "edited.dcm";
  const json expected = seg_tool("edit '" + ours.string() + "' '" + edited.string() + "'");
  ASSERT_EQ(send_file(node, edited).status, 0);
  ASSERT_TRUE(jobs_reach(store, 2, {node::JobState::done, node::JobState::failed}, 90))
      << node.log();
  const auto second = store.jobs("", 10)[0];
  ASSERT_EQ(second.state, node::JobState::done) << second.error << "\n" << node.log();
  EXPECT_EQ(second.kind, "correction");
  EXPECT_EQ(second.version, 2);
  EXPECT_EQ(second.correction_sop, expected["sop_instance_uid"]);
  const json api_jobs = json::parse(node.get("/api/jobs"));
  ASSERT_EQ(api_jobs.size(), 2u);
  EXPECT_EQ(api_jobs[0]["kind"], "correction");
  EXPECT_EQ(api_jobs[0]["correction_sop_instance_uid"], expected["sop_instance_uid"]);
  EXPECT_EQ(api_jobs[1]["kind"], "analysis");
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 30))
      << node.log();
  EXPECT_TRUE(store.outbox(node::DeliveryState::dead, 100).empty());

  // The PACS holds the first version once and the new version once.
  const auto ids = pacs->instances();
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), first.objects + second.objects);
  std::set<std::string> sops;
  std::string sr_id, seg_id;
  for (const auto& id : ids) {
    const auto tags = pacs->tags(id);
    EXPECT_TRUE(sops.insert(tags.value("SOPInstanceUID", "")).second);
    const std::string description = tags.value("SeriesDescription", "");
    if (description.find("version 2") == std::string::npos) continue;
    if (tags.value("Modality", "") == "SR") sr_id = id;
    // The liver and lesions SEG (the others hold the Couinaud segments and the remnant).
    if (tags.value("Modality", "") == "SEG" &&
        description.find("liver and lesions") != std::string::npos)
      seg_id = id;
  }
  ASSERT_FALSE(sr_id.empty()) << node.log();
  ASSERT_FALSE(seg_id.empty()) << node.log();
  auto download = [&](const std::string& id, const fs::path& to) {
    const auto r =
        run_command("curl -sf -o '" + to.string() + "' " + pacs->url("/instances/" + id + "/file"));
    ASSERT_EQ(r.status, 0) << r.output;
  };
  const fs::path sr_file = dir / "sr-v2.dcm", seg_file = dir / "seg-v2.dcm";
  download(sr_id, sr_file);
  download(seg_id, seg_file);
  const json sr = seg_tool("sr '" + sr_file.string() + "'");
  const json& volumetry = sr["groups"]["Liver volumetry"];
  std::cout << "edited masks: liver " << expected["liver_ml"] << " mL, tumour "
            << expected["tumour_ml"] << " mL; new SR: " << volumetry.dump() << "\n";
  EXPECT_NEAR(volumetry["Volume"].get<double>(), expected["liver_ml"].get<double>(), 0.06)
      << sr.dump(2);
  EXPECT_NEAR(volumetry["Total tumour volume"].get<double>(), expected["tumour_ml"].get<double>(),
              0.006)
      << sr.dump(2);
  bool named = false, source = false;
  for (const auto& t : sr["texts"]) {
    const std::string text = t;
    named = named || text.find("Corrected manually: liver, lesions") != std::string::npos;
    source =
        source || text.find(expected["sop_instance_uid"].get<std::string>()) != std::string::npos;
  }
  EXPECT_TRUE(named) << sr.dump(2);
  EXPECT_TRUE(source) << sr.dump(2);
  const json segments = seg_tool("segments '" + seg_file.string() + "'");
  std::size_t lesions = 0;
  for (const auto& s : segments) {
    const std::string label = s[0];
    if (label == "Liver") {
      EXPECT_EQ(s[1], "MANUAL");
    }
    if (label.rfind("Lesion", 0) == 0) {
      ++lesions;
      EXPECT_EQ(s[1], "MANUAL") << label;
    }
    if (label.rfind("Couinaud", 0) == 0) {
      EXPECT_EQ(s[1], "AUTOMATIC") << label;
    }
  }
  EXPECT_EQ(lesions, expected["lesions_left"].get<std::size_t>());
  // The new version's summary.json records the correction.
  std::ifstream in(fs::path(second.result_dir) / "summary.json");
  const json summary = json::parse(in);
  EXPECT_EQ(summary["result_version"], 2);
  EXPECT_TRUE(summary["analyses"][0]["corrections"]["liver_manual"].get<bool>());
  EXPECT_TRUE(summary["analyses"][0]["corrections"]["lesions_manual"].get<bool>());

  // A second correction, drawn on the new version (a remnant added, nothing else touched):
  // version 3 keeps the first correction's liver and lesions and adds the drawn remnant.
  const fs::path ours_v2 = fs::path(second.result_dir) / "1" / "seg.dcm";
  const fs::path remnant = dir / "remnant.dcm";
  const json drawn = seg_tool("remnant '" + ours_v2.string() + "' '" + remnant.string() + "'");
  ASSERT_EQ(send_file(node, remnant).status, 0);
  ASSERT_TRUE(jobs_reach(store, 3, {node::JobState::done, node::JobState::failed}, 90))
      << node.log();
  const auto third = store.jobs("", 10)[0];
  ASSERT_EQ(third.state, node::JobState::done) << third.error << "\n" << node.log();
  EXPECT_EQ(third.version, 3);
  std::ifstream in3(fs::path(third.result_dir) / "summary.json");
  const json summary3 = json::parse(in3);
  const json& c3 = summary3["analyses"][0]["corrections"];
  EXPECT_TRUE(c3["liver_manual"].get<bool>()) << c3.dump(2);
  EXPECT_TRUE(c3["lesions_manual"].get<bool>()) << c3.dump(2);
  EXPECT_TRUE(c3["remnant_manual"].get<bool>()) << c3.dump(2);
  EXPECT_NEAR(summary3["analyses"][0]["volumetry"]["liver_ml"].get<double>(),
              expected["liver_ml"].get<double>(), 1e-6);
  EXPECT_NEAR(c3["drawn_remnant"]["flr_ml"].get<double>(), drawn["flr_ml"].get<double>(), 1e-6);
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 30))
      << node.log();
  EXPECT_EQ(static_cast<std::int64_t>(pacs->instances().size()),
            first.objects + second.objects + third.objects);

  // A copy of our latest SEG under another tool's name changes nothing: the job says so and
  // nothing is sent.
  const fs::path copy = dir / "copy.dcm";
  seg_tool("retag '" + (fs::path(third.result_dir) / "1" / "seg.dcm").string() + "' '" +
           copy.string() + "'");
  ASSERT_EQ(send_file(node, copy).status, 0);
  ASSERT_TRUE(jobs_reach(store, 4, {node::JobState::done, node::JobState::failed}, 90))
      << node.log();
  const auto fourth = store.jobs("", 10)[0];
  EXPECT_EQ(fourth.state, node::JobState::failed);
  EXPECT_NE(fourth.error.find("changed nothing"), std::string::npos) << fourth.error;
  // The study keeps the results of the third version: it is done, not failed.
  ASSERT_TRUE(store.study(fourth.study_uid));
  EXPECT_EQ(store.study(fourth.study_uid)->state, node::StudyState::done);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(store.outbox(node::DeliveryState::pending, 100).empty());
  EXPECT_EQ(static_cast<std::int64_t>(pacs->instances().size()),
            first.objects + second.objects + third.objects);
  EXPECT_EQ(node.stop(), 0);
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace livernode::test
