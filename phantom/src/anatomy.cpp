#include "anatomy.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "spine.h"
#include "vessel_paths.h"

namespace livernode::phantom {

namespace {

constexpr double kPi = 3.14159265358979323846;

using Path = std::vector<Vec3>;
using Radii = std::vector<double>;

std::shared_ptr<const Solid> tube(const Path& points, const Radii& radii) {
  return std::make_shared<const Tube>(points, radii);
}

// Portal venous tree: main portal vein from the spleno-mesenteric confluence to the hilum, then
// the right (anterior + posterior) and left branches.
std::vector<std::shared_ptr<const Solid>> portal_tree() {
  return {
      tube({{10, -6, -62}, {-8, -12, -38}, {-26, -16, -18}}, {7.0, 7.0, 6.5}),
      tube(right_portal_vein_path().points, right_portal_vein_path().radii),
      tube({{-55, -14, -12}, {-75, -35, 2}, {-95, -52, 18}}, {4.5, 3.5, 2.5}),
      tube({{-55, -14, -12}, {-85, 5, -20}, {-112, 22, -30}}, {4.5, 3.5, 2.5}),
      tube({{-26, -16, -18}, {-8, -32, -5}, {12, -46, 6}, {38, -56, 22}}, {5.0, 4.5, 3.5, 2.5}),
  };
}

// Right, middle and left hepatic veins (vessel_paths.h).
std::vector<std::shared_ptr<const Solid>> hepatic_veins() {
  std::vector<std::shared_ptr<const Solid>> out;
  for (const auto& v : hepatic_vein_paths()) out.push_back(tube(v.points, v.radii));
  return out;
}

// A rib along the middle of the muscle wall: from its head near the transverse process, around
// the flank, descending anteriorly. side = -1 right, +1 left; angles in degrees of the ellipse
// parameter measured on the right side (posterior = 90, lateral = 180).
std::shared_ptr<const Solid> rib(const Torso& torso, double side, double z_posterior,
                                 double end_deg) {
  constexpr double kStartDeg = 112.0, kDrop = 45.0, kRadius = 5.0;
  constexpr int kSegments = 14;
  Path points{{side * 32.0, 72.0, z_posterior + 4.0}};
  for (int s = 0; s <= kSegments; ++s) {
    const double t = static_cast<double>(s) / kSegments;
    const double phi = (kStartDeg + t * (end_deg - kStartDeg)) * kPi / 180.0;
    // On the right side x = a cos(phi) < 0; the left side mirrors it.
    const double x_right = torso.wall_mid_a() * std::cos(phi);
    points.push_back({side < 0 ? x_right : -x_right, torso.wall_mid_b() * std::sin(phi),
                      z_posterior - kDrop * t});
  }
  return tube(points, Radii(points.size(), kRadius));
}

}  // namespace

Anatomy::Anatomy(double remnant_growth) {
  if (!(remnant_growth > 0.0)) throw std::runtime_error("remnant_growth must be > 0");
  liver_ = std::make_shared<const Liver>(torso_, remnant_growth);
  lesions_ = default_lesions(*liver_);
  if (static_cast<int>(lesions_.size()) > kMaxLesions) throw std::logic_error("too many lesions");

  // Priority order: the first layer containing a point wins.
  add(std::make_shared<const EllipticColumn>(Spine::canal()), code_of(Tissue::Csf));
  add_bones();
  add(tube({{18, 12, -400}, {16, 14, -60}, {18, 22, 60}, {22, 40, 400}}, {10.5, 11.5, 12.0, 12.0}),
      code_of(Tissue::Aorta));
  add(tube(ivc_path().points, ivc_path().radii), code_of(Tissue::Ivc));
  // Gallbladder in its fossa on the visceral surface (not part of the liver).
  add(std::make_shared<const Ellipsoid>(Vec3{-42, -62, -42}, Vec3{14, 15, 30}, Frame::about_z(-30)),
      code_of(Tissue::Bile));
  for (std::size_t k = 0; k < lesions_.size(); ++k) {
    add(lesions_[k].solid, lesion_code(static_cast<int>(k)), kInsideLiver);
  }
  add_vessels(true);
  layers_.push_back({liver_, code_of(Tissue::Liver), kNoClip, true});
  add_vessels(false);
  add_organs();
  check_lesions_fit();
}

void Anatomy::add(std::shared_ptr<const Solid> solid, TissueCode tissue, std::uint8_t clip) {
  layers_.push_back({std::move(solid), tissue, clip, false});
}

void Anatomy::add_bones() {
  add(std::make_shared<const Spine>(Spine::Part::Bone), code_of(Tissue::Bone));
  // Ribs 7-12 (posterior ends from the top of the field down); the lower ones are shorter.
  const double z_posterior[] = {125.0, 95.0, 65.0, 35.0, 5.0, -25.0};
  const double end_deg[] = {245.0, 240.0, 235.0, 225.0, 212.0, 195.0};
  for (double side : {-1.0, 1.0}) {
    for (int r = 0; r < 6; ++r)
      add(rib(torso_, side, z_posterior[r], end_deg[r]), code_of(Tissue::Bone));
  }
}

void Anatomy::add_vessels(bool intrahepatic_part) {
  if (intrahepatic_part) {
    for (auto& s : portal_tree()) add(s, code_of(Tissue::PortalVeinIntrahepatic), kInsideLiver);
    for (auto& s : hepatic_veins()) add(s, code_of(Tissue::HepaticVein), kInsideLiver);
    return;
  }
  for (auto& s : portal_tree()) add(s, code_of(Tissue::PortalVeinExtrahepatic));
  // Splenic vein to the splenic hilum and the superior mesenteric vein going down.
  add(tube({{10, -6, -62}, {40, 8, -52}, {75, 30, -32}, {92, 42, -8}}, {5.0, 5.0, 4.5, 4.0}),
      code_of(Tissue::PortalVeinExtrahepatic), kInsideCavity);
  add(tube({{10, -6, -62}, {12, -16, -120}, {14, -20, -400}}, {6.0, 5.5, 5.0}),
      code_of(Tissue::PortalVeinExtrahepatic), kInsideCavity);
}

void Anatomy::add_organs() {
  const std::uint8_t abdominal = kInsideCavity | kBelowDiaphragm;
  add(std::make_shared<const Ellipsoid>(Vec3{15, -30, 100}, Vec3{62, 50, 48}),
      code_of(Tissue::Heart), kInsideCavity | kAboveDiaphragm);
  add(std::make_shared<const Ellipsoid>(Vec3{88, 48, 5}, Vec3{22, 55, 42}, Frame::about_z(56.7)),
      code_of(Tissue::Spleen), abdominal);
  for (double side : {-1.0, 1.0}) {
    const Vec3 centre{side * 72.0, 62.0, side < 0 ? -90.0 : -85.0};
    add(std::make_shared<const Ellipsoid>(centre, Vec3{28, 22, 52}, Frame::about_z(side * 25.0)),
        code_of(Tissue::Kidney), abdominal);
  }
  const Vec3 stomach_centre{55, -35, 15};
  add(std::make_shared<const Ellipsoid>(stomach_centre, Vec3{34, 26, 38}, Frame::about_z(30)),
      code_of(Tissue::StomachContent), abdominal);
  add(std::make_shared<const Ellipsoid>(stomach_centre, Vec3{38, 30, 42}, Frame::about_z(30)),
      code_of(Tissue::StomachWall), abdominal);
  // Colon (ascending, transverse, descending) with gas inside, and a few small-bowel loops.
  const Path colon{{-115, 10, -400}, {-120, -20, -110}, {-95, -55, -112},
                   {-40, -70, -112}, {20, -72, -110},   {80, -60, -100},
                   {112, -20, -85},  {115, 30, -110},   {115, 35, -400}};
  add(tube(colon, Radii(colon.size(), 15.0)), code_of(Tissue::BowelGas), abdominal);
  add(tube(colon, Radii(colon.size(), 19.0)), code_of(Tissue::BowelWall), abdominal);
  add(tube({{-40, -40, -100}, {0, -30, -92}, {35, -45, -112}, {10, -55, -132}, {-30, -50, -128}},
           Radii(5, 13.0)),
      code_of(Tissue::BowelWall), abdominal);
  add(std::make_shared<const Spine>(Spine::Part::Disc), code_of(Tissue::Muscle));
  for (double side : {-1.0, 1.0}) {
    add(std::make_shared<const EllipticColumn>(side * 42.0, 86.0, 26.0, 20.0),
        code_of(Tissue::Muscle));
    add(std::make_shared<const EllipticColumn>(side * 42.0, 45.0, 16.0, 15.0, -kUnbounded, -45.0),
        code_of(Tissue::Muscle), abdominal);
  }
}

Anatomy::Candidates Anatomy::candidates(const Box& region) const {
  Candidates out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].solid->bounds().overlaps(region)) out.push_back(static_cast<std::uint16_t>(i));
  }
  return out;
}

