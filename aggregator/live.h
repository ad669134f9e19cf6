// Incremental aggregation inside a long-running process (`minyi serve`): keeps every town's reduced
// state (TownResult, a few kilobytes) per survey and period in memory, learns which town-periods
// changed, recomputes only those towns, recombines the period's roll-ups from the cached states and
// writes the period's rows (and the next period's, whose year-over-year change depends on them)
// through the IndexSink.
//
// How changes are learnt, whatever channel stored them (web group commit, SMS, an import run by
// another process against the same database):
//  - every interval: AnalysisSource::TownActivitySince(last seen id), an indexed range of the newest
//    response ids (cheap), marks their (survey, period, town) dirty;
//  - every reconcile interval: the complete per-town counts and sums of response ids
//    (TownActivitySince(0)) are compared with those of the responses read into the cache, catching
//    anything the id windows cannot see (on MySQL, a transaction that took its auto-increment id
//    before a newer one but committed after it; on Galera, a revision replacing a response inside its
//    town whose log entry and replacement both took ids below the windows: the count is unchanged,
//    the sum is not). Missed only if several such changes in one town between two reconciliations
//    cancel out in the sum (replacements whose ids are lower than their originals' by as much as
//    others are higher);
//  - every interval: PopulationVersion of each cached year; a change recomputes that year's periods;
//  - every interval, when a ResponseReviser is watched: RevisionActivitySince(last seen log id) marks
//    the towns that a revised or withdrawn response left (its replacement has a new response id and
//    is seen above).
// Since weighting is per town and the variance sums over towns, a town's new responses change its
// own state only; its county, city and province rows are recombined from the cached states.
// Without trimming (always in `serve`) a town is reduced to cell sums (town_sums.h) while it is read,
// one town at a time, and a town with at least kKeepSumsFrom respondents keeps them: new responses
// are read by id above the town's last one and added (issue 13), so a poll costs what arrived plus a
// period's Combine and Finalize, and memory does not grow with a town's size. A town touched by a
// revision or withdrawal, or whose count or id sum disagrees at reconciliation, is read again from its first
// response. With trimming, changed towns are read whole into a PeriodData (the weights are individual).
//
// The small-area model (town_model.h) is refitted over every town of each period written; a row of an
// unchanged town whose model-based figure the refit moved is written too.
//
// Reproducible: the rows written for a period are those RunAggregation (run.h) writes for the same
// data, model-based figures included, apart from computed_at_ms (states are combined in town-code order
// either way).
//
// Thread safety: Start/Stop/PollOnce/stats may be called from any thread; one poll runs at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aggregator/aggregate.h"
#include "aggregator/period_reader.h"
#include "core/analysis.h"
#include "core/areas.h"
#include "core/population.h"
#include "core/ports.h"
#include "core/revisions.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::aggregator {

// Towns with at least this many respondents keep their cell sums between polls (about 0.5–1 kB per
// cell and index): smaller towns are cheaper to read again than to keep.
inline constexpr std::int64_t kKeepSumsFrom = 1000;

struct LiveOptions {
  int interval_ms = 2000;    // poll period (≥ 10)
  int reconcile_ms = 60000;  // full per-town count and id-sum check period (≥ interval_ms)
  PeriodOptions compute;     // weighting and threads, as for RunAggregation
  std::string code_version;  // recorded with every row
};

struct LiveStats {
  bool initialised = false;           // the first full computation has been written
  std::int64_t last_computed_ms = 0;  // wall time of the last write (ms since the epoch), 0 = none yet
  std::int64_t last_seen_response_id = 0;
  // Wall time (ms since the epoch) when the last successful poll began: every response stored before it
  // is reflected in the index tables. 0 = no successful poll yet. `minyi serve` exports now minus this
  // as minyi_live_aggregation_lag_seconds.
  std::int64_t caught_up_ms = 0;
  std::int64_t town_recomputations = 0;  // town-periods recomputed since the start (initial pass excluded)
  std::int64_t period_writes = 0;        // periods written since the start (initial pass included)
  std::string last_error;                // the last poll's failure, empty after a successful poll
};

