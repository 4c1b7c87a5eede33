// "Did you mean ...?": the candidate closest to a misspelt name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace jobq {

// Levenshtein distance.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within 2 edits, or "" when none is that close.
std::string nearest_name(std::string_view given, const std::vector<std::string>& candidates);

}  // namespace jobq
