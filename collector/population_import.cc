#include "collector/population_import.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "collector/text_util.h"
#include "core/csv.h"
#include "core/population.h"

namespace minyi::collector {
namespace {

struct Columns {
  std::size_t period = 0, town = 0, sex = 0, age_band = 0, population = 0, count = 0;
};

Result<Columns> ParseHeader(const std::vector<std::string>& header) {
  Columns columns;
  columns.count = header.size();
  const std::map<std::string, std::size_t Columns::*> wanted = {
      {"period", &Columns::period}, {"town", &Columns::town},           {"sex", &Columns::sex},
      {"age_band", &Columns::age_band}, {"population", &Columns::population},
  };
  std::map<std::string, std::size_t> seen;
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string name = AsciiLower(Trim(header[i]));
    auto it = wanted.find(name);
    if (it == wanted.end()) {
      problems.push_back("column \"" + name + "\" is not one of period, town, sex, age_band, population");
    } else if (!seen.emplace(name, i).second) {
      problems.push_back("column \"" + name + "\" appears more than once");
    } else {
      columns.*(it->second) = i;
    }
  }
  for (const auto& [name, member] : wanted) {
    if (seen.count(name) == 0) problems.push_back("missing required column \"" + name + "\"");
  }
  if (!problems.empty()) {
    std::string message = "header (line 1): ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i > 0 ? "; " : "") + problems[i];
    return Status::InvalidInput(std::move(message));
  }
  return columns;
}

std::string StripLinePrefix(const std::string& message) {
  if (message.rfind("line ", 0) == 0) {
    const std::size_t colon = message.find(": ");
    if (colon != std::string::npos) return message.substr(colon + 2);
  }
  return message;
}

std::string JoinCodes(const std::set<std::string>& codes) {
  std::string out;
  for (const std::string& c : codes) out += (out.empty() ? "" : ", ") + c;
  return out.empty() ? "none defined" : out;
}

using TownKey = std::pair<int, std::string>;  // (year, town)

struct TownEntry {
  std::vector<std::pair<PopulationCell, std::size_t>> cells;  // with their lines
  std::size_t first_line = 0;
  std::vector<std::size_t> bad_lines;
};

std::string LineList(const std::vector<std::size_t>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size() && i < 10; ++i) out += (i > 0 ? ", " : "") + std::to_string(lines[i]);
  if (lines.size() > 10) out += ", ...";
  return out;
}

std::string YearList(const std::vector<int>& years) {
  std::string out;
  for (int y : years) out += (out.empty() ? "" : ", ") + std::to_string(y);
  return out;
}

using TownMap = std::map<TownKey, TownEntry>;

struct YearCells {
  std::vector<PopulationCell> cells;  // to store
  std::size_t towns = 0;              // town-years they belong to
};

// The town and area checks of one year: the file's town-years [first, last) of `year` merged over the
// year's `stored` cells. Rejected town-years are counted in `report` and explained in `issues`.
YearCells CheckYear(int year, TownMap::const_iterator first, TownMap::const_iterator last,
                    const std::vector<PopulationCell>& stored, const AreaRegistry& areas,
                    PopulationImportReport& report, IssueList& issues) {
  std::map<std::string, TownMargins> stored_towns;
  for (const PopulationCell& cell : stored) {
    TownMargins& m = stored_towns[cell.town_code];
    m.year = year;
    m.town_code = cell.town_code;
    (void)m.Set(cell);  // stored cells were validated when they were imported
  }

  // Towns whose own margins pass, with their merged totals; stored totals stand for the other towns.
  std::map<std::string, const TownEntry*> passing;
  std::map<std::string, double> totals;
  for (const auto& [town_code, margins] : stored_towns) {
    if (margins.has_total) totals[town_code] = margins.total;
  }
  for (auto it = first; it != last; ++it) {
    const std::string& town_code = it->first.second;
    const TownEntry& entry = it->second;
    const std::string ref = std::to_string(year) + " " + town_code;
    if (!entry.bad_lines.empty()) {
      ++report.towns_rejected;
      issues.Add({entry.first_line, ref,
                  "town not stored: its line(s) " + LineList(entry.bad_lines) + " are invalid"});
      continue;
    }
    TownMargins merged;
    auto found = stored_towns.find(town_code);
    if (found != stored_towns.end()) merged = found->second;
    merged.year = year;
    merged.town_code = town_code;
    for (const auto& [cell, line] : entry.cells) (void)merged.Set(cell);  // shape checked above
    std::vector<std::string> problems = ValidateTownMargins(merged);
    if (!problems.empty()) {
      ++report.towns_rejected;
      std::string reason = "town not stored: ";
      for (std::size_t i = 0; i < problems.size(); ++i) reason += (i > 0 ? "; " : "") + problems[i];
      if (found != stored_towns.end()) reason += " (including cells already stored for this year)";
      issues.Add({entry.first_line, ref, std::move(reason)});
      continue;
    }
    passing.emplace(town_code, &entry);
    totals[town_code] = merged.total;
  }

  // Area checks: a county, city or the province whose town totals would exceed its cap keeps the file's
  // towns inside it out (which of them is wrong cannot be told; each is named).
  YearCells out;
  const std::vector<AreaPopulationProblem> area_problems = CheckAreaPopulations(totals, areas);
  for (const auto& [town_code, entry] : passing) {
    std::string reason;
    for (const AreaPopulationProblem& problem : area_problems) {
      if (areas.Contains(problem.area_code, town_code)) {
        reason += (reason.empty() ? "" : "; ") + problem.reason;
      }
    }
    if (!reason.empty()) {
      ++report.towns_rejected;
      issues.Add({entry->first_line, std::to_string(year) + " " + town_code, "town not stored: " + reason});
      continue;
    }
    ++out.towns;
    for (const auto& [cell, line] : entry->cells) out.cells.push_back(cell);
  }
  return out;
}

}  // namespace

