// A town's respondents reduced to per-cell sufficient statistics (issue 13): what the weighting and
// the estimation of aggregate.h need of a town when weights are not trimmed, in memory that does not
// grow with the number of respondents, and updatable response by response.
//
// Why this is enough (docs/methodology.md §3–§4, estimate.h): without trimming, every weighting method gives
// w_i = d_i · m_g, where m_g depends only on the respondent's (sex, age band) cell g — 1 (none),
// N / Σd (post-stratification, fallback) or r_s · c_a (raking: IPF only needs the cells' Σd) — and
// the calibration cell of i is a function of g. The fitted values f = x_iᵀB̂ are then constant per
// cell, and so is every residual of the indicator variables: per index, a cell's respondents with
// d > 0 fall into three classes (outside the domain: b = 0; in it with y = 0; with y = 1), each with
// one value of b − f_b and a − f_a. So, with the class sums of d and d²,
//   Σβ² = (1 − f_b)² Σ_D d² + f_b² Σ_out d²      Σβ = (1 − f_b) Σ_D d − f_b Σ_out d
//   Σα_y² = (1 − f)² Σ_{y=1} d² + f² Σ_{y=0} d² + f² Σ_out d²,  Σα_yβ likewise class by class,
// and for the score, whose values vary inside a class, the d²-weighted mean μ and centred sum of
// squares M2 of s over the domain (West 1979, "Updating mean and variance estimates: an improved
// method", CACM 22:532 — weighted Welford):
//   Σα_s² = M2 + Σ_D d² (μ − f_s)² + f_s² Σ_out d²,   Σα_sβ = (1 − f_b) Σ_D d² (μ − f_s) + f_s f_b Σ_out d².
// Written this way, nothing cancels: a cell whose residuals are all zero (R's se exactly 0) gives
// squares of rounding errors, not rounding errors (the expanded Σd²s² − 2fΣd²s + f²Σd² would not).
// The zero-weight and fallback rules (README) need only counts and the first respondent of each
// cell. Trimming caps individual weights and is not expressible in these sums: with trim_factor > 0
// the aggregator keeps the per-respondent path (PeriodData).
//
// Reproducible: the same responses added in the same (id) order give the same bits, whether added in
// one pass or in several (a TownSums only ever grows; withdrawals are handled by rebuilding from the
// store). Cells are kept in (sex, age band) code order, so sums across cells have a fixed order.
//
// Plain value type; not synchronised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator/compensated_sum.h"

namespace minyi::aggregator {

// One index within one cell: sums over the cell's respondents with d > 0, by class (see above).
struct CellIndexSums {
  std::int64_t n = 0;           // respondents in the domain (D)
  std::int64_t n_positive = 0;  // of them, y = 1
  CompensatedSum d;             // Σ_D d
  CompensatedSum d_y;           // Σ_D d·y
  CompensatedSum d_s;           // Σ_D d·s
  CompensatedSum d_s2;          // Σ_D d·s²
  CompensatedSum d2_y0;         // Σ_{D, y=0} d²
  CompensatedSum d2_y1;         // Σ_{D, y=1} d²
  CompensatedSum out_d;         // Σ_out d (outside the domain, d > 0)
  CompensatedSum out_d2;        // Σ_out d²
  double s_weight = 0;          // weighted Welford of s over D with weights d²: Σ d², mean μ, M2
  double s_mean = 0;
  double s_m2 = 0;
  double score_min = std::numeric_limits<double>::infinity();
  double score_max = -std::numeric_limits<double>::infinity();
};

// One (sex, age band) cell of a town.
struct CellSums {
  std::int64_t first = 0;        // ordinal (0-based, id order) of the cell's first respondent in the town
  std::int64_t respondents = 0;  // zero base weights included
  std::int64_t weighted = 0;     // d > 0
  CompensatedSum d;              // Σ d
  CompensatedSum d2;             // Σ d²
  std::vector<CellIndexSums> indices;
};

struct TownSums {
  std::string code;  // town, and its parents' codes (roll-up keys)
  std::string county;
  std::string city;
  std::string province;
  std::int64_t respondents = 0;
  std::int64_t last_response_id = 0;                    // the highest response id added
  std::int64_t response_id_sum = 0;                     // Σ of the ids added (TownActivity's fingerprint)
  std::int64_t unknown_codes = 0;                       // answers with a code the question does not have
  std::uint64_t response_hash = 0xcbf29ce484222325ULL;  // FNV-1a 64 state over the responses (run.h)
  std::map<std::pair<std::string, std::string>, CellSums> cells;  // by (sex code, age-band code); "" = blank

  // Adds one respondent: base weight d ≥ 0 (finite), its sex and age-band codes, and per index
  // (`positive`, `score`: index_count values each) the outcome as in PeriodData. The response hash
  // is the caller's (it hashes the raw codes).
  void Add(std::int64_t response_id, double d, std::string_view sex, std::string_view age,
           const std::uint8_t* positive, const double* score, std::size_t index_count);

  // Heap bytes held (approximate), for the cache bound of the live aggregator.
  std::size_t ApproximateBytes() const;
};

}  // namespace minyi::aggregator
