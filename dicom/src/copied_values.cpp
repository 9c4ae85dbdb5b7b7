#include "livernode/dicom/copied_values.h"

#include <dcmtk/dcmdata/dcbytstr.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <dcmtk/dcmdata/dcvr.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "writer_common.h"

namespace livernode::dicom {

namespace {

// Longest value (in characters) each text VR allows; 0: no limit we enforce.
std::size_t max_length(std::string_view vr) {
  if (vr == "AE" || vr == "CS" || vr == "DS" || vr == "SH") return 16;
  if (vr == "AS") return 4;
  if (vr == "DA") return 8;
  if (vr == "DT") return 26;
  if (vr == "IS") return 12;
  if (vr == "LO" || vr == "UI") return 64;
  if (vr == "TM") return 14;
  if (vr == "ST") return 1024;
  if (vr == "LT") return 10240;
  return 0;
}

// VRs whose value is one text that may hold backslashes.
bool single_text(std::string_view vr) {
  return vr == "LT" || vr == "ST" || vr == "UT" || vr == "UR";
}

// VRs in which leading spaces are significant (only trailing ones are padding).
bool leading_spaces_significant(std::string_view vr) {
  return vr == "LT" || vr == "ST" || vr == "UT" || vr == "UR";
}

bool is_pad(char c) { return c == ' ' || c == '\0'; }

// Cuts `s` to at most `n` characters without splitting a UTF-8 sequence.
std::string cut(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  std::size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

void note(std::string& change, const std::string& what) {
  if (change.find(what) != std::string::npos) return;
  change += (change.empty() ? "" : "; ") + what;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_ds_text(const std::string& s) {
  if (s.empty() || s.size() > 16) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.' &&
        c != 'e' && c != 'E')
      return false;
  }
  return true;
}

CleanedValue unusable(std::string_view vr, std::string change = {}) {
  note(change, "not a valid " + std::string(vr) + " value: dropped");
  return {"", change, false};
}

// A DA value: YYYYMMDD, also from YYYY.MM.DD or YYYY-MM-DD (old and ISO spellings).
CleanedValue clean_date(std::string v, std::string change) {
  if (v.size() == 10 && (v[4] == '.' || v[4] == '-' || v[4] == '/') && v[7] == v[4]) {
    v = v.substr(0, 4) + v.substr(5, 2) + v.substr(8, 2);
    note(change, "date separators removed");
  }
  if (v.size() != 8 || !all_digits(v)) return unusable("DA", change);
  const int month = std::stoi(v.substr(4, 2)), day = std::stoi(v.substr(6, 2));
  if (month < 1 || month > 12 || day < 1 || day > 31) return unusable("DA", change);
  return {v, change, true};
}

// A TM value: HH[MM[SS[.F{1,6}]]], also from HH:MM:SS; fractions beyond microseconds cut.
CleanedValue clean_time(std::string v, std::string change) {
  if (v.find(':') != std::string::npos) {
    std::string t;
    for (char c : v)
      if (c != ':') t += c;
    v = t;
    note(change, "time separators removed");
  }
  const auto dot = v.find('.');
  std::string whole = v.substr(0, dot),
              fraction = dot == std::string::npos ? "" : v.substr(dot + 1);
  if (!all_digits(whole) || whole.size() % 2 != 0 || whole.size() > 6)
    return unusable("TM", change);
  if (dot != std::string::npos) {
    if (whole.size() != 6 || (!fraction.empty() && !all_digits(fraction)))
      return unusable("TM", change);
    if (fraction.size() > 6) {
      fraction = fraction.substr(0, 6);
      note(change, "fraction of a second cut to 6 digits");
    }
    if (fraction.empty()) {
      note(change, "empty fraction removed");
      return {whole, change, true};
    }
    return {whole + "." + fraction, change, true};
  }
  const int h = std::stoi(whole.substr(0, 2));
  if (h > 23) return unusable("TM", change);
  return {whole, change, true};
}

}  // namespace

std::string format_decimal_string(double v) {
  if (!std::isfinite(v)) return "";
  char buffer[40];
  for (int digits = 16; digits >= 1; --digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
    if (std::string(buffer).size() <= 16) return buffer;
  }
  std::snprintf(buffer, sizeof buffer, "%.0e", v);
  return buffer;
}

CleanedValue clean_value(std::string_view vr, std::string_view raw) {
  std::string change;
  std::string v(raw);
  // Padding: NUL bytes (where a space belongs) and spaces at the end; at the start too where the
  // VR does not make them significant.
  {
    std::size_t end = v.size();
    bool nul = false;
    while (end > 0 && is_pad(v[end - 1])) {
      --end;
      if (v[end] == '\0') nul = true;
    }
    if (nul) note(change, "NUL padding removed");
    if (end < v.size() && !nul) note(change, "trailing spaces removed");
    v.resize(end);
    if (!leading_spaces_significant(vr)) {
      std::size_t begin = 0;
      while (begin < v.size() && is_pad(v[begin])) ++begin;
      if (begin > 0) note(change, "leading spaces removed");
      v.erase(0, begin);
    }
  }
  if (v.empty()) return {v, change, true};

  // Control characters inside the value (other than the line breaks and escapes text may hold).
  const bool text = single_text(vr) || vr == "LO" || vr == "SH" || vr == "PN" || vr == "UC";
  for (char& c : v) {
    const auto u = static_cast<unsigned char>(c);
    const bool allowed_control =
        u == 0x1B || (single_text(vr) && (u == '\r' || u == '\n' || u == '\f' || u == '\t'));
    if ((u < 0x20 || u == 0x7F) && !allowed_control) {
      c = text ? ' ' : '_';
      note(change, "control characters replaced");
    }
  }

  if (vr == "DS") {
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !std::isfinite(d)) return unusable(vr, change);
    if (!valid_ds_text(v)) {
      v = format_decimal_string(d);
      note(change, "decimal string rewritten in at most 16 characters");
    }
    return {v, change, true};
  }
  if (vr == "IS") {
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !std::isfinite(d) || d != std::floor(d) ||
        d < INT32_MIN || d > INT32_MAX)
      return unusable(vr, change);
    const std::string s = std::to_string(static_cast<long long>(d));
    const bool plain =
        (v[0] == '+' || v[0] == '-' || std::isdigit(static_cast<unsigned char>(v[0]))) &&
        all_digits(v.substr(v[0] == '+' || v[0] == '-' ? 1 : 0)) && v.size() <= 12;
    if (!plain) {
      v = s;
      note(change, "integer string rewritten");
    }
    return {v, change, true};
  }
  if (vr == "DA") return clean_date(v, change);
  if (vr == "TM") return clean_time(v, change);
  if (vr == "AS") {
    std::string u = v;
    for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const char unit = u.back();
    const std::string number = u.substr(0, u.size() - 1);
    if (!all_digits(number) || number.size() > 3 ||
        (unit != 'D' && unit != 'W' && unit != 'M' && unit != 'Y'))
      return unusable(vr, change);
    const std::string fixed = std::string(3 - number.size(), '0') + number + unit;
    if (fixed != v) note(change, "age written as nnnD/W/M/Y");
    return {fixed, change, true};
  }
  if (vr == "DT") {
    for (char c : v)
      if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != '+' && c != '-')
        return unusable(vr, change);
    if (v.size() > 26) return unusable(vr, change);
    return {v, change, true};
  }
  if (vr == "UI") {
    // A UID identifies what the results refer to: it is never invented; only padding goes.
    return {v, change, true};
  }
  if (vr == "CS") {
    bool lower = false, replaced = false;
    for (char& c : v) {
      if (std::islower(static_cast<unsigned char>(c))) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        lower = true;
      } else if (!std::isupper(static_cast<unsigned char>(c)) &&
                 !std::isdigit(static_cast<unsigned char>(c)) && c != ' ' && c != '_') {
        c = '_';
        replaced = true;
      }
    }
    if (lower) note(change, "lower case made upper case");
    if (replaced) note(change, "characters a code string does not allow replaced by _");
  }
  if (vr == "PN") {
    // Each of the (up to three) component groups may hold 64 characters.
    std::string out;
    std::size_t start = 0;
    while (true) {
      const auto eq = v.find('=', start);
      std::string group = v.substr(start, eq == std::string::npos ? std::string::npos : eq - start);
      if (group.size() > 64) {
        group = cut(group, 64);
        note(change, "name component group cut to 64 characters");
      }
      out += group;
      if (eq == std::string::npos) break;
      out += '=';
      start = eq + 1;
    }
    v = out;
  }
  const std::size_t limit = max_length(vr);
  if (limit > 0 && v.size() > limit) {
    v = cut(v, limit);
    while (!v.empty() && !leading_spaces_significant(vr) && is_pad(v.back())) v.pop_back();
    note(change,
         "cut to the " + std::to_string(limit) + " characters " + std::string(vr) + " allows");
  }
  return {v, change, true};
}

