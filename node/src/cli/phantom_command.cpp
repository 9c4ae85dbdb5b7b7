#include <iostream>
#include <sstream>

#include "livernode/node/cli/arguments.h"
#include "livernode/node/cli/commands.h"
#include "livernode/node/error.h"
#include "livernode/phantom/phantom.h"

namespace livernode::node {

namespace {

constexpr const char* kUsage =
    "Usage: livernode phantom --out DIR [--seed N] [options]\n"
    "Writes a deterministic multi-phase abdominal CT study (DICOM, one series per phase) to\n"
    "DIR/dicom and its ground truth (label maps and manifest.json) to DIR/truth.\n"
    "With --modality mr it writes an abdominal MR liver protocol of the same anatomy and truth\n"
    "instead (MR Image Storage, or Enhanced MR with --mr-enhanced; one folder per series under\n"
    "DIR/dicom): Dixon in/opposed phase, T2 single-shot FSE fat-suppressed, diffusion b 50 and\n"
    "b 800 with an ADC map, T1 3D gradient echo fat-suppressed pre-contrast and post-contrast\n"
    "(late arterial 35 s, portal venous 70 s, transitional 3 min; hepatobiliary 20 min with\n"
    "gadoxetate). It models no MR physics: each image comes from a table of relative tissue\n"
    "signals (in manifest.json), times an arbitrary scale per series and a smooth coil bias\n"
    "field, plus Rician noise; stored values 0..4095, no Hounsfield units. No MR artefacts\n"
    "(chemical shift aside: Dixon opposed-phase cancellation), no distortion of diffusion, one\n"
    "grid for every series.\n"
    "Options:\n"
    "  --modality ct|mr         (default ct)\n"
    "  --mr-agent extracellular|gadoxetate\n"
    "                           MR contrast agent (default extracellular); gadoxetate adds the\n"
    "                           hepatobiliary phase: liver bright, vessels and lesions dark\n"
    "  --mr-dynamic-per-series  each post-contrast T1 time point as its own series (default:\n"
    "                           one multi-temporal series, TemporalPositionIdentifier 1..N)\n"
    "  --mr-enhanced            every MR series as one Enhanced MR Image Storage multi-frame\n"
    "                           object (the multi-temporal series: slices x time points\n"
    "                           frames, TemporalPositionIndex 1..N) instead of one file per\n"
    "                           slice\n"
    "  --no-dixon               MR without the in/opposed-phase series\n"
    "  --seed N                 noise, UIDs and motion (default 1)\n"
    "  --matrix N               rows = columns (default 256)\n"
    "  --pixel-spacing MM       in-plane spacing (default 1.5)\n"
    "  --slice-thickness MM     slice thickness = spacing (default 2.5)\n"
    "  --slices N               number of slices (default: enough to cover the liver)\n"
    "  --phases LIST            CT: comma-separated: non_contrast,arterial,portal_venous,delayed\n"
    "  --motion MM              maximum shift of the anatomy between phases (MR: between\n"
    "                           breath-holds) (default 0)\n"
    "  --no-descriptions        every series described as 'Abdomen'\n"
    "  --no-contrast-tags       no ContrastBolusAgent / ContrastBolusStartTime\n"
    "  --no-size-weight         no PatientSize / PatientWeight\n"
    "  --patient-size M         patient height in metres (default 1.75)\n"
    "  --patient-weight KG      patient weight in kg (default 75)\n"
    "  --patient-id ID          (default PHANTOM-0001)\n"
    "  --study-date YYYYMMDD    (default 20261101)\n"
    "  --remnant-growth F       volume factor of the left lateral lobe, for follow-up studies\n"
    "  --arterial-hyperperfusion HU\n"
    "                           CT: a lesion look-alike: anterior right lobe parenchyma brighter\n"
    "                           in the arterial phase by up to HU, with no edge (default 0)\n"
    "  --ordered-names          name files in spatial order (default: shuffled names)\n"
    "  --study-per-phase        CT: file each phase under its own StudyInstanceUID (one patient "
    "and\n"
    "                           frame of reference), as some archives do\n";

double parse_number(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size())
    throw NodeError(NodeErrorKind::kUsage, "--" + option + " needs a number, got '" + text + "'");
  return v;
}

}  // namespace

