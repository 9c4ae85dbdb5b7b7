#pragma once
// Reads the secrets kept in files of their own: the HTTP bearer token from http.token_file into
// http.token, the PostgreSQL password from storage.postgresql.password_file.

#include "diagnostics.h"
#include "livernode/config/config.h"

namespace livernode::config::detail {

// Does nothing when no token file is set; reports an unreadable, empty or malformed file.
void read_token_file(HttpConfig& http, Diagnostics& diagnostics);

// Does nothing when no password file is set; reports an unreadable or empty file. The password
// itself is never part of a message.
void read_password_file(StorageConfig& storage, Diagnostics& diagnostics);

}  // namespace livernode::config::detail
