#include "aggregator/town_model.h"

#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <utility>

namespace minyi::aggregator {
namespace {

bool SameNumber(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

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
    auto fit = FitFayHerriot(SmallAreaTownsFromRows(group, prev, town_codes, county_of), options);
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
  const bool modelled = row->level == "town" && !std::isnan(row->estimate);
  row->model_estimate = modelled ? model.estimate : nan;
  row->model_se = modelled ? model.se : nan;
  row->model_ci_low = modelled ? model.ci_low : nan;
  row->model_ci_high = modelled ? model.ci_high : nan;
  row->model_method = modelled ? std::string(SmallAreaMethodName(model.method)) : std::string();
}

Status ApplySmallAreaModel(const std::vector<IndexRow>& previous, std::vector<IndexRow>* rows,
                           const AreaRegistry& areas, const SmallAreaOptions& options) {
  auto model = ModelTownRows(*rows, previous, areas, options);
  if (!model.ok()) return model.status();
  for (std::size_t i = 0; i < rows->size(); ++i) SetModelFigures((*model)[i], &(*rows)[i]);
  return Status::Ok();
}

bool SameModelFigures(const IndexRow& a, const IndexRow& b) {
  return SameNumber(a.model_estimate, b.model_estimate) && SameNumber(a.model_se, b.model_se) &&
         SameNumber(a.model_ci_low, b.model_ci_low) && SameNumber(a.model_ci_high, b.model_ci_high) &&
         a.model_method == b.model_method;
}

}  // namespace minyi::aggregator