CleanedValue clean_values(std::string_view vr, std::string_view raw) {
  if (single_text(vr)) return clean_value(vr, raw);
  CleanedValue out;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const auto bs = raw.find('\\', start);
    const std::string_view part =
        raw.substr(start, bs == std::string_view::npos ? std::string_view::npos : bs - start);
    CleanedValue one = clean_value(vr, part);
    if (!one.change.empty()) note(out.change, one.change);
    if (!one.usable) {
      out.usable = false;
      out.value.clear();
      note(out.change, "element emptied");
      return out;
    }
    out.value += (first ? "" : "\\") + one.value;
    first = false;
    if (bs == std::string_view::npos) break;
    start = bs + 1;
  }
  // A value of nothing but separators and padding holds nothing.
  if (out.value.find_first_not_of('\\') == std::string::npos && !out.value.empty()) {
    out.value.clear();
    note(out.change, "empty values removed");
  }
  return out;
}

std::vector<CopiedValueFix> make_copied_values_valid(DcmItem& item) {
  std::vector<CopiedValueFix> fixes;
  DcmStack stack;
  while (item.nextObject(stack, OFTrue).good()) {
    DcmObject* object = stack.top();
    if (!object->isLeaf() || !object->isaString()) continue;
    DcmTag tag = object->getTag();
    if (tag.isPrivate() || tag.getGroup() == 0x0002) continue;
    auto* element = OFstatic_cast(DcmByteString*, object);
    char* text = nullptr;
    Uint32 length = 0;
    if (element->getString(text, length).bad() || text == nullptr || length == 0) continue;
    const std::string raw(text, length);
    const std::string vr = DcmVR(element->ident()).getVRName();
    CleanedValue cleaned = clean_values(vr, raw);
    // Enumerated values the modules define, where sources write words instead.
    if (tag == DCM_PatientSex && cleaned.usable && !cleaned.value.empty()) {
      std::string& s = cleaned.value;
      if (s == "MALE") s = "M", note(cleaned.change, "written as M");
      if (s == "FEMALE") s = "F", note(cleaned.change, "written as F");
      if (s != "M" && s != "F" && s != "O") {
        s.clear();
        note(cleaned.change, "not one of M, F, O: emptied");
      }
    }
    if (cleaned.value == raw) continue;
    if (cleaned.change.empty()) cleaned.change = "trailing padding removed";
    element->putString(cleaned.value.c_str(), static_cast<Uint32>(cleaned.value.size()));
    char name[32];
    std::snprintf(name, sizeof name, " (%04X,%04X)", tag.getGroup(), tag.getElement());
    fixes.push_back({std::string(tag.getTagName()) + name, cleaned.change});
  }
  return fixes;
}

std::vector<CopiedValueFix> copied_value_fixes(const SeriesInfo& series) {
  std::string reasons;
  const auto format = detail::read_first_header(series, reasons);
  return format ? make_copied_values_valid(*format->getDataset()) : std::vector<CopiedValueFix>{};
}

std::string new_frame_of_reference_uid() { return detail::new_uid(); }

}  // namespace livernode::dicom
