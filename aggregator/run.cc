#include "aggregator/run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "aggregator/period_reader.h"
#include "aggregator/town_model.h"
#include "core/csv_cell.h"
#include "core/population.h"

namespace minyi::aggregator {
namespace {

void Csv(std::ostream& out, double x) {
  if (std::isnan(x)) return;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  out << buf;
}

// Each year's population table and its version, by year.
using PopulationTables = std::map<int, std::pair<PopulationTable, std::string>>;

// The periods to read: every period of the survey, or the one asked for and the year before it
// (computed, not written, for the year-over-year change), in order.
Result<std::vector<Period>> PeriodsToRead(const AggregationOptions& options, AnalysisSource& responses) {
  Result<std::vector<SurveyPeriod>> stored = responses.AnalysisPeriods();
  if (!stored.ok()) return stored.status();
  std::vector<Period> periods;
  for (const SurveyPeriod& sp : *stored) {
    if (sp.survey_id != options.survey_id) continue;
    if (options.period && sp.period != *options.period &&
        sp.period != Period{options.period->year - 1, options.period->quarter}) {
      continue;
    }
    periods.push_back(sp.period);
  }
  std::sort(periods.begin(), periods.end());
  return periods;
}

// The population table and its version of each year of `periods`.
Result<PopulationTables> LoadPopulationTables(const std::vector<Period>& periods,
                                              PopulationSource& population) {
  PopulationTables tables;
  for (const Period& p : periods) {
    if (tables.count(p.year) != 0) continue;
    Result<std::vector<PopulationCell>> cells = population.LoadPopulation(p.year);
    if (!cells.ok()) return cells.status();
    Result<PopulationTable> table = PopulationTable::FromCells(*cells);
    if (!table.ok()) return table.status().WithContext("population " + std::to_string(p.year));
    Result<std::string> version = population.PopulationVersion(p.year);
    if (!version.ok()) return version.status();
    tables.emplace(p.year, std::make_pair(std::move(table).value(), std::move(version).value()));
  }
  return tables;
}

// Adds the margin cells (or town totals) with population 0 of the period's towns to the summary.
void CountEmptyPopulationCells(const PeriodData& data, AggregationSummary& summary) {
  for (const TownData& town : data.towns) {
    if (town.population.has_total && town.population.total == 0) ++summary.empty_population_cells;
    for (const auto* cells : {&town.population.sex, &town.population.age}) {
      for (const MarginCell& cell : *cells) summary.empty_population_cells += cell.population == 0 ? 1 : 0;
    }
  }
}

// The provenance of every row: the survey and its definition's version, the population version, the code
// version and the time of the computation.
void StampProvenance(const SurveyDefinition& def, const std::string& population_version,
                     const AggregationOptions& options, std::int64_t computed_at,
                     std::vector<IndexRow>& rows) {
  for (IndexRow& row : rows) {
    row.survey_id = def.id;
    row.definition_version = def.version;
    row.population_version = population_version;
    row.code_version = options.code_version;
    row.computed_at_ms = computed_at;
  }
}

// Adds a written period's counts, warnings (moved from `read` and `result`) and rows to the summary.
void AddWrittenPeriod(const Period& period, PeriodReader::Read& read, PeriodResult& result,
                      const std::vector<IndexRow>& rows, AggregationSummary& summary) {
  summary.periods.push_back(period);
  summary.responses += read.responses;
  summary.towns += static_cast<std::int64_t>(result.towns.size());
  for (const TownWeighting& tw : result.towns) {
    if (tw.method == Weighting::kNone) ++summary.unweighted_towns;
  }
  summary.fallback_towns += result.fallback_towns;
  summary.nonconverged_towns += result.nonconverged_towns;
  summary.lonely_strata += result.lonely_strata;
  summary.rows += static_cast<std::int64_t>(rows.size());
  for (std::string& w : read.warnings) summary.warnings.push_back(std::move(w));
  for (std::string& w : result.warnings) summary.warnings.push_back(std::move(w));
  summary.index_rows.insert(summary.index_rows.end(), rows.begin(), rows.end());
}

}  // namespace

Result<AggregationSummary> RunAggregation(const AggregationOptions& options, AnalysisSource& responses,
                                          PopulationSource& population, const SurveyCatalog& catalog,
                                          const AreaRegistry& areas, IndexSink& sink) {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  if (options.survey_id.empty()) return Status::InvalidInput("aggregate: a survey id is required");
  const std::shared_ptr<const SurveyDefinition> def = catalog.Find(options.survey_id);
  if (!def) return Status::NotFound("survey '" + options.survey_id + "' is not defined");
  Result<PeriodReader> reader = PeriodReader::Create(*def);
  if (!reader.ok()) return reader.status();
  MINYI_RETURN_IF_ERROR(options.compute.weighting.Validate());
  if (options.read_threads < 1 || options.read_threads > 16) {
    return Status::InvalidInput("aggregate: read_threads must be between 1 and 16");
  }
  const std::int64_t computed_at = options.computed_at_ms != 0 ? options.computed_at_ms : NowMillis();

  Result<std::vector<Period>> to_read = PeriodsToRead(options, responses);
  if (!to_read.ok()) return to_read.status();
  const std::vector<Period> periods = std::move(to_read).value();

  AggregationSummary summary;
  Result<PopulationTables> loaded = LoadPopulationTables(periods, population);
  if (!loaded.ok()) return loaded.status();
  const PopulationTables tables = std::move(loaded).value();

  // Readers fill slots in period order, at most `ahead` periods before the one being computed, so
  // memory holds a few periods whatever their number; the calling thread computes and writes in order.
  struct Slot {
    bool done = false;
    Result<PeriodReader::Read> read = Status::Internal("not read");
    double seconds = 0;
  };
  std::vector<Slot> slots(periods.size());
  std::mutex mu;
  std::condition_variable cv;
  std::size_t next_to_read = 0;
  std::size_t consumed = 0;
  bool stop = false;
  const std::size_t readers = std::min<std::size_t>(static_cast<std::size_t>(options.read_threads), periods.size());
  const std::size_t ahead = readers + 1;
  auto read_loop = [&]() {
    for (;;) {
      std::size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next_to_read >= periods.size() || next_to_read < consumed + ahead; });
        if (stop || next_to_read >= periods.size()) return;
        i = next_to_read++;
      }
      const Clock::time_point start = Clock::now();
      Result<PeriodReader::Read> read =
          reader->ReadPeriod(responses, periods[i], nullptr, tables.at(periods[i].year).first, areas);
      const double took = seconds_since(start);
      std::lock_guard<std::mutex> lock(mu);
      slots[i].read = std::move(read);
      slots[i].seconds = took;
      slots[i].done = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t j = 0; j < readers; ++j) pool.emplace_back(read_loop);
  auto stop_readers = [&]() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      cv.notify_all();
    }
    for (std::thread& t : pool) t.join();
    pool.clear();
  };

  std::map<Period, std::vector<IndexRow>> previous;  // rows by period, for the year-over-year change
  std::uint64_t responses_read = 0;                  // for the progress
  Status failure;
  for (std::size_t i = 0; i < periods.size() && failure.ok(); ++i) {
    const Period period = periods[i];
    Result<PeriodReader::Read> read = Status::Internal("not read");
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return slots[i].done; });
      read = std::move(slots[i].read);
      summary.read_seconds += slots[i].seconds;
      consumed = i + 1;
      cv.notify_all();
    }
    if (!read.ok()) {
      failure = read.status().WithContext(period.ToString());
      break;
    }
    const bool write = !options.period || period == *options.period;
    const Clock::time_point compute_start = Clock::now();
    CountEmptyPopulationCells(read->data, summary);
    Result<PeriodResult> result = AggregatePeriod(read->data, options.compute);
    if (!result.ok()) {
      failure = result.status().WithContext(period.ToString());
      break;
    }
    std::vector<IndexRow> rows = std::move(result->rows);
    const std::string& population_version = tables.at(period.year).second;
    StampProvenance(*def, population_version, options, computed_at, rows);
    const auto prev = previous.find(Period{period.year - 1, period.quarter});
    if (prev != previous.end()) ApplyChange(prev->second, &rows);
    if (write) {
      // The model-based town figures (town_model.h), with the year-earlier town rows as a covariate.
      failure =
          ApplySmallAreaModel(prev != previous.end() ? prev->second : std::vector<IndexRow>(), &rows, areas)
              .WithContext(period.ToString() + ": small-area model");
      if (!failure.ok()) break;
    }
    summary.compute_seconds += seconds_since(compute_start);
    if (write) {
      const Clock::time_point write_start = Clock::now();
      if (options.write) {
        failure = sink.WriteIndexRows(rows).WithContext(period.ToString());
        if (!failure.ok()) break;
      }
      summary.write_seconds += seconds_since(write_start);
      AddWrittenPeriod(period, *read, *result, rows, summary);
    }
    responses_read += static_cast<std::uint64_t>(read->responses);
    if (options.progress) options.progress(responses_read, 0);
    previous[period] = std::move(rows);
    // Only the year-earlier period is ever needed again.
    for (auto it = previous.begin(); it != previous.end();) {
      it = it->first.year < period.year - 1 ? previous.erase(it) : std::next(it);
    }
  }
  stop_readers();
  MINYI_RETURN_IF_ERROR(failure);
  return summary;
}

