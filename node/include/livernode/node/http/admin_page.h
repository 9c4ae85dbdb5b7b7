#pragma once
// The administration page served at /admin: one self-contained HTML document (inline CSS and
// JavaScript, no external assets). It holds no data; it reads the JSON API with the bearer
// token the user enters (kept in the tab's sessionStorage).
#include <nlohmann/json_fwd.hpp>
#include <string_view>

namespace livernode::node {

struct StudyRow;

std::string_view admin_page_html();

// Adds to a study's /api/studies object the header values the page lists and searches:
// accession_number, study_date (YYYYMMDD), study_time, modality and study_description (empty
// strings when unknown). They identify the examination: served only behind the API token.
void add_study_header_json(nlohmann::json& study, const StudyRow& row);

}  // namespace livernode::node
