#include "tissue.h"

#include <stdexcept>

namespace livernode::phantom {

namespace {

struct PhaseValues {
  double non_contrast, arterial, portal_venous, delayed;
  double in(Phase phase) const {
    switch (phase) {
      case Phase::kNonContrast:
        return non_contrast;
      case Phase::kArterial:
        return arterial;
      case Phase::kPortalVenous:
        return portal_venous;
      case Phase::kDelayed:
        return delayed;
      case Phase::kUnknown:
        break;
    }
    return non_contrast;
  }
};

// Attenuation table in HU: non-contrast / late arterial / portal venous / delayed.
PhaseValues tissue_values(Tissue t) {
  switch (t) {
    case Tissue::Air:
      return {-1000, -1000, -1000, -1000};
    case Tissue::SubcutaneousFat:
      return {-100, -100, -100, -100};
    case Tissue::VisceralFat:
      return {-100, -100, -100, -100};
    case Tissue::Muscle:
      return {50, 60, 65, 60};
    case Tissue::Lung:
      return {-850, -850, -850, -850};
    case Tissue::Bone:
      return {700, 700, 700, 700};
    case Tissue::Csf:
      return {10, 10, 10, 10};
    case Tissue::Heart:
      return {40, 280, 160, 115};  // blood pool
    case Tissue::BowelWall:
      return {35, 70, 90, 75};
    case Tissue::BowelGas:
      return {-950, -950, -950, -950};
    case Tissue::StomachWall:
      return {35, 80, 100, 80};
    case Tissue::StomachContent:
      return {10, 10, 10, 10};
    case Tissue::Bile:
      return {10, 10, 10, 10};
    case Tissue::Liver:
      return {55, 80, 110, 90};
    case Tissue::PortalVeinIntrahepatic:
      return {40, 140, 180, 120};
    case Tissue::HepaticVein:
      return {40, 60, 160, 120};
    case Tissue::PortalVeinExtrahepatic:
      return {40, 140, 180, 120};
    case Tissue::Ivc:
      return {40, 100, 150, 120};
    case Tissue::Aorta:
      return {40, 300, 170, 120};
    case Tissue::Spleen:
      return {45, 120, 120, 100};
    case Tissue::Kidney:
      return {35, 160, 170, 140};
    case Tissue::Count:
      break;
  }
  throw std::logic_error("tissue_values: unknown tissue");
}

PhaseValues lesion_values(LesionType type) {
  switch (type) {
    case LesionType::HypervascularWashout:
      return {45, 140, 90, 75};
    case LesionType::Hypervascular:
      return {45, 140, 125, 100};
    case LesionType::Hypovascular:
      return {40, 55, 65, 70};
    case LesionType::Cyst:
      return {5, 5, 5, 5};
  }
  throw std::logic_error("lesion_values: unknown lesion type");
}

}  // namespace

const char* tissue_name(Tissue t) {
  switch (t) {
    case Tissue::Air:
      return "air";
    case Tissue::SubcutaneousFat:
      return "subcutaneous_fat";
    case Tissue::VisceralFat:
      return "visceral_fat";
    case Tissue::Muscle:
      return "muscle";
    case Tissue::Lung:
      return "lung";
    case Tissue::Bone:
      return "bone";
    case Tissue::Csf:
      return "csf";
    case Tissue::Heart:
      return "heart_blood_pool";
    case Tissue::BowelWall:
      return "bowel_wall";
    case Tissue::BowelGas:
      return "bowel_gas";
    case Tissue::StomachWall:
      return "stomach_wall";
    case Tissue::StomachContent:
      return "stomach_content";
    case Tissue::Bile:
      return "gallbladder_bile";
    case Tissue::Liver:
      return "liver";
    case Tissue::PortalVeinIntrahepatic:
      return "portal_vein_intrahepatic";
    case Tissue::HepaticVein:
      return "hepatic_vein";
    case Tissue::PortalVeinExtrahepatic:
      return "portal_vein_extrahepatic";
    case Tissue::Ivc:
      return "ivc";
    case Tissue::Aorta:
      return "aorta";
    case Tissue::Spleen:
      return "spleen";
    case Tissue::Kidney:
      return "kidney";
    case Tissue::Count:
      break;
  }
  return "unknown";
}

std::string lesion_type_name(LesionType type) {
  switch (type) {
    case LesionType::HypervascularWashout:
      return "hypervascular_washout";
    case LesionType::Hypervascular:
      return "hypervascular";
    case LesionType::Hypovascular:
      return "hypovascular";
    case LesionType::Cyst:
      return "cyst";
  }
  return "unknown";
}

double tissue_hu(Tissue t, Phase phase) { return tissue_values(t).in(phase); }

double lesion_hu(LesionType type, Phase phase) { return lesion_values(type).in(phase); }

std::uint8_t label_of(TissueCode code) {
  if (code >= kLesionCodeBase) {
    return static_cast<std::uint8_t>(labels::kFirstLesion + (code - kLesionCodeBase));
  }
  switch (static_cast<Tissue>(code)) {
    case Tissue::Air:
      return labels::kBackground;
    case Tissue::Liver:
      return labels::kLiverParenchyma;
    case Tissue::PortalVeinIntrahepatic:
    case Tissue::HepaticVein:
      return labels::kIntrahepaticVessels;
    case Tissue::Ivc:
      return labels::kIvc;
    case Tissue::Aorta:
      return labels::kAorta;
    case Tissue::PortalVeinExtrahepatic:
      return labels::kPortalVeinExtrahepatic;
    case Tissue::Spleen:
      return labels::kSpleen;
    case Tissue::Kidney:
      return labels::kKidneys;
    case Tissue::Bone:
      return labels::kBone;
    default:
      return labels::kOtherBody;
  }
}

}  // namespace livernode::phantom
