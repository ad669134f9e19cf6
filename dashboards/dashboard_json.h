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
// Where a town row's model-based figure (issue 14, IndexRow model_*, docs/small_area.md) is shown: never,
// where it is needed (the direct figure is suppressed for this viewer or its 95% interval is wider
// than kWideInterval), or beside every direct one (`model=both`).
enum class ModelView { kNever, kWhereNeeded, kBoth };
// 10 percentage points: wider than the differences between towns that officials compare (issue 14: the
// median town's interval is 7 points for 群众安全感 and 13 for 网格工作满意率 in the demo).
constexpr double kWideInterval = 0.10;
// One figure as JSON; values nulled when suppressed for this viewer; with its model-based figure as `view`
// says (its "reason": "no_respondents" for an n = 0 town row, else "suppressed", "wide" or "requested").
std::string ValueJson(const IndexRow* r, bool sees_low_n, ModelView view = ModelView::kNever);
// The model columns of indices.csv, each followed by a comma: the model-based figure of every town row that
// has one (eblup, synthetic), as `model=both` shows them; empty otherwise.
std::string ModelCsv(const IndexRow& r);
// A CSV cell for a number: empty when suppressed or not finite.
std::string CsvNum(double v, bool suppressed);
// Areas at `level` inside `area` (the area itself when it is at that level), ordered by code.
std::vector<const Area*> AreasAt(const AreaRegistry& registry, const Area& area, AreaLevel level);
// The level one below (none below a town).
std::optional<AreaLevel> ChildLevel(AreaLevel level);

}  // namespace minyi::dashboards::json
