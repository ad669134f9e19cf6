// The aggregator's in-memory input: one period's respondents as a compact table (structure of
// arrays, grouped by town), the towns with their population margins, and the indices to compute.
// Everything the estimation needs and nothing else: no strings, maps or Response objects per
// respondent, so a period of a million respondents is a few tens of megabytes and the hot loops
// run over contiguous arrays.
//
// Built by the RunAggregation layer (run.h) from the ports, or directly by tests. A PeriodData is a
// plain value: not synchronised, read-only while AggregatePeriod runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi::aggregator {

// A blank demographic answer (sex or age band not given): the margin's "unknown" cell
// (docs/methodology.md §3.1).
inline constexpr std::int32_t kBlankCode = -1;
// positive[] value of a respondent outside an index's domain (missing answer, docs/methodology.md §1.4).
inline constexpr std::uint8_t kOutOfDomain = 255;

// One listed cell of a town's sex or age-band margin. `code` indexes PeriodData::sex_codes or
// PeriodData::age_codes.
struct MarginCell {
  std::int32_t code = 0;
  double population = 0;
};

// A town's population margins for the period (docs/methodology.md §3.1). No total: the town is not weighted
// to a population (weighting "none": w = d, no calibration), which the aggregation reports.
// The unknown cell of a margin is total − Σ listed; listed cells adding up to more than the total
// (beyond a relative 1e-9) are invalid input.
struct TownPopulation {
  bool has_total = false;
  double total = 0;
  std::vector<MarginCell> sex;  // empty: no sex margin
  std::vector<MarginCell> age;  // empty: no age-band margin
};

struct TownData {
  std::string code;      // 9-digit town code
  std::string county;    // 6-digit parent codes (roll-up keys)
  std::string city;
  std::string province;
  TownPopulation population;
  std::uint32_t begin = 0;  // the town's respondents are rows [begin, end) of the PeriodData arrays
  std::uint32_t end = 0;
  std::uint64_t response_hash = 0;  // content hash of the town's responses (run.h documents the scheme)
  std::int64_t response_id_sum = 0;  // Σ of the town's response ids (TownActivity's fingerprint)
};

struct IndexSpec {
  std::string id;
  int min_n = 30;          // domains with n < min_n are flagged low_n (docs/methodology.md §5.1)
  bool has_share = true;   // false for a composite index: only the score index is estimated
};

struct PeriodData {
  Period period;
  std::vector<IndexSpec> indices;       // K indices
  std::vector<std::string> sex_codes;   // dictionary of sex option codes (ids used below)
  std::vector<std::string> age_codes;   // dictionary of age-band option codes
  std::vector<TownData> towns;          // ordered by code; contiguous, ascending respondent ranges

  // One entry per respondent, grouped by town.
  std::vector<double> base_weight;      // d_i ≥ 0 (0: carried but weightless, see README)
  std::vector<std::int32_t> sex;        // code id or kBlankCode
  std::vector<std::int32_t> age;        // code id or kBlankCode
  // K entries per respondent, [i * K + k].
  std::vector<std::uint8_t> positive;   // 1: answer in the positive set, 0: not, kOutOfDomain: missing
  std::vector<double> score;            // the answer's score (0..100); ignored when out of domain

  std::size_t respondent_count() const { return base_weight.size(); }
  std::size_t index_count() const { return indices.size(); }

  // Appends a respondent to the last town (helper for builders and tests). `positive` and `score`
  // hold K values each.
  void AddRespondent(double d, std::int32_t sex_code, std::int32_t age_code,
                     const std::vector<std::uint8_t>& positive_values, const std::vector<double>& score_values);

  // Shape checks: array sizes agree, town ranges are contiguous and ordered, codes are in range,
  // weights finite and within 0..MaxPopulation(kTown), scores finite in domain, populations passing
  // ValidatePopulationFigure for a town (core/population.h: whole, 0..cap). kInvalidInput naming the
  // first problem: implausible figures are refused, never published.
  Status Validate() const;
};

}  // namespace minyi::aggregator
