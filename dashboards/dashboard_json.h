// JSON and CSV pieces shared by the dashboard routes (dashboard_*_routes.cc): numbers, strings, areas and
// one figure as JSON, and the area hierarchy walks the routes need. Internal to dashboards/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/ports.h"

namespace minyi::dashboards::json {

// A finite number as JSON (%.10g), else null.
std::string Num(double v);
// A JSON string literal, escaped.
std::string Str(std::string_view s);
// 0 for the province down to 3 for a town.
int Depth(AreaLevel level);
std::string AreaJson(const Area& a);
// One figure as JSON; values nulled when suppressed for this viewer.
std::string ValueJson(const IndexRow* r, bool sees_low_n);
// A CSV cell for a number: empty when suppressed or not finite.
std::string CsvNum(double v, bool suppressed);
// Areas at `level` inside `area` (the area itself when it is at that level), ordered by code.
std::vector<const Area*> AreasAt(const AreaRegistry& registry, const Area& area, AreaLevel level);
// The level one below (none below a town).
std::optional<AreaLevel> ChildLevel(AreaLevel level);

}  // namespace minyi::dashboards::json
