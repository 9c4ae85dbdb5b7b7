#include "livernode/phantom/labels.h"

namespace livernode::phantom::labels {

std::string label_description(std::uint8_t label) {
  switch (label) {
    case kBackground:
      return "background (air outside the body)";
    case kLiverParenchyma:
      return "liver parenchyma";
    case kIntrahepaticVessels:
      return "intrahepatic vessels (portal vein branches and hepatic veins inside the liver; "
             "part of the liver volume)";
    case kIvc:
      return "inferior vena cava (not part of the liver volume)";
    case kAorta:
      return "aorta";
    case kPortalVeinExtrahepatic:
      return "extrahepatic portal venous system (main portal, splenic and superior mesenteric "
             "vein)";
    case kSpleen:
      return "spleen";
    case kKidneys:
      return "kidneys";
    case kBone:
      return "bone (vertebrae and ribs)";
    case kOtherBody:
      return "other body (fat, muscle, lung, heart, stomach, bowel, gallbladder, discs, CSF)";
    default:
      break;
  }
  return "lesion " + std::to_string(label - kFirstLesion + 1) + " (see lesions[" +
         std::to_string(label - kFirstLesion) + "])";
}

}  // namespace livernode::phantom::labels
