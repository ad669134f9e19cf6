#include "aggregator/town_model.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace minyi::aggregator {
namespace {

bool SameNumber(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// The n = 0 town row of `town` beside `county` (a county row of the same survey, period and index): no direct
// figures (NaN, ci_method "none", suppressed as low_n), the county row's survey, versions and time.
IndexRow TownWithoutRespondents(const IndexRow& county, const std::string& town) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  IndexRow row;
  row.survey_id = county.survey_id;
  row.period = county.period;
  row.level = "town";
  row.area_code = town;
  row.index_id = county.index_id;
  row.n = 0;
  row.n_eff = 0;
  row.sum_w = 0;
  for (double* x : {&row.estimate, &row.se, &row.ci_low, &row.ci_high, &row.score, &row.score_se,
                    &row.score_ci_low, &row.score_ci_high, &row.deff, &row.change, &row.change_se}) {
    *x = nan;
  }
  row.ci_method = "none";
  row.low_n = true;
  row.weighting = "none";
  row.change_significant = false;
  row.definition_version = county.definition_version;
  row.population_version = county.population_version;
  row.response_count = 0;
  row.response_hash = std::string(16, '0');  // HashHex(0): the hash of no responses
  row.code_version = county.code_version;
  row.computed_at_ms = county.computed_at_ms;
  return row;
}

// FitFayHerriot over `towns`. The missing-indicator rule (docs/small_area.md, "Covariates") gives a town
// without a previous-year figure its own intercept only when some town with respondents lacks one too; when
// every sampled town has one, the fit has a "prev" column and no indicator, and a town without respondents
// and without a previous-year figure would get no figure (kNone). Such towns get instead the synthetic
// estimate of the same towns fitted again without the previous-year column (county share only).
Result<SmallAreaFit> FitTowns(const std::vector<SmallAreaTown>& towns, const SmallAreaOptions& options) {
  auto fit = FitFayHerriot(towns, options);
  if (!fit.ok() || !fit->used) return fit;
  std::vector<std::size_t> without_covariate;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaTown& t = towns[i];
    if (t.n == 0 && std::isnan(t.prev_estimate) && !std::isnan(t.county_estimate) &&
        fit->towns_out[i].method == SmallAreaMethod::kNone) {
      without_covariate.push_back(i);
    }
  }
  if (without_covariate.empty()) return fit;
  std::vector<SmallAreaTown> reduced = towns;
  for (SmallAreaTown& t : reduced) t.prev_estimate = std::numeric_limits<double>::quiet_NaN();
  auto county_only = FitFayHerriot(reduced, options);
  if (!county_only.ok()) return county_only.status();
  if (!county_only->used) return fit;
  for (std::size_t i : without_covariate) fit->towns_out[i] = county_only->towns_out[i];
  return fit;
}

}  // namespace

Result<std::vector<SmallAreaEstimate>> ModelTownRows(const std::vector<IndexRow>& rows,
                                                     const std::vector<IndexRow>& previous,
                                                     const AreaRegistry& areas,
                                                     const SmallAreaOptions& options) {
  std::vector<std::string> town_codes;
  std::vector<std::string> county_of;
  for (const Area* town : areas.Towns()) {
    town_codes.push_back(town->code);
    county_of.push_back(town->parent_code);
  }
  std::map<std::string, std::size_t> town_position;
  for (std::size_t t = 0; t < town_codes.size(); ++t) town_position[town_codes[t]] = t;
  // Row positions by (period, index); the model's towns are every registry town.
  using Key = std::pair<Period, std::string>;
  std::map<Key, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < rows.size(); ++i) groups[{rows[i].period, rows[i].index_id}].push_back(i);
  std::map<Key, std::vector<IndexRow>> earlier;  // town rows of `previous` by (period, index)
  for (const IndexRow& r : previous) {
    if (r.level == "town") earlier[{r.period, r.index_id}].push_back(r);
  }
  std::vector<SmallAreaEstimate> out(rows.size());
  for (const auto& [key, positions] : groups) {
    std::vector<IndexRow> group;
    group.reserve(positions.size());
    for (std::size_t i : positions) group.push_back(rows[i]);
    const Key year_earlier{Period{key.first.year - 1, key.first.quarter}, key.second};
    std::vector<IndexRow> prev;
    if (const auto p = groups.find(year_earlier); p != groups.end()) {
      for (std::size_t i : p->second) prev.push_back(rows[i]);
    } else if (const auto e = earlier.find(year_earlier); e != earlier.end()) {
      prev = e->second;
    }
    auto fit = FitTowns(SmallAreaTownsFromRows(group, prev, town_codes, county_of), options);
    if (!fit.ok()) return fit.status().WithContext(key.first.ToString() + " index " + key.second);
    for (std::size_t i : positions) {
      if (rows[i].level != "town") continue;
      if (const auto t = town_position.find(rows[i].area_code); t != town_position.end()) {
        out[i] = fit->towns_out[t->second];
      }
    }
  }
  return out;
}

