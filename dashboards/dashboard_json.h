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
// An area's figure against its parent's (a city against the province, a county against its city), from the
// stored direct estimates and SEs: ",\"vs_parent\":{...}" to place inside the area's VALUE, or "" when
// there is no figure to compare. A two-sided z test at 95%,
//   z = (p_c − p_p) / sqrt(se_c² + se_p² − 2·cov(p_c, p_p)),
// where the whole's estimate is the weighted mean of its parts, p_p = Σ_k W_k·p_k with W_k the part's share
// of the weights (sum_w), and the parts are sampled independently (the towns are the strata), so
// cov(p_c, p_p) ≈ W_c·se_c². The approximation ignores the raking/post-stratification that ties the parts
// together and treats W_c as fixed; W_c is clamped to [0, 1]. Uses the score (and score_se) when the index
// has no share, as the year-on-year change does. No multiplicity correction: with 13 cities about one in 20
// comparisons of equal areas is flagged by chance, which the page says. Nothing when the child or the
// parent is suppressed for this viewer, or when either SE is missing.
std::string VsParentJson(const IndexRow* child, const IndexRow* parent, bool sees_low_n);
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
