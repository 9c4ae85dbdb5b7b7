#pragma once
// Reads the HTTP bearer token from http.token_file into http.token.

#include "diagnostics.h"
#include "livernode/config/config.h"

namespace livernode::config::detail {

// Does nothing when no token file is set; reports an unreadable, empty or malformed file.
void read_token_file(HttpConfig& http, Diagnostics& diagnostics);

}  // namespace livernode::config::detail
