#include "aggregator/run.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "aggregator/aggregate.h"
#include "aggregator/live.h"
#include "aggregator/test_util.h"

namespace minyi::aggregator {
namespace {

// In-memory ports.
class MemResponses : public AnalysisSource {
 public:
  std::vector<Response> all;
  std::int64_t rows_read = 0;  // rows visited by ScanAnalysis
  Status ScanAnalysis(const AnalysisQuery& query, const std::function<bool(const AnalysisRow&)>& visit) override {
    std::vector<const Response*> hits;
    for (const Response& r : all) {
      if (r.survey_id == query.survey_id && query.period == r.period &&
          (!query.town_code || (*query.town_code == r.town_code && r.id > query.after_response_id))) {
        hits.push_back(&r);
      }
    }
    std::sort(hits.begin(), hits.end(), [](const Response* a, const Response* b) {
      if (a->town_code != b->town_code) return a->town_code < b->town_code;
      return a->id < b->id;
    });
    for (const Response* r : hits) {
      ++rows_read;
      const std::string codes = AnalysisCodes(r->answers);
      if (!visit(AnalysisRow{r->id, r->town_code, r->weight, codes})) break;
    }
    return Status::Ok();
  }
  Result<std::vector<SurveyPeriod>> AnalysisPeriods() override {
    std::vector<SurveyPeriod> out;
    for (const Response& r : all) {
      const SurveyPeriod sp{r.survey_id, r.period};
      if (std::find(out.begin(), out.end(), sp) == out.end()) out.push_back(sp);
    }
    std::sort(out.begin(), out.end(), [](const SurveyPeriod& a, const SurveyPeriod& b) {
      return a.survey_id != b.survey_id ? a.survey_id < b.survey_id : a.period < b.period;
    });
    return out;
  }
  Result<std::vector<TownActivity>> TownActivitySince(std::int64_t after_id) override {
    std::map<std::tuple<std::string, Period, std::string>, TownActivity> by_key;
    for (const Response& r : all) {
      if (r.id <= after_id) continue;
      TownActivity& a = by_key[{r.survey_id, r.period, r.town_code}];
      a.survey_id = r.survey_id;
      a.period = r.period;
      a.town_code = r.town_code;
      ++a.responses;
      a.max_response_id = std::max(a.max_response_id, r.id);
      a.response_id_sum += r.id;
    }
    std::vector<TownActivity> out;
    for (auto& [key, a] : by_key) out.push_back(a);
    return out;
  }
};

class MemPopulation : public PopulationSource {
 public:
  std::vector<PopulationCell> cells;
  Result<std::vector<PopulationCell>> LoadPopulation(int year) override {
    std::vector<PopulationCell> out;
    for (const PopulationCell& c : cells) {
      if (c.year == year) out.push_back(c);
    }
    return out;
  }
  std::string suffix;  // changes the version (tests of margin updates)
  Result<std::string> PopulationVersion(int year) override { return "pop-" + std::to_string(year) + suffix; }
};

class MemSink : public IndexSink {
 public:
  std::vector<IndexRow> rows;
  int calls = 0;
  Status WriteIndexRows(const std::vector<IndexRow>& batch) override {
    ++calls;
    rows.insert(rows.end(), batch.begin(), batch.end());
    return Status::Ok();
  }
};

Question SingleChoice(const std::string& code, std::vector<std::string> codes, const std::string& missing = "") {
  Question q;
  q.code = code;
  q.type = QuestionType::kSingle;
  for (const std::string& c : codes) {
    Option o;
    o.code = c;
    o.label = c;
    o.missing = c == missing;
    q.options.push_back(o);
  }
  return q;
}

SurveyCatalog Catalog() {
  auto def = std::make_shared<SurveyDefinition>();
  def->id = "js";
  def->version = "v7";
  def->questions = {SingleChoice("sex", {"m", "f"}), SingleChoice("age_band", {"a1", "a2"}),
                    SingleChoice("security", {"1", "2", "3", "4", "5", "6"}, "6"),
                    SingleChoice("grid", {"1", "2", "3", "4", "5", "6"}, "6")};
  IndexDefinition security;
  security.id = "security";
  security.items = {IndexItem{"security", 1}};
  security.positive = {"1", "2", "3"};
  IndexDefinition composite;
  composite.id = "overall";
  composite.items = {IndexItem{"security", 2}, IndexItem{"grid", 1}};
  def->indices = {security, composite};
  SurveyCatalog catalog;
  catalog.Add(def);
  return catalog;
}

AreaRegistry Areas() {
  Result<AreaRegistry> areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  EXPECT_TRUE(areas.ok()) << areas.status();
  return std::move(areas).value();
}

struct Fixture {
  MemResponses responses;
  MemPopulation population;
  MemSink sink;
  SurveyCatalog catalog = Catalog();
  AreaRegistry areas = Areas();

