#pragma once
// The inferior vena cava beside and inside the liver, slice by slice, from whichever aligned
// phase shows it best. The IVC is a tube of blood right of the spine and in front of it, at the
// posterior-medial border of the liver; in the portal venous phase it is brighter than the
// parenchyma, in the late arterial phase the returning renal blood makes it so, while in a
// delayed phase it often matches the liver and cannot be told apart by attenuation. Per phase:
// per axial slice the plausible bright cross-sections (area, place relative to the spine, next
// to the liver), then the ones that line up into a nearly vertical tube (each within 12 mm of
// the median centre of its neighbours over 25 mm). The phase with the longest such tube wins.
#include <optional>
#include <string>
#include <vector>

#include "lesion_detection.h"
#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct IvcSlice {
  double x = 0, y = 0;  // centre, LPS mm
  double area_mm2 = 0;
  std::vector<std::size_t> pixels;  // in-plane offsets (j * nx + i) of the lumen
};

struct IvcTrack {
  std::vector<std::optional<IvcSlice>> slices;  // per reference slice
  std::size_t found = 0;                        // slices with a lumen
  int phase_index = -1;                         // into the aligned phases; -1 = not found
  std::string phase_name;
  double contrast_hu = 0;  // median lumen minus liver in that phase
  std::string summary;     // one sentence for the method notes
};

struct IvcTracing {
  std::vector<IvcTrack> per_phase;  // one per aligned phase, in their order
  IvcTrack best;  // the phase with the most traced slices (the first of equals); else untraced
};

IvcTracing track_ivc(const std::vector<AlignedPhase>& phases, const LabelMap& liver,
                     std::optional<double> spine_x, std::optional<double> spine_anterior_y);

// The median centre of a traced lumen (z: the median traced slice), on the liver's grid `g`.
std::optional<Vec3> ivc_axis(const IvcTrack& track, const Geometry& g);

// Removes the traced lumen (and a one-pixel rim) from the liver; meant for a track of the
// reference phase itself, the only one whose voxels are exactly on the reference grid. Returns
// the voxels removed.
std::size_t carve_ivc(const IvcTrack& track, LabelMap& liver);

// Where the cava was traced in any phase (their lumens together) on grid `g`: in a phase that
// shows it as dark as a tumour (unopacified blood in the arterial phase, a delayed phase), the
// other phases still say where it runs.
LabelMap ivc_lumen_of_any_phase(const IvcTracing& tracing, const Geometry& g);

}  // namespace livernode::processing::detail
