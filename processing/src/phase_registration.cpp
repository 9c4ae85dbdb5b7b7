#include "phase_registration.h"

#include <itkImageMaskSpatialObject.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkResampleImageFilter.h>
#include <itkTranslationTransform.h>

#include "itk_bridge.h"
#include "mask_ops.h"

namespace livernode::processing::detail {

namespace {

constexpr double kMaxStepMm = 4.0;
constexpr double kMinStepMm = 0.05;
constexpr unsigned kMaxIterations = 200;
constexpr unsigned kHistogramBins = 32;
constexpr double kSamplingFraction = 0.2;

}  // namespace

PhaseAlignment align_translation(const Volume& fixed, const Volume& moving,
                                 const LabelMap& fixed_region) {
  using Transform = itk::TranslationTransform<double, 3>;
  using Optimizer = itk::RegularStepGradientDescentOptimizerv4<double>;
  using Metric = itk::MattesMutualInformationImageToImageMetricv4<FloatImage, FloatImage>;
  using Registration = itk::ImageRegistrationMethodv4<FloatImage, FloatImage, Transform>;

  auto fixed_itk = to_itk(fixed);
  auto moving_itk = to_itk(moving);
  auto metric = Metric::New();
  metric->SetNumberOfHistogramBins(kHistogramBins);
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetUseFixedImageGradientFilter(false);
  if (!fixed_region.empty() && count(fixed_region) > 0) {
    using MaskObject = itk::ImageMaskSpatialObject<3>;
    auto mask = MaskObject::New();
    mask->SetImage(to_itk(fixed_region));
    mask->Update();
    metric->SetFixedImageMask(mask);
  }
  auto optimizer = Optimizer::New();
  optimizer->SetLearningRate(kMaxStepMm);
  optimizer->SetMinimumStepLength(kMinStepMm);
  optimizer->SetRelaxationFactor(0.6);
  optimizer->SetNumberOfIterations(kMaxIterations);
  optimizer->SetGradientMagnitudeTolerance(1e-6);
  optimizer->SetReturnBestParametersAndValue(true);

  auto registration = Registration::New();
  registration->SetFixedImage(fixed_itk);
  registration->SetMovingImage(moving_itk);
  registration->SetMetric(metric);
  registration->SetOptimizer(optimizer);
  auto initial = Transform::New();
  initial->SetIdentity();
  registration->SetInitialTransform(initial);
  registration->InPlaceOn();
  registration->SetNumberOfLevels(1);
  Registration::ShrinkFactorsArrayType shrink(1);
  shrink[0] = 1;
  Registration::SmoothingSigmasArrayType sigmas(1);
  sigmas[0] = 0;
  registration->SetShrinkFactorsPerLevel(shrink);
  registration->SetSmoothingSigmasPerLevel(sigmas);
  // A fixed fifth of the voxels, drawn with a fixed seed: the result is reproducible.
  registration->SetMetricSamplingStrategy(Registration::MetricSamplingStrategyEnum::RANDOM);
  registration->SetMetricSamplingPercentage(kSamplingFraction);
  registration->MetricSamplingReinitializeSeed(20261123);

  PhaseAlignment out;
  metric->SetFixedImage(fixed_itk);
  metric->SetMovingImage(moving_itk);
  metric->SetMovingTransform(initial);
  metric->Initialize();
  out.metric_before = metric->GetValue();
  try {
    registration->Update();
  } catch (const itk::ExceptionObject&) {
    return out;  // not converged: the caller keeps the phases unaligned and says so
  }
  const auto* transform = registration->GetModifiableTransform();
  const auto params = transform->GetParameters();
  for (int a = 0; a < 3; ++a) out.translation_mm[a] = params[a];
  out.metric_after = optimizer->GetValue();
  out.iterations = optimizer->GetCurrentIteration();
  out.converged = out.metric_after <= out.metric_before;
  if (!out.converged) out.translation_mm = {0, 0, 0};
  return out;
}

Volume resample_translated(const Volume& moving, const Geometry& target, const Vec3& translation,
                           float outside) {
  using Transform = itk::TranslationTransform<double, 3>;
  auto transform = Transform::New();
  Transform::OutputVectorType offset;
  for (int a = 0; a < 3; ++a) offset[a] = translation[a];
  transform->SetOffset(offset);
  auto resample = itk::ResampleImageFilter<FloatImage, FloatImage>::New();
  resample->SetInput(to_itk(moving));
  resample->SetTransform(transform);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<FloatImage, double>::New());
  resample->SetDefaultPixelValue(outside);
  const auto reference = to_itk(Volume(target, 0.0f));
  resample->SetReferenceImage(reference);
  resample->UseReferenceImageOn();
  resample->Update();
  return from_itk<float>(resample->GetOutput());
}

}  // namespace livernode::processing::detail
