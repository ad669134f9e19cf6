// Small text helpers shared by the importers (internal to collector/).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minyi::collector {

// Without leading and trailing ASCII whitespace.
std::string_view Trim(std::string_view s);
// ASCII letters lowered; other bytes (UTF-8) unchanged.
std::string AsciiLower(std::string_view s);
// Pieces between separators; "" gives one empty piece.
std::vector<std::string_view> Split(std::string_view s, char separator);
// A decimal number ("12", "-3.5", "1e3"), the whole text; nullopt otherwise.
std::optional<double> ParseDouble(std::string_view s);

}  // namespace minyi::collector
