#include "pixel_decoder.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmimgle/dipixel.h>
#include <gdcmImageReader.h>
#include <gdcmTrace.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dataset_util.h"
#include "livernode/dicom/error.h"

namespace livernode::dicom::detail {

namespace {

template <typename T>
void append(const void* data, std::size_t count, std::vector<float>& out) {
  const T* p = static_cast<const T*>(data);
  out.reserve(out.size() + count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(static_cast<float>(p[i]));
}

DecodedFrames decode_with_gdcm(const std::filesystem::path& file) {
  gdcm::ImageReader reader;
  reader.SetFileName(file.c_str());
  if (!reader.Read()) {
    throw DicomError(ErrorKind::kDecode, file.string() + ": GDCM could not read the image");
  }
  const gdcm::Image& image = reader.GetImage();
  const gdcm::PixelFormat pf = image.GetPixelFormat();
  if (pf.GetSamplesPerPixel() != 1) {
    throw DicomError(ErrorKind::kUnsupported, file.string() + ": colour pixel data");
  }
  DecodedFrames out;
  const unsigned int* dims = image.GetDimensions();
  out.columns = dims[0];
  out.rows = dims[1];
  out.frames = image.GetNumberOfDimensions() > 2 ? dims[2] : 1;
  std::vector<char> buffer(image.GetBufferLength());
  if (buffer.empty() || !image.GetBuffer(buffer.data())) {
    throw DicomError(ErrorKind::kDecode, file.string() + ": GDCM could not decode the pixel data");
  }
  const std::size_t count = static_cast<std::size_t>(out.rows) * out.columns * out.frames;
  const std::size_t bytes = count * pf.GetPixelSize();
  if (buffer.size() < bytes) {
    throw DicomError(ErrorKind::kDecode, file.string() + ": decoded pixel data is too short");
  }
  switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8:
      append<std::uint8_t>(buffer.data(), count, out.values);
      break;
    case gdcm::PixelFormat::INT8:
      append<std::int8_t>(buffer.data(), count, out.values);
      break;
    case gdcm::PixelFormat::UINT16:
      append<std::uint16_t>(buffer.data(), count, out.values);
      break;
    case gdcm::PixelFormat::INT16:
      append<std::int16_t>(buffer.data(), count, out.values);
      break;
    case gdcm::PixelFormat::UINT32:
      append<std::uint32_t>(buffer.data(), count, out.values);
      break;
    case gdcm::PixelFormat::INT32:
      append<std::int32_t>(buffer.data(), count, out.values);
      break;
    default:
      throw DicomError(ErrorKind::kUnsupported,
                       file.string() + ": unsupported pixel format " + pf.GetScalarTypeAsString());
  }
  return out;
}

}  // namespace

DecodedFrames decode_frames(const std::filesystem::path& file) {
  ensure_codecs_registered();
  DcmFileFormat format;
  const OFCondition status = format.loadFile(file.c_str());
  if (status.bad()) {
    throw DicomError(ErrorKind::kNotDicom,
                     file.string() + ": cannot read the file (" + status.text() + ")");
  }
  OFString ts;
  format.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts);
  if (is_jpeg2000(ts.c_str())) {
    gdcm::Trace::SetWarning(false);  // GDCM prints codec notes to stderr otherwise
    return decode_with_gdcm(file);
  }

  const E_TransferSyntax xfer = format.getDataset()->getOriginalXfer();
  // Native pixel data shorter than the image it announces: DCMTK fills the missing pixels in
  // and reports success, which would hand the analysis a slice with a hole in it.
  if (!DcmXfer(xfer).isEncapsulated()) {
    DcmDataset* ds = format.getDataset();
    DcmElement* pixel_data = nullptr;
    Uint16 rows = 0, columns = 0, samples = 1, bits = 0;
    Sint32 frames = 1;
    ds->findAndGetUint16(DCM_Rows, rows);
    ds->findAndGetUint16(DCM_Columns, columns);
    ds->findAndGetUint16(DCM_SamplesPerPixel, samples);
    ds->findAndGetUint16(DCM_BitsAllocated, bits);
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
    if (ds->findAndGetElement(DCM_PixelData, pixel_data).good() && pixel_data && bits > 0) {
      const std::uint64_t pixels = std::uint64_t{rows} * columns * std::max<Uint16>(samples, 1) *
                                   static_cast<std::uint64_t>(frames);
      const std::uint64_t expected = (pixels * bits + 7) / 8;
      const std::uint64_t length = pixel_data->getLength();
      if (length < expected) {
        throw DicomError(ErrorKind::kDecode,
                         file.string() + ": pixel data holds " + std::to_string(length) +
                             " bytes, the header announces " + std::to_string(expected) + " (" +
                             std::to_string(rows) + " x " + std::to_string(columns) + " x " +
                             std::to_string(frames) + " frame(s), " + std::to_string(bits) +
                             " bits): the file was cut short");
      }
    }
  }
  auto image = std::make_unique<DicomImage>(&format, xfer, CIF_IgnoreModalityTransformation, 0, 0);
  if (image->getStatus() != EIS_Normal) {
    throw DicomError(ErrorKind::kDecode, file.string() + ": cannot decode the pixel data (" +
                                             DicomImage::getString(image->getStatus()) + ")");
  }
  const DiPixel* pixels = image->getInterData();
  if (pixels == nullptr || pixels->getData() == nullptr) {
    throw DicomError(ErrorKind::kDecode, file.string() + ": no pixel values after decoding");
  }
  DecodedFrames out;
  out.columns = static_cast<unsigned>(image->getWidth());
  out.rows = static_cast<unsigned>(image->getHeight());
  out.frames = static_cast<unsigned>(image->getFrameCount());
  const std::size_t count = static_cast<std::size_t>(out.rows) * out.columns * out.frames;
  if (pixels->getCount() < count) {
    throw DicomError(ErrorKind::kDecode, file.string() + ": pixel data shorter than " +
                                             std::to_string(out.frames) + " frame(s)");
  }
  switch (pixels->getRepresentation()) {
    case EPR_Uint8:
      append<Uint8>(pixels->getData(), count, out.values);
      break;
    case EPR_Sint8:
      append<Sint8>(pixels->getData(), count, out.values);
      break;
    case EPR_Uint16:
      append<Uint16>(pixels->getData(), count, out.values);
      break;
    case EPR_Sint16:
      append<Sint16>(pixels->getData(), count, out.values);
      break;
    case EPR_Uint32:
      append<Uint32>(pixels->getData(), count, out.values);
      break;
    case EPR_Sint32:
      append<Sint32>(pixels->getData(), count, out.values);
      break;
  }
  return out;
}

}  // namespace livernode::dicom::detail
