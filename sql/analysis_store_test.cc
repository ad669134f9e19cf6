// The aggregator's read path (core/analysis.h, migration 003) on every backend: SQLite in memory,
// SQLite in a file and a private MariaDB (started once for this binary). Also: recomputing an
// unchanged period through the store writes identical index rows (docs/methodology.md §6.3).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aggregator/live.h"
#include "aggregator/run.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

namespace fs = std::filesystem;
using testsupport::StoreBackend;

struct Seen {
  std::int64_t id;
  std::string town;
  double weight;
  std::string codes;
  bool operator==(const Seen& o) const {
    return id == o.id && town == o.town && weight == o.weight && codes == o.codes;
  }
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{" << s.id << ", " << s.town << ", " << s.weight << ", '" << s.codes << "'}";
}

class AnalysisStoreTest : public testsupport::FreshStoreTest {
 protected:
  Response Make(const std::string& ref, int year, const std::string& town, Answers answers,
                double weight = 1) {
    Response r;
    r.survey_id = "jiangsu-safety";
    r.period = {year, 0};
    r.town_code = town;
    r.channel = Channel::kImport;
    r.respondent_key = "k-" + ref;
    r.weight = weight;
    r.answers = std::move(answers);
    r.submitted_at_ms = 1700000000000;
    r.received_at_ms = 1700000000000;
    r.source_ref = ref;
    r.raw_payload = "{}";
    return r;
  }

  std::vector<AppendResult> Append(const std::vector<Response>& batch) {
    std::vector<AppendResult> results;
    const Status s = store_->Append(batch, &results);
    EXPECT_TRUE(s.ok()) << s;
    return results;
  }

  std::vector<Seen> ScanAll(const AnalysisQuery& q) {
    std::vector<Seen> out;
    const Status s = store_->ScanAnalysis(q, [&](const AnalysisRow& r) {
      out.push_back({r.response_id, std::string(r.town_code), r.weight, std::string(r.codes)});
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
};

TEST_P(AnalysisStoreTest, AppendWritesOneAnalysisRowPerStoredResponse) {
  const auto ids = Append({
      Make("a", 2024, "320812002",
           {{"security", {"1"}}, {"grid", {"9"}}, {"sex", {"2"}}, {"age_band", {"60+"}}}),
      Make("b", 2024, "320812001", {{"security", {"4"}}, {"comment", {"路灯坏了, 请修"}}}, 2.5),
      Make("c", 2024, "320812002", {{"security", {"2"}}, {"multi", {"x", "y"}}}),
      Make("d", 2025, "320812001", {{"security", {"3"}}}),
      Make("e", 2024, "320812001", {}),
  });
  ASSERT_EQ(ids.size(), 5u);
  // Replays are duplicates: no second analysis row.
  const auto again =
      Append({Make("a", 2024, "320812002",
                   {{"security", {"1"}}, {"grid", {"9"}}, {"sex", {"2"}}, {"age_band", {"60+"}}})});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].outcome, AppendOutcome::kDuplicate);

  AnalysisQuery q;
  q.survey_id = "jiangsu-safety";
  q.period = {2024, 0};
  const std::vector<Seen> want = {
      {ids[1].response_id, "320812001", 2.5, "comment=? security=4"},
      {ids[4].response_id, "320812001", 1, ""},
      {ids[0].response_id, "320812002", 1, "age_band=60+ grid=9 security=1 sex=2"},
      {ids[2].response_id, "320812002", 1, "multi=x security=2"},
  };
  EXPECT_EQ(ScanAll(q), want);

  q.town_code = "320812002";
  EXPECT_EQ(ScanAll(q), (std::vector<Seen>{want[2], want[3]}));
  q.after_response_id = ids[0].response_id;  // incremental reads of the live aggregator (issue 13)
  EXPECT_EQ(ScanAll(q), (std::vector<Seen>{want[3]}));
  q.after_response_id = 0;
  q.town_code = "320812099";
  EXPECT_TRUE(ScanAll(q).empty());

  q.town_code.reset();
  int visited = 0;
  ASSERT_TRUE(store_->ScanAnalysis(q, [&](const AnalysisRow&) { return ++visited < 2; }).ok());
  EXPECT_EQ(visited, 2) << "visit returning false stops the scan";

  q.survey_id = "other";
  EXPECT_TRUE(ScanAll(q).empty());
  q.survey_id = "";
  EXPECT_EQ(store_->ScanAnalysis(q, [](const AnalysisRow&) { return true; }).code(),
            StatusCode::kInvalidInput);
}

TEST_P(AnalysisStoreTest, ScansManyRowsInTownAndIdOrder) {
  // More rows than one in-memory / MySQL page, spread over towns appended out of order.
  std::vector<Response> batch;
  for (int i = 0; i < 50500; ++i) {
    const std::string town = "3208120" + std::to_string(10 + (i * 7) % 13);
    batch.push_back(Make("r" + std::to_string(i), 2023, town, {{"security", {std::to_string(1 + i % 5)}}}));
    if (batch.size() == 5000) {
      Append(batch);
      batch.clear();
    }
  }
  Append(batch);
  AnalysisQuery q;
  q.survey_id = "jiangsu-safety";
  q.period = {2023, 0};
  const std::vector<Seen> rows = ScanAll(q);
  ASSERT_EQ(rows.size(), 50500u);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_TRUE(rows[i - 1].town < rows[i].town ||
                (rows[i - 1].town == rows[i].town && rows[i - 1].id < rows[i].id))
        << "at " << i;
  }
}