  void Respond(int year, const std::string& town, const std::string& sex, const std::string& security,
               const std::string& grid, double weight = 1) {
    Response r;
    r.id = static_cast<std::int64_t>(responses.all.size()) + 1;
    r.survey_id = "js";
    r.period = Period{year, 0};
    r.town_code = town;
    r.weight = weight;
    if (!sex.empty()) r.answers["sex"] = {sex};
    r.answers["security"] = {security};
    r.answers["grid"] = {grid};
    responses.all.push_back(r);
  }
};

void Fill(Fixture* f) {
  const char* security[] = {"1", "2", "4", "6", "3", "5", "1", "2"};
  const char* grid[] = {"2", "6", "1", "3", "5", "4", "1", "1"};
  for (int year : {2023, 2024}) {
    for (const char* town : {"320812001", "320812002", "320813001"}) {
      for (int i = 0; i < 8; ++i) {
        f->Respond(year, town, i % 2 ? "m" : "f", security[(i + year) % 8], grid[(i * 3 + year) % 8], 1 + 0.25 * (i % 3));
      }
      f->population.cells.push_back(PopulationCell{year, town, "", "", 10000});
      f->population.cells.push_back(PopulationCell{year, town, "m", "", 4800});
      f->population.cells.push_back(PopulationCell{year, town, "f", "", 5200});
    }
  }
}

const IndexRow* FindRow(const std::vector<IndexRow>& rows, int year, const std::string& level,
                        const std::string& area, const std::string& index) {
  for (const IndexRow& r : rows) {
    if (r.period.year == year && r.level == level && r.area_code == area && r.index_id == index) return &r;
  }
  return nullptr;
}

// The registry towns of `counties` less the `sampled` ones: the n = 0 rows of a share index per period.
std::int64_t UnsampledTownsOf(const AreaRegistry& areas, const std::set<std::string>& counties, int sampled) {
  std::int64_t towns = 0;
  for (const Area* t : areas.Towns()) towns += static_cast<std::int64_t>(counties.count(t->parent_code));
  return towns - sampled;
}

TEST(RunAggregationTest, ComputesEveryPeriodAreaAndIndexWithProvenance) {
  Fixture f;
  Fill(&f);
  AggregationOptions options;
  options.survey_id = "js";
  options.code_version = "0.1.0+test";
  options.computed_at_ms = 1700000000000;
  Result<AggregationSummary> s = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->periods.size(), 2u);
  EXPECT_EQ(f.sink.calls, 2);
  // Per period: 3 towns + 2 counties + 1 city + 1 province, 2 indices; and for the share index (security)
  // an n = 0 row for each other registry town of the two counties (issue 14: their synthetic estimate).
  const std::int64_t unsampled = UnsampledTownsOf(f.areas, {"320812", "320813"}, 3);
  ASSERT_GT(unsampled, 0);
  EXPECT_EQ(s->rows, 2 * 7 * 2 + 2 * unsampled);
  EXPECT_EQ(f.sink.rows.size(), static_cast<std::size_t>(28 + 2 * unsampled));
  const IndexRow* empty = nullptr;
  for (const IndexRow& r : f.sink.rows) {
    if (r.n == 0 && r.period.year == 2024) empty = &r;
  }
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->level, "town");
  EXPECT_EQ(empty->index_id, "security");
  EXPECT_TRUE(empty->low_n);
  EXPECT_EQ(empty->model_method, "none") << "3 towns: the model is not used, so no synthetic figure";
  EXPECT_EQ(s->responses, 48);
  const IndexRow* town = FindRow(f.sink.rows, 2024, "town", "320812001", "security");
  ASSERT_NE(town, nullptr);
  EXPECT_EQ(town->survey_id, "js");
  EXPECT_EQ(town->definition_version, "v7");
  EXPECT_EQ(town->population_version, "pop-2024");
  EXPECT_EQ(town->code_version, "0.1.0+test");
  EXPECT_EQ(town->computed_at_ms, 1700000000000);
  EXPECT_EQ(town->weighting, "raking");
  EXPECT_EQ(town->response_count, 8);
  EXPECT_EQ(town->n, 7);  // one 说不清
  EXPECT_EQ(town->response_hash.size(), 16u);
  EXPECT_TRUE(town->low_n);
  const IndexRow* province = FindRow(f.sink.rows, 2024, "province", "32", "security");
  ASSERT_NE(province, nullptr);
  EXPECT_EQ(province->response_count, 24);
  // Change vs 2023 exists for 2024 rows, not for 2023 rows.
  const IndexRow* before = FindRow(f.sink.rows, 2023, "province", "32", "security");
  ASSERT_NE(before, nullptr);
  EXPECT_TRUE(std::isnan(before->change));
  EXPECT_DOUBLE_EQ(province->change, province->estimate - before->estimate);
  EXPECT_DOUBLE_EQ(province->change_se, std::sqrt(province->se * province->se + before->se * before->se));
  // The composite has no share, a score between 0 and 100.
  const IndexRow* overall = FindRow(f.sink.rows, 2024, "city", "3208", "overall");
  ASSERT_NE(overall, nullptr);
  EXPECT_TRUE(std::isnan(overall->estimate));
  EXPECT_EQ(overall->ci_method, "none");
  EXPECT_GT(overall->score, 0);
  EXPECT_LT(overall->score, 100);
  EXPECT_FALSE(std::isnan(overall->change));  // the change of the score
}

