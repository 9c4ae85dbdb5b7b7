#pragma once
// The administration page served at /admin: one self-contained HTML document (inline CSS and
// JavaScript, no external assets). It holds no data; it reads the JSON API with the bearer
// token the user enters (kept in the tab's sessionStorage).
#include <string_view>

namespace livernode::node {

std::string_view admin_page_html();

}  // namespace livernode::node
