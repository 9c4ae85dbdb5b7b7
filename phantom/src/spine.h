#pragma once
// Lumbar/thoracic spine as a z-periodic solid: vertebral bodies separated by discs, each
// vertebra with a posterior arch around the spinal canal, transverse and spinous processes.
// The canal itself is a separate CSF column that callers place before the bone.
#include "shapes.h"

namespace livernode::phantom {

class Spine final : public Solid {
 public:
  enum class Part { Bone, Disc };
  explicit Spine(Part part);
  bool contains(const Vec3& p) const override;

  // Spinal canal (x, y centre and semi-axes), for the CSF column.
  static EllipticColumn canal();

 private:
  Part part_;
};

}  // namespace livernode::phantom
