// Internal to sql/: an official's area scope as the stores written on sql/db.h filter by it — one
// definition of a valid scope and of "a code within the scope", in SQL and in C++.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace minyi::sql::internal {

// kInvalidInput naming the field unless `area` is a division code of 2 to 9 digits.
Status CheckAreaScope(const std::string& area);

// The exclusive upper bound of the codes within `area`: codes in [area, area + ":") since ':' sorts
// right after '9' in binary order, so the range is an index range scan in both dialects.
std::string AreaScopeEnd(const std::string& area);

// "(column >= ? AND column < ?)", with "OR column = ''" when rows not placed in any town are wanted;
// binds `area` and AreaScopeEnd(area).
std::string WithinAreaClause(std::string_view column, bool include_unplaced);

// The same test on a code already read.
bool WithinArea(const std::string& code, const std::string& area, bool include_unplaced);

}  // namespace minyi::sql::internal