Anatomy::Candidates Anatomy::narrow(const Candidates& from, const Box& region) const {
  Candidates out;
  out.reserve(from.size());
  for (std::uint16_t i : from) {
    if (layers_[i].solid->bounds().overlaps(region)) out.push_back(i);
  }
  return out;
}

TissueCode Anatomy::classify(const Vec3& p, const Candidates& candidates) const {
  if (!torso_.inside_body(p)) return code_of(Tissue::Air);
  int in_liver = -1;  // lazily evaluated
  for (std::uint16_t i : candidates) {
    const Layer& layer = layers_[i];
    if (!layer.solid->bounds().contains(p)) continue;
    if (layer.is_liver) {
      if (in_liver < 0) in_liver = liver_->contains(p) ? 1 : 0;
      if (in_liver) return layer.tissue;
      continue;
    }
    if (!layer.solid->contains(p)) continue;
    if (layer.clip & kInsideLiver) {
      if (in_liver < 0) in_liver = liver_->contains(p) ? 1 : 0;
      if (!in_liver) continue;
    }
    if ((layer.clip & kInsideCavity) && !torso_.inside_cavity(p)) continue;
    if ((layer.clip & kBelowDiaphragm) && !torso_.below_diaphragm(p)) continue;
    if ((layer.clip & kAboveDiaphragm) && !torso_.above_diaphragm(p)) continue;
    return layer.tissue;
  }
  return code_of(torso_.background_tissue(p));
}

