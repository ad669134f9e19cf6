#include "aggregator/live.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>
#include <utility>

#include "aggregator/town_model.h"

namespace minyi::aggregator {

LiveAggregator::LiveAggregator(LiveOptions options, AnalysisSource& source, PopulationSource& population,
                               const SurveyCatalog& catalog, const AreaRegistry& areas, IndexSink& sink)
    : options_(std::move(options)),
      source_(source),
      population_(population),
      catalog_(catalog),
      areas_(areas),
      sink_(sink) {}

LiveAggregator::~LiveAggregator() { Stop(); }

Status LiveAggregator::Start() {
  if (options_.interval_ms < 10) return Status::InvalidInput("aggregator.interval_ms must be at least 10");
  if (options_.reconcile_ms < options_.interval_ms) {
    return Status::InvalidInput("aggregator.reconcile_ms must be at least aggregator.interval_ms");
  }
  MINYI_RETURN_IF_ERROR(options_.compute.weighting.Validate());
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) return Status::Internal("live aggregation already started");
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void LiveAggregator::Stop() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void LiveAggregator::Loop() {
  for (;;) {
    if (!gate_ || gate_()) {
      const Result<std::int64_t> polled = PollOnce();
      if (!polled.ok()) spdlog::warn("live aggregation: {}", polled.status().ToString());
    } else {
      // Another server writes the index tables. Forget the cached states: a later tenure starts with
      // a full computation of the data as that server left it.
      std::lock_guard<std::mutex> s(stats_mu_);
      stats_.initialised = false;
    }
    std::unique_lock<std::mutex> lock(thread_mu_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms), [this] { return stopping_; }))
      return;
  }
}

LiveStats LiveAggregator::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void LiveAggregator::WatchRevisions(ResponseReviser& revisions) {
  std::lock_guard<std::mutex> lock(poll_mu_);
  revisions_ = &revisions;
}

Result<std::int64_t> LiveAggregator::PollOnce() {
  std::lock_guard<std::mutex> lock(poll_mu_);
  const std::int64_t poll_started_ms = NowMillis();
  bool initialised;
  {
    std::lock_guard<std::mutex> s(stats_mu_);
    initialised = stats_.initialised;
  }
  Result<std::int64_t> done = std::int64_t{0};
  if (!initialised) {
    done = Initialise();
  } else {
    // New responses since the last poll.
    Dirty dirty;
    Result<std::vector<TownActivity>> fresh = source_.TownActivitySince(last_seen_id_);
    if (!fresh.ok()) {
      done = fresh.status();
    } else {
      std::int64_t seen = last_seen_id_;
      for (const TownActivity& a : *fresh) {
        seen = std::max(seen, a.max_response_id);
        if (catalog_.Find(a.survey_id)) dirty[{a.survey_id, a.period}].emplace(a.town_code, false);
      }
      // Towns that revised or withdrawn responses left.
      std::int64_t revision_seen = last_revision_id_;
      if (revisions_ != nullptr) {
        Result<std::vector<RevisionActivity>> changed = revisions_->RevisionActivitySince(last_revision_id_);
        if (!changed.ok()) {
          done = changed.status();
        } else {
          for (const RevisionActivity& a : *changed) {
            revision_seen = std::max(revision_seen, a.revision_id);
            if (catalog_.Find(a.survey_id)) dirty[{a.survey_id, a.period}][a.town_code] = true;
          }
        }
      }
      // Periodically, the complete per-town fingerprints (count and sum of ids) against the cached ones.
      const std::int64_t now = NowMillis();
      if (done.ok() && now - last_reconcile_ms_ >= options_.reconcile_ms) {
        Result<std::vector<TownActivity>> all = source_.TownActivitySince(0);
        if (!all.ok()) {
          done = all.status();
        } else {
          last_reconcile_ms_ = now;
          std::set<std::tuple<std::string, Period, std::string>> present;
          for (const TownActivity& a : *all) {
            if (!catalog_.Find(a.survey_id)) continue;
            present.insert({a.survey_id, a.period, a.town_code});
            const auto survey = surveys_.find(a.survey_id);
            const PeriodCache* cached = nullptr;
            if (survey != surveys_.end()) {
              const auto p = survey->second.periods.find(a.period);
              if (p != survey->second.periods.end()) cached = &p->second;
            }
            bool same = false;
            if (cached != nullptr) {
              const auto town = cached->towns.find(a.town_code);
              same = town != cached->towns.end() && town->second.state.respondents == a.responses &&
                     town->second.response_id_sum == a.response_id_sum;
            }
            if (!same) dirty[{a.survey_id, a.period}][a.town_code] = true;
          }
          for (const auto& [survey_id, survey] : surveys_) {
            for (const auto& [period, cache] : survey.periods) {
              for (const auto& [code, town] : cache.towns) {
                if (present.count({survey_id, period, code}) == 0) dirty[{survey_id, period}][code] = true;
              }
            }
          }
        }
      }
      // Population margins replaced since they were loaded.
      std::vector<int> population_changed;
      if (done.ok()) {
        for (const auto& [year, pop] : populations_) {
          Result<std::string> version = population_.PopulationVersion(year);
          if (!version.ok()) {
            done = version.status();
            break;
          }
          if (*version != pop.version) population_changed.push_back(year);
        }
      }
      if (done.ok()) {
        done = Recompute(dirty, population_changed, false);
        if (done.ok()) {
          last_seen_id_ = seen;
          last_revision_id_ = revision_seen;
        }
      }
    }
  }
  std::lock_guard<std::mutex> s(stats_mu_);
  stats_.last_seen_response_id = last_seen_id_;
  if (done.ok()) {
    stats_.caught_up_ms = poll_started_ms;
    stats_.last_error.clear();
    if (stats_.initialised) stats_.town_recomputations += *done;
    stats_.initialised = true;
  } else {
    stats_.last_error = done.status().ToString();
  }
  return done;
}

