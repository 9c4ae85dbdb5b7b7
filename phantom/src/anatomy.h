#pragma once
// The whole phantom anatomy: an ordered list of layers (solid + tissue + clipping rules); a
// point takes the tissue of the first layer that contains it, else the torso's background
// tissue. Callers pre-select the layers whose bounding boxes meet a region (a slice, a row) so
// that each point only evaluates nearby solids.
#include <cstdint>
#include <memory>
#include <vector>

#include "lesions.h"
#include "liver.h"
#include "shapes.h"
#include "tissue.h"
#include "torso.h"

namespace livernode::phantom {

class Anatomy {
 public:
  using Candidates = std::vector<std::uint16_t>;  // layer indices in priority order

  // remnant_growth: volume factor of the left lobe (PhantomOptions::remnant_growth).
  // Throws std::runtime_error if a lesion does not fit inside the liver.
  explicit Anatomy(double remnant_growth);

  // Layers whose bounds overlap `region` (all layers if none is given).
  Candidates candidates(const Box& region) const;
  Candidates narrow(const Candidates& from, const Box& region) const;

  // Tissue code at patient point p, considering only `candidates`, which must include every
  // layer whose bounds contain p.
  TissueCode classify(const Vec3& p, const Candidates& candidates) const;

  const std::vector<Lesion>& lesions() const { return lesions_; }
  const Liver& liver() const { return *liver_; }
  const Torso& torso() const { return torso_; }

 private:
  enum Clip : std::uint8_t {
    kNoClip = 0,
    kInsideLiver = 1,
    kInsideCavity = 2,
    kBelowDiaphragm = 4,
    kAboveDiaphragm = 8,
  };
  struct Layer {
    std::shared_ptr<const Solid> solid;
    TissueCode tissue;
    std::uint8_t clip;
    bool is_liver;
  };

  void add(std::shared_ptr<const Solid> solid, TissueCode tissue, std::uint8_t clip = kNoClip);
  void add_bones();
  void add_vessels(bool intrahepatic_part);
  void add_organs();
  void check_lesions_fit() const;

  Torso torso_;
  std::shared_ptr<const Liver> liver_;
  std::vector<Lesion> lesions_;
  std::vector<Layer> layers_;
};

}  // namespace livernode::phantom
