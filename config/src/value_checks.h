#pragma once
// Checks of single text values; each returns why the value is unacceptable, or nullopt.

#include <optional>
#include <string>

namespace livernode::config::detail {

// DICOM AE title: 1-16 characters of the default repertoire, no backslash or control
// characters, not only spaces, no leading or trailing spaces (DICOM ignores them).
std::optional<std::string> ae_title_problem(const std::string& value);

// A literal IPv4 or IPv6 address to listen on.
std::optional<std::string> bind_address_problem(const std::string& value);

// A host to connect to: a DNS name (RFC 1123) or an IP address.
std::optional<std::string> host_problem(const std::string& value);

// An allowed-caller host: an IP address or CIDR block.
std::optional<std::string> host_pattern_problem(const std::string& value);

// A DICOM Modality defined term such as CT or MR.
std::optional<std::string> modality_problem(const std::string& value);

// A name used in logs, metrics and directory names: letters, digits, '.', '_', '-'.
std::optional<std::string> name_problem(const std::string& value);

// An HTTP bearer token: printable ASCII without spaces (empty = no token).
std::optional<std::string> bearer_token_problem(const std::string& value);

std::optional<std::string> not_empty_problem(const std::string& value);

}  // namespace livernode::config::detail