TEST(RunAggregationTest, RecomputingGivesIdenticalRowsAndTheHashTracksContent) {
  Fixture f;
  Fill(&f);
  AggregationOptions options;
  options.survey_id = "js";
  options.computed_at_ms = 1;
  options.compute.threads = 2;
  Result<AggregationSummary> a = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  options.compute.threads = 1;
  Result<AggregationSummary> b = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  std::ostringstream ca;
  std::ostringstream cb;
  ASSERT_TRUE(WriteIndexCsv(a->index_rows, ca).ok());
  ASSERT_TRUE(WriteIndexCsv(b->index_rows, cb).ok());
  EXPECT_EQ(ca.str(), cb.str());
  for (std::size_t i = 0; i < a->index_rows.size(); ++i) {
    EXPECT_EQ(a->index_rows[i].response_hash, b->index_rows[i].response_hash);
  }
  f.responses.all[3].answers["grid"] = {"1"};  // 2023, town 320812001
  Result<AggregationSummary> c = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(FindRow(c->index_rows, 2023, "town", "320812001", "overall")->response_hash,
            FindRow(a->index_rows, 2023, "town", "320812001", "overall")->response_hash);
  EXPECT_EQ(FindRow(c->index_rows, 2023, "town", "320812002", "overall")->response_hash,
            FindRow(a->index_rows, 2023, "town", "320812002", "overall")->response_hash);
}

TEST(RunAggregationTest, OnePeriodUsesTheYearBeforeForTheChangeButWritesOnlyItself) {
  Fixture f;
  Fill(&f);
  AggregationOptions options;
  options.survey_id = "js";
  options.period = Period{2024, 0};
  Result<AggregationSummary> s = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->periods.size(), 1u);
  EXPECT_EQ(f.sink.rows.size(),
            static_cast<std::size_t>(14 + UnsampledTownsOf(f.areas, {"320812", "320813"}, 3)));
  for (const IndexRow& r : f.sink.rows) EXPECT_EQ(r.period.year, 2024);
  EXPECT_FALSE(std::isnan(FindRow(f.sink.rows, 2024, "province", "32", "security")->change));
}

TEST(RunAggregationTest, FallbackAndMissingPopulationAreReported) {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.Respond(2024, "320812001", "m", "1", "1");  // no woman: cannot rake
  f.Respond(2024, "320812002", "f", "2", "2");                               // no population at all
  f.population.cells = {{2024, "320812001", "", "", 1000}, {2024, "320812001", "m", "", 500},
                        {2024, "320812001", "f", "", 500}};
  AggregationOptions options;
  options.survey_id = "js";
  Result<AggregationSummary> s = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->fallback_towns, 1);
  EXPECT_EQ(s->unweighted_towns, 1);
  EXPECT_EQ(s->lonely_strata, 1);
  EXPECT_EQ(FindRow(f.sink.rows, 2024, "town", "320812001", "security")->weighting, "fallback");
  EXPECT_EQ(FindRow(f.sink.rows, 2024, "town", "320812002", "security")->weighting, "none");
  EXPECT_EQ(FindRow(f.sink.rows, 2024, "county", "320812", "security")->weighting, "mixed");
  EXPECT_GE(s->warnings.size(), 3u);
}

TEST(RunAggregationTest, BadInputIsAStatus) {
  Fixture f;
  AggregationOptions options;
  options.survey_id = "nope";
  Result<AggregationSummary> s = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);

  f.Respond(2024, "320812001", "m", "1", "1", -1);
  options.survey_id = "js";
  s = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.status().message().find("response 1"), std::string::npos);
}

