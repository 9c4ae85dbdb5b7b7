#pragma once
// Tissue classes of the phantom, their truth label and their attenuation per phase.
// A voxel's tissue code is either a Tissue value (< kLesionCodeBase) or kLesionCodeBase + k for
// lesion k, whose attenuation comes from its LesionType.
#include <cstdint>
#include <string>

#include "livernode/phantom/phantom.h"

namespace livernode::phantom {

enum class Tissue : std::uint8_t {
  Air,
  SubcutaneousFat,
  VisceralFat,
  Muscle,
  Lung,
  Bone,
  Csf,
  Heart,
  BowelWall,
  BowelGas,
  StomachWall,
  StomachContent,
  Bile,
  Liver,
  PortalVeinIntrahepatic,
  HepaticVein,
  PortalVeinExtrahepatic,
  Ivc,
  Aorta,
  Spleen,
  Kidney,
  Count
};

enum class LesionType { HypervascularWashout, Hypervascular, Hypovascular, Cyst };

using TissueCode = std::uint8_t;
inline constexpr TissueCode kLesionCodeBase = 64;
inline constexpr int kMaxLesions = 64;

constexpr TissueCode code_of(Tissue t) { return static_cast<TissueCode>(t); }
constexpr TissueCode lesion_code(int k) { return static_cast<TissueCode>(kLesionCodeBase + k); }

const char* tissue_name(Tissue t);
std::string lesion_type_name(LesionType type);  // "hypervascular_washout", ...

// Typical attenuation (HU) of a tissue / lesion type in a phase (CLINICAL.md table).
double tissue_hu(Tissue t, Phase phase);
double lesion_hu(LesionType type, Phase phase);

// Truth label of a tissue code (lesion k -> labels::kFirstLesion + k).
std::uint8_t label_of(TissueCode code);

}  // namespace livernode::phantom
