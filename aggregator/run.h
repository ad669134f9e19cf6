// The aggregator over the ports: reads a survey's responses through the compact read path
// (AnalysisSource, core/analysis.h) and population margins (PopulationSource), computes every period
// (aggregate.h) and writes the figures (IndexSink), one transaction per period. This is what
// `minyi aggregate` calls.
//
// Pipelined: options.read_threads threads read periods (period_reader.h) ahead of the calling
// thread, which computes and writes them in period order; at most read_threads + 1 periods are held
// in memory.
//
// Reproducibility (docs/methodology.md §6): every row carries the survey definition's version, the year's
// PopulationVersion, the area's response count and content hash, the caller's code version and the
// computation time. The response hash of an area is 16 hex digits: per town, FNV-1a 64 over its
// responses in (id) order, each contributing its id, base weight (IEEE bits) and the option codes of
// the questions the aggregator reads (sex, age_band, every index item; "" when unanswered, "?" for a
// value that is not of option-code form, see core/analysis.h); towns are then mixed
// (splitmix64) and summed mod 2⁶⁴, so the hash is independent of combination order. Recomputing
// unchanged data gives identical rows except computed_at_ms (pass a fixed value to compare bytes).
//
// Semantics of the translation from responses: an index item answered with a "missing" option, not
// answered, or answered with a code the question does not have puts the respondent outside that index's
// domain (the last case is counted in a warning). A composite index (several items) has no share; its
// score is the item-weighted mean of the item scores and needs every item answered. A blank or absent
// sex / age_band answer is the margin's unknown cell.
//
// Uses the ports from several threads (ports are thread-safe, core/ports.h); options.compute.threads
// towns are processed in parallel inside a period.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "aggregator/aggregate.h"
#include "core/analysis.h"
#include "core/areas.h"
#include "core/ports.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::aggregator {

struct AggregationOptions {
  std::string survey_id;          // required
  std::optional<Period> period;   // one period (its year-earlier period is computed too, for the change); all when empty
  PeriodOptions compute;          // weighting (raking, trimming) and threads
  int read_threads = 2;           // periods read concurrently (1..16)
  std::string code_version;       // recorded with every row (e.g. CMake's MINYI_CODE_VERSION)
  std::int64_t computed_at_ms = 0;  // recorded with every row; 0 = now
  bool write = true;              // false: compute only; rows are returned in the summary either way
  // (responses read so far, 0: the total is not known) after each period is computed, the year-earlier
  // periods read for the change included; called on the calling thread; may be empty.
  ProgressCallback progress;
};

struct AggregationSummary {
  std::vector<Period> periods;         // periods computed and written
  std::int64_t towns = 0;              // town-periods weighted
  std::int64_t responses = 0;          // responses read for the written periods
  std::int64_t rows = 0;               // rows written (or computed when !write)
  std::int64_t fallback_towns = 0;     // town-periods that could not be raked
  std::int64_t nonconverged_towns = 0; // of them, because raking did not converge
  std::int64_t unweighted_towns = 0;   // town-periods without a population total
  std::int64_t lonely_strata = 0;      // town-periods with a single respondent
  std::int64_t empty_population_cells = 0;  // margin cells (or town totals) with population 0, of towns with responses
  double read_seconds = 0;             // summed over periods (readers overlap, so this can exceed the wall time)
  double compute_seconds = 0;          // weighting, estimation, roll-ups, change (calling thread)
  double write_seconds = 0;            // IndexSink writes (calling thread)
  std::vector<std::string> warnings;   // one line each, "2024 town 320812001: ..."
  std::vector<IndexRow> index_rows;    // every row computed for the written periods, in write order
};

// Errors: kNotFound for an unknown survey; kInvalidInput for bad data (a negative base weight, margins
// exceeding a town's total, responses not ordered by town, an index item that is not a question,
// read_threads out of range); a source or sink failure is passed through. Nothing is written for a period whose
// computation failed; periods written before the failure stay written.
Result<AggregationSummary> RunAggregation(const AggregationOptions& options, AnalysisSource& responses,
                                          PopulationSource& population, const SurveyCatalog& catalog,
                                          const AreaRegistry& areas, IndexSink& sink);

// Writes rows as CSV with the header
// period,level,area,index,n,n_eff,estimate,se,ci_low,ci_high,ci_method,score,score_se,score_ci_low,
// score_ci_high,deff,low_n,weighting,model_estimate,model_se,model_ci_low,model_ci_high,model_method
// numbers at full precision (%.17g), NaN as an empty field, low_n as true/false. The model columns are the
// rows' model-based town figures (IndexRow model_*, town_model.h; docs/small_area.md): for town rows the
// EBLUP or synthetic share, its MSE-based SE and 95% interval, and the method (eblup, synthetic, or direct
// with the direct figures and no interval when the model is not used for that period and index); empty for
// other rows and indices without a share. kUnavailable when the stream fails.
Status WriteIndexCsv(const std::vector<IndexRow>& rows, std::ostream& out);

}  // namespace minyi::aggregator
