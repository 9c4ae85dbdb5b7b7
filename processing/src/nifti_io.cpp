#include "livernode/processing/nifti_io.h"

#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>

#include <cmath>

#include "itk_bridge.h"

namespace livernode::processing {

using detail::FloatImage;

void write_nifti(const Volume& volume, const std::filesystem::path& file) {
  auto writer = itk::ImageFileWriter<FloatImage>::New();
  writer->SetImageIO(itk::NiftiImageIO::New());
  writer->SetFileName(file.string());
  writer->SetInput(detail::to_itk(volume));
  writer->SetUseCompression(file.extension() == ".gz");
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw NiftiError("cannot write " + file.string() + ": " + e.GetDescription());
  }
}

LabelMap read_nifti_labels(const std::filesystem::path& file) {
  auto reader = itk::ImageFileReader<FloatImage>::New();
  reader->SetImageIO(itk::NiftiImageIO::New());
  reader->SetFileName(file.string());
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw NiftiError("cannot read " + file.string() + ": " + e.GetDescription());
  }
  const Volume values = detail::from_itk<float>(reader->GetOutput());
  LabelMap labels(values.geometry, 0);
  for (std::size_t p = 0; p < values.voxels.size(); ++p) {
    const float v = values.voxels[p];
    if (!(v >= 0.0f && v <= 255.0f) || std::abs(v - std::round(v)) > 1e-3f) {
      throw NiftiError(file.string() + " is not a label map: it holds the value " +
                       std::to_string(v));
    }
    labels.voxels[p] = static_cast<std::uint8_t>(std::lround(v));
  }
  return labels;
}

}  // namespace livernode::processing
