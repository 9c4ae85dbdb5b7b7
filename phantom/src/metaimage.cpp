#include "livernode/phantom/metaimage.h"

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace livernode::phantom {

namespace {

// Space-separated shortest round-trip representations.
std::string numbers(const double* v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    if (i) s += ' ';
    s.append(buf, r.ptr);
  }
  return s;
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error("MetaImage " + path.string() + ": " + what);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<double> parse_numbers(const std::filesystem::path& path, const std::string& key,
                                  const std::string& text, std::size_t count) {
  std::istringstream in(text);
  std::vector<double> v;
  double x;
  while (in >> x) v.push_back(x);
  if (v.size() != count || !in.eof()) {
    fail(path, key + " needs " + std::to_string(count) + " numbers, got '" + text + "'");
  }
  return v;
}

}  // namespace

void write_label_map_mha(const processing::LabelMap& labels, const std::filesystem::path& path) {
  const processing::Geometry& g = labels.geometry;
  if (labels.voxels.size() != g.voxel_count())
    fail(path, "voxel count does not match the geometry");
  // TransformMatrix lists the direction of axis i, then j, then k (columns of g.direction).
  double transform[9];
  for (int axis = 0; axis < 3; ++axis) {
    for (int r = 0; r < 3; ++r) transform[axis * 3 + r] = g.direction[r * 3 + axis];
  }
  std::ostringstream header;
  header << "ObjectType = Image\n"
         << "NDims = 3\n"
         << "BinaryData = True\n"
         << "BinaryDataByteOrderMSB = False\n"
         << "CompressedData = False\n"
         << "TransformMatrix = " << numbers(transform, 9) << "\n"
         << "Offset = " << numbers(g.origin.data(), 3) << "\n"
         << "CenterOfRotation = 0 0 0\n"
         << "ElementSpacing = " << numbers(g.spacing.data(), 3) << "\n"
         << "DimSize = " << g.size[0] << " " << g.size[1] << " " << g.size[2] << "\n"
         << "ElementType = MET_UCHAR\n"
         << "ElementDataFile = LOCAL\n";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open for writing");
  const std::string h = header.str();
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  out.write(reinterpret_cast<const char*>(labels.voxels.data()),
            static_cast<std::streamsize>(labels.voxels.size()));
  out.close();
  if (!out) fail(path, "write failed");
}

processing::LabelMap read_label_map_mha(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");
  std::map<std::string, std::string> fields;
  std::string line;
  bool data_follows = false;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) fail(path, "malformed header line '" + line + "'");
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    fields[key] = value;
    if (key == "ElementDataFile") {
      data_follows = true;
      break;
    }
  }
  if (!data_follows) fail(path, "no ElementDataFile line");
  auto require = [&](const std::string& key, const std::string& expected) {
    const auto it = fields.find(key);
    if (it == fields.end() || it->second != expected) {
      fail(path, key + " must be '" + expected + "'" +
                     (it == fields.end() ? " (missing)" : ", got '" + it->second + "'"));
    }
  };
  require("NDims", "3");
  require("ElementType", "MET_UCHAR");
  require("ElementDataFile", "LOCAL");
  if (fields.count("CompressedData") && fields["CompressedData"] != "False")
    fail(path, "compressed data not supported");
  for (const char* msb : {"BinaryDataByteOrderMSB", "ElementByteOrderMSB"}) {
    if (fields.count(msb) && fields[msb] != "False") fail(path, "big-endian data not supported");
  }
  if (!fields.count("DimSize")) fail(path, "DimSize missing");

  processing::Geometry g;
  const auto dims = parse_numbers(path, "DimSize", fields["DimSize"], 3);
  for (int a = 0; a < 3; ++a) {
    if (dims[a] < 1) fail(path, "DimSize must be positive");
    g.size[a] = static_cast<std::size_t>(dims[a]);
  }
  const char* spacing_key = fields.count("ElementSpacing") ? "ElementSpacing" : "ElementSize";
  if (fields.count(spacing_key)) {
    const auto s = parse_numbers(path, spacing_key, fields[spacing_key], 3);
    for (int a = 0; a < 3; ++a) g.spacing[a] = s[a];
  }
  for (const char* key : {"Offset", "Position", "Origin"}) {
    if (fields.count(key)) {
      const auto o = parse_numbers(path, key, fields[key], 3);
      for (int a = 0; a < 3; ++a) g.origin[a] = o[a];
      break;
    }
  }
  for (const char* key : {"TransformMatrix", "Rotation", "Orientation"}) {
    if (fields.count(key)) {
      const auto t = parse_numbers(path, key, fields[key], 9);
      for (int axis = 0; axis < 3; ++axis) {
        for (int r = 0; r < 3; ++r) g.direction[r * 3 + axis] = t[axis * 3 + r];
      }
      break;
    }
  }

  processing::LabelMap labels(g);
  in.read(reinterpret_cast<char*>(labels.voxels.data()),
          static_cast<std::streamsize>(labels.voxels.size()));
  if (in.gcount() != static_cast<std::streamsize>(labels.voxels.size()))
    fail(path, "pixel data truncated");
  return labels;
}

}  // namespace livernode::phantom