void Anatomy::check_lesions_fit() const {
  // Every lesion, enlarged by 1 mm, must lie in the liver and classify as that lesion (so no
  // higher-priority structure such as the IVC cuts into it): its truth volume is then exactly
  // the analytic shape.
  const Candidates all = candidates(Box::everything());
  for (std::size_t k = 0; k < lesions_.size(); ++k) {
    const Lesion& lesion = lesions_[k];
    const Box& b = lesion.solid->bounds();
    for (int a = 0; a < 24; ++a) {
      for (int e = 1; e < 12; ++e) {
        const double az = 2.0 * kPi * a / 24.0, el = kPi * e / 12.0;
        const Vec3 dir{std::sin(el) * std::cos(az), std::sin(el) * std::sin(az), std::cos(el)};
        // Outermost point of the lesion along dir (bisection), then 1 mm further out.
        double in = 0.0, out = b.hi[0] - b.lo[0] + b.hi[2] - b.lo[2];
        for (int it = 0; it < 30; ++it) {
          const double mid = 0.5 * (in + out);
          const Vec3 q{lesion.centre[0] + mid * dir[0], lesion.centre[1] + mid * dir[1],
                       lesion.centre[2] + mid * dir[2]};
          (lesion.solid->contains(q) ? in : out) = mid;
        }
        const Vec3 surface{lesion.centre[0] + in * dir[0], lesion.centre[1] + in * dir[1],
                           lesion.centre[2] + in * dir[2]};
        const Vec3 beyond{surface[0] + dir[0], surface[1] + dir[1], surface[2] + dir[2]};
        const bool fits =
            liver_->contains(beyond) && classify(surface, all) == lesion_code(static_cast<int>(k));
        if (!fits) {
          throw std::runtime_error(
              "phantom lesion " + std::to_string(k + 1) + " (" + lesion_type_name(lesion.type) +
              ") does not fit inside the liver; remnant_growth may be too small");
        }
      }
    }
  }
}

}  // namespace livernode::phantom