// Issue #13: a stored population of 1e26 made the province index 1.0 with SE 1e-21. Implausible
// margins and base weights are refused with a status naming them; nothing is written.
TEST(RunAggregationTest, ImplausiblePopulationIsRefusedNotPublished) {
  for (double total : {1e26, 1e308, 5000000.5}) {
    Fixture f;
    for (int i = 0; i < 5; ++i) f.Respond(2024, "320812001", i % 2 ? "m" : "f", "1", "1");
    for (int i = 0; i < 5; ++i) f.Respond(2024, "320812002", i % 2 ? "m" : "f", "5", "5");
    f.population.cells = {{2024, "320812001", "", "", total}, {2024, "320812002", "", "", 1000}};
    AggregationOptions options;
    options.survey_id = "js";
    Result<AggregationSummary> s =
        RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
    ASSERT_FALSE(s.ok()) << total;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(s.status().message().find("2024 320812001: population "), std::string::npos) << s.status();
    EXPECT_TRUE(f.sink.rows.empty()) << total;
  }
}

TEST(RunAggregationTest, ImplausibleBaseWeightIsRefused) {
  Fixture f;
  f.Respond(2024, "320812001", "m", "1", "1");
  f.Respond(2024, "320812001", "f", "5", "5", 1e300);
  AggregationOptions options;
  options.survey_id = "js";
  Result<AggregationSummary> s =
      RunAggregation(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.status().message().find("response 2: base weight 1e+300"), std::string::npos) << s.status();
  EXPECT_TRUE(f.sink.rows.empty());
}

// The estimator's own guard, for data built without the population table (PeriodData::Validate).
TEST(AggregatePeriodTest, ImplausibleFiguresInPeriodDataAreRefused) {
  auto period = [](double total, double weight) {
    PeriodData data = testing::OneIndexPeriod();
    testing::AddTown(&data, "320812001", total);
    testing::Add(&data, 1, 1);
    testing::Add(&data, weight, 0);
    return data;
  };
  EXPECT_TRUE(AggregatePeriod(period(1000, 1), {}).ok());
  Result<PeriodResult> huge = AggregatePeriod(period(1e26, 1), {});
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find(
                "town 320812001 has a bad population total: population 1e+26 is more than"),
            std::string::npos)
      << huge.status();
  EXPECT_EQ(AggregatePeriod(period(1000, 1e12), {}).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(AggregatePeriod(period(1000.25, 1), {}).status().code(), StatusCode::kInvalidInput);
}

// A town row of the CSV tests.
IndexRow CsvTownRow(Period period) {
  IndexRow row;
  row.period = period;
  row.level = "town";
  row.area_code = "320812001";
  row.index_id = "security";
  return row;
}

TEST(WriteIndexCsvTest, FullPrecisionAndEmptyNaN) {
  IndexRow row = CsvTownRow(Period{2024, 2});
  row.n = 3;
  row.n_eff = 2.5;
  row.estimate = 0.1;
  row.se = std::nan("");
  row.ci_low = std::nan("");
  row.ci_high = std::nan("");
  row.ci_method = "none";
  row.score = 1.0 / 3;
  row.score_se = 0;
  row.score_ci_low = 0;
  row.score_ci_high = 0;
  row.deff = std::nan("");
  row.low_n = true;
  row.weighting = "raking";
  std::ostringstream out;
  ASSERT_TRUE(WriteIndexCsv({row}, out).ok());
  EXPECT_EQ(
      out.str(),
      "period,level,area,index,n,n_eff,estimate,se,ci_low,ci_high,ci_method,score,score_se,score_ci_low,"
      "score_ci_high,deff,low_n,weighting,model_estimate,model_se,model_ci_low,model_ci_high,model_method\n"
      "2024Q2,town,320812001,security,3,2.5,0.10000000000000001,,,,none,0.33333333333333331,0,0,0,,true,"
      "raking,,,,,\n");
}

TEST(WriteIndexCsvTest, ModelColumnsBesideTheDirectOnes) {
  IndexRow town = CsvTownRow(Period{2025, 0});
  town.n = 12;
  town.weighting = "poststrat";
  IndexRow county = town;
  county.level = "county";
  county.area_code = "320812";
  town.model_estimate = 0.5;
  town.model_se = 0.25;
  town.model_ci_low = 0.125;
  town.model_ci_high = 0.75;
  town.model_method = "eblup";
  std::ostringstream out;
  ASSERT_TRUE(WriteIndexCsv({town, county}, out).ok());
  std::istringstream lines(out.str());
  std::string header, town_line, county_line;
  std::getline(lines, header);
  std::getline(lines, town_line);
  std::getline(lines, county_line);
  EXPECT_EQ(header.substr(header.find("weighting")),
            "weighting,model_estimate,model_se,model_ci_low,model_ci_high,model_method");
  EXPECT_EQ(town_line.substr(town_line.find("poststrat")), "poststrat,0.5,0.25,0.125,0.75,eblup");
  EXPECT_EQ(county_line.substr(county_line.find("poststrat")), "poststrat,,,,,");  // direct figures only
}

