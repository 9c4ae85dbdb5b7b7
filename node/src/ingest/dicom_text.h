#pragma once
// Text helpers of the listener: DICOM values as plain strings, and text safe inside a quoted
// log field.
// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <string>

#include "dcmtk/ofstd/ofstring.h"

namespace livernode::node {

// A DICOM value without its padding (trailing spaces and NULs, leading spaces).
inline std::string clean(const OFString& value) {
  std::string s(value.c_str());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

// `text` with its double quotes made single and its line breaks made spaces.
inline std::string quoted_safe(std::string text) {
  for (char& ch : text)
    if (ch == '"' || ch == '\n' || ch == '\r') ch = ch == '"' ? '\'' : ' ';
  return text;
}

}  // namespace livernode::node