int run_phantom(const std::vector<std::string>& raw) {
  phantom::PhantomOptions o;
  std::string out;
  try {
    Arguments args(
        raw,
        {"out", "seed", "matrix", "pixel-spacing", "slice-thickness", "slices", "phases", "motion",
         "patient-size", "patient-weight", "patient-id", "study-date", "remnant-growth",
         "arterial-hyperperfusion", "modality", "mr-agent"},
        {"help", "no-descriptions", "no-contrast-tags", "no-size-weight", "ordered-names",
         "study-per-phase", "mr-dynamic-per-series", "mr-enhanced", "no-dixon"});
    if (args.flag("help")) {
      std::cout << kUsage;
      return kExitOk;
    }
    if (!args.value("out") || !args.positional().empty()) {
      std::cerr << kUsage;
      return kExitUsage;
    }
    out = *args.value("out");
    auto number = [&](const char* name, auto& field) {
      if (auto v = args.value(name)) {
        using T = std::decay_t<decltype(field)>;
        const double d = parse_number(name, *v);
        if (d < 0)
          throw NodeError(NodeErrorKind::kUsage,
                          std::string("--") + name + " must not be negative");
        field = static_cast<T>(d);
      }
    };
    number("seed", o.seed);
    number("matrix", o.matrix);
    number("pixel-spacing", o.pixel_spacing_mm);
    number("slice-thickness", o.slice_thickness_mm);
    number("slices", o.slices);
    number("motion", o.motion_mm);
    number("remnant-growth", o.remnant_growth);
    number("arterial-hyperperfusion", o.arterial_hyperperfusion_hu);
    if (auto v = args.value("patient-size")) o.patient_size_m = parse_number("patient-size", *v);
    if (auto v = args.value("patient-weight"))
      o.patient_weight_kg = parse_number("patient-weight", *v);
    if (args.flag("no-size-weight")) {
      o.patient_size_m.reset();
      o.patient_weight_kg.reset();
    }
    if (auto v = args.value("patient-id")) o.patient_id = *v;
    if (auto v = args.value("study-date")) o.study_date = *v;
    if (auto v = args.value("phases")) {
      o.phases.clear();
      std::stringstream ss(*v);
      for (std::string name; std::getline(ss, name, ',');) {
        auto p = phantom::parse_phase(name);
        if (!p) throw NodeError(NodeErrorKind::kUsage, "unknown phase '" + name + "'");
        o.phases.push_back(*p);
      }
    }
    if (auto v = args.value("modality")) {
      const auto m = phantom::parse_modality(*v);
      if (!m) throw NodeError(NodeErrorKind::kUsage, "unknown modality '" + *v + "' (ct or mr)");
      o.modality = *m;
    }
    if (auto v = args.value("mr-agent")) {
      const auto a = phantom::parse_mr_agent(*v);
      if (!a)
        throw NodeError(NodeErrorKind::kUsage,
                        "unknown MR agent '" + *v + "' (extracellular or gadoxetate)");
      o.mr_agent = *a;
    }
    const bool mr_options = args.value("mr-agent") || args.flag("mr-dynamic-per-series") ||
                            args.flag("mr-enhanced") || args.flag("no-dixon");
    if (mr_options && o.modality != phantom::PhantomModality::kMr)
      throw NodeError(NodeErrorKind::kUsage,
                      "--mr-agent, --mr-dynamic-per-series, --mr-enhanced and --no-dixon need "
                      "--modality mr");
    if (o.modality == phantom::PhantomModality::kMr && args.value("phases"))
      throw NodeError(NodeErrorKind::kUsage, "--phases is a CT option: the MR protocol is fixed");
    o.mr_dynamic_per_series = args.flag("mr-dynamic-per-series");
    o.mr_enhanced = args.flag("mr-enhanced");
    o.mr_dixon = !args.flag("no-dixon");
    o.series_descriptions = !args.flag("no-descriptions");
    o.contrast_tags = !args.flag("no-contrast-tags");
    o.shuffle_file_names = !args.flag("ordered-names");
    o.study_per_phase = args.flag("study-per-phase");
  } catch (const NodeError& e) {
    std::cerr << "livernode phantom: " << e.what() << "\n";
    return exit_code_of(e);
  }
  try {
    const phantom::PhantomTruth truth = phantom::generate_phantom(o, out);
    std::cout << "phantom written to " << out << ": " << truth.series.size() << " series, liver "
              << truth.liver_volume_ml << " mL, " << truth.lesions.size() << " lesions ("
              << truth.tumour_volume_ml << " mL)\n";
    return kExitOk;
  } catch (const std::runtime_error& e) {
    std::cerr << "livernode phantom: " << e.what() << "\n";
    return kExitBadInput;
  }
}

}  // namespace livernode::node