// Rows without their computation time, for comparing a live result with a batch one.
std::vector<std::string> Fingerprint(std::vector<IndexRow> rows) {
  std::vector<std::string> out;
  std::sort(rows.begin(), rows.end(), [](const IndexRow& a, const IndexRow& b) {
    return std::tie(a.period, a.level, a.area_code, a.index_id) < std::tie(b.period, b.level, b.area_code, b.index_id);
  });
  for (const IndexRow& r : rows) {
    std::ostringstream os;
    os.precision(17);
    os << r.period.ToString() << r.level << r.area_code << r.index_id << r.n << ' ' << r.n_eff << ' '
       << r.estimate << ' ' << r.se << ' ' << r.ci_low << ' ' << r.ci_high << r.ci_method << r.score << ' '
       << r.score_se << ' ' << r.deff << r.weighting << ' ' << r.change << ' ' << r.change_se
       << r.change_significant << r.population_version << r.response_count << r.response_hash << ' '
       << r.model_estimate << ' ' << r.model_se << ' ' << r.model_ci_low << ' ' << r.model_ci_high
       << r.model_method;
    out.push_back(os.str());
  }
  return out;
}

// The latest row per key from everything a sink received.
std::vector<IndexRow> Latest(const std::vector<IndexRow>& written) {
  std::map<std::tuple<Period, std::string, std::string, std::string>, IndexRow> by_key;
  for (const IndexRow& r : written) by_key[{r.period, r.level, r.area_code, r.index_id}] = r;
  std::vector<IndexRow> out;
  for (auto& [key, row] : by_key) out.push_back(row);
  return out;
}

std::vector<IndexRow> Batch(Fixture& f) {
  MemSink sink;
  AggregationOptions options;
  options.survey_id = "js";
  options.code_version = "c";
  Result<AggregationSummary> s = RunAggregation(options, f.responses, f.population, f.catalog, f.areas, sink);
  EXPECT_TRUE(s.ok()) << s.status();
  return sink.rows;
}

TEST(LiveAggregatorTest, RecomputesOnlyChangedTownsAndMatchesTheBatchResult) {
  Fixture f;
  Fill(&f);
  LiveOptions options;
  options.code_version = "c";
  options.reconcile_ms = 1000000;
  LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  EXPECT_EQ(live.stats().caught_up_ms, 0) << "no poll yet";
  const std::int64_t before_first = NowMillis();
  Result<std::int64_t> first = live.PollOnce();
  const std::int64_t after_first = NowMillis();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 6) << "3 towns x 2 periods on the initial pass";
  EXPECT_EQ(Fingerprint(Latest(f.sink.rows)), Fingerprint(Batch(f)));
  EXPECT_TRUE(live.stats().initialised);
  EXPECT_EQ(live.stats().last_seen_response_id, 48);
  // Caught up as of the poll's start (what serve's lag gauge is computed from).
  EXPECT_GE(live.stats().caught_up_ms, before_first);
  EXPECT_LE(live.stats().caught_up_ms, after_first);

  // Nothing new: nothing recomputed or written.
  std::vector<IndexRow> written = f.sink.rows;
  f.sink.rows.clear();
  Result<std::int64_t> idle = live.PollOnce();
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(*idle, 0);
  EXPECT_TRUE(f.sink.rows.empty());

  // A new 2023 response in one town: that town is recomputed; its rows and its parents' rows of 2023
  // and 2024 (the change) are written.
  f.Respond(2023, "320812002", "m", "5", "5");
  Result<std::int64_t> next = live.PollOnce();
  ASSERT_TRUE(next.ok()) << next.status();
  written.insert(written.end(), f.sink.rows.begin(), f.sink.rows.end());
  EXPECT_EQ(*next, 1);
  EXPECT_EQ(f.sink.rows.size(), 16u) << "two periods x (town, county, city, province) x 2 indices";
  EXPECT_EQ(FindRow(f.sink.rows, 2024, "town", "320812001", "security"), nullptr) << "other towns are not rewritten";
  const IndexRow* town = FindRow(f.sink.rows, 2023, "town", "320812002", "security");
  ASSERT_NE(town, nullptr);
  EXPECT_EQ(town->response_count, 9);
  EXPECT_EQ(live.stats().town_recomputations, 1);
  std::vector<IndexRow> all = Latest(written);
  EXPECT_EQ(Fingerprint(all), Fingerprint(Batch(f)));

  // A new town (no responses before) and new margins (every year's version changes): whole years.
  f.Respond(2024, "320813002", "f", "1", "1");
  f.population.suffix = "-b";
  f.sink.rows.clear();
  Result<std::int64_t> third = live.PollOnce();
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*third, 7) << "every year's margins changed: 3 + 4 towns";
  ASSERT_NE(FindRow(f.sink.rows, 2024, "town", "320813002", "security"), nullptr);
  EXPECT_EQ(FindRow(f.sink.rows, 2024, "town", "320812001", "security")->population_version, "pop-2024-b");
  EXPECT_EQ(Fingerprint(Latest(all = [&] {
              std::vector<IndexRow> merged = all;
              merged.insert(merged.end(), f.sink.rows.begin(), f.sink.rows.end());
              return merged;
            }())),
            Fingerprint(Batch(f)));
}