Result<const LiveAggregator::Population*> LiveAggregator::PopulationFor(int year, bool reload) {
  auto it = populations_.find(year);
  if (it != populations_.end() && !reload) return &it->second;
  Result<std::vector<PopulationCell>> cells = population_.LoadPopulation(year);
  if (!cells.ok()) return cells.status();
  Result<PopulationTable> table = PopulationTable::FromCells(*cells);
  if (!table.ok()) return table.status().WithContext("population " + std::to_string(year));
  Result<std::string> version = population_.PopulationVersion(year);
  if (!version.ok()) return version.status();
  Population& p = populations_[year];
  p.table = std::move(table).value();
  p.version = std::move(version).value();
  return &p;
}

Result<LiveAggregator::SurveyCache*> LiveAggregator::SurveyFor(const std::string& survey_id) {
  auto it = surveys_.find(survey_id);
  if (it != surveys_.end()) return &it->second;
  SurveyCache cache;
  cache.def = catalog_.Find(survey_id);
  if (!cache.def) return Status::NotFound("survey '" + survey_id + "' is not defined");
  Result<PeriodReader> reader = PeriodReader::Create(*cache.def);
  if (!reader.ok()) return reader.status();
  cache.reader = std::make_unique<PeriodReader>(std::move(reader).value());
  return &surveys_.emplace(survey_id, std::move(cache)).first->second;
}

Result<std::int64_t> LiveAggregator::Initialise() {
  // The watermark first: a response stored while the periods are read is seen again by the next
  // poll (a harmless recomputation) rather than missed.
  std::int64_t revision_seen = 0;
  if (revisions_ != nullptr) {
    Result<std::vector<RevisionActivity>> log = revisions_->RevisionActivitySince(0);
    if (!log.ok()) return log.status();
    if (!log->empty()) revision_seen = log->back().revision_id;
  }
  Result<std::vector<TownActivity>> all = source_.TownActivitySince(0);
  if (!all.ok()) return all.status();
  std::int64_t seen = 0;
  Dirty everything;
  for (const TownActivity& a : *all) {
    seen = std::max(seen, a.max_response_id);
    if (catalog_.Find(a.survey_id)) everything[{a.survey_id, a.period}][a.town_code] = true;
  }
  surveys_.clear();
  populations_.clear();
  Result<std::int64_t> done = Recompute(everything, {}, true);
  if (!done.ok()) return done.status();
  last_seen_id_ = seen;
  last_revision_id_ = revision_seen;
  last_reconcile_ms_ = NowMillis();
  return done;
}

