#include "value_checks.h"

#include <arpa/inet.h>

#include <cctype>
#include <string_view>
#include <vector>

#include "livernode/config/host_pattern.h"
#include "suggest.h"
#include "text.h"

namespace livernode::config::detail {

namespace {

bool is_ip_address(const std::string& value) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, value.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, value.c_str(), buffer) == 1;
}

bool is_dns_label(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (const char c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

bool is_dns_name(const std::string& value) {
  std::string_view rest = value;
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);  // fully qualified
  if (rest.empty() || rest.size() > 253) return false;
  while (true) {
    const auto dot = rest.find('.');
    if (!is_dns_label(rest.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    rest.remove_prefix(dot + 1);
  }
}

// Defined terms of Modality (0008,0060), PS3.3 C.7.3.1.1.1, current and retired.
constexpr std::string_view kModalities[] = {
    "AR",   "ASMT", "AU",  "BDUS",   "BI",      "BMD", "CR",   "CT",  "CTPROTOCOL", "DG",  "DOC",
    "DX",   "ECG",  "EPS", "ES",     "FID",     "GM",  "HC",   "HD",  "IO",         "IOL", "IVOCT",
    "IVUS", "KER",  "KO",  "LEN",    "LS",      "MG",  "MR",   "M3D", "NM",         "OAM", "OCT",
    "OP",   "OPM",  "OPT", "OPV",    "OSS",     "OT",  "PLAN", "PR",  "PT",         "PX",  "REG",
    "RESP", "RF",   "RG",  "RTDOSE", "RTIMAGE", "SEG", "SM",   "US"};

}  // namespace

std::optional<std::string> ae_title_problem(const std::string& value) {
  const std::string expected = "expected 1-16 characters without backslashes or control characters";
  if (value.empty()) return "is empty; " + expected;
  if (value.size() > 16) {
    return in_quotes(value) + " has " + std::to_string(value.size()) + " characters; " + expected;
  }
  for (const char c : value) {
    const auto code = static_cast<unsigned char>(c);
    if (c == '\\') return in_quotes(value) + " contains a backslash; " + expected;
    if (code < 0x20 || code > 0x7e) {
      return in_quotes(value) + " contains a control or non-ASCII character; " + expected;
    }
  }
  if (trimmed(value).empty()) return "consists only of spaces; " + expected;
  if (trimmed(value) != value) {
    return in_quotes(value) + " has leading or trailing spaces, which DICOM ignores; remove them";
  }
  return std::nullopt;
}

std::optional<std::string> bind_address_problem(const std::string& value) {
  if (is_ip_address(value)) return std::nullopt;
  return in_quotes(value) +
         " is not an IP address; expected e.g. 0.0.0.0 (all interfaces), 127.0.0.1 or ::";
}

std::optional<std::string> host_problem(const std::string& value) {
  if (value.empty()) return "is empty; expected a host name or IP address";
  if (is_ip_address(value) || is_dns_name(value)) return std::nullopt;
  return in_quotes(value) + " is neither a valid host name nor an IP address";
}

std::optional<std::string> host_pattern_problem(const std::string& value) {
  if (value.empty() || HostPattern::parse(value)) return std::nullopt;
  return in_quotes(value) +
         " is not an IP address or CIDR block; expected e.g. 192.168.1.20, 10.0.0.0/8 or "
         "fd00::/8 (host names are not accepted)";
}

std::optional<std::string> modality_problem(const std::string& value) {
  std::vector<std::string> modalities;
  for (const auto modality : kModalities) {
    if (modality == value) return std::nullopt;
    modalities.emplace_back(modality);
  }
  std::string message = in_quotes(value) + " is not a DICOM modality code";
  if (const auto close = closest_match(value, modalities, 1)) {
    return message + "; did you mean " + in_quotes(*close) + "?";
  }
  return message + "; expected e.g. CT or MR (upper case)";
}

std::optional<std::string> name_problem(const std::string& value) {
  const std::string expected = "expected letters, digits, '.', '_' and '-'";
  if (value.empty()) return "is empty; " + expected;
  for (const char c : value) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return in_quotes(value) + " contains " + in_quotes(std::string(1, c)) + "; " + expected;
    }
  }
  return std::nullopt;
}

std::optional<std::string> bearer_token_problem(const std::string& value) {
  for (const char c : value) {
    const auto code = static_cast<unsigned char>(c);
    if (code <= 0x20 || code >= 0x7f) {
      return std::string(
          "contains a space, control or non-ASCII character; a bearer token must be printable "
          "ASCII without spaces");
    }
  }
  return std::nullopt;
}

std::optional<std::string> not_empty_problem(const std::string& value) {
  if (trimmed(value).empty()) return std::string("must not be empty");
  return std::nullopt;
}

}  // namespace livernode::config::detail