class LiveAggregator {
 public:
  // The ports, catalog and registry must outlive the aggregator. Surveys are those of the catalog
  // that have responses.
  LiveAggregator(LiveOptions options, AnalysisSource& source, PopulationSource& population,
                 const SurveyCatalog& catalog, const AreaRegistry& areas, IndexSink& sink);
  ~LiveAggregator();  // Stop()
  LiveAggregator(const LiveAggregator&) = delete;
  LiveAggregator& operator=(const LiveAggregator&) = delete;

  // Starts the background thread: a full computation of every period first (written), then a poll
  // every interval. A failed poll is recorded in stats() and retried at the next interval.
  // kInvalidInput for bad options; kFailedPrecondition-like kInternal when already started.
  Status Start();
  // Wakes the thread, lets a computation in progress finish, joins. Idempotent.
  void Stop();

  // One step on the calling thread (tests, or callers without a thread): the full computation when
  // not yet initialised, else change detection and recomputation. Returns the number of town-periods
  // recomputed (every town on the initial pass).
  Result<std::int64_t> PollOnce();

  LiveStats stats() const;

  // With several servers on one database: the background thread polls only while `gate` answers
  // true (this server holds the live aggregation lease, core/lease_keeper.h), and a poll asks it again
  // before each write. Call before Start(). PollOnce() itself is not gated.
  void set_gate(std::function<bool()> gate) { gate_ = std::move(gate); }

  // Also follows the revision log of revisable responses (core/revisions.h). Call before Start();
  // `revisions` must outlive the aggregator.
  void WatchRevisions(ResponseReviser& revisions);

 private:
  struct PeriodCache {
    std::map<std::string, TownResult> towns;  // by town code
    std::vector<IndexRow> rows;               // as last written
    // Cell sums of the towns with at least kKeepSumsFrom respondents (untrimmed weighting only): new
    // responses are added to them instead of re-reading the town.
    std::map<std::string, TownSums> sums;
  };
  struct SurveyCache {
    std::shared_ptr<const SurveyDefinition> def;
    std::unique_ptr<PeriodReader> reader;
    std::map<Period, PeriodCache> periods;
  };
  struct Population {
    PopulationTable table;
    std::string version;
  };
  // (survey, period) → town → whether the town must be read again from its first response (a
  // withdrawal, a fingerprint mismatch); false: only its responses above the cached ones are read.
  using Dirty = std::map<std::pair<std::string, Period>, std::map<std::string, bool>>;

  Result<std::int64_t> Initialise();
  // Recomputes the dirty towns (whole_periods: every town of each listed period, one scan each) and
  // the periods of years whose margins changed, then writes the affected periods.
  Result<std::int64_t> Recompute(const Dirty& dirty, const std::vector<int>& population_changed,
                                 bool whole_periods);
  // The TownResults of `towns` of `period` (nullptr: every town) that have responses, updating the
  // period's cached sums; untrimmed weighting goes through cell sums (one town in memory at a time),
  // trimming through a PeriodData of the towns.
  Result<std::vector<TownResult>> ComputeTownsOf(SurveyCache& survey, PeriodCache& cache,
                                                 const Period& period, const PopulationTable& population,
                                                 const std::map<std::string, bool>* towns);
  Result<const Population*> PopulationFor(int year, bool reload);
  Result<SurveyCache*> SurveyFor(const std::string& survey_id);
  // Assembles (survey, period) from its cache, applies the change vs the year before, stores the rows
  // and writes those of `areas` (town, county, city, province codes; nullptr: every row).
  Status WritePeriod(SurveyCache& survey, const Period& period, const std::set<std::string>* areas);
  void Loop();

  LiveOptions options_;
  AnalysisSource& source_;
  PopulationSource& population_;
  const SurveyCatalog& catalog_;
  const AreaRegistry& areas_;
  IndexSink& sink_;
  std::function<bool()> gate_;

  std::mutex poll_mu_;  // one poll at a time; guards the caches below
  std::map<std::string, SurveyCache> surveys_;
  std::map<int, Population> populations_;
  std::int64_t last_seen_id_ = 0;
  ResponseReviser* revisions_ = nullptr;
  std::int64_t last_revision_id_ = 0;
  std::int64_t last_reconcile_ms_ = 0;

  mutable std::mutex stats_mu_;
  LiveStats stats_;

  std::mutex thread_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace minyi::aggregator