Result<std::int64_t> LiveAggregator::Recompute(const Dirty& dirty, const std::vector<int>& population_changed,
                                               bool whole_periods) {
  // Whole periods for years whose margins changed; dirty towns elsewhere.
  Dirty work = dirty;
  std::set<std::pair<std::string, Period>> whole;
  for (int year : population_changed) {
    MINYI_RETURN_IF_ERROR(PopulationFor(year, true).status());
    for (const auto& [survey_id, survey] : surveys_) {
      for (const auto& [period, cache] : survey.periods) {
        if (period.year == year) whole.insert({survey_id, period});
      }
    }
  }
  if (whole_periods) {
    for (const auto& [key, towns] : work) whole.insert(key);
  }
  for (const auto& key : whole) work[key];
  std::int64_t towns_done = 0;
  // Per period to write: the area codes whose rows changed (empty set: every area).
  std::map<std::pair<std::string, Period>, std::set<std::string>> to_write;
  auto affect = [&](const std::pair<std::string, Period>& key, const std::set<std::string>* areas) {
    auto [it, inserted] = to_write.emplace(key, std::set<std::string>());
    if (areas == nullptr) {
      it->second.clear();
      it->second.insert("*");
    } else if (it->second.count("*") == 0) {
      it->second.insert(areas->begin(), areas->end());
    }
  };
  for (auto& [key, towns] : work) {
    const auto& [survey_id, period] = key;
    Result<SurveyCache*> survey = SurveyFor(survey_id);
    if (!survey.ok()) return survey.status();
    Result<const Population*> pop = PopulationFor(period.year, false);
    if (!pop.ok()) return pop.status();
    PeriodCache& cache = (*survey)->periods[period];
    const bool read_all = whole.count(key) != 0;
    std::vector<std::string> list;
    for (const auto& [code, full] : towns) list.push_back(code);
    Result<std::vector<TownResult>> computed =
        ComputeTownsOf(**survey, cache, period, (*pop)->table, read_all ? nullptr : &towns);
    if (!computed.ok()) return computed.status().WithContext(period.ToString());
    if (read_all) cache.towns.clear();
    for (const std::string& code : list) cache.towns.erase(code);  // a town left without responses disappears
    // The changed towns and their parents (a town that lost every response keeps its old parents'
    // codes through the previously written rows' keys, so use the registry's prefixes as well).
    std::set<std::string> areas;
    for (const std::string& code : list) {
      areas.insert(code);
      areas.insert(code.substr(0, 6));
      areas.insert(code.substr(0, 4));
      areas.insert(code.substr(0, 2));
    }
    for (const TownResult& t : *computed) areas.insert({t.county, t.city, t.province});
    for (TownResult& t : *computed) cache.towns[t.code] = std::move(t);
    towns_done += static_cast<std::int64_t>(computed->size());
    affect(key, read_all ? nullptr : &areas);
    // The next period's change depends on this one.
    const Period next{period.year + 1, period.quarter};
    if ((*survey)->periods.count(next) != 0) affect({survey_id, next}, read_all ? nullptr : &areas);
  }
  // In period order, so a period's change uses the freshly computed previous rows.
  for (const auto& [key, areas] : to_write) {
    SurveyCache& survey = surveys_.at(key.first);
    MINYI_RETURN_IF_ERROR(WritePeriod(survey, key.second, areas.count("*") != 0 ? nullptr : &areas)
                              .WithContext(key.first + " " + key.second.ToString()));
  }
  return towns_done;
}

