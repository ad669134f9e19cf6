#include "sql/area_scope.h"

#include <algorithm>

namespace minyi::sql::internal {

Status CheckAreaScope(const std::string& area) {
  if (area.size() >= 2 && area.size() <= 9 &&
      std::all_of(area.begin(), area.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::Ok();
  }
  return Status::InvalidInput("area: a division code of 2 to 9 digits expected, got '" + area + "'");
}

std::string AreaScopeEnd(const std::string& area) { return area + ":"; }

std::string WithinAreaClause(std::string_view column, bool include_unplaced) {
  const std::string c(column);
  std::string clause = "(" + c + " >= ? AND " + c + " < ?";
  if (include_unplaced) clause += " OR " + c + " = ''";
  return clause + ")";
}

bool WithinArea(const std::string& code, const std::string& area, bool include_unplaced) {
  if (code.empty()) return include_unplaced;
  return code.size() >= area.size() && code.compare(0, area.size(), area) == 0;
}

}  // namespace minyi::sql::internal
