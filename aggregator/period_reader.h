// Reads one period of a survey from an AnalysisSource into a PeriodData: translates each response's
// option codes into the index outcomes and the sex / age-band cells, groups respondents by town,
// attaches the towns' parents and population margins, and hashes each town's responses (the scheme
// is documented in run.h). Used by RunAggregation (run.h) for whole periods and by LiveAggregator
// (live.h) for the changed towns of a period.
//
// Semantics (as run.h states): an index item answered with a "missing" option, not answered, or
// answered with a code the question does not have is outside that index's domain (the last case is
// counted in a warning); a composite index has no share and needs every item answered; a blank or
// absent sex / age_band answer is the margin's unknown cell.
//
// A PeriodReader is immutable after Create: Read may run on several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "aggregator/period_data.h"
#include "aggregator/town_sums.h"
#include "core/analysis.h"
#include "core/areas.h"
#include "core/population.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::aggregator {

class PeriodReader {
 public:
  // kInvalidInput when an index has no item with a positive weight or an item is not a question.
  static Result<PeriodReader> Create(const SurveyDefinition& def);

  const std::string& survey_id() const { return survey_id_; }
  const std::vector<IndexSpec>& indices() const { return indices_; }

  struct Read {
    PeriodData data;
    std::int64_t responses = 0;
    std::vector<std::string> warnings;
  };

  // Reads `period`: every town, or only the towns listed in `towns` (ascending, distinct; a town
  // without responses is left out). `population` holds the period's year. kInvalidInput for a
  // negative, non-finite or over-the-cap (MaxPopulation(kTown)) base weight; source failures are passed
  // through.
  Result<Read> ReadPeriod(AnalysisSource& source, const Period& period, const std::vector<std::string>* towns,
                          const PopulationTable& population, const AreaRegistry& areas) const;

  // Streams every town of `period` into cell sums (town_sums.h), one town at a time: `town_done` is
  // called with each town's complete sums (parents resolved) in town order; its error stops the scan
  // and is returned. Memory: one town's cells, whatever the number of responses. Errors as ReadPeriod.
  Status ScanTownSums(AnalysisSource& source, const Period& period, const AreaRegistry& areas,
                      const std::function<Status(TownSums&)>& town_done) const;

  // Adds the responses of town sums->code in `period` with an id above sums->last_response_id to
  // *sums (a fresh TownSums with only `code` set reads the whole town) and resolves its parents. On
  // error *sums is partly updated: callers work on a copy. kInternal when the source returns ids out
  // of order.
  Status AddToTownSums(AnalysisSource& source, const Period& period, const AreaRegistry& areas,
                       TownSums* sums) const;

  struct OptionInfo {
    std::string code;
    bool missing = true;
    bool positive = false;
    double score = 0;
  };
  struct ItemPlan {
    std::string question;
    double weight = 1;
    std::vector<OptionInfo> options;
  };
  struct IndexPlan {
    IndexSpec spec;
    std::vector<ItemPlan> items;
  };

 private:
  std::string survey_id_;
  std::vector<IndexSpec> indices_;
  std::vector<IndexPlan> plans_;
  bool has_sex_ = false;
  bool has_age_ = false;
  std::vector<std::string> sex_options_;  // dictionary seed, definition order
  std::vector<std::string> age_options_;
};

}  // namespace minyi::aggregator