Result<std::vector<TownResult>> LiveAggregator::ComputeTownsOf(SurveyCache& survey, PeriodCache& cache,
                                                               const Period& period,
                                                               const PopulationTable& population,
                                                               const std::map<std::string, bool>* towns) {
  if (options_.compute.weighting.trim_factor > 0) {
    // Trimming needs every respondent's weight: the towns are read whole into a PeriodData.
    std::vector<std::string> list;
    if (towns != nullptr) {
      for (const auto& [code, full] : *towns) list.push_back(code);
    }
    Result<PeriodReader::Read> read =
        survey.reader->ReadPeriod(source_, period, towns == nullptr ? nullptr : &list, population, areas_);
    if (!read.ok()) return read.status();
    return ComputeTowns(read->data, options_.compute);
  }
  const std::size_t index_count = survey.reader->indices().size();
  std::vector<TownResult> out;
  // Computes a town from its sums and keeps the sums of a large town for the next poll.
  auto finish = [&](TownSums& sums) -> Status {
    const TownMargins* margins = population.Find(period.year, sums.code);
    Result<TownResult> town = ComputeTownFromSums(sums, margins, options_.compute.weighting, index_count);
    if (!town.ok()) return town.status();
    out.push_back(std::move(town).value());
    if (sums.respondents >= kKeepSumsFrom) {
      cache.sums[sums.code] = std::move(sums);
    } else {
      cache.sums.erase(sums.code);
    }
    return Status::Ok();
  };
  if (towns == nullptr) {
    cache.sums.clear();
    MINYI_RETURN_IF_ERROR(survey.reader->ScanTownSums(source_, period, areas_, finish));
    return out;
  }
  for (const auto& [code, full] : *towns) {
    // A copy of the cached sums (a few kB): a failed read leaves the cache as it was.
    const auto cached = cache.sums.find(code);
    TownSums sums;
    if (!full && cached != cache.sums.end()) {
      sums = cached->second;
    } else {
      sums.code = code;
    }
    MINYI_RETURN_IF_ERROR(survey.reader->AddToTownSums(source_, period, areas_, &sums));
    if (sums.respondents == 0) {
      cache.sums.erase(code);  // every response withdrawn: the town disappears
      continue;
    }
    MINYI_RETURN_IF_ERROR(finish(sums));
  }
  return out;
}

Status LiveAggregator::WritePeriod(SurveyCache& survey, const Period& period,
                                   const std::set<std::string>* areas) {
  PeriodCache& cache = survey.periods.at(period);
  std::vector<TownResult> towns;
  towns.reserve(cache.towns.size());
  for (const auto& [code, town] : cache.towns) towns.push_back(town);
  PeriodResult result = AssemblePeriod(period, survey.reader->indices(), towns);
  const std::int64_t now = NowMillis();
  const std::string& population_version = populations_.at(period.year).version;
  for (IndexRow& row : result.rows) {
    row.survey_id = survey.def->id;
    row.definition_version = survey.def->version;
    row.population_version = population_version;
    row.code_version = options_.code_version;
    row.computed_at_ms = now;
  }
  const auto previous = survey.periods.find(Period{period.year - 1, period.quarter});
  if (previous != survey.periods.end()) ApplyChange(previous->second.rows, &result.rows);
  // The small-area model is refitted over every town of the period (town_model.h): a changed town moves
  // the model figures of the others too.
  MINYI_RETURN_IF_ERROR(
      ApplySmallAreaModel(previous != survey.periods.end() ? previous->second.rows : std::vector<IndexRow>(),
                          &result.rows, areas_));
  // Rows of unaffected areas are unchanged apart from their model figures: keep the cached ones (and their
  // computation time), and rewrite those whose model figure the refit moved.
  std::vector<IndexRow> changed;
  if (areas != nullptr) {
    std::map<std::tuple<std::string, std::string, std::string>, const IndexRow*> old;
    for (const IndexRow& row : cache.rows) old[{row.level, row.area_code, row.index_id}] = &row;
    for (IndexRow& row : result.rows) {
      const auto it = old.find({row.level, row.area_code, row.index_id});
      if (areas->count(row.area_code) == 0 && it != old.end() && SameModelFigures(row, *it->second)) {
        row = *it->second;
      } else {
        changed.push_back(row);
      }
    }
  } else {
    changed = result.rows;
  }
  // Asked again just before the write: a server that lost its lease during the poll writes nothing.
  if (!changed.empty() && gate_ && !gate_()) {
    return Status::Unavailable("the live aggregation lease is not held");
  }
  if (!changed.empty()) MINYI_RETURN_IF_ERROR(sink_.WriteIndexRows(changed));
  cache.rows = std::move(result.rows);
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.last_computed_ms = now;
  ++stats_.period_writes;
  return Status::Ok();
}

}  // namespace minyi::aggregator
