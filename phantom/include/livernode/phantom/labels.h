#pragma once
// Label values of the phantom's truth label maps (truth/labels_<phase>.mha). The same table is
// written into truth/manifest.json under "labels".
#include <cstdint>
#include <string>

namespace livernode::phantom::labels {

inline constexpr std::uint8_t kBackground = 0;  // air outside the body
inline constexpr std::uint8_t kLiverParenchyma = 1;
inline constexpr std::uint8_t kIntrahepaticVessels =
    2;                                   // portal branches + hepatic veins in the liver
inline constexpr std::uint8_t kIvc = 3;  // inferior vena cava (not part of the liver)
inline constexpr std::uint8_t kAorta = 4;
inline constexpr std::uint8_t kPortalVeinExtrahepatic =
    5;  // main portal, splenic and superior mesenteric vein
inline constexpr std::uint8_t kSpleen = 6;
inline constexpr std::uint8_t kKidneys = 7;
inline constexpr std::uint8_t kBone = 8;
inline constexpr std::uint8_t kOtherBody = 9;     // fat, muscle, lung, bowel, stomach, heart, ...
inline constexpr std::uint8_t kFirstLesion = 10;  // lesion k (0-based) has label 10 + k

// True for the labels that make up the liver volume: parenchyma, intrahepatic vessels, lesions.
constexpr bool is_liver(std::uint8_t label) {
  return label == kLiverParenchyma || label == kIntrahepaticVessels || label >= kFirstLesion;
}

// Human-readable meaning of a label value ("lesion 2" for 11, ...).
std::string label_description(std::uint8_t label);

}  // namespace livernode::phantom::labels