// Issue 14: the model-based town figures are computed with the rows and stored with them. 60 towns of the
// registry with shares between 0.35 and 0.85, two years: the Fay–Herriot model is used (eblup). A new 2023
// response in one town refits 2023 and 2024 (whose previous-year covariate it is): rows of other towns are
// rewritten with their moved model figures, and live equals batch throughout, model columns included.
TEST(LiveAggregatorTest, ModelFiguresRefitThePeriodAndMatchTheBatchResult) {
  Fixture f;
  std::vector<std::string> towns;
  for (const Area* a : f.areas.Towns()) {
    if (towns.size() < 60) towns.push_back(a->code);
  }
  for (int year : {2023, 2024}) {
    for (std::size_t t = 0; t < towns.size(); ++t) {
      const int n = 20 + static_cast<int>((t * 7) % 30);
      const double share =
          0.35 + 0.5 * static_cast<double>((t * (31 + static_cast<std::size_t>(year % 7))) % 60) / 60;
      const int positive = static_cast<int>(share * n + 0.5);
      for (int i = 0; i < n; ++i) {
        f.Respond(year, towns[t], i % 2 ? "m" : "f", i < positive ? "1" : "4", i % 3 ? "2" : "5",
                  1 + 0.25 * (i % 3));
      }
      f.population.cells.push_back(PopulationCell{year, towns[t], "", "", 10000});
    }
  }
  LiveOptions options;
  options.code_version = "c";
  options.reconcile_ms = 1000000;
  LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(live.PollOnce().ok());
  std::vector<IndexRow> written = f.sink.rows;
  EXPECT_EQ(Fingerprint(Latest(written)), Fingerprint(Batch(f)));
  int eblup = 0;
  std::set<std::string> without_respondents;
  for (const IndexRow& r : written) {
    if (r.level == "town" && r.index_id == "security") {
      eblup += r.model_method == "eblup";
      if (r.n == 0) {  // the unsampled towns of the sampled counties: the synthetic figure, stored
        EXPECT_EQ(r.model_method, "synthetic") << r.area_code;
        EXPECT_TRUE(std::isnan(r.estimate)) << r.area_code;
        without_respondents.insert(r.area_code);
      }
      EXPECT_FALSE(std::isnan(r.model_ci_low)) << r.area_code;
    } else {
      EXPECT_EQ(r.model_method, "") << r.level << " " << r.area_code << " " << r.index_id;
      EXPECT_TRUE(std::isnan(r.model_estimate));
    }
  }
  EXPECT_EQ(eblup, 120) << "the model is used for every town of both years";
  EXPECT_FALSE(without_respondents.empty());
  for (const std::string& code : towns) EXPECT_EQ(without_respondents.count(code), 0u) << code;
  const IndexRow before_2023 = *FindRow(written, 2023, "town", towns[5], "security");
  const IndexRow before_2024 = *FindRow(written, 2024, "town", towns[5], "security");

  f.sink.rows.clear();
  for (int i = 0; i < 10; ++i) f.Respond(2023, towns[0], "m", "4", "5");
  Result<std::int64_t> polled = live.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(*polled, 1);
  // Another town's direct figures did not change, its model figures did: its rows are rewritten.
  const IndexRow* after_2023 = FindRow(f.sink.rows, 2023, "town", towns[5], "security");
  const IndexRow* after_2024 = FindRow(f.sink.rows, 2024, "town", towns[5], "security");
  ASSERT_NE(after_2023, nullptr);
  ASSERT_NE(after_2024, nullptr);
  EXPECT_EQ(after_2023->estimate, before_2023.estimate);
  EXPECT_NE(after_2023->model_estimate, before_2023.model_estimate);
  EXPECT_NE(after_2024->model_estimate, before_2024.model_estimate);
  EXPECT_EQ(FindRow(f.sink.rows, 2023, "town", towns[5], "overall"), nullptr) << "no model: not rewritten";
  written.insert(written.end(), f.sink.rows.begin(), f.sink.rows.end());
  EXPECT_EQ(Fingerprint(Latest(written)), Fingerprint(Batch(f)));
}