TEST_P(AnalysisStoreTest, PeriodsAndTownActivity) {
  auto periods = store_->AnalysisPeriods();
  ASSERT_TRUE(periods.ok()) << periods.status();
  EXPECT_TRUE(periods->empty());

  Response other = Make("o1", 2022, "320812001", {{"x", {"1"}}});
  other.survey_id = "a-survey";
  const auto first = Append({Make("a", 2024, "320812002", {}), Make("b", 2023, "320812001", {}), other,
                             Make("c", 2024, "320812002", {}), Make("d", 2024, "320812001", {})});
  periods = store_->AnalysisPeriods();
  ASSERT_TRUE(periods.ok()) << periods.status();
  const std::vector<SurveyPeriod> want_periods = {
      {"a-survey", {2022, 0}}, {"jiangsu-safety", {2023, 0}}, {"jiangsu-safety", {2024, 0}}};
  EXPECT_EQ(*periods, want_periods);

  auto all = store_->TownActivitySince(0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].survey_id, "a-survey");
  EXPECT_EQ((*all)[3].town_code, "320812002");
  EXPECT_EQ((*all)[3].period, (Period{2024, 0}));
  EXPECT_EQ((*all)[3].responses, 2);
  EXPECT_EQ((*all)[3].max_response_id, first[3].response_id);
  EXPECT_EQ((*all)[3].response_id_sum, first[0].response_id + first[3].response_id);

  std::int64_t last = 0;
  for (const AppendResult& r : first) last = std::max(last, r.response_id);
  auto none = store_->TownActivitySince(last);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  const auto more = Append({Make("e", 2024, "320812001", {}), Make("f", 2024, "320812001", {})});
  auto since = store_->TownActivitySince(last);
  ASSERT_TRUE(since.ok()) << since.status();
  ASSERT_EQ(since->size(), 1u);
  EXPECT_EQ((*since)[0].town_code, "320812001");
  EXPECT_EQ((*since)[0].responses, 2);
  EXPECT_EQ((*since)[0].max_response_id, more[1].response_id);
  EXPECT_EQ((*since)[0].response_id_sum, more[0].response_id + more[1].response_id);
  EXPECT_EQ(store_->TownActivitySince(-1).status().code(), StatusCode::kInvalidInput);
}

