#include "dashboards/dashboard_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/http/router.h"

namespace minyi::dashboards::json {

using http::JsonEscape;

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string Str(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

int Depth(AreaLevel level) {
  switch (level) {
    case AreaLevel::kProvince:
      return 0;
    case AreaLevel::kCity:
      return 1;
    case AreaLevel::kCounty:
      return 2;
    case AreaLevel::kTown:
      return 3;
  }
  return 3;
}

std::string AreaJson(const Area& a) {
  return "{\"code\":" + Str(a.code) + ",\"name\":" + Str(a.name) +
         ",\"level\":" + Str(AreaLevelName(a.level)) + "}";
}

namespace {

// The "model" member of a VALUE ("" when not shown). Only model-based figures (eblup, synthetic): with
// method "direct" the model is not used and the figure would repeat the direct one, suppressed or not.
std::string ModelJson(const IndexRow& r, bool suppressed, ModelView view) {
  if (view == ModelView::kNever || (r.model_method != "eblup" && r.model_method != "synthetic")) return "";
  const bool wide = !(r.ci_high - r.ci_low <= kWideInterval);  // also when there is no direct interval
  // A town without respondents (n = 0, issue 14) has no direct figure at all: its synthetic estimate.
  const char* reason = r.n == 0 ? "no_respondents" : suppressed ? "suppressed" : wide ? "wide" : "requested";
  if (view == ModelView::kWhereNeeded && !suppressed && !wide) return "";
  return ",\"model\":{\"label\":\"模型估计\",\"method\":" + Str(r.model_method) +
         ",\"estimate\":" + Num(r.model_estimate) + ",\"se\":" + Num(r.model_se) + ",\"ci\":[" +
         Num(r.model_ci_low) + "," + Num(r.model_ci_high) + "],\"reason\":\"" + reason + "\"}";
}

}  // namespace

std::string ModelCsv(const IndexRow& r) {
  if (r.model_method != "eblup" && r.model_method != "synthetic") return ",,,,,";
  return CsvNum(r.model_estimate, false) + "," + CsvNum(r.model_se, false) + "," +
         CsvNum(r.model_ci_low, false) + "," + CsvNum(r.model_ci_high, false) + "," + r.model_method + ",";
}

std::string ValueJson(const IndexRow* r, bool sees_low_n, ModelView view) {
  if (r == nullptr) return "null";
  const bool suppressed = r->low_n && !sees_low_n;
  auto v = [&](double x) { return suppressed ? std::string("null") : Num(x); };
  std::string out = "{\"estimate\":" + v(r->estimate) + ",\"se\":" + v(r->se) + ",\"ci\":[" + v(r->ci_low) +
                    "," + v(r->ci_high) + "],\"score\":" + v(r->score) + ",\"score_ci\":[" +
                    v(r->score_ci_low) + "," + v(r->score_ci_high) + "],\"n\":" + std::to_string(r->n) +
                    ",\"n_eff\":" + v(r->n_eff) + ",\"deff\":" + v(r->deff) +
                    ",\"low_n\":" + (r->low_n ? "true" : "false") +
                    ",\"suppressed\":" + (suppressed ? "true" : "false") + ",\"change\":" + v(r->change) +
                    ",\"change_se\":" + v(r->change_se) +
                    ",\"change_significant\":" + (!suppressed && r->change_significant ? "true" : "false") +
                    ",\"ci_method\":" + Str(r->ci_method) + ",\"weighting\":" + Str(r->weighting) + "}";
  const std::string model_json = ModelJson(*r, suppressed, view);
  if (!model_json.empty()) out.insert(out.size() - 1, model_json);  // inside the closing brace
  return out;
}

std::string VsParentJson(const IndexRow* child, const IndexRow* parent, bool sees_low_n) {
  if (child == nullptr || parent == nullptr) return "";
  if (!sees_low_n && (child->low_n || parent->low_n)) return "";
  const bool share = std::isfinite(child->estimate) && std::isfinite(parent->estimate);
  const double pc = share ? child->estimate : child->score, pp = share ? parent->estimate : parent->score;
  const double sc = share ? child->se : child->score_se, sp = share ? parent->se : parent->score_se;
  if (!std::isfinite(pc) || !std::isfinite(pp) || !std::isfinite(sc) || !std::isfinite(sp)) return "";
  const double w = parent->sum_w > 0 ? std::clamp(child->sum_w / parent->sum_w, 0.0, 1.0) : 0.0;
  const double var = sc * sc + sp * sp - 2 * w * sc * sc;
  const double diff = pc - pp;
  const double se = var > 0 ? std::sqrt(var) : 0.0;
  // 97.5% point of the standard normal (aggregator/estimate.h kZ975, which dashboards/ may not include).
  constexpr double kZ975 = 1.959963984540054;
  const double z = se > 0 ? diff / se : std::numeric_limits<double>::quiet_NaN();
  const bool significant = diff != 0 && (se == 0 || std::fabs(z) > kZ975);
  const char* direction = !significant ? "null" : diff > 0 ? "\"above\"" : "\"below\"";
  return ",\"vs_parent\":{\"parent\":" + Str(parent->area_code) + ",\"diff\":" + Num(diff) +
         ",\"se\":" + Num(se) + ",\"z\":" + Num(z) + ",\"significant\":" + direction + "}";
}

std::string CsvNum(double v, bool suppressed) { return suppressed || !std::isfinite(v) ? "" : Num(v); }

std::vector<const Area*> AreasAt(const AreaRegistry& registry, const Area& area, AreaLevel level) {
  std::vector<const Area*> out;
  if (area.level == level) return {&area};
  std::vector<const Area*> frontier = {&area};
  while (!frontier.empty()) {
    std::vector<const Area*> next;
    for (const Area* a : frontier) {
      for (const Area* c : registry.Children(a->code)) {
        if (c->level == level) {
          out.push_back(c);
        } else if (Depth(c->level) < Depth(level)) {
          next.push_back(c);
        }
      }
    }
    frontier = std::move(next);
  }
  std::sort(out.begin(), out.end(), [](const Area* a, const Area* b) { return a->code < b->code; });
  return out;
}

std::optional<AreaLevel> ChildLevel(AreaLevel level) {
  switch (level) {
    case AreaLevel::kProvince:
      return AreaLevel::kCity;
    case AreaLevel::kCity:
      return AreaLevel::kCounty;
    case AreaLevel::kCounty:
      return AreaLevel::kTown;
    case AreaLevel::kTown:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace minyi::dashboards::json