DemographicCodes DemographicCodesFromCatalog(const SurveyCatalog& catalog) {
  DemographicCodes codes;
  for (const auto& definition : catalog.All()) {
    for (const Question& q : definition->questions) {
      std::set<std::string>* target = q.code == kSexQuestion        ? &codes.sex
                                      : q.code == kAgeBandQuestion ? &codes.age_band
                                                                   : nullptr;
      if (target == nullptr) continue;
      for (const Option& option : q.options) {
        if (!option.missing) target->insert(option.code);
      }
    }
  }
  return codes;
}

Result<PopulationImportReport> ImportPopulationCsv(std::istream& in, const AreaRegistry& areas,
                                                   const DemographicCodes& codes, PopulationSource& existing,
                                                   PopulationSink& sink, const PopulationImportOptions& options) {
  CsvReader reader(in);
  std::vector<std::string> fields;
  Status csv_error;
  do {
    if (!reader.Next(fields, &csv_error)) return Status::InvalidInput("empty file: no header line");
    if (!csv_error.ok()) return Status::InvalidInput("header: " + StripLinePrefix(csv_error.message()));
  } while (fields.empty());
  Result<Columns> parsed_columns = ParseHeader(fields);
  if (!parsed_columns.ok()) return parsed_columns.status();
  const Columns columns = *parsed_columns;

  PopulationImportReport report;
  IssueList issues(options.max_issues);
  TownMap towns;
  std::map<std::tuple<int, std::string, std::string, std::string>, std::size_t> cell_lines;

  while (reader.Next(fields, &csv_error)) {
    if (fields.empty() && csv_error.ok()) continue;
    ++report.records;
    const std::size_t line = reader.line();
    auto reject = [&](const std::string& ref, std::string reason, TownEntry* town) {
      ++report.rejected_lines;
      issues.Add({line, ref, std::move(reason)});
      if (town != nullptr) town->bad_lines.push_back(line);
    };
    if (!csv_error.ok()) {
      reject("", StripLinePrefix(csv_error.message()), nullptr);
      continue;
    }
    if (fields.size() != columns.count) {
      reject("", "has " + std::to_string(fields.size()) + " fields, the header has " + std::to_string(columns.count),
             nullptr);
      continue;
    }
    const std::string_view period_text = Trim(fields[columns.period]);
    const std::string town_code(Trim(fields[columns.town]));
    Result<Period> period = Period::Parse(period_text);
    if (!period.ok()) {
      reject(town_code, "period: " + period.status().message(), nullptr);
      continue;
    }
    if (period->quarter != 0) {
      reject(town_code, "period " + period->ToString() + ": population margins are per year (write the year only)",
             nullptr);
      continue;
    }
    const std::string ref = std::to_string(period->year) + " " + town_code;
    if (town_code.size() != 9 || !std::all_of(town_code.begin(), town_code.end(), [](char c) {
          return c >= '0' && c <= '9';
        })) {
      reject(ref, "town \"" + town_code + "\" is not a 9-digit town code", nullptr);
      continue;
    }
    if (!areas.IsTown(town_code)) {
      reject(ref, "town " + town_code + " is not a known town", nullptr);
      continue;
    }
    TownEntry& town = towns[{period->year, town_code}];
    if (town.first_line == 0) town.first_line = line;

    PopulationCell cell;
    cell.year = period->year;
    cell.town_code = town_code;
    cell.sex = std::string(Trim(fields[columns.sex]));
    cell.age_band = std::string(Trim(fields[columns.age_band]));
    std::vector<std::string> reasons;
    if (!cell.sex.empty() && !cell.age_band.empty()) {
      reasons.push_back("sex and age_band are both set; a row is a town total, a sex cell or an age-band cell");
    }
    if (!cell.sex.empty() && codes.sex.count(cell.sex) == 0) {
      reasons.push_back("sex \"" + cell.sex + "\" is not a sex code (" + JoinCodes(codes.sex) + ")");
    }
    if (!cell.age_band.empty() && codes.age_band.count(cell.age_band) == 0) {
      reasons.push_back("age_band \"" + cell.age_band + "\" is not an age-band code (" + JoinCodes(codes.age_band) +
                        ")");
    }
    const std::string_view population_text = Trim(fields[columns.population]);
    std::optional<double> population = ParseDouble(population_text);
    if (!population || std::isnan(*population)) {
      reasons.push_back("population \"" + std::string(population_text) + "\" is not a number");
    } else if (Status plausible = ValidatePopulationFigure(*population, AreaLevel::kTown); !plausible.ok()) {
      reasons.push_back(plausible.message() + " (written \"" + std::string(population_text) + "\")");
    } else {
      cell.population = *population;
    }
    if (reasons.empty()) {
      auto [it, inserted] = cell_lines.emplace(std::make_tuple(cell.year, cell.town_code, cell.sex, cell.age_band), line);
      if (!inserted) reasons.push_back("the same cell is already given on line " + std::to_string(it->second));
    }
    if (!reasons.empty()) {
      std::string joined;
      for (std::size_t i = 0; i < reasons.size(); ++i) joined += (i > 0 ? "; " : "") + reasons[i];
      reject(ref, std::move(joined), &town);
      continue;
    }
    town.cells.emplace_back(std::move(cell), line);
  }

  // Town checks, year by year, over the stored margins merged with the file's cells.
  std::vector<int> years_stored;
  auto it = towns.begin();
  while (it != towns.end()) {
    const int year = it->first.first;
    Result<std::vector<PopulationCell>> stored = existing.LoadPopulation(year);
    if (!stored.ok()) {
      return Status(stored.status().code(), "reading the stored population of " + std::to_string(year) +
                                                " failed: " + stored.status().message() +
                                                (years_stored.empty() ? std::string()
                                                                      : "; years already stored: " +
                                                                            YearList(years_stored)));
    }
    auto last = it;
    while (last != towns.end() && last->first.first == year) ++last;
    const YearCells checked = CheckYear(year, it, last, *stored, areas, report, issues);
    it = last;
    const std::vector<PopulationCell>& upsert = checked.cells;
    const std::size_t towns_in_year = checked.towns;
    if (!upsert.empty()) {
      Status status = sink.UpsertPopulation(upsert);
      if (!status.ok()) {
        std::string message = "storing the population of " + std::to_string(year) + " failed: " + status.message();
        if (!years_stored.empty()) message += "; years already stored: " + YearList(years_stored);
        message += "; re-running the import is safe";
        spdlog::warn("population import: {}", message);
        return Status(status.code(), std::move(message));
      }
      years_stored.push_back(year);
      report.towns_stored += towns_in_year;
      report.cells_stored += upsert.size();
    }
  }

  // Issues were added in two passes (lines, then towns); present them in line order.
  report.issues_dropped = issues.dropped();
  report.issues = issues.TakeIssues();
  std::stable_sort(report.issues.begin(), report.issues.end(),
                   [](const ImportIssue& a, const ImportIssue& b) { return a.line < b.line; });
  return report;
}

std::string FormatPopulationImportReport(const PopulationImportReport& report, const std::string& source_name) {
  std::string out = (source_name.empty() ? std::string("population") : source_name) + ": " +
                    std::to_string(report.records) + " records, " + std::to_string(report.rejected_lines) +
                    " bad lines; " + std::to_string(report.towns_stored) + " town-years stored (" +
                    std::to_string(report.cells_stored) + " cells), " + std::to_string(report.towns_rejected) +
                    " town-years rejected\n";
  out += FormatIssues(report.issues, report.issues_dropped, "");
  return out;
}

}  // namespace minyi::collector
