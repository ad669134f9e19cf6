// Population margins per (year, town) — the figures responses are weighted to (docs/methodology.md §3.1).
//
// A town's margins are its total and, optionally, populations by sex and by age band (the option
// codes of the reserved questions `sex` and `age_band`). Cells not listed form each margin's
// "unknown" cell: total − Σ listed, which is where respondents with a blank sex or age band belong.
//
// Validity (checked by ValidateTownMargins and by PopulationTable::Build):
//  - every population is a whole number of people, 0 ≤ population ≤ MaxPopulation(kTown) (a
//    plausibility cap, below); a cell sets at most one of sex / age band;
//  - a town with any sex or age-band cell has a town total;
//  - the listed cells of a margin add up to no more than the town total (a relative slack of 1e-9
//    absorbs rounding in the producer's figures; the unknown cell is then clamped to 0).
//
// Immutable after building; safe to share between threads.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/areas.h"
#include "core/ports.h"
#include "core/status.h"

namespace minyi {

// Plausibility caps on the population of one area, by level (README "Data formats accepted"). They are
// far above any real figure, so that only typing and unit errors (1e26, a figure in 万 read as people,
// an extra row of zeros) are stopped, never a real area. China's 2020 census (第七次全国人口普查)
// gives the largest province (广东, 126.0 million), the largest city-level area (重庆, 32.1 million) and
// the largest county-level area (上海浦东新区, 5.7 million); no town or subdistrict comes near 5 million.
//   town 5,000,000 · county 20,000,000 · city 40,000,000 · province 200,000,000.
// A base weight d_i (the number of people a respondent stands for) is bounded by the town cap too.
double MaxPopulation(AreaLevel level);

// One population figure of an area of `level`: a finite whole number, 0 ≤ value ≤ MaxPopulation(level).
// kInvalidInput with the reason ("population 1e+26 is more than 5000000, the cap for a town").
Status ValidatePopulationFigure(double value, AreaLevel level);

// The shortest text that reads back as the same figure ("52000", "1234.5", "1e+26").
std::string PopulationFigureText(double value);

struct TownMargins {
  int year = 0;
  std::string town_code;
  bool has_total = false;
  double total = 0;
  std::map<std::string, double> by_sex;       // listed cells, by sex option code
  std::map<std::string, double> by_age_band;  // listed cells, by age-band option code

  // Sets (or replaces) the cell's value in the matching margin. The cell's year and town are not
  // checked against this town's (callers group cells first); a cell with both sex and age band set
  // is kInvalidInput.
  Status Set(const PopulationCell& cell);

  // total − Σ listed, clamped at 0; 0 when no total is known.
  double UnknownSex() const;
  double UnknownAgeBand() const;

  // A margin as raking uses it: every listed cell plus the unknown cell under the key "" (the code of
  // a blank answer). Empty when the margin has no listed cells (the margin is not known).
  std::map<std::string, double> SexCells() const;
  std::map<std::string, double> AgeBandCells() const;

  // The margins back as cells, ordered as PopulationSource returns them (total, age bands, sexes —
  // i.e. by (sex, age_band) with "" first).
  std::vector<PopulationCell> ToCells() const;
};

// Problems of one town's margins (empty: valid). Reasons are English sentences naming the margin and
// figures ("sex cells add up to 52000 which is more than the town total 50000").
std::vector<std::string> ValidateTownMargins(const TownMargins& margins);

// Shape checks of one cell, independent of the others: year 1990..2100, 9-digit town code, population
// as ValidatePopulationFigure(kTown), not both sex and age band. kInvalidInput with the reason.
Status ValidatePopulationCell(const PopulationCell& cell);

struct TownProblem {
  int year = 0;
  std::string town_code;
  std::string reason;
};

// An area whose towns' totals add up to more than its level's cap.
struct AreaPopulationProblem {
  std::string area_code;
  AreaLevel level = AreaLevel::kCounty;
  double sum = 0;      // Σ town totals inside the area
  std::string reason;  // "county 320102 (玄武区): the town totals add up to 25000000, more than ..."
};

// Sums `town_totals` (town code → total) into every county, city and province of `areas` and lists
// those over MaxPopulation(level), ordered by area code. Towns unknown to `areas` are ignored.
std::vector<AreaPopulationProblem> CheckAreaPopulations(const std::map<std::string, double>& town_totals,
                                                        const AreaRegistry& areas);

// The margins of many towns and years, looked up by (year, town).
class PopulationTable {
 public:
  using Key = std::pair<int, std::string>;  // (year, town code)

  // Groups the cells by (year, town) — later cells replace earlier cells with the same key — and keeps
  // every town whose cells and margins are valid. Invalid towns are left out and, when `problems` is
  // given, listed there (one entry per problem).
  static PopulationTable Build(const std::vector<PopulationCell>& cells, std::vector<TownProblem>* problems);
  // As Build, but any problem is an error: kInvalidInput listing the problems, one per line.
  static Result<PopulationTable> FromCells(const std::vector<PopulationCell>& cells);

  // nullptr when the town has no margins for that year.
  const TownMargins* Find(int year, std::string_view town_code) const;
  // Every town's margins, ordered by (year, town).
  const std::map<Key, TownMargins>& towns() const { return towns_; }
  std::size_t size() const { return towns_.size(); }

 private:
  std::map<Key, TownMargins> towns_;
};

}  // namespace minyi
