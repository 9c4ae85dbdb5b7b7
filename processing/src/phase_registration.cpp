#include "phase_registration.h"

#include <itkBSplineTransform.h>
#include <itkBSplineTransformInitializer.h>
#include <itkCompositeTransform.h>
#include <itkImageMaskSpatialObject.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkLBFGSBOptimizerv4.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkResampleImageFilter.h>
#include <itkTranslationTransform.h>

#include <algorithm>

#include "image_crop.h"
#include "itk_bridge.h"
#include "mask_ops.h"

namespace livernode::processing::detail {

namespace {

constexpr double kMaxStepMm = 4.0;
constexpr double kMinStepMm = 0.05;
constexpr unsigned kMaxIterations = 200;
constexpr unsigned kHistogramBins = 32;
constexpr double kSamplingFraction = 0.2;
constexpr double kRegionMarginMm = 10.0;
constexpr unsigned kBSplineMeshCells = 3;  // per axis over the liver region: a gentle warp
constexpr unsigned kBSplineIterations = 25;
constexpr double kBSplineSamplingFraction = 0.2;
// The coarse B-spline has 6 x 6 x 6 control points (648 parameters, each supported by a large
// block of the liver): 25,000 samples determine it well, and each further sample costs its
// whole local Jacobian at every evaluation. Thin-slice studies (many voxels in the liver)
// use a smaller fraction so as to draw about this many.
constexpr double kBSplineMaxSamples = 25000;
constexpr unsigned kSeed = 20261123;

using Translation = itk::TranslationTransform<double, 3>;
using BSpline = itk::BSplineTransform<double, 3, 3>;
using Composite = itk::CompositeTransform<double, 3>;
using Metric = itk::MattesMutualInformationImageToImageMetricv4<FloatImage, FloatImage>;

Metric::Pointer make_metric(const LabelMap& region) {
  auto metric = Metric::New();
  metric->SetNumberOfHistogramBins(kHistogramBins);
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetUseFixedImageGradientFilter(false);
  // One work unit: the metric's sums do not depend on how threads split them, so the same
  // study always gives the same alignment.
  metric->SetMaximumNumberOfWorkUnits(1);
  if (!region.empty() && count(region) > 0) {
    auto mask = itk::ImageMaskSpatialObject<3>::New();
    mask->SetImage(to_itk(region));
    mask->Update();
    metric->SetFixedImageMask(mask);
  }
  return metric;
}

template <typename Registration>
void configure_sampling(Registration* registration, double fraction) {
  registration->SetNumberOfLevels(1);
  typename Registration::ShrinkFactorsArrayType shrink(1);
  shrink[0] = 1;
  typename Registration::SmoothingSigmasArrayType sigmas(1);
  sigmas[0] = 0;
  registration->SetShrinkFactorsPerLevel(shrink);
  registration->SetSmoothingSigmasPerLevel(sigmas);
  // A fixed share of the voxels, drawn with a fixed seed: reproducible.
  registration->SetMetricSamplingStrategy(Registration::MetricSamplingStrategyEnum::RANDOM);
  registration->SetMetricSamplingPercentage(fraction);
  registration->MetricSamplingReinitializeSeed(kSeed);
  registration->SetNumberOfWorkUnits(1);
}

double metric_value(const FloatImage* fixed, const FloatImage* moving, const LabelMap& region,
                    itk::Transform<double, 3, 3>* transform) {
  auto metric = make_metric(region);
  metric->SetFixedImage(fixed);
  metric->SetMovingImage(moving);
  metric->SetMovingTransform(transform);
  metric->Initialize();
  return metric->GetValue();
}

}  // namespace

struct PhaseTransform::Impl {
  Composite::Pointer transform;
  bool deformable = false;
};

struct PhaseAligner {
  static PhaseTransform make(const Vec3& translation, Composite::Pointer composite,
                             bool deformable) {
    PhaseTransform t;
    t.translation_ = translation;
    auto impl = std::make_shared<PhaseTransform::Impl>();
    impl->transform = composite;
    impl->deformable = deformable;
    t.impl_ = impl;
    return t;
  }
};

PhaseTransform::PhaseTransform() {
  auto impl = std::make_shared<Impl>();
  impl->transform = Composite::New();
  auto identity = Translation::New();
  identity->SetIdentity();
  impl->transform->AddTransform(identity);
  impl_ = impl;
}

bool PhaseTransform::deformable() const { return impl_->deformable; }

Volume PhaseTransform::resample(const Volume& moving, const Geometry& target, float outside) const {
  auto resample = itk::ResampleImageFilter<FloatImage, FloatImage>::New();
  resample->SetInput(to_itk(moving));
  resample->SetTransform(impl_->transform);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<FloatImage, double>::New());
  resample->SetDefaultPixelValue(outside);
  const auto reference = to_itk(Volume(target, 0.0f));
  resample->SetReferenceImage(reference);
  resample->UseReferenceImageOn();
  resample->Update();
  return from_itk<float>(resample->GetOutput());
}

