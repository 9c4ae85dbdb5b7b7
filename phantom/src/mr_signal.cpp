#include "mr_signal.h"

#include <stdexcept>

namespace livernode::phantom {

namespace {

// One row of the table. T1: pre-contrast, then the post-contrast time points with an
// extracellular agent (arterial, portal venous, transitional) and with gadoxetate (arterial,
// portal venous, transitional, hepatobiliary): gadoxetate gives a weaker, shorter vascular
// enhancement, and hepatocytes take it up so that the liver keeps brightening while the vessels
// fade. T2, diffusion S0 and ADC, Dixon water and fat.
struct Row {
  double pre;
  double ecf_arterial, ecf_portal_venous, ecf_transitional;
  double gx_arterial, gx_portal_venous, gx_transitional, gx_hepatobiliary;
  double t2, s0, adc, water, fat;
};

// clang-format off
Row tissue_row(Tissue t) {
  switch (t) {
    //                          pre  ecf: art   pv  trans  gx: art   pv trans  hbp    T2   S0   ADC water  fat
    case Tissue::Air:            return {0,      0,    0,    0,      0,    0,    0,    0,    0,   0,    0,   0,   0};
    case Tissue::SubcutaneousFat:return {60,    60,   60,   60,     60,   60,   60,   60,   50,  40,  200,  40, 700};
    case Tissue::VisceralFat:    return {60,    60,   60,   60,     60,   60,   60,   60,   50,  40,  200,  40, 700};
    case Tissue::Muscle:         return {250,  300,  320,  310,    290,  310,  300,  290,  120, 200, 1400, 260,  10};
    case Tissue::Lung:           return {15,    15,   15,   15,     15,   15,   15,   15,   20,  10, 1500,  15,   0};
    case Tissue::Bone:           return {150,  170,  180,  175,    165,  175,  170,  165,   80, 120,  500, 120, 380};
    case Tissue::Csf:            return {80,    80,   80,   80,     80,   80,   80,   80,  950, 900, 3000,  80,   0};
    case Tissue::Heart:          return {180,  900,  600,  450,    750,  450,  330,  250,   60, 100, 2500, 250,   0};
    case Tissue::BowelWall:      return {250,  450,  500,  420,    420,  450,  400,  350,  250, 300, 1300, 280,  10};
    case Tissue::BowelGas:       return {10,    10,   10,   10,     10,   10,   10,   10,   10,  10, 1000,  10,   0};
    case Tissue::StomachWall:    return {250,  450,  500,  420,    420,  450,  400,  350,  250, 300, 1300, 280,  10};
    case Tissue::StomachContent: return {90,    90,   90,   90,     90,   90,   90,   90,  800, 700, 2600,  90,   0};
    case Tissue::Bile:           return {120,  120,  120,  120,    120,  120,  130,  400,  900, 850, 2800, 120,   0};
    case Tissue::Liver:          return {400,  480,  620,  560,    470,  580,  620,  820,  180, 300, 1100, 380,  20};
    case Tissue::PortalVeinIntrahepatic:
                                 return {180,  600,  780,  560,    520,  620,  420,  300,   80,  80, 2600, 250,   0};
    case Tissue::HepaticVein:    return {180,  250,  720,  560,    220,  560,  420,  300,   80,  80, 2600, 250,   0};
    case Tissue::PortalVeinExtrahepatic:
                                 return {180,  600,  780,  560,    520,  620,  420,  300,   80,  80, 2600, 250,   0};
    case Tissue::Ivc:            return {180,  400,  700,  560,    350,  540,  420,  300,   80,  80, 2600, 250,   0};
    case Tissue::Aorta:          return {180,  950,  650,  480,    800,  500,  350,  280,   50,  80, 2600, 250,   0};
    case Tissue::Spleen:         return {320,  650,  600,  520,    560,  520,  440,  380,  420, 550,  800, 330,   0};
    case Tissue::Kidney:         return {300,  750,  700,  600,    650,  600,  520,  450,  450, 500, 2000, 310,   0};
    case Tissue::Count:          break;
  }
  throw std::logic_error("mr tissue_row: unknown tissue");
}

Row lesion_row(LesionType type) {
  switch (type) {
    //                                   pre  ecf: art   pv  trans  gx: art   pv trans  hbp    T2   S0  ADC water fat
    case LesionType::HypervascularWashout:return {360,  800,  480,  400,    760,  460,  380,  200,  380, 450, 850, 360, 0};
    case LesionType::Hypervascular:       return {380,  820,  640,  560,    780,  600,  520,  260,  420, 450, 1000, 370, 0};
    case LesionType::Hypovascular:        return {300,  340,  400,  420,    330,  380,  390,  220,  360, 500, 800, 300, 0};
    case LesionType::Cyst:                return {120,  120,  120,  120,    120,  120,  120,  120,  980, 950, 2900, 120, 0};
  }
  throw std::logic_error("mr lesion_row: unknown lesion type");
}
// clang-format on

double value(const Row& r, MrImage image, MrAgent agent) {
  const bool gx = agent == MrAgent::kGadoxetate;
  switch (image) {
    case MrImage::T1Pre:
      return r.pre;
    case MrImage::T1Arterial:
      return gx ? r.gx_arterial : r.ecf_arterial;
    case MrImage::T1PortalVenous:
      return gx ? r.gx_portal_venous : r.ecf_portal_venous;
    case MrImage::T1Transitional:
      return gx ? r.gx_transitional : r.ecf_transitional;
    case MrImage::T1Hepatobiliary:
      // Without hepatocyte uptake there is no hepatobiliary phase; the extracellular agent's
      // late equilibrium is its transitional value.
      return gx ? r.gx_hepatobiliary : r.ecf_transitional;
    case MrImage::T2:
      return r.t2;
    case MrImage::DiffusionS0:
      return r.s0;
    case MrImage::Adc:
      return r.adc;
    case MrImage::DixonWater:
      return r.water;
    case MrImage::DixonFat:
      return r.fat;
    case MrImage::Count:
      break;
  }
  throw std::logic_error("mr signal: unknown image");
}

}  // namespace

const char* mr_image_key(MrImage image) {
  switch (image) {
    case MrImage::T1Pre:
      return "t1_pre";
    case MrImage::T1Arterial:
      return "t1_arterial";
    case MrImage::T1PortalVenous:
      return "t1_portal_venous";
    case MrImage::T1Transitional:
      return "t1_transitional";
    case MrImage::T1Hepatobiliary:
      return "t1_hepatobiliary";
    case MrImage::T2:
      return "t2";
    case MrImage::DiffusionS0:
      return "diffusion_s0";
    case MrImage::Adc:
      return "adc_1e-6_mm2_per_s";
    case MrImage::DixonWater:
      return "dixon_water";
    case MrImage::DixonFat:
      return "dixon_fat";
    case MrImage::Count:
      break;
  }
  return "unknown";
}

double mr_tissue_signal(Tissue t, MrImage image, MrAgent agent) {
  return value(tissue_row(t), image, agent);
}

double mr_lesion_signal(LesionType type, MrImage image, MrAgent agent) {
  return value(lesion_row(type), image, agent);
}

}  // namespace livernode::phantom
