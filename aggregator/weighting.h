// Weighting one period's respondents to the population, town by town (docs/methodology.md §3):
// post-stratification on the town total, or raking (iterative proportional fitting) on town × sex and
// town × age band, with a flagged fall-back to post-stratification when a town cannot be raked, and
// optional trimming.
//
// Besides the weights w_i, the result records each respondent's calibration cells (the x_i of the
// variance estimator, docs/methodology.md §4.3): raked towns use their sex and age-band cells,
// post-stratified and fallback towns the town itself, towns without a population total none.
//
// Pure functions over plain values; safe to call from several threads on different outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/period_data.h"
#include "aggregator/town_sums.h"
#include "core/population.h"
#include "core/status.h"

namespace minyi::aggregator {

enum class Weighting {
  kNone,       // no population total for the town: w = d, not calibrated
  kPostStrat,  // only the town total is known (or margins disabled): w = d · N / Σd
  kRaking,     // raked on the town's sex and/or age-band margins
  kFallback,   // margins known but the town cannot be raked: post-stratified on its total, flagged
};
// "none", "poststrat", "raking", "fallback".
std::string_view WeightingName(Weighting weighting);

struct WeightingOptions {
  bool rake = true;          // use sex / age-band margins when the population has them
  int max_sweeps = 100;      // IPF sweeps before declaring non-convergence
  double tolerance = 1e-10;  // converged when max_c |Σ_{i∈c} w_i − N_c| / N_c < tolerance
  double trim_factor = 0;  // 0: no trimming; otherwise ≥ 1, cap at trim_factor × the town's median weight

  Status Validate() const;  // kInvalidInput for out-of-range settings
};

struct TownWeighting {
  Weighting method = Weighting::kNone;
  std::string note;             // why the town fell back or was not weighted; empty otherwise
  int sweeps = 0;               // IPF sweeps used (raking)
  double margin_error = 0;      // max relative margin error of the final weights (raking; after trimming)
  std::int64_t trimmed = 0;     // respondents capped by trimming
  std::int64_t n = 0;           // respondents, zero weights included
  std::int64_t n_weighted = 0;  // respondents with w > 0
  double sum_w = 0;
  double sum_w2 = 0;
  double n_eff = std::numeric_limits<double>::quiet_NaN();   // Kish: (Σw)² / Σw²
  double deff_w = std::numeric_limits<double>::quiet_NaN();  // n_weighted · Σw² / (Σw)²
  // The calibration model (x_i): respondent cells of factor 1 (sex, or age band when only that margin
  // is used, or the town itself) and factor 2 (age band when both margins are used). 0 cells: none.
  int cells1 = 0;
  int cells2 = 0;
};

struct PeriodWeights {
  std::vector<double> w;             // per respondent
  std::vector<std::int16_t> cell1;   // per respondent, in [0, cells1) of its town; -1 when cells1 == 0
  std::vector<std::int16_t> cell2;   // per respondent, in [0, cells2) of its town; -1 when cells2 == 0
  std::vector<TownWeighting> towns;  // per town of the PeriodData
};

// Sizes `out` for `data` (call once, then WeightTown for every town, possibly from several threads
// for distinct towns).
void PrepareWeights(const PeriodData& data, PeriodWeights* out);

// Weights town `town` of `data` into `out` (sized by PrepareWeights). kInvalidInput when the town's
// margins are inconsistent (listed cells exceeding the total, more than 32000 cells).
Status WeightTown(const PeriodData& data, std::size_t town, const WeightingOptions& options,
                  PeriodWeights* out);

// Weighting from a town's cell sums (town_sums.h) instead of its respondents, for untrimmed weights:
// every respondent of cell g gets w = d · multiplier[g]. The rules, notes and errors are WeightTown's,
// applied to the cells as units: a cell carries its Σd, and the first respondent outside the
// populated margin cells (the fallback reason) is the first respondent of the first such cell. The
// TownWeighting counts and sums (n, n_weighted, sum_w, sum_w2, n_eff, deff_w) are of the respondents.
// `margins` is the town's (nullptr: no population). kInvalidInput as WeightTown, and when
// options.trim_factor > 0 (trimming needs the respondents).
struct CellWeights {
  std::vector<const CellSums*>
      cells;                        // the town's cells in first-respondent order (pointers into the TownSums)
  std::vector<double> multiplier;   // per cell: m_g ≥ 0
  std::vector<std::int16_t> cell1;  // per cell, as PeriodWeights
  std::vector<std::int16_t> cell2;
  TownWeighting town;
};
Status WeightCells(const TownSums& sums, const TownMargins* margins, const WeightingOptions& options,
                   CellWeights* out);

// Weights every town (sequentially).
Result<PeriodWeights> WeightPeriod(const PeriodData& data, const WeightingOptions& options);

}  // namespace minyi::aggregator