Result<std::vector<SmallAreaEstimate>> ModelTownRows(const std::vector<IndexRow>& rows,
                                                     const AreaRegistry& areas,
                                                     const SmallAreaOptions& options) {
  return ModelTownRows(rows, {}, areas, options);
}

void SetModelFigures(const SmallAreaEstimate& model, IndexRow* row) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // A town row without respondents (n = 0: no direct share) gets the synthetic figure, or "none".
  const bool modelled = row->level == "town" && (!std::isnan(row->estimate) || row->n == 0);
  row->model_estimate = modelled ? model.estimate : nan;
  row->model_se = modelled ? model.se : nan;
  row->model_ci_low = modelled ? model.ci_low : nan;
  row->model_ci_high = modelled ? model.ci_high : nan;
  row->model_method = modelled ? std::string(SmallAreaMethodName(model.method)) : std::string();
}

void AddTownsWithoutRespondents(const AreaRegistry& areas, std::vector<IndexRow>* rows) {
  using Key = std::pair<Period, std::string>;
  std::map<Key, std::set<std::string>> with_row;                  // town codes with a row, by (period, index)
  std::map<Key, std::map<std::string, const IndexRow*>> covered;  // county rows with a share
  std::map<std::string, std::size_t> index_order;                 // the indices' order within a town's rows
  for (const IndexRow& r : *rows) {
    index_order.emplace(r.index_id, index_order.size());
    if (r.level == "town") with_row[{r.period, r.index_id}].insert(r.area_code);
    if (r.level == "county" && r.n > 0 && !std::isnan(r.estimate))
      covered[{r.period, r.index_id}][r.area_code] = &r;
  }
  std::vector<IndexRow> added;
  for (const auto& [key, counties] : covered) {
    const std::set<std::string>& present = with_row[key];
    for (const Area* town : areas.Towns()) {
      const auto county = counties.find(town->parent_code);
      if (county != counties.end() && present.count(town->code) == 0)
        added.push_back(TownWithoutRespondents(*county->second, town->code));
    }
  }
  if (added.empty()) return;
  // Merged into the town rows in code order (a period's town rows are sorted by code, each town's rows in
  // the order of the indices), so the CSV and every consumer see one ordered list.
  std::sort(added.begin(), added.end(), [&](const IndexRow& a, const IndexRow& b) {
    return std::tie(a.period, a.area_code, index_order[a.index_id]) <
           std::tie(b.period, b.area_code, index_order[b.index_id]);
  });
  std::vector<IndexRow> merged;
  merged.reserve(rows->size() + added.size());
  std::size_t k = 0;
  for (IndexRow& r : *rows) {
    while (k < added.size() && added[k].period == r.period &&
           (r.level != "town" || added[k].area_code < r.area_code)) {
      merged.push_back(std::move(added[k++]));
    }
    merged.push_back(std::move(r));
  }
  for (; k < added.size(); ++k) merged.push_back(std::move(added[k]));
  *rows = std::move(merged);
}

Status ApplySmallAreaModel(const std::vector<IndexRow>& previous, std::vector<IndexRow>* rows,
                           const AreaRegistry& areas, const SmallAreaOptions& options) {
  std::vector<IndexRow> with_empty_towns = *rows;
  AddTownsWithoutRespondents(areas, &with_empty_towns);
  auto model = ModelTownRows(with_empty_towns, previous, areas, options);
  if (!model.ok()) return model.status();
  for (std::size_t i = 0; i < with_empty_towns.size(); ++i)
    SetModelFigures((*model)[i], &with_empty_towns[i]);
  *rows = std::move(with_empty_towns);
  return Status::Ok();
}

bool SameModelFigures(const IndexRow& a, const IndexRow& b) {
  return SameNumber(a.model_estimate, b.model_estimate) && SameNumber(a.model_se, b.model_se) &&
         SameNumber(a.model_ci_low, b.model_ci_low) && SameNumber(a.model_ci_high, b.model_ci_high) &&
         a.model_method == b.model_method;
}

}  // namespace minyi::aggregator
