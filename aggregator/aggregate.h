// One period end to end, in memory: weight every town, reduce each town to its state, combine the
// states into counties, cities and the province, finalize every area × index into an IndexRow. The
// two halves (ComputeTowns: per town; AssemblePeriod: roll-ups and rows) are also separately
// available for incremental recomputation.
//
// Deterministic: towns are processed independently and combined in town-code order, so the same
// PeriodData gives the same bytes whatever `threads` is.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "aggregator/estimate.h"
#include "aggregator/period_data.h"
#include "aggregator/weighting.h"
#include "core/ports.h"
#include "core/status.h"

namespace minyi::aggregator {

struct PeriodOptions {
  WeightingOptions weighting;
  int threads = 1;  // towns are weighted and reduced on this many threads (1..64)
};

struct PeriodResult {
  Period period;
  std::vector<TownWeighting> towns;  // per town of the PeriodData
  // Rows ordered by level (town, county, city, province), area code, then index order. Filled: period,
  // level, area_code, index_id, the statistics, weighting, response_count, response_hash (16 hex
  // digits); change fields NaN/false (see ApplyChange); survey/version/time fields are left for the
  // caller.
  std::vector<IndexRow> rows;
  std::vector<std::string> warnings;  // fallback towns, towns without population, lonely strata, ...
  std::int64_t fallback_towns = 0;
  std::int64_t nonconverged_towns = 0;  // fallback towns whose raking did not converge
  std::int64_t lonely_strata = 0;
};

// Weights and estimates one period: ComputeTowns then AssemblePeriod. kInvalidInput when the data
// fails PeriodData::Validate, the options are out of range, or a town's margins are inconsistent.
Result<PeriodResult> AggregatePeriod(const PeriodData& data, const PeriodOptions& options);

// One town reduced to what roll-ups and rows need (no respondent data): a few kilobytes, so a
// long-running process can keep every town of every period and recompute only changed towns
// (aggregator/live.h).
struct TownResult {
  std::string code;  // town, county, city, province codes (TownData)
  std::string county;
  std::string city;
  std::string province;
  TownWeighting weighting;
  AreaState state;
  std::int64_t response_id_sum = 0;  // Σ of the ids of the responses read (TownActivity's fingerprint)
};

// Update: weights and reduces every town of `data`, on options.threads threads. Without trimming each
// town goes through its cell sums (TownSumsFromData, then ComputeTownFromSums: the path the live
// aggregator takes, so batch and live give the same bits); with trimming, through its respondents
// (WeightTown, TownUpdate). Errors as AggregatePeriod.
Result<std::vector<TownResult>> ComputeTowns(const PeriodData& data, const PeriodOptions& options);

// Update of one town from its cell sums (town_sums.h), untrimmed weighting (options.trim_factor must
// be 0): WeightCells then TownUpdateFromCells. `margins`: the town's population (nullptr: none).
// kInvalidInput as WeightCells.
Result<TownResult> ComputeTownFromSums(const TownSums& sums, const TownMargins* margins,
                                       const WeightingOptions& options, std::size_t index_count);

// The cell sums of town `town` of `data` (its respondents in order; codes by the data's
// dictionaries), with its margins as a TownMargins in *margins. last_response_id stays 0 (the data
// has no ids).
TownSums TownSumsFromData(const PeriodData& data, std::size_t town, TownMargins* margins);

// Combine and Finalize: the rows, warnings and counts of a period from its towns, which must be in
// ascending code order (Combine order fixes the bits of the roll-ups). Deterministic: the same town
// results give the same rows, whether they were computed together or town by town.
PeriodResult AssemblePeriod(const Period& period, const std::vector<IndexSpec>& indices,
                            const std::vector<TownResult>& towns);

// Year-over-year change (docs/methodology.md §4.10): for every row of `current` with a row of the same level,
// area and index in `previous`, change = estimate − previous estimate (the share; the score for
// indices without a share), change_se = √(se² + previous se²), significant when |change| / change_se
// > 1.959963984540054 (a nonzero change with change_se 0 is significant). Rows without a usable
// previous figure keep change = NaN.
void ApplyChange(const std::vector<IndexRow>& previous, std::vector<IndexRow>* current);

// The order-free area hash of AreaState as 16 lower-case hex digits.
std::string HashHex(std::uint64_t hash);

}  // namespace minyi::aggregator