// Issue 13: a poll after a few new responses in a large town read the whole town again (memory and
// time grew with the town). Its cell sums are now kept and only the new responses are read; a
// withdrawal (seen by the reconciliation) reads the town again. Rows equal the batch run's throughout.
TEST(LiveAggregatorTest, LargeTownReadsOnlyNewResponsesAndMatchesTheBatchResult) {
  Fixture f;
  Fill(&f);
  const char* codes[] = {"1", "2", "3", "4", "5", "6"};
  for (int i = 0; i < static_cast<int>(kKeepSumsFrom) + 200; ++i) {
    f.Respond(2024, "320812002", i % 3 == 0 ? "" : (i % 2 ? "m" : "f"), codes[(i * 7) % 6],
              codes[(i * 5 + i / 6) % 6], 0.5 + 0.125 * (i % 9));
  }
  LiveOptions options;
  options.code_version = "c";
  options.interval_ms = 10;
  options.reconcile_ms = 1000000;
  LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(live.PollOnce().ok());
  EXPECT_EQ(Fingerprint(Latest(f.sink.rows)), Fingerprint(Batch(f)));

  for (int round = 0; round < 3; ++round) {
    f.Respond(2024, "320812002", "f", codes[round], "2", 1.5);
    f.Respond(2024, "320812002", "", "6", codes[round + 2], 0.75);
    f.Respond(2024, "320812002", "m", "1", "6", 0);
    f.responses.rows_read = 0;
    Result<std::int64_t> polled = live.PollOnce();
    ASSERT_TRUE(polled.ok()) << polled.status();
    EXPECT_EQ(*polled, 1);
    EXPECT_EQ(f.responses.rows_read, 3) << "only the new responses of the large town are read";
    EXPECT_EQ(Fingerprint(Latest(f.sink.rows)), Fingerprint(Batch(f))) << "round " << round;
  }

  // A response of the large town withdrawn: the reconciliation reads the town again.
  LiveOptions reconciling = options;
  reconciling.reconcile_ms = 10;
  LiveAggregator again(reconciling, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(again.PollOnce().ok());
  const std::size_t before = f.responses.all.size();
  f.responses.all.erase(std::find_if(f.responses.all.begin(), f.responses.all.end(), [](const Response& r) {
    return r.town_code == "320812002" && r.id > 100;
  }));
  ASSERT_EQ(f.responses.all.size(), before - 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::int64_t recomputed = 0;
  while (recomputed == 0 && std::chrono::steady_clock::now() < deadline) {
    Result<std::int64_t> polled = again.PollOnce();
    ASSERT_TRUE(polled.ok()) << polled.status();
    recomputed = *polled;
  }
  EXPECT_EQ(recomputed, 1);
  EXPECT_EQ(FindRow(Latest(f.sink.rows), 2024, "town", "320812002", "security")->response_count,
            8 + static_cast<std::int64_t>(kKeepSumsFrom) + 200 + 9 - 1);
  EXPECT_EQ(Fingerprint(Latest(f.sink.rows)), Fingerprint(Batch(f)));
}

TEST(LiveAggregatorTest, ReconciliationFindsResponsesBelowTheWatermark) {
  Fixture f;
  Fill(&f);
  LiveOptions options;
  options.interval_ms = 10;
  options.reconcile_ms = 10;
  LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(live.PollOnce().ok());
  // A response with an id below the last seen one (a late commit on MySQL).
  f.Respond(2024, "320812001", "m", "1", "1");
  f.responses.all.back().id = 3;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Result<std::int64_t> polled = live.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(*polled, 1);
  EXPECT_EQ(FindRow(Latest(f.sink.rows), 2024, "town", "320812001", "security")->response_count, 9);
}

// Issue 15: a revision that replaces a response inside its town, whose revision log entry and replacement
// both take ids below the windows already read (two writers at once on Galera: ids are not monotonic),
// leaves the town's count unchanged. The reconciliation compared counts only, so the town kept the old
// answer; it now compares the count and the sum of the town's response ids.
TEST(LiveAggregatorTest, ReconciliationFindsAReplacementBelowTheWindowsAndMatchesTheBatchResult) {
  Fixture f;
  Fill(&f);
  LiveOptions options;
  options.code_version = "c";
  options.interval_ms = 10;
  options.reconcile_ms = 10;
  LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  // A response with a high id (the other writer's) moves the id window past the gap the replacement
  // falls into.
  f.Respond(2024, "320813001", "f", "2", "2");
  f.responses.all.back().id = 1000;
  ASSERT_TRUE(live.PollOnce().ok());
  ASSERT_EQ(live.stats().last_seen_response_id, 1000);
  ASSERT_EQ(Fingerprint(Latest(f.sink.rows)), Fingerprint(Batch(f)));

  // Town 320812001's first 2024 response replaced by a revision: the old one is gone, the new one (other
  // answers) has id 500, below the window; no revision log is watched (its entry is below that window too).
  const auto old = std::find_if(f.responses.all.begin(), f.responses.all.end(), [](const Response& r) {
    return r.period.year == 2024 && r.town_code == "320812001";
  });
  ASSERT_NE(old, f.responses.all.end());
  Response replacement = *old;
  replacement.id = 500;
  replacement.answers["security"] = {replacement.answers["security"][0] == "1" ? "5" : "1"};
  replacement.answers["grid"] = {"6"};
  f.responses.all.erase(old);
  f.responses.all.push_back(replacement);
  ASSERT_NE(Fingerprint(Latest(f.sink.rows)), Fingerprint(Batch(f))) << "the replacement changes the figures";

  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Result<std::int64_t> polled = live.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(*polled, 1) << "the town of the replacement, read again";
  EXPECT_EQ(Fingerprint(Latest(f.sink.rows)), Fingerprint(Batch(f)));

  // Nothing changed since: a reconciliation recomputes nothing, with trimming too (the fingerprints of
  // the towns read into a PeriodData are kept as well).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  polled = live.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(*polled, 0);
  LiveOptions trimmed = options;
  trimmed.compute.weighting.trim_factor = 3;
  LiveAggregator trimming(trimmed, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(trimming.PollOnce().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  polled = trimming.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(*polled, 0);
}

TEST(LiveAggregatorTest, BackgroundThreadStartsComputesAndStops) {
  Fixture f;
  Fill(&f);
  LiveOptions options;
  options.interval_ms = 20;
  LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  ASSERT_TRUE(live.Start().ok());
  EXPECT_FALSE(live.Start().ok()) << "already started";
  for (int i = 0; i < 500 && !live.stats().initialised; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(live.stats().initialised);
  EXPECT_GT(live.stats().last_computed_ms, 0);
  live.Stop();
  live.Stop();
  LiveOptions bad;
  bad.interval_ms = 1;
  LiveAggregator rejected(bad, f.responses, f.population, f.catalog, f.areas, f.sink);
  EXPECT_EQ(rejected.Start().code(), StatusCode::kInvalidInput);
}

// Issue 15: with several servers, only the holder of the live aggregation lease writes the index tables.
TEST(LiveAggregatorTest, TheThreadWritesOnlyWhileItsGateIsOpen) {
  Fixture f;
  Fill(&f);
  LiveOptions options;
  options.interval_ms = 10;
  std::atomic<int> asked{0};
  std::atomic<int> open_for{0};  // how many more times the gate answers true
  const auto wait_until = [](const std::function<bool()>& done) {
    for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return done();
  };
  {
    LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
    live.set_gate([&] {
      ++asked;
      return open_for > 0 && open_for-- > 0;
    });
    ASSERT_TRUE(live.Start().ok());
    ASSERT_TRUE(wait_until([&] { return asked >= 5; }));
    // Open for the loop's question only: the lease is lost before the write, which is not made.
    open_for = 1;
    ASSERT_TRUE(wait_until([&] { return open_for == 0 && asked >= 10; }));
    live.Stop();
    EXPECT_TRUE(f.sink.rows.empty()) << "a server without the lease wrote index rows";
    EXPECT_FALSE(live.stats().initialised);
  }
  LiveAggregator live(options, f.responses, f.population, f.catalog, f.areas, f.sink);
  live.set_gate([] { return true; });
  ASSERT_TRUE(live.Start().ok());
  EXPECT_TRUE(wait_until([&] { return live.stats().initialised; }));
  live.Stop();
  EXPECT_FALSE(f.sink.rows.empty()) << "the holder writes";
}

}  // namespace
}  // namespace minyi::aggregator