// docs/methodology.md §6.3 through the store: the same data computed twice writes the same rows, byte for
// byte apart from computed_at_ms; a new response changes its town's hash and roll-ups only.
TEST_P(AnalysisStoreTest, RecomputingAnUnchangedPeriodWritesIdenticalRows) {
  auto catalog = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  ASSERT_TRUE(areas.ok()) << areas.status();
  const std::vector<std::string> towns = {"320102002", "320102003", "320812001", "320812002"};
  std::vector<PopulationCell> cells;
  for (int year : {2024, 2025}) {
    for (const std::string& t : towns) {
      cells.push_back({year, t, "", "", 10000});
      cells.push_back({year, t, "1", "", 4900});
      cells.push_back({year, t, "2", "", 5100});
    }
  }
  ASSERT_TRUE(store_->UpsertPopulation(cells).ok());
  std::vector<Response> batch;
  const char* sexes[] = {"1", "2"};
  for (int i = 0; i < 400; ++i) {
    Answers a = {{"security", {std::to_string(1 + (i * 3) % 6 == 6 ? 9 : 1 + (i * 3) % 5)}},
                 {"grid", {std::to_string(1 + (i * 7) % 5)}},
                 {"sex", {sexes[(i / 3) % 2]}},
                 {"age_band", {i % 4 == 0 ? "60+" : "30-39"}}};
    batch.push_back(Make("p" + std::to_string(i), 2024 + i % 2,
                         towns[static_cast<std::size_t>(i / 2) % towns.size()], std::move(a),
                         1 + (i % 3) * 0.5));
  }
  Append(batch);

  aggregator::AggregationOptions options;
  options.survey_id = "jiangsu-safety";
  options.code_version = "test";
  options.computed_at_ms = 1000;
  auto run = [&]() {
    auto s = aggregator::RunAggregation(options, *store_, *store_, *catalog, *areas, *store_);
    EXPECT_TRUE(s.ok()) << s.status();
    IndexQuery q;
    q.survey_id = "jiangsu-safety";
    auto rows = store_->ReadIndexRows(q);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? std::move(rows).value() : std::vector<IndexRow>{};
  };
  // Every stored field, doubles by their bits (NaN as stored: NULL reads back as NaN).
  auto bytes = [](const std::vector<IndexRow>& rows) {
    std::vector<std::string> out;
    for (const IndexRow& r : rows) {
      std::string s = r.survey_id + "|" + r.period.ToString() + "|" + r.level + "|" + r.area_code + "|" +
                      r.index_id + "|" + std::to_string(r.n) + "|" + r.ci_method + "|" +
                      (r.low_n ? "1" : "0") + "|" + r.weighting + "|" + (r.change_significant ? "1" : "0") +
                      "|" + r.definition_version + "|" + r.population_version + "|" +
                      std::to_string(r.response_count) + "|" + r.response_hash + "|" + r.code_version;
      for (double x : {r.n_eff, r.sum_w, r.estimate, r.se, r.ci_low, r.ci_high, r.score, r.score_se,
                       r.score_ci_low, r.score_ci_high, r.deff, r.change, r.change_se}) {
        std::uint64_t bits = 0;
        if (!std::isnan(x)) std::memcpy(&bits, &x, sizeof bits);
        s += "|" + std::to_string(bits);
      }
      out.push_back(std::move(s));
    }
    return out;
  };
  const std::vector<IndexRow> first = run();
  ASSERT_FALSE(first.empty());
  // Every registry town of the two counties with respondents has a row: the 4 with respondents, the others
  // n = 0 rows carrying their synthetic estimate (issue 14).
  std::size_t county_towns = 0;
  for (const Area* t : areas->Towns()) {
    const Area* county = areas->Parent(t->code);
    if (county != nullptr && (county->code == "320102" || county->code == "320812")) ++county_towns;
  }
  ASSERT_GT(county_towns, 4u);
  EXPECT_EQ(first.size(), 2u * 2u * (county_towns + 2u + 2u + 1u))
      << "2 periods x 2 indices x (" << county_towns << " towns, 2 counties, 2 cities, 1 province)";
  std::size_t without_respondents = 0;
  for (const IndexRow& r : first) {
    if (r.level == "town" && r.n == 0) ++without_respondents;
  }
  EXPECT_EQ(without_respondents, 2u * 2u * (county_towns - 4u));
  options.computed_at_ms = 2000;
  const std::vector<IndexRow> second = run();
  EXPECT_EQ(bytes(first), bytes(second));
  for (const IndexRow& r : second) EXPECT_EQ(r.computed_at_ms, 2000);

  // One more response in 2025, town 320812001: its town, county, city and province rows change hash.
  Append({Make("late", 2025, "320812001", {{"security", {"5"}}, {"sex", {"1"}}, {"age_band", {"60+"}}})});
  const std::vector<IndexRow> third = run();
  ASSERT_EQ(third.size(), first.size());
  for (std::size_t i = 0; i < third.size(); ++i) {
    const IndexRow& r = third[i];
    const bool affected =
        r.period == Period{2025, 0} && (r.area_code == "320812001" || r.area_code == "320812" ||
                                        r.area_code == "3208" || r.area_code == "32");
    EXPECT_EQ(r.response_hash != first[i].response_hash, affected) << r.level << " " << r.area_code;
  }
}

