#include "core/population.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace minyi {
namespace {

double SumCells(const std::map<std::string, double>& cells) {
  double sum = 0;
  for (const auto& [code, value] : cells) sum += value;
  return sum;
}

std::string Figure(double value) { return PopulationFigureText(value); }

bool ExceedsTotal(double sum, double total) { return sum > total + 1e-9 * std::max(1.0, std::fabs(total)); }

std::map<std::string, double> WithUnknown(const std::map<std::string, double>& listed, double unknown) {
  if (listed.empty()) return {};
  std::map<std::string, double> cells = listed;
  cells[""] = unknown;
  return cells;
}

bool IsNineDigits(std::string_view code) {
  return code.size() == 9 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

double MaxPopulation(AreaLevel level) {
  switch (level) {
    case AreaLevel::kTown:
      return 5'000'000;
    case AreaLevel::kCounty:
      return 20'000'000;
    case AreaLevel::kCity:
      return 40'000'000;
    case AreaLevel::kProvince:
      return 200'000'000;
  }
  return 0;
}

std::string PopulationFigureText(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", value);
  return buf;
}

Status ValidatePopulationFigure(double value, AreaLevel level) {
  if (!std::isfinite(value)) return Status::InvalidInput("population is not a finite number");
  if (value < 0) return Status::InvalidInput("population " + Figure(value) + " is negative");
  if (value != std::floor(value)) {
    return Status::InvalidInput("population " + Figure(value) + " is not a whole number of people");
  }
  if (value > MaxPopulation(level)) {
    return Status::InvalidInput("population " + Figure(value) + " is more than " +
                                Figure(MaxPopulation(level)) + ", the cap for a " +
                                std::string(AreaLevelName(level)));
  }
  return Status::Ok();
}

std::vector<AreaPopulationProblem> CheckAreaPopulations(const std::map<std::string, double>& town_totals,
                                                        const AreaRegistry& areas) {
  std::map<std::string, double> sums;  // county, city and province code → Σ town totals
  for (const auto& [town, total] : town_totals) {
    if (!areas.IsTown(town)) continue;
    for (const Area* a = areas.Parent(town); a != nullptr; a = areas.Parent(a->code)) sums[a->code] += total;
  }
  std::vector<AreaPopulationProblem> problems;
  for (const auto& [code, sum] : sums) {
    const Area* area = areas.Find(code);
    const double cap = MaxPopulation(area->level);
    if (sum <= cap) continue;
    const std::string level(AreaLevelName(area->level));
    problems.push_back({code, area->level, sum,
                        level + " " + code + " (" + area->name + "): its town totals add up to " +
                            Figure(sum) + ", more than " + Figure(cap) + ", the cap for a " + level});
  }
  return problems;
}

Status TownMargins::Set(const PopulationCell& cell) {
  if (!cell.sex.empty() && !cell.age_band.empty()) {
    return Status::InvalidInput("a population cell sets either sex or age band, not both");
  }
  if (!cell.sex.empty()) {
    by_sex[cell.sex] = cell.population;
  } else if (!cell.age_band.empty()) {
    by_age_band[cell.age_band] = cell.population;
  } else {
    has_total = true;
    total = cell.population;
  }
  return Status::Ok();
}

double TownMargins::UnknownSex() const { return has_total ? std::max(0.0, total - SumCells(by_sex)) : 0.0; }

double TownMargins::UnknownAgeBand() const {
  return has_total ? std::max(0.0, total - SumCells(by_age_band)) : 0.0;
}

std::map<std::string, double> TownMargins::SexCells() const { return WithUnknown(by_sex, UnknownSex()); }

std::map<std::string, double> TownMargins::AgeBandCells() const {
  return WithUnknown(by_age_band, UnknownAgeBand());
}

std::vector<PopulationCell> TownMargins::ToCells() const {
  std::vector<PopulationCell> cells;
  if (has_total) cells.push_back({year, town_code, "", "", total});
  for (const auto& [code, value] : by_age_band) cells.push_back({year, town_code, "", code, value});
  for (const auto& [code, value] : by_sex) cells.push_back({year, town_code, code, "", value});
  return cells;
}

std::vector<std::string> ValidateTownMargins(const TownMargins& margins) {
  std::vector<std::string> problems;
  auto check_value = [&](const std::string& what, double value) {
    Status status = ValidatePopulationFigure(value, AreaLevel::kTown);
    if (!status.ok()) problems.push_back(what + ": " + status.message());
  };
  if (margins.has_total) check_value("the town total", margins.total);
  for (const auto& [code, value] : margins.by_sex) check_value("sex cell " + code, value);
  for (const auto& [code, value] : margins.by_age_band) check_value("age-band cell " + code, value);
  if (!problems.empty()) return problems;

  const bool has_cells = !margins.by_sex.empty() || !margins.by_age_band.empty();
  if (!margins.has_total) {
    if (has_cells) problems.push_back("sex or age-band cells are given without a town total");
    return problems;
  }
  auto check_margin = [&](const char* name, const std::map<std::string, double>& cells) {
    const double sum = SumCells(cells);
    if (ExceedsTotal(sum, margins.total)) {
      problems.push_back(std::string(name) + " cells add up to " + Figure(sum) + ", which is more than the town total " +
                         Figure(margins.total));
    }
  };
  check_margin("sex", margins.by_sex);
  check_margin("age-band", margins.by_age_band);
  return problems;
}

Status ValidatePopulationCell(const PopulationCell& cell) {
  if (cell.year < 1990 || cell.year > 2100) {
    return Status::InvalidInput("year " + std::to_string(cell.year) + " is outside 1990..2100");
  }
  if (!IsNineDigits(cell.town_code)) {
    return Status::InvalidInput("town '" + cell.town_code + "' is not a 9-digit town code");
  }
  if (!cell.sex.empty() && !cell.age_band.empty()) {
    return Status::InvalidInput("a population cell sets either sex or age band, not both");
  }
  return ValidatePopulationFigure(cell.population, AreaLevel::kTown);
}

PopulationTable PopulationTable::Build(const std::vector<PopulationCell>& cells, std::vector<TownProblem>* problems) {
  std::map<Key, TownMargins> grouped;
  std::map<Key, std::vector<std::string>> bad;
  for (const PopulationCell& cell : cells) {
    Key key(cell.year, cell.town_code);
    Status status = ValidatePopulationCell(cell);
    if (!status.ok()) {
      bad[key].push_back(status.message());
      continue;
    }
    TownMargins& town = grouped[key];
    town.year = cell.year;
    town.town_code = cell.town_code;
    status = town.Set(cell);  // shape already checked; cannot fail here
    if (!status.ok()) bad[key].push_back(status.message());
  }

  PopulationTable table;
  for (auto& [key, town] : grouped) {
    std::vector<std::string> reasons = ValidateTownMargins(town);
    if (reasons.empty() && bad.count(key) == 0) {
      table.towns_.emplace(key, std::move(town));
    } else {
      auto& list = bad[key];
      list.insert(list.end(), reasons.begin(), reasons.end());
    }
  }
  if (problems != nullptr) {
    for (const auto& [key, reasons] : bad) {
      for (const std::string& reason : reasons) problems->push_back({key.first, key.second, reason});
    }
  }
  return table;
}

Result<PopulationTable> PopulationTable::FromCells(const std::vector<PopulationCell>& cells) {
  std::vector<TownProblem> problems;
  PopulationTable table = Build(cells, &problems);
  if (problems.empty()) return table;
  std::string message = "invalid population margins:";
  for (const TownProblem& p : problems) {
    message += "\n" + std::to_string(p.year) + " " + p.town_code + ": " + p.reason;
  }
  return Status::InvalidInput(std::move(message));
}

const TownMargins* PopulationTable::Find(int year, std::string_view town_code) const {
  auto it = towns_.find(Key(year, std::string(town_code)));
  return it == towns_.end() ? nullptr : &it->second;
}

}  // namespace minyi
