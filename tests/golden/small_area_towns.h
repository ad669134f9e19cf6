// The small-area golden suites' town table (tests/golden/small_area*/data.csv): one SmallAreaTown per row
// from the columns town, n, n_eff, estimate, se and, where the file has them, county_estimate and
// prev_estimate; the county column's codes into `county_of` when given. Empty or NA fields are NaN.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "aggregator/small_area.h"
#include "tests/golden/golden_csv.h"

namespace minyi::golden {

inline double Number(const std::string& field) {
  return field.empty() || field == "NA" ? std::numeric_limits<double>::quiet_NaN() : std::stod(field);
}

inline std::vector<aggregator::SmallAreaTown> ReadSmallAreaTowns(
    const std::string& path, std::vector<std::string>* county_of = nullptr) {
  std::vector<aggregator::SmallAreaTown> towns;
  for (const auto& row : ReadCsv(path)) {
    auto optional = [&row](const char* column) {
      const auto it = row.find(column);
      return it == row.end() ? std::numeric_limits<double>::quiet_NaN() : Number(it->second);
    };
    aggregator::SmallAreaTown t;
    t.area_code = row.at("town");
    t.n = std::stoll(row.at("n"));
    t.n_eff = t.n > 0 ? Number(row.at("n_eff")) : 0;
    t.estimate = Number(row.at("estimate"));
    t.se = Number(row.at("se"));
    t.county_estimate = optional("county_estimate");
    t.prev_estimate = optional("prev_estimate");
    towns.push_back(t);
    if (county_of != nullptr) county_of->push_back(row.at("county"));
  }
  return towns;
}

}  // namespace minyi::golden