LabelMap PhaseTransform::resample(const LabelMap& moving, const Geometry& target) const {
  auto resample = itk::ResampleImageFilter<MaskImage, MaskImage>::New();
  resample->SetInput(to_itk(moving));
  resample->SetTransform(impl_->transform);
  resample->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<MaskImage, double>::New());
  resample->SetDefaultPixelValue(0);
  const auto reference = to_itk(LabelMap(target, 0));
  resample->SetReferenceImage(reference);
  resample->UseReferenceImageOn();
  resample->Update();
  return from_itk<std::uint8_t>(resample->GetOutput());
}

PhaseAlignment align_phase(const Volume& fixed, const Volume& moving, const LabelMap& fixed_region,
                           bool deformable) {
  PhaseAlignment out;
  // The metric only looks at the organ: the fixed image is cut down to it (plus a margin for
  // the gradient), which makes every iteration cheaper without changing the optimum.
  Volume fixed_near = fixed;
  LabelMap region_near = fixed_region;
  const bool has_region = !fixed_region.empty() && count(fixed_region) > 0;
  if (has_region) {
    const Box box = bounding_box(fixed_region, kRegionMarginMm);
    fixed_near = crop(fixed, box);
    region_near = crop(fixed_region, box);
  }
  auto fixed_itk = to_itk(fixed_near);
  auto moving_itk = to_itk(moving);

  // Stage 1: translation.
  using TranslationRegistration =
      itk::ImageRegistrationMethodv4<FloatImage, FloatImage, Translation>;
  auto translation = Translation::New();
  translation->SetIdentity();
  out.metric_identity = metric_value(fixed_itk, moving_itk, region_near, translation);
  {
    auto optimizer = itk::RegularStepGradientDescentOptimizerv4<double>::New();
    optimizer->SetLearningRate(kMaxStepMm);
    optimizer->SetMinimumStepLength(kMinStepMm);
    optimizer->SetRelaxationFactor(0.6);
    optimizer->SetNumberOfIterations(kMaxIterations);
    optimizer->SetGradientMagnitudeTolerance(1e-6);
    optimizer->SetReturnBestParametersAndValue(true);
    auto registration = TranslationRegistration::New();
    registration->SetFixedImage(fixed_itk);
    registration->SetMovingImage(moving_itk);
    registration->SetMetric(make_metric(region_near));
    registration->SetOptimizer(optimizer);
    registration->SetInitialTransform(translation);
    registration->InPlaceOn();
    configure_sampling(registration.GetPointer(), kSamplingFraction);
    try {
      registration->Update();
      out.metric_translation = optimizer->GetValue();
      out.translation_converged = out.metric_translation <= out.metric_identity;
    } catch (const itk::ExceptionObject&) {
      out.translation_converged = false;
    }
    if (!out.translation_converged) {
      translation->SetIdentity();
      out.metric_translation = out.metric_identity;
    }
  }
  Vec3 shift{};
  for (int a = 0; a < 3; ++a) shift[a] = translation->GetParameters()[a];
  auto composite = Composite::New();
  composite->AddTransform(translation);
  out.metric_final = out.metric_translation;
  out.transform = PhaseAligner::make(shift, composite, false);
  if (!deformable) return out;
  if (!has_region) {
    out.deformable_note = "no liver region to restrict the deformation to";
    return out;
  }

  // Stage 2: a coarse B-spline over the liver region, on top of the translation.
  auto bspline = BSpline::New();
  {
    auto initializer = itk::BSplineTransformInitializer<BSpline, FloatImage>::New();
    initializer->SetTransform(bspline);
    initializer->SetImage(fixed_itk);
    BSpline::MeshSizeType mesh;
    mesh.Fill(kBSplineMeshCells);
    initializer->SetTransformDomainMeshSize(mesh);
    initializer->InitializeTransform();
    bspline->SetIdentity();
  }
  using BSplineRegistration = itk::ImageRegistrationMethodv4<FloatImage, FloatImage, BSpline>;
  // LBFGSB warns on standard error that it ignores parameter scales (all ones here anyway);
  // ITK's console warnings are not part of the node's logs.
  itk::Object::GlobalWarningDisplayOff();
  auto optimizer = itk::LBFGSBOptimizerv4::New();
  const unsigned n = bspline->GetNumberOfParameters();
  itk::LBFGSBOptimizerv4::BoundSelectionType bounds(n);
  bounds.Fill(0);  // unbounded
  itk::LBFGSBOptimizerv4::BoundValueType unused(n);
  unused.Fill(0.0);
  optimizer->SetBoundSelection(bounds);
  optimizer->SetLowerBound(unused);
  optimizer->SetUpperBound(unused);
  optimizer->SetCostFunctionConvergenceFactor(1e7);
  optimizer->SetGradientConvergenceTolerance(1e-5);
  optimizer->SetNumberOfIterations(kBSplineIterations);
  optimizer->SetMaximumNumberOfFunctionEvaluations(2 * kBSplineIterations);
  optimizer->SetMaximumNumberOfCorrections(5);
  // The B-spline is optimised on the moving image already shifted by the translation rather
  // than behind it in a composite transform: x -> moving(bspline(x) + t) is the same mapping,
  // but a composite hides the B-spline's local support from the metric, which then works out a
  // dense Jacobian over every control point at every sample (most of the stage's time). The
  // shift is a change of origin, so no voxel is interpolated and points outside stay outside.
  auto shifted_moving = to_itk(moving);
  {
    auto origin = shifted_moving->GetOrigin();
    for (int a = 0; a < 3; ++a) origin[a] -= shift[a];
    shifted_moving->SetOrigin(origin);
  }
  auto registration = BSplineRegistration::New();
  registration->SetFixedImage(fixed_itk);
  registration->SetMovingImage(shifted_moving);
  registration->SetMetric(make_metric(region_near));
  registration->SetOptimizer(optimizer);
  registration->SetInitialTransform(bspline);
  registration->InPlaceOn();
  configure_sampling(registration.GetPointer(),
                     std::min(kBSplineSamplingFraction,
                              kBSplineMaxSamples / static_cast<double>(count(region_near))));
  try {
    registration->Update();
  } catch (const itk::ExceptionObject& e) {
    out.deformable_note = std::string("B-spline stage failed: ") + e.GetDescription();
    return out;
  }
  auto with_bspline = Composite::New();
  with_bspline->AddTransform(translation);
  with_bspline->AddTransform(bspline);
  const double value = metric_value(fixed_itk, moving_itk, region_near, with_bspline);
  if (!(value < out.metric_translation)) {
    out.deformable_note = "the B-spline did not improve the match and was not used";
    return out;
  }
  out.metric_final = value;
  out.deformable = true;
  out.transform = PhaseAligner::make(shift, with_bspline, true);
  return out;
}

}  // namespace livernode::processing::detail
