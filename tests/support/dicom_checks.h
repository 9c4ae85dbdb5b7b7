#pragma once
// Checks of the DICOM objects the tests read and write: dciodvfy's verdict, and the raw bytes of
// a text element.
#include <dcmtk/dcmdata/dcbytstr.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "orthanc_peer.h"

namespace livernode::test {

// Lines of dciodvfy's report that name an error. UIDs copied from the source (its study and
// series UIDs, which must stay as they are) are judged by the source, not by us: an error about a
// UID listed in `source_uids` is left out. Warnings are printed for the record.
inline std::vector<std::string> dciodvfy_errors(const std::filesystem::path& file,
                                                const std::vector<std::string>& source_uids = {}) {
  std::istringstream in(run_command("dciodvfy '" + file.string() + "'").output);
  std::vector<std::string> errors;
  for (std::string line; std::getline(in, line);) {
    if (line.find("Warning") != std::string::npos)
      std::cout << "dciodvfy " << file.filename().string() << ": " << line << "\n";
    if (line.find("Error") == std::string::npos) continue;
    bool from_source = false;
    for (const auto& uid : source_uids)
      from_source = from_source || (line.find("UID") != std::string::npos &&
                                    line.find("\"" + uid + "\"") != std::string::npos);
    if (!from_source) errors.push_back(line);
  }
  return errors;
}

// Raw bytes of a text element (NUL padding included); "<absent>" when the item lacks it.
inline std::string raw_text(DcmItem& item, const DcmTagKey& tag) {
  DcmElement* element = nullptr;
  if (item.findAndGetElement(tag, element).bad() || element == nullptr) return "<absent>";
  char* text = nullptr;
  Uint32 length = 0;
  if (OFstatic_cast(DcmByteString*, element)->getString(text, length).bad() || !text) return "";
  return std::string(text, length);
}

}  // namespace livernode::test