// Live aggregation follows revisable responses: a revision and a withdrawal both change the towns'
// figures at the next poll (not only at reconciliation). A version from another town is refused
// (issue 13: a revision never moves a response) and changes nothing.
TEST_P(AnalysisStoreTest, LiveAggregationFollowsRevisionsAndWithdrawals) {
  auto catalog = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  ASSERT_TRUE(areas.ok()) << areas.status();
  ASSERT_TRUE(
      store_->UpsertPopulation({{2025, "320812001", "", "", 5000}, {2025, "320812002", "", "", 5000}}).ok());
  auto version = [&](const std::string& slot, const std::string& town, std::int64_t at,
                     const std::string& security = "1") {
    Response r = Make("wechat:" + slot, 2025, town, {{"security", {security}}, {"grid", {"2"}}});
    r.channel = Channel::kWechat;
    r.submitted_at_ms = at;
    return r;
  };
  std::vector<ReviseResult> results;
  ASSERT_TRUE(store_
                  ->StoreRevisions({version("a", "320812001", 1), version("b", "320812001", 1),
                                    version("c", "320812002", 1), version("d", "320812002", 1)},
                                   "chat", &results)
                  .ok());
  aggregator::LiveOptions options;
  options.reconcile_ms = 1000000000;  // no reconciliation during the test: the revision log must suffice
  options.code_version = "test";
  aggregator::LiveAggregator live(options, *store_, *store_, *catalog, *areas, *store_);
  live.WatchRevisions(*store_);
  ASSERT_TRUE(live.PollOnce().ok());
  auto security_row = [&](const std::string& town) -> IndexRow {
    IndexQuery q;
    q.survey_id = "jiangsu-safety";
    auto rows = store_->ReadIndexRows(q);
    EXPECT_TRUE(rows.ok()) << rows.status();
    for (const IndexRow& r : *rows) {
      if (r.level == "town" && r.area_code == town && r.index_id == "security") return r;
    }
    IndexRow none;
    none.response_count = -1;
    return none;
  };
  auto count = [&](const std::string& town) { return security_row(town).response_count; };
  EXPECT_EQ(count("320812001"), 2);
  EXPECT_EQ(count("320812002"), 2);

  // The reconciliation's fingerprint of a town (aggregator/live.h): its count and its sum of ids.
  auto fingerprint = [&](const std::string& town) {
    auto all = store_->TownActivitySince(0);
    EXPECT_TRUE(all.ok()) << all.status();
    for (const TownActivity& a : *all) {
      if (a.town_code == town) return std::make_pair(a.responses, a.response_id_sum);
    }
    return std::make_pair(std::int64_t{0}, std::int64_t{0});
  };
  const auto fingerprint_before = fingerprint("320812001");

  // A version of "a" from the other town is refused; "a" answers again in its town: a revision.
  const double before = security_row("320812001").estimate;
  ASSERT_TRUE(store_->StoreRevisions({version("a", "320812002", 2)}, "later answer", &results).ok());
  ASSERT_EQ(results[0].outcome, ReviseOutcome::kRefused);
  ASSERT_TRUE(store_->StoreRevisions({version("a", "320812001", 3, "5")}, "later answer", &results).ok());
  ASSERT_EQ(results[0].outcome, ReviseOutcome::kRevised);
  // The same count, another sum: a replacement inside the town changes the fingerprint even when
  // neither it nor its log entry is seen through the id windows (issue 15).
  EXPECT_EQ(fingerprint("320812001").first, fingerprint_before.first);
  EXPECT_NE(fingerprint("320812001").second, fingerprint_before.second);
  auto polled = live.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(count("320812001"), 2);
  EXPECT_EQ(count("320812002"), 2);
  EXPECT_NE(security_row("320812001").estimate, before);

  // "c" is withdrawn.
  auto withdrawn = store_->Withdraw(Channel::kWechat, "wechat:c", "answer.delete");
  ASSERT_TRUE(withdrawn.ok() && *withdrawn == WithdrawOutcome::kWithdrawn);
  ASSERT_TRUE(live.PollOnce().ok());
  EXPECT_EQ(count("320812002"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, AnalysisStoreTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

// Migration 003 backfills the analysis rows of responses stored before it (SQLite; the MySQL
// migration runs the same logic in its dialect).
TEST(AnalysisBackfillTest, MigrationFillsRowsOfExistingResponses) {
  std::string pattern = (fs::temp_directory_path() / "minyi-analysis-backfill-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::string path = pattern + "/minyi.db";
  StoreOptions o;
  o.sqlite.path = path;
  o.sqlite.synchronous = "NORMAL";
  auto store = OpenStore(o);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Migrate().ok());
  Response r;
  r.survey_id = "jiangsu-safety";
  r.period = {2024, 0};
  r.town_code = "320812001";
  r.respondent_key = "k";
  r.weight = 1.5;
  r.answers = {
      {"security", {"1"}}, {"comment", {"很好 thanks"}}, {"multi", {"b", "a"}}, {"age_band", {"60+"}}};
  r.source_ref = "x1";
  r.raw_payload = "{}";
  std::vector<AppendResult> results;
  ASSERT_TRUE((*store)->Append({r}, &results).ok());
  auto scan = [&](Store& s) {
    std::vector<std::string> out;
    AnalysisQuery q{"jiangsu-safety", {2024, 0}, std::nullopt};
    EXPECT_TRUE(s.ScanAnalysis(q, [&](const AnalysisRow& row) {
                   out.push_back(std::to_string(row.response_id) + " " + std::string(row.town_code) + " " +
                                 std::to_string(row.weight) + " " + std::string(row.codes));
                   return true;
                 }).ok());
    return out;
  };
  const std::vector<std::string> appended = scan(**store);
  ASSERT_EQ(appended.size(), 1u);
  store.value().reset();

  // Pretend the database predates migration 003, then migrate again.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE analysis_responses; DELETE FROM schema_migrations WHERE version = 3",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto reopened = OpenStore(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ASSERT_TRUE((*reopened)->Migrate().ok());
  EXPECT_EQ(scan(**reopened), appended);
  reopened->reset();
  std::error_code ec;
  fs::remove_all(pattern, ec);
}

}  // namespace
}  // namespace minyi::sql