Status WriteIndexCsv(const std::vector<IndexRow>& rows, std::ostream& out) {
  out << "period,level,area,index,n,n_eff,estimate,se,ci_low,ci_high,ci_method,score,score_se,score_ci_low,"
         "score_ci_high,deff,low_n,weighting,"
         "model_estimate,model_se,model_ci_low,model_ci_high,model_method\n";
  for (const IndexRow& r : rows) {
    out << r.period.ToString() << ',' << r.level << ',';
    out << CsvText(r.area_code);
    out << ',';
    out << CsvText(r.index_id);
    out << ',' << r.n << ',';
    for (double x : {r.n_eff, r.estimate, r.se, r.ci_low, r.ci_high}) {
      Csv(out, x);
      out << ',';
    }
    out << r.ci_method << ',';
    for (double x : {r.score, r.score_se, r.score_ci_low, r.score_ci_high, r.deff}) {
      Csv(out, x);
      out << ',';
    }
    out << (r.low_n ? "true" : "false") << ',' << r.weighting;
    for (double x : {r.model_estimate, r.model_se, r.model_ci_low, r.model_ci_high}) {
      out << ',';
      Csv(out, x);
    }
    out << ',' << r.model_method << '\n';
  }
  if (!out) return Status::Unavailable("writing the index CSV failed");
  return Status::Ok();
}

}  // namespace minyi::aggregator
