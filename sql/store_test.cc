// One test suite for every store backend: SQLite in memory, SQLite in a file, and a real MariaDB
// server (private, started once per test binary by tests/support; MINYI_TEST_MYSQL_SOCKET selects an
// existing one). Each case gets a fresh database.
#include "sql/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "sql/db.h"
#include "sql/store_common.h"
#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

namespace fs = std::filesystem;

using testsupport::StoreBackend;
using Backend = testsupport::StoreBackend;

// ---------------------------------------------------------------------------------------------
// Fixture: one test, one backend, fresh databases (tests/support/store_backends.h).

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    databases_ = std::make_unique<testsupport::TestDatabases>(GetParam());
    auto options = FreshOptions();
    ASSERT_TRUE(options.ok()) << options.status();
    options_ = *options;
    auto store = OpenStore(options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    auto migrated = store_->Migrate();
    ASSERT_TRUE(migrated.ok()) << migrated.status();
  }

  void TearDown() override {
    store_.reset();
    extra_stores_.clear();
    databases_.reset();  // removes the databases once every store on them is closed
  }

  // Options for a new, empty database of this test's backend.
  Result<StoreOptions> FreshOptions() { return databases_->FreshOptions(); }

  // A second, un-migrated store on a fresh database, owned by the fixture.
  Store* OpenEmptyStore() {
    auto options = FreshOptions();
    EXPECT_TRUE(options.ok()) << options.status();
    if (!options.ok()) return nullptr;
    auto store = OpenStore(*options);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return nullptr;
    extra_stores_.push_back(std::move(store).value());
    return extra_stores_.back().get();
  }

  std::vector<AppendResult> AppendOk(const std::vector<Response>& batch) {
    std::vector<AppendResult> results;
    const Status s = store_->Append(batch, &results);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(results.size(), s.ok() ? batch.size() : 0u);
    return results;
  }

  std::vector<Response> ScanAll(ResponseQuery q) {
    std::vector<Response> out;
    const Status s = store_->Scan(q, [&](const Response& r) {
      out.push_back(r);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::int64_t TotalResponses() {
    auto counts = store_->CountResponses();
    EXPECT_TRUE(counts.ok()) << counts.status();
    std::int64_t total = 0;
    if (counts.ok()) {
      for (const ResponseCount& c : *counts) total += c.count;
    }
    return total;
  }

  StoreOptions options_;
  std::unique_ptr<Store> store_;
  std::vector<std::unique_ptr<Store>> extra_stores_;
  std::unique_ptr<testsupport::TestDatabases> databases_;
};

Response MakeResponse(const std::string& ref, const std::string& town = "320102002", Period period = {2025, 0}) {
  Response r;
  r.survey_id = "security";
  r.period = period;
  r.town_code = town;
  r.channel = Channel::kWeb;
  r.respondent_key = "rk-" + ref;
  r.weight = 1.25;
  r.answers = {{"q01", {"3"}}, {"q02", {"c", "a", "b"}}, {"ref", {ref}}};
  r.completion = Completion::kComplete;
  r.submitted_at_ms = 1715475693000;
  r.received_at_ms = 1715475694000;
  r.source_ref = ref;
  r.raw_payload = "{\"ref\":\"" + ref + "\"}";
  return r;
}

// ---------------------------------------------------------------------------------------------
// Schema

TEST_P(StoreTest, ReportsItsBackendName) {
  EXPECT_EQ(store_->Backend(), GetParam() == Backend::kMariaDb ? "mysql" : "sqlite");
}

TEST_P(StoreTest, MigrateAppliesEveryMigrationOnceAndReportsSchemaVersion) {
  Store* empty = OpenEmptyStore();
  ASSERT_NE(empty, nullptr);
  auto before = empty->SchemaVersion();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(*before, 0);
  auto pending = empty->Migrations();
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), static_cast<std::size_t>(LatestSchemaVersion()));
  for (const MigrationInfo& m : *pending) EXPECT_TRUE(m.applied_at.empty()) << m.name;

  auto first = empty->Migrate();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), static_cast<std::size_t>(LatestSchemaVersion()));
  EXPECT_EQ(first->front().version, 1);
  EXPECT_EQ(first->front().name, "initial");

  auto second = empty->Migrate();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->empty()) << "a second Migrate() must apply nothing";

  auto after = empty->SchemaVersion();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, LatestSchemaVersion());
  auto applied = empty->Migrations();
  ASSERT_TRUE(applied.ok()) << applied.status();
  for (const MigrationInfo& m : *applied) {
    EXPECT_EQ(m.applied_at.size(), 20u) << "ISO time like 2025-01-02T03:04:05Z, got " << m.applied_at;
  }
}

// Three stores on one database migrate it at once: each migration is applied exactly once (the
// runner re-checks inside db::Db::SchemaChange: SQLite's IMMEDIATE transaction, MySQL's named lock).
TEST_P(StoreTest, ConcurrentMigrationsOfOneDatabaseApplyEachMigrationOnce) {
  if (GetParam() == Backend::kSqliteMemory) GTEST_SKIP() << "a :memory: database has one store";
  auto options = FreshOptions();
  ASSERT_TRUE(options.ok()) << options.status();
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 3; ++i) {
    auto store = OpenStore(*options);
    ASSERT_TRUE(store.ok()) << store.status();
    stores.push_back(std::move(store).value());
  }
  std::vector<Result<std::vector<MigrationInfo>>> applied(3, Status::Internal("not run"));
  testsupport::RunAtOnce(3, [&](int i) {
    applied[static_cast<std::size_t>(i)] = stores[static_cast<std::size_t>(i)]->Migrate();
  });
  std::map<int, int> times_applied;
  for (const auto& a : applied) {
    ASSERT_TRUE(a.ok()) << a.status();
    for (const MigrationInfo& m : *a) ++times_applied[m.version];
  }
  ASSERT_EQ(times_applied.size(), static_cast<std::size_t>(LatestSchemaVersion()));
  for (const auto& [version, times] : times_applied) EXPECT_EQ(times, 1) << "migration " << version;
  for (const auto& store : stores) {
    auto version = store->SchemaVersion();
    ASSERT_TRUE(version.ok()) << version.status();
    EXPECT_EQ(*version, LatestSchemaVersion());
  }
  stores.clear();  // before the fixture removes the database
}

// A schema change that fails leaves the database to the next one: on MySQL the named migration lock is
// released with the rolled-back attempt, so another store's Migrate does not wait 60 s for it.
TEST_P(StoreTest, AFailedSchemaChangeLeavesTheMigrationLockFree) {
  const Status failed = store_->SqlDb().SchemaChange("failing change", [](db::Tx& tx) -> Status {
    MINYI_RETURN_IF_ERROR(
        tx.ExecuteScript("CREATE TABLE schema_change_probe (id INTEGER NOT NULL PRIMARY KEY)"));
    return Status::InvalidInput("the change gives up");
  });
  EXPECT_EQ(failed.code(), StatusCode::kInvalidInput) << failed;
  EXPECT_NE(failed.message().find("failing change"), std::string::npos) << failed;
  Store* other = store_.get();
  std::unique_ptr<Store> second;
  if (GetParam() != Backend::kSqliteMemory) {
    auto opened = OpenStore(options_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    second = std::move(opened).value();
    other = second.get();
  }
  const auto start = std::chrono::steady_clock::now();
  const Status next = other->SqlDb().SchemaChange("next change", [](db::Tx& tx) {
    return tx.ExecuteScript(
        "CREATE TABLE IF NOT EXISTS schema_change_probe2 (id INTEGER NOT NULL PRIMARY KEY);"
        " CREATE TABLE IF NOT EXISTS schema_change_probe3 (id INTEGER NOT NULL PRIMARY KEY)");
  });
  EXPECT_TRUE(next.ok()) << next;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // Both statements of the script ran.
  const Status read = other->SqlDb().Read("probe", [](db::Tx& tx) -> Status {
    MINYI_RETURN_IF_ERROR(tx.Query("SELECT COUNT(*) FROM schema_change_probe2", {}).status());
    return tx.Query("SELECT COUNT(*) FROM schema_change_probe3", {}).status();
  });
  EXPECT_TRUE(read.ok()) << read;
}

// ---------------------------------------------------------------------------------------------
// Append

TEST_P(StoreTest, AppendStoresNewResponsesWithDistinctIds) {
  const std::vector<AppendResult> results = AppendOk({MakeResponse("a"), MakeResponse("b"), MakeResponse("c")});
  ASSERT_EQ(results.size(), 3u);
  std::set<std::int64_t> ids;
  for (const AppendResult& r : results) {
    EXPECT_EQ(r.outcome, AppendOutcome::kStored);
    EXPECT_GT(r.response_id, 0);
    ids.insert(r.response_id);
  }
  EXPECT_EQ(ids.size(), 3u);
  // The ids are the stored rows' ids, in input order.
  const std::vector<Response> stored = ScanAll({"security", std::nullopt, std::nullopt, false});
  ASSERT_EQ(stored.size(), 3u);
  std::map<std::string, std::int64_t> id_by_ref;
  for (const Response& r : stored) id_by_ref[r.source_ref] = r.id;
  EXPECT_EQ(id_by_ref["a"], results[0].response_id);
  EXPECT_EQ(id_by_ref["b"], results[1].response_id);
  EXPECT_EQ(id_by_ref["c"], results[2].response_id);
}

// AppendHashed stores the given hashes (a replay is told from a conflict by them) and refuses a
// batch whose hash count does not match, storing nothing.
TEST_P(StoreTest, AppendHashedUsesTheCallersHashes) {
  const Response a = MakeResponse("a");
  const Response b = MakeResponse("b");
  std::vector<AppendResult> results;
  EXPECT_EQ(store_->AppendHashed({a, b}, {a.ContentHash()}, &results).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(TotalResponses(), 0);
  ASSERT_TRUE(store_->AppendHashed({a, b}, {a.ContentHash(), b.ContentHash()}, &results).ok());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, AppendOutcome::kStored);
  EXPECT_EQ(results[1].outcome, AppendOutcome::kStored);
  // The plain Append path hashes itself and sees the same hashes: a replay is a duplicate.
  const std::vector<AppendResult> replay = AppendOk({a});
  EXPECT_EQ(replay[0].outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(replay[0].response_id, results[0].response_id);
}

TEST_P(StoreTest, AppendOfEmptyBatchSucceedsWithNoResults) {
  std::vector<AppendResult> results = {AppendResult{}};
  EXPECT_TRUE(store_->Append({}, &results).ok());
  EXPECT_TRUE(results.empty());
}

TEST_P(StoreTest, ReplayWithSameContentInLaterBatchIsDuplicateOfTheStoredRow) {
  const std::vector<AppendResult> first = AppendOk({MakeResponse("sms-1")});
  Response replay = MakeResponse("sms-1");
  replay.received_at_ms += 60000;         // a gateway retry: received later,
  replay.raw_payload = "retried payload"; // raw form differs, content is the same
  const std::vector<AppendResult> second = AppendOk({replay});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(second[0].response_id, first[0].response_id);
  EXPECT_EQ(TotalResponses(), 1);
}

TEST_P(StoreTest, SameRefWithDifferentContentInLaterBatchIsConflictAndKeepsTheOriginal) {
  const std::vector<AppendResult> first = AppendOk({MakeResponse("web-7")});
  Response changed = MakeResponse("web-7");
  changed.answers["q01"] = {"1"};
  const std::vector<AppendResult> second = AppendOk({changed});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].outcome, AppendOutcome::kConflict);
  EXPECT_EQ(second[0].response_id, first[0].response_id);
  const std::vector<Response> stored = ScanAll({"security", std::nullopt, std::nullopt, false});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].answers.at("q01"), std::vector<std::string>{"3"});
}

TEST_P(StoreTest, RepeatedRefInsideOneBatchIsDuplicateOrConflictOfItsFirstOccurrence) {
  Response changed = MakeResponse("x");
  changed.weight = 2.0;
  const std::vector<AppendResult> results =
      AppendOk({MakeResponse("x"), MakeResponse("y"), MakeResponse("x"), changed, MakeResponse("y")});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].outcome, AppendOutcome::kStored);
  EXPECT_EQ(results[1].outcome, AppendOutcome::kStored);
  EXPECT_EQ(results[2].outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(results[3].outcome, AppendOutcome::kConflict);
  EXPECT_EQ(results[4].outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(results[2].response_id, results[0].response_id);
  EXPECT_EQ(results[3].response_id, results[0].response_id);
  EXPECT_EQ(results[4].response_id, results[1].response_id);
  EXPECT_EQ(TotalResponses(), 2);
  const std::vector<Response> stored = ScanAll({"security", std::nullopt, std::nullopt, false});
  for (const Response& r : stored) EXPECT_DOUBLE_EQ(r.weight, 1.25) << "the first occurrence is kept";
}

TEST_P(StoreTest, LargerBatchMixingStoredRefsAndNewRefsReportsEachOutcome) {
  const std::vector<AppendResult> first = AppendOk({MakeResponse("m-a"), MakeResponse("m-b")});
  Response changed_b = MakeResponse("m-b");
  changed_b.answers["q02"] = {"a"};
  const std::vector<AppendResult> results =
      AppendOk({MakeResponse("m-a"), MakeResponse("m-c"), changed_b, MakeResponse("m-d"), MakeResponse("m-c")});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(results[0].response_id, first[0].response_id);
  EXPECT_EQ(results[1].outcome, AppendOutcome::kStored);
  EXPECT_EQ(results[2].outcome, AppendOutcome::kConflict);
  EXPECT_EQ(results[2].response_id, first[1].response_id);
  EXPECT_EQ(results[3].outcome, AppendOutcome::kStored);
  EXPECT_EQ(results[4].outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(results[4].response_id, results[1].response_id);
  EXPECT_EQ(TotalResponses(), 4);
  for (const Response& r : ScanAll({"security", std::nullopt, std::nullopt, false})) {
    EXPECT_EQ(r.answers.at("ref"), std::vector<std::string>{r.source_ref}) << "answers belong to their response";
    EXPECT_EQ(r.answers.at("q02"), (std::vector<std::string>{"c", "a", "b"})) << r.source_ref;
  }
}

TEST_P(StoreTest, SameRefOnDifferentChannelsIsTwoResponses) {
  Response web = MakeResponse("42");
  Response sms = MakeResponse("42");
  sms.channel = Channel::kSms;
  const std::vector<AppendResult> results = AppendOk({web, sms});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, AppendOutcome::kStored);
  EXPECT_EQ(results[1].outcome, AppendOutcome::kStored);
  EXPECT_NE(results[0].response_id, results[1].response_id);
}

struct InvalidCase {
  const char* name;
  void (*spoil)(Response&);
  const char* message_part;
};

TEST_P(StoreTest, AppendRejectsTheWholeBatchWhenAResponseLacksARequiredField) {
  const InvalidCase cases[] = {
      {"empty survey", [](Response& r) { r.survey_id.clear(); }, "survey_id"},
      {"empty town", [](Response& r) { r.town_code.clear(); }, "town_code"},
      {"short town", [](Response& r) { r.town_code = "32010200"; }, "town_code"},
      {"empty source ref", [](Response& r) { r.source_ref.clear(); }, "source_ref"},
      {"source ref too long", [](Response& r) { r.source_ref = std::string(192, 'r'); }, "source_ref"},
      {"year zero", [](Response& r) { r.period.year = 0; }, "year"},
      {"quarter five", [](Response& r) { r.period.quarter = 5; }, "quarter"},
      {"NaN weight", [](Response& r) { r.weight = std::nan(""); }, "weight"},
      {"empty question code", [](Response& r) { r.answers[""] = {"1"}; }, "question"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    Response bad = MakeResponse("bad");
    c.spoil(bad);
    std::vector<AppendResult> results;
    const Status s = store_->Append({MakeResponse("good"), bad}, &results);
    EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s;
    EXPECT_NE(s.message().find(c.message_part), std::string::npos) << s;
    EXPECT_NE(s.message().find("response 1"), std::string::npos) << "names the batch position: " << s;
    EXPECT_TRUE(results.empty());
  }
  EXPECT_EQ(TotalResponses(), 0) << "nothing of a rejected batch is stored";
}

TEST_P(StoreTest, SourceRefOfMaximumLengthInChineseIsAccepted) {
  Response r = MakeResponse("");
  r.source_ref.clear();
  for (int i = 0; i < 191; ++i) r.source_ref += "民";  // 191 characters, 573 bytes
  const std::vector<AppendResult> results = AppendOk({r, r});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, AppendOutcome::kStored);
  EXPECT_EQ(results[1].outcome, AppendOutcome::kDuplicate);
}

// ---------------------------------------------------------------------------------------------
// Scan

TEST_P(StoreTest, AnswersAndFieldsRoundTripThroughScan) {
  Response r = MakeResponse("round-trip");
  r.channel = Channel::kWechat;
  r.completion = Completion::kPartial;
  r.weight = 0.123456789012345;
  r.respondent_key = "k:9f86d081884c7d65";
  r.submitted_at_ms = 1700000000123;
  r.received_at_ms = 1700000000456;
  r.answers = {
      {"q03", {"e", "a", "d", "b"}},                         // multi-choice: order as chosen
      {"q10_text", {"社区民警很负责，夜里巡逻多了 👍🏻🚓"}},  // Chinese and 4-byte emoji (utf8mb4)
      {"q11", {""}},                                         // an empty text answer is still an answer
      {"sex", {"2"}},
  };
  r.raw_payload = "原始报文 {\"q10_text\":\"社区民警很负责 👍🏻\"}";
  const std::vector<AppendResult> results = AppendOk({r});
  ASSERT_EQ(results.size(), 1u);

  const std::vector<Response> with_raw = ScanAll({"security", std::nullopt, std::nullopt, true});
  ASSERT_EQ(with_raw.size(), 1u);
  const Response& got = with_raw[0];
  EXPECT_EQ(got.id, results[0].response_id);
  EXPECT_EQ(got.survey_id, r.survey_id);
  EXPECT_EQ(got.period, r.period);
  EXPECT_EQ(got.town_code, r.town_code);
  EXPECT_EQ(got.channel, Channel::kWechat);
  EXPECT_EQ(got.completion, Completion::kPartial);
  EXPECT_EQ(got.respondent_key, r.respondent_key);
  EXPECT_EQ(got.weight, r.weight) << "doubles round-trip exactly";
  EXPECT_EQ(got.submitted_at_ms, r.submitted_at_ms);
  EXPECT_EQ(got.received_at_ms, r.received_at_ms);
  EXPECT_EQ(got.source_ref, r.source_ref);
  EXPECT_EQ(got.answers, r.answers);
  EXPECT_EQ(got.raw_payload, r.raw_payload);
  EXPECT_EQ(got.ContentHash(), r.ContentHash()) << "what is read back hashes like what was written";

  const std::vector<Response> without_raw = ScanAll({"security", std::nullopt, std::nullopt, false});
  ASSERT_EQ(without_raw.size(), 1u);
  EXPECT_TRUE(without_raw[0].raw_payload.empty());
  EXPECT_EQ(without_raw[0].answers, r.answers);
}

TEST_P(StoreTest, ResponseWithoutAnswersScansWithEmptyAnswers) {
  Response r = MakeResponse("no-answers");
  r.answers.clear();
  AppendOk({r, MakeResponse("with-answers")});
  const std::vector<Response> all = ScanAll({"security", std::nullopt, std::nullopt, false});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].answers.empty());
  EXPECT_EQ(all[1].answers.at("ref"), std::vector<std::string>{"with-answers"});
}

TEST_P(StoreTest, ScanOrdersByPeriodThenTownThenIdAndFiltersByPeriodAndTown) {
  const Period y2024{2024, 0}, q1{2025, 1}, q2{2025, 2};
  AppendOk({
      MakeResponse("r1", "320102003", q2),
      MakeResponse("r2", "320102002", q2),
      MakeResponse("r3", "320102003", y2024),
      MakeResponse("r4", "320102002", q1),
      MakeResponse("r5", "320102002", q2),
      MakeResponse("r6", "320102003", q1),
  });
  Response other = MakeResponse("r7", "320102002", q1);
  other.survey_id = "grid";
  AppendOk({other});

  const std::vector<Response> all = ScanAll({"security", std::nullopt, std::nullopt, false});
  std::vector<std::string> refs;
  for (const Response& r : all) refs.push_back(r.source_ref);
  EXPECT_EQ(refs, (std::vector<std::string>{"r3", "r4", "r6", "r2", "r5", "r1"}));
  for (std::size_t i = 1; i < all.size(); ++i) {
    const Response& a = all[i - 1];
    const Response& b = all[i];
    EXPECT_LT(std::tie(a.period, a.town_code, a.id), std::tie(b.period, b.town_code, b.id));
  }

  refs.clear();
  for (const Response& r : ScanAll({"security", q2, std::nullopt, false})) refs.push_back(r.source_ref);
  EXPECT_EQ(refs, (std::vector<std::string>{"r2", "r5", "r1"}));

  refs.clear();
  for (const Response& r : ScanAll({"security", std::nullopt, std::string("320102003"), false})) {
    refs.push_back(r.source_ref);
  }
  EXPECT_EQ(refs, (std::vector<std::string>{"r3", "r6", "r1"}));

  refs.clear();
  for (const Response& r : ScanAll({"security", q1, std::string("320102002"), false})) refs.push_back(r.source_ref);
  EXPECT_EQ(refs, (std::vector<std::string>{"r4"}));

  EXPECT_TRUE(ScanAll({"security", Period{2023, 0}, std::nullopt, false}).empty());
  EXPECT_EQ(ScanAll({"grid", std::nullopt, std::nullopt, false}).size(), 1u);
}

TEST_P(StoreTest, ScanRequiresASurveyId) {
  const Status s = store_->Scan({}, [](const Response&) { return true; });
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s;
}

TEST_P(StoreTest, ScanStopsAsSoonAsVisitReturnsFalse) {
  std::vector<Response> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(MakeResponse("stop-" + std::to_string(100 + i)));
  AppendOk(batch);
  int visited = 0;
  const Status s = store_->Scan({"security", std::nullopt, std::nullopt, false}, [&](const Response&) {
    ++visited;
    return visited < 3;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(visited, 3);
}

TEST_P(StoreTest, ScanStreamsAcrossPagesKeepingEachResponsesOwnAnswers) {
  // More than two pages of the store's page size (512), spread over towns so that id order and
  // scan order differ.
  const std::vector<std::string> towns = {"320102004", "320102002", "320102003"};
  std::vector<Response> batch;
  for (int i = 0; i < 1300; ++i) {
    batch.push_back(MakeResponse("page-" + std::to_string(i), towns[static_cast<std::size_t>(i) % towns.size()]));
  }
  AppendOk(batch);
  std::vector<Response> all = ScanAll({"security", std::nullopt, std::nullopt, false});
  ASSERT_EQ(all.size(), 1300u);
  std::set<std::string> refs;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Response& r = all[i];
    ASSERT_EQ(r.answers.count("ref"), 1u) << r.source_ref;
    EXPECT_EQ(r.answers.at("ref"), std::vector<std::string>{r.source_ref});
    EXPECT_EQ(r.answers.at("q02"), (std::vector<std::string>{"c", "a", "b"}));
    refs.insert(r.source_ref);
    if (i > 0) {
      EXPECT_LT(std::tie(all[i - 1].town_code, all[i - 1].id), std::tie(r.town_code, r.id));
    }
  }
  EXPECT_EQ(refs.size(), 1300u);

  // The same pages under each filter: every filtered scan continues after its last key correctly.
  const std::vector<Response> by_period = ScanAll({"security", Period{2025, 0}, std::nullopt, false});
  EXPECT_EQ(by_period.size(), 1300u);
  const std::vector<Response> by_town = ScanAll({"security", std::nullopt, std::string("320102002"), false});
  const std::vector<Response> by_both = ScanAll({"security", Period{2025, 0}, std::string("320102002"), false});
  EXPECT_EQ(by_town.size(), 433u);  // i % 3 == 1 for i < 1300: 1, 4, ..., 1297
  EXPECT_EQ(by_both.size(), 433u);
  for (std::size_t i = 1; i < by_both.size(); ++i) EXPECT_LT(by_both[i - 1].id, by_both[i].id);
  for (const Response& r : by_town) EXPECT_EQ(r.town_code, "320102002");
}

// ScanViews lends the responses Scan gives (every field, answers flattened in the map's order), across
// pages and towns, with and without raw payloads; responses without answers keep none of their neighbours'.
TEST_P(StoreTest, ScanViewsLendsEveryFieldOfEachResponseInScanOrder) {
  const std::vector<std::string> towns = {"320102004", "320102002", "320102003"};
  std::vector<Response> batch;
  for (int i = 0; i < 1100; ++i) {
    Response r = MakeResponse("view-" + std::to_string(i), towns[static_cast<std::size_t>(i) % towns.size()]);
    r.channel = i % 2 == 0 ? Channel::kSms : Channel::kWechat;
    r.completion = i % 5 == 0 ? Completion::kPartial : Completion::kComplete;
    r.weight = 0.5 + i;
    r.submitted_at_ms += i;
    r.answers["text"] = {"第" + std::to_string(i) + "条，含逗号"};
    if (i % 7 == 0) r.answers.clear();
    if (i % 11 == 0) r.respondent_key.clear();
    batch.push_back(r);
  }
  AppendOk(batch);
  std::map<std::string, const Response*> expected;
  for (const Response& r : batch) expected[r.source_ref] = &r;
  for (const bool raw : {false, true}) {
    const ResponseQuery q{"security", std::nullopt, std::nullopt, raw};
    std::vector<Response> viewed;
    ASSERT_TRUE(store_
                    ->ScanViews(q,
                                [&](const ResponseView& v) {
                                  EXPECT_EQ(v.survey_id, "security");
                                  viewed.push_back(v.ToResponse());
                                  return true;
                                })
                    .ok());
    ASSERT_EQ(viewed.size(), batch.size());
    const std::vector<Response> scanned = ScanAll(q);
    ASSERT_EQ(scanned.size(), viewed.size());
    for (std::size_t i = 0; i < viewed.size(); ++i) {
      const Response& v = viewed[i];
      ASSERT_EQ(expected.count(v.source_ref), 1u) << v.source_ref;
      const Response& want = *expected.at(v.source_ref);
      EXPECT_EQ(v.id, scanned[i].id);
      EXPECT_EQ(v.town_code, want.town_code);
      EXPECT_EQ(v.period, want.period);
      EXPECT_EQ(v.channel, want.channel);
      EXPECT_EQ(v.respondent_key, want.respondent_key);
      EXPECT_EQ(v.weight, want.weight);
      EXPECT_EQ(v.completion, want.completion);
      EXPECT_EQ(v.submitted_at_ms, want.submitted_at_ms);
      EXPECT_EQ(v.received_at_ms, want.received_at_ms);
      EXPECT_EQ(v.answers, want.answers) << v.source_ref;
      EXPECT_EQ(v.raw_payload, raw ? want.raw_payload : std::string()) << v.source_ref;
      EXPECT_EQ(v.ContentHash(), want.ContentHash()) << v.source_ref;
    }
  }
  int visited = 0;
  ASSERT_TRUE(store_
                  ->ScanViews({"security", std::nullopt, std::nullopt, false},
                              [&](const ResponseView&) {
                                return ++visited < 600;  // stops inside the second page
                              })
                  .ok());
  EXPECT_EQ(visited, 600);
}

// include_provenance = false leaves out the times and source_ref (the live microdata export prints
// none of them) and keeps every other field; a content hash needs them, so true is the default.
TEST_P(StoreTest, ScanViewsWithoutProvenanceReadsEveryOtherField) {
  std::vector<Response> batch;
  for (int i = 0; i < 40; ++i) {
    Response r = MakeResponse("prov-" + std::to_string(i), i % 2 == 0 ? "320102002" : "320102003");
    r.submitted_at_ms += i;
    if (i % 5 == 0) r.answers.clear();
    batch.push_back(r);
  }
  AppendOk(batch);
  ResponseQuery q{"security", std::nullopt, std::nullopt, false};
  const std::vector<Response> full = ScanAll(q);
  q.include_provenance = false;
  std::vector<Response> projected;
  ASSERT_TRUE(store_
                  ->ScanViews(q,
                              [&](const ResponseView& v) {
                                projected.push_back(v.ToResponse());
                                return true;
                              })
                  .ok());
  ASSERT_EQ(projected.size(), full.size());
  for (std::size_t i = 0; i < full.size(); ++i) {
    Response want = full[i];
    EXPECT_NE(want.submitted_at_ms, 0);
    EXPECT_FALSE(want.source_ref.empty());
    want.submitted_at_ms = want.received_at_ms = 0;
    want.source_ref.clear();
    const Response& got = projected[i];
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.town_code, want.town_code);
    EXPECT_EQ(got.respondent_key, want.respondent_key);
    EXPECT_EQ(got.answers, want.answers);
    EXPECT_EQ(got.ContentHash(), want.ContentHash()) << "every other field equal, provenance empty";
  }
}

// MeasureScan (what a .sav/.dta export needs before its one scan) gives what one ScanViews gives: the
// count, the highest id, and the asked questions' values in scan order, across its pages, towns and
// filters; the default implementation of the port is the reference.
TEST_P(StoreTest, MeasureScanCountsAndLendsTheAskedAnswersInScanOrder) {
  const std::vector<std::string> towns = {"320102004", "320102002", "320102003"};
  std::vector<Response> batch;
  const int n = internal::kMeasurePageSize + 300;  // two pages and a part
  for (int i = 0; i < n; ++i) {
    Response r =
        MakeResponse("measure-" + std::to_string(i), towns[static_cast<std::size_t>(i) % towns.size()],
                     i % 4 == 0 ? Period{2024, 0} : Period{2025, 0});
    if (i % 3 == 0) r.answers["text"] = {"第" + std::to_string(i) + "条"};
    if (i % 7 == 0) r.answers.erase("q02");
    batch.push_back(r);
  }
  AppendOk(batch);
  const std::vector<std::string> questions = {"q02", "text"};
  using Seen = std::tuple<std::int64_t, std::string, std::string, std::string>;
  const auto measure = [&](const ResponseQuery& q, bool reference, std::size_t stop_after,
                           std::vector<Seen>* seen) {
    const auto visit = [&](const ScanValue& v) {
      seen->emplace_back(v.response_id, std::string(v.town_code), std::string(v.question),
                         std::string(v.value));
      return seen->size() < stop_after;
    };
    auto m = reference ? store_->ResponseSource::MeasureScan(q, questions, visit)
                       : store_->MeasureScan(q, questions, visit);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? m.value() : ScanMeasure{};
  };
  for (const ResponseQuery& q : {ResponseQuery{"security", std::nullopt, std::nullopt, false},
                                 ResponseQuery{"security", Period{2025, 0}, std::nullopt, false},
                                 ResponseQuery{"security", Period{2025, 0}, std::string("320102003"), false},
                                 ResponseQuery{"nobody", std::nullopt, std::nullopt, false}}) {
    std::vector<Seen> want, got;
    const ScanMeasure expected = measure(q, true, std::numeric_limits<std::size_t>::max(), &want);
    const ScanMeasure measured = measure(q, false, std::numeric_limits<std::size_t>::max(), &got);
    EXPECT_EQ(measured.responses, expected.responses);
    EXPECT_EQ(measured.max_id, expected.max_id);
    EXPECT_EQ(got, want);
    if (q.survey_id == "nobody") {
      EXPECT_EQ(measured.responses, 0);
      EXPECT_TRUE(got.empty());
    } else if (!q.period) {
      EXPECT_GT(measured.responses, internal::kMeasurePageSize) << "more than one page";
    }
  }
  const std::int64_t all = n;
  std::vector<Seen> seen;
  const ScanMeasure whole = measure({"security", std::nullopt, std::nullopt, false}, false, 10, &seen);
  EXPECT_EQ(seen.size(), 10u) << "stops visiting when visit returns false";
  EXPECT_EQ(whole.responses, all) << "and still counts every response";
}

TEST_P(StoreTest, ScanVisitMayCallBackIntoTheStore) {
  AppendOk({MakeResponse("outer-1"), MakeResponse("outer-2")});
  ASSERT_TRUE(store_->SetMeta("k", "v").ok());
  int visited = 0;
  const Status s = store_->Scan({"security", std::nullopt, std::nullopt, false}, [&](const Response& r) {
    ++visited;
    auto meta = store_->GetMeta("k");
    EXPECT_TRUE(meta.ok() && *meta == "v");
    Response inner = MakeResponse("inner-" + r.source_ref);
    inner.survey_id = "grid";
    std::vector<AppendResult> results;
    EXPECT_TRUE(store_->Append({inner}, &results).ok());
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(visited, 2);
  EXPECT_EQ(ScanAll({"grid", std::nullopt, std::nullopt, false}).size(), 2u);
}

TEST_P(StoreTest, ScanIsSafeWhileAppendsContinue) {
  AppendOk({MakeResponse("seed")});
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    for (int b = 0; b < 20; ++b) {
      std::vector<Response> batch;
      for (int i = 0; i < 50; ++i) {
        batch.push_back(MakeResponse("live-" + std::to_string(b) + "-" + std::to_string(i),
                                     i % 2 == 0 ? "320102002" : "320102003"));
      }
      std::vector<AppendResult> results;
      if (!store_->Append(batch, &results).ok()) failed = true;
    }
  });
  for (int scan = 0; scan < 10; ++scan) {
    std::vector<Response> seen = ScanAll({"security", std::nullopt, std::nullopt, false});
    ASSERT_FALSE(seen.empty());
    std::set<std::int64_t> ids;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      EXPECT_TRUE(ids.insert(seen[i].id).second) << "a response was visited twice";
      EXPECT_EQ(seen[i].answers.at("ref"), std::vector<std::string>{seen[i].source_ref});
      if (i > 0) {
        EXPECT_LT(std::tie(seen[i - 1].town_code, seen[i - 1].id), std::tie(seen[i].town_code, seen[i].id));
      }
    }
  }
  writer.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(TotalResponses(), 1001);
}

// ---------------------------------------------------------------------------------------------
// Counts, population, indices, meta

TEST_P(StoreTest, CountResponsesGroupsBySurveyPeriodAndChannelInOrder) {
  Response sms = MakeResponse("c3", "320102002", {2025, 1});
  sms.channel = Channel::kSms;
  Response grid = MakeResponse("c4");
  grid.survey_id = "grid";
  AppendOk({MakeResponse("c1", "320102002", {2025, 1}), MakeResponse("c2", "320102003", {2025, 1}), sms, grid,
            MakeResponse("c5", "320102002", {2024, 0})});
  auto counts = store_->CountResponses();
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->size(), 4u);
  const std::vector<std::tuple<std::string, Period, Channel, std::int64_t>> expected = {
      {"grid", {2025, 0}, Channel::kWeb, 1},
      {"security", {2024, 0}, Channel::kWeb, 1},
      {"security", {2025, 1}, Channel::kWeb, 2},
      {"security", {2025, 1}, Channel::kSms, 1},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const ResponseCount& c = (*counts)[i];
    EXPECT_EQ(std::tie(c.survey_id, c.period, c.channel, c.count),
              std::tie(std::get<0>(expected[i]), std::get<1>(expected[i]), std::get<2>(expected[i]),
                       std::get<3>(expected[i])))
        << "row " << i;
  }
}

TEST_P(StoreTest, PopulationUpsertReplacesCellsAndVersionFollowsTheData) {
  auto empty_version = store_->PopulationVersion(2025);
  ASSERT_TRUE(empty_version.ok()) << empty_version.status();
  EXPECT_EQ(*empty_version, "") << "no cells, no fingerprint";

  const std::vector<PopulationCell> cells = {
      {2025, "320102003", "", "", 51000},       {2025, "320102002", "", "", 42000.5},
      {2025, "320102002", "1", "", 21000},      {2025, "320102002", "", "18-29", 8000},
      {2024, "320102002", "", "", 41000},
  };
  ASSERT_TRUE(store_->UpsertPopulation(cells).ok());
  auto loaded = store_->LoadPopulation(2025);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 4u);
  EXPECT_EQ(std::tie((*loaded)[0].town_code, (*loaded)[0].sex, (*loaded)[0].age_band),
            std::make_tuple(std::string("320102002"), std::string(""), std::string("")));
  EXPECT_EQ((*loaded)[0].population, 42000.5);
  EXPECT_EQ((*loaded)[1].age_band, "18-29");
  EXPECT_EQ((*loaded)[2].sex, "1");
  EXPECT_EQ((*loaded)[3].town_code, "320102003");

  auto v1 = store_->PopulationVersion(2025);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->size(), 16u);
  ASSERT_TRUE(store_->UpsertPopulation(cells).ok());
  auto v1_again = store_->PopulationVersion(2025);
  ASSERT_TRUE(v1_again.ok());
  EXPECT_EQ(*v1_again, *v1) << "same data, same version";

  ASSERT_TRUE(store_->UpsertPopulation({{2025, "320102002", "", "", 43000}}).ok());
  loaded = store_->LoadPopulation(2025);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 4u) << "an upsert replaces the cell with the same key";
  EXPECT_EQ((*loaded)[0].population, 43000);
  auto v2 = store_->PopulationVersion(2025);
  ASSERT_TRUE(v2.ok());
  EXPECT_NE(*v2, *v1);

  auto other_year = store_->LoadPopulation(2024);
  ASSERT_TRUE(other_year.ok());
  ASSERT_EQ(other_year->size(), 1u);
  EXPECT_EQ((*other_year)[0].population, 41000);

  EXPECT_EQ(store_->UpsertPopulation({{2025, "3201", "", "", 1}}).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(store_->UpsertPopulation({{2025, "320102002", "", "", -1}}).code(), StatusCode::kInvalidInput);
}

IndexRow MakeIndexRow(const std::string& area, const std::string& index_id, double estimate) {
  IndexRow r;
  r.survey_id = "security";
  r.period = {2025, 0};
  r.level = area.size() == 9 ? "town" : "county";
  r.area_code = area;
  r.index_id = index_id;
  r.n = 120;
  r.n_eff = 98.5;
  r.sum_w = 51000;
  r.estimate = estimate;
  r.se = 0.021;
  r.ci_low = estimate - 0.04;
  r.ci_high = estimate + 0.03;
  r.ci_method = "logit";
  r.score = estimate * 100;
  r.score_se = 2.1;
  r.score_ci_low = r.score - 4;
  r.score_ci_high = r.score + 3;
  r.deff = 1.22;
  r.low_n = false;
  r.weighting = "poststrat";
  r.change = 0.012;
  r.change_se = 0.03;
  r.change_significant = true;
  r.definition_version = "security-2025.1";
  r.population_version = "0123456789abcdef";
  r.response_count = 120;
  r.response_hash = std::string(64, 'e');
  r.code_version = "0.1.0+abc123";
  r.computed_at_ms = 1735689600000;
  return r;
}

TEST_P(StoreTest, IndexRowsRoundTripWithNaNStoredAsNull) {
  IndexRow r = MakeIndexRow("320102002", "security", 0.91);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.change = nan;  // no previous period
  r.change_se = nan;
  r.deff = nan;
  r.se = std::numeric_limits<double>::infinity();  // not storable either: read back as NaN
  r.low_n = true;
  r.change_significant = false;
  ASSERT_TRUE(store_->WriteIndexRows({r}).ok());
  auto rows = store_->ReadIndexRows({"security", std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  const IndexRow& got = (*rows)[0];
  EXPECT_TRUE(std::isnan(got.change));
  EXPECT_TRUE(std::isnan(got.change_se));
  EXPECT_TRUE(std::isnan(got.deff));
  EXPECT_TRUE(std::isnan(got.se));
  EXPECT_EQ(got.estimate, 0.91);
  EXPECT_EQ(got.ci_low, r.ci_low);
  EXPECT_EQ(got.ci_high, r.ci_high);
  EXPECT_EQ(got.n, 120);
  EXPECT_EQ(got.n_eff, 98.5);
  EXPECT_EQ(got.sum_w, 51000);
  EXPECT_EQ(got.score, r.score);
  EXPECT_EQ(got.score_se, 2.1);
  EXPECT_EQ(got.score_ci_low, r.score_ci_low);
  EXPECT_EQ(got.score_ci_high, r.score_ci_high);
  EXPECT_TRUE(got.low_n);
  EXPECT_FALSE(got.change_significant);
  EXPECT_EQ(got.level, "town");
  EXPECT_EQ(got.ci_method, "logit");
  EXPECT_EQ(got.weighting, "poststrat");
  EXPECT_EQ(got.definition_version, r.definition_version);
  EXPECT_EQ(got.population_version, r.population_version);
  EXPECT_EQ(got.response_count, 120);
  EXPECT_EQ(got.response_hash, r.response_hash);
  EXPECT_EQ(got.code_version, r.code_version);
  EXPECT_EQ(got.computed_at_ms, r.computed_at_ms);
}

// Migration 012: the model-based town figures round-trip; a row without them (a county, or a row of a
// server that predates the columns) reads back NaN and "" (NULL in the table).
TEST_P(StoreTest, IndexRowsKeepTheModelBasedTownFigures) {
  IndexRow town = MakeIndexRow("320102002", "security", 0.91);
  town.model_estimate = 0.9342;
  town.model_se = 0.0123;
  town.model_ci_low = 0.905;
  town.model_ci_high = 0.9561;
  town.model_method = "eblup";
  IndexRow direct = MakeIndexRow("320102003", "security", 0.88);
  direct.model_estimate = direct.estimate;  // the model is not used: the direct share, no interval
  direct.model_se = direct.se;
  direct.model_method = "direct";
  const IndexRow county = MakeIndexRow("320102", "security", 0.9);  // not modelled
  ASSERT_TRUE(store_->WriteIndexRows({town, direct, county}).ok());
  auto rows = store_->ReadIndexRows({"security", std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  const IndexRow& got_county = (*rows)[0];  // ordered by level: county before town
  const IndexRow& got_town = (*rows)[1];
  const IndexRow& got_direct = (*rows)[2];
  EXPECT_EQ(got_town.model_estimate, 0.9342);
  EXPECT_EQ(got_town.model_se, 0.0123);
  EXPECT_EQ(got_town.model_ci_low, 0.905);
  EXPECT_EQ(got_town.model_ci_high, 0.9561);
  EXPECT_EQ(got_town.model_method, "eblup");
  EXPECT_EQ(got_direct.model_estimate, 0.88);
  EXPECT_EQ(got_direct.model_se, direct.se);
  EXPECT_TRUE(std::isnan(got_direct.model_ci_low));
  EXPECT_TRUE(std::isnan(got_direct.model_ci_high));
  EXPECT_EQ(got_direct.model_method, "direct");
  EXPECT_EQ(got_county.level, "county");
  EXPECT_TRUE(std::isnan(got_county.model_estimate));
  EXPECT_TRUE(std::isnan(got_county.model_se));
  EXPECT_EQ(got_county.model_method, "");
  // NULL, not "", in the table: what a server of the previous schema leaves behind reads the same.
  auto nulls = store_->SqlDb().Read("count model_method NULLs", [&](db::Tx& tx) -> Status {
    auto r = tx.Query(
        "SELECT COUNT(*) FROM index_results WHERE model_method IS NULL AND model_estimate IS NULL", {});
    if (!r.ok()) return r.status();
    EXPECT_EQ(r->at(0).Int(0), 1);
    return Status::Ok();
  });
  EXPECT_TRUE(nulls.ok()) << nulls;

  IndexRow too_long = town;
  too_long.model_method = std::string(17, 'x');
  const Status refused = store_->WriteIndexRows({too_long});
  EXPECT_EQ(refused.code(), StatusCode::kInvalidInput);
  EXPECT_NE(refused.message().find("model_method"), std::string::npos) << refused;
}

TEST_P(StoreTest, WriteIndexRowsReplacesRowsWithTheSameKeyAndReadFilters) {
  ASSERT_TRUE(store_->WriteIndexRows({MakeIndexRow("320102002", "security", 0.91),
                                      MakeIndexRow("320102003", "security", 0.88),
                                      MakeIndexRow("320102", "security", 0.9),
                                      MakeIndexRow("320102002", "grid", 0.8)})
                  .ok());
  IndexRow replaced = MakeIndexRow("320102002", "security", 0.95);
  replaced.n = 130;
  ASSERT_TRUE(store_->WriteIndexRows({replaced}).ok());

  auto all = store_->ReadIndexRows({"security", std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 4u);
  // Ordered by (period, level, area, index).
  EXPECT_EQ((*all)[0].level, "county");
  EXPECT_EQ(std::tie((*all)[1].area_code, (*all)[1].index_id), std::make_tuple(std::string("320102002"), std::string("grid")));
  EXPECT_EQ((*all)[2].index_id, "security");
  EXPECT_EQ((*all)[2].estimate, 0.95);
  EXPECT_EQ((*all)[2].n, 130);
  EXPECT_EQ((*all)[3].area_code, "320102003");

  auto towns = store_->ReadIndexRows({"security", Period{2025, 0}, std::string("town"), std::nullopt, std::string("security")});
  ASSERT_TRUE(towns.ok());
  EXPECT_EQ(towns->size(), 2u);
  auto one = store_->ReadIndexRows({"security", std::nullopt, std::nullopt, std::string("320102003"), std::nullopt});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].estimate, 0.88);
  auto none = store_->ReadIndexRows({"security", Period{2025, 2}, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  IndexRow bad = MakeIndexRow("320102002", "", 0.5);
  EXPECT_EQ(store_->WriteIndexRows({bad}).code(), StatusCode::kInvalidInput);
}

// More rows than one multi-row statement holds (64, then 8, then 1 at a time): every row is stored
// with its own values, and a key repeated in one call keeps its last row, as when written row by row.
TEST_P(StoreTest, WriteIndexRowsStoresEveryRowOfALargeBatchAndTheLastOfARepeatedKey) {
  std::vector<IndexRow> rows;
  for (int i = 0; i < 83; ++i) {
    IndexRow r = MakeIndexRow(std::to_string(320102000 + i), "security", 0.5 + i / 1000.0);
    r.n = 100 + i;
    if (i % 3 == 0) r.se = std::numeric_limits<double>::quiet_NaN();
    if (i % 5 == 0) {
      r.model_estimate = 0.4 + i / 1000.0;
      r.model_method = "fh";
    }
    rows.push_back(r);
  }
  IndexRow repeated = rows[5];
  repeated.estimate = 0.123;
  repeated.n = 7;
  rows.insert(rows.begin() + 70, repeated);  // in the 2nd statement of 64; the first is in the 1st
  ASSERT_TRUE(store_->WriteIndexRows(rows).ok());

  auto stored = store_->ReadIndexRows({"security", std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 83u);
  for (int i = 0; i < 83; ++i) {
    const IndexRow& got = (*stored)[static_cast<std::size_t>(i)];  // ordered by area code
    EXPECT_EQ(got.area_code, std::to_string(320102000 + i));
    EXPECT_EQ(got.estimate, i == 5 ? 0.123 : 0.5 + i / 1000.0) << i;
    EXPECT_EQ(got.n, i == 5 ? 7 : 100 + i) << i;
    EXPECT_EQ(std::isnan(got.se), i % 3 == 0) << i;
    EXPECT_EQ(got.model_method, i % 5 == 0 ? "fh" : "") << i;
    if (i % 5 == 0) EXPECT_EQ(got.model_estimate, 0.4 + i / 1000.0) << i;
    if (i % 5 != 0) EXPECT_TRUE(std::isnan(got.model_estimate)) << i;
  }
}

TEST_P(StoreTest, MetaReturnsEmptyWhenAbsentAndLastValueWritten) {
  auto absent = store_->GetMeta("demo_seed");
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_EQ(*absent, "");
  ASSERT_TRUE(store_->SetMeta("demo_seed", "jiangsu-2025").ok());
  ASSERT_TRUE(store_->SetMeta("demo_seed", "江苏-2025 ✓").ok());
  auto value = store_->GetMeta("demo_seed");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "江苏-2025 ✓");
  EXPECT_EQ(store_->SetMeta("", "x").code(), StatusCode::kInvalidInput);
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST_P(StoreTest, ConcurrentAppendsOfOverlappingRefsStoreEachRefExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kRefs = 200;
  constexpr int kBatch = 10;
  std::mutex mu;
  std::map<std::string, std::vector<AppendResult>> outcomes;  // by ref
  std::vector<Status> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread appends every ref, starting at a different place, in batches.
      for (int start = 0; start < kRefs; start += kBatch) {
        std::vector<Response> batch;
        for (int k = 0; k < kBatch; ++k) {
          const int ref = (start + k + t * 25) % kRefs;
          batch.push_back(MakeResponse("c-" + std::to_string(ref), ref % 2 == 0 ? "320102002" : "320102003"));
        }
        std::vector<AppendResult> results;
        const Status s = store_->Append(batch, &results);
        std::lock_guard<std::mutex> lock(mu);
        if (!s.ok()) {
          failures.push_back(s);
          continue;
        }
        for (std::size_t i = 0; i < batch.size(); ++i) outcomes[batch[i].source_ref].push_back(results[i]);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : failures) ADD_FAILURE() << s;
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kRefs));
  for (const auto& [ref, results] : outcomes) {
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kThreads)) << ref;
    const auto stored = std::count_if(results.begin(), results.end(),
                                      [](const AppendResult& r) { return r.outcome == AppendOutcome::kStored; });
    EXPECT_EQ(stored, 1) << ref << " must be stored by exactly one append";
    for (const AppendResult& r : results) {
      EXPECT_NE(r.outcome, AppendOutcome::kConflict) << ref;
      EXPECT_EQ(r.response_id, results[0].response_id) << ref;
    }
  }
  EXPECT_EQ(TotalResponses(), kRefs);
  EXPECT_EQ(ScanAll({"security", std::nullopt, std::nullopt, false}).size(), static_cast<std::size_t>(kRefs));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

// ---------------------------------------------------------------------------------------------
// Durable backends: what was committed is there after reopening.

class DurableStoreTest : public StoreTest {};

TEST_P(DurableStoreTest, CommittedResponsesSurviveReopen) {
  const std::vector<AppendResult> first = AppendOk({MakeResponse("keep-1"), MakeResponse("keep-2")});
  ASSERT_TRUE(store_->SetMeta("seeded", "yes").ok());
  ASSERT_TRUE(store_->WriteIndexRows({MakeIndexRow("320102002", "security", 0.9)}).ok());
  store_.reset();

  auto reopened = OpenStore(options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = std::move(reopened).value();
  auto version = store_->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, LatestSchemaVersion());
  auto migrated = store_->Migrate();
  ASSERT_TRUE(migrated.ok());
  EXPECT_TRUE(migrated->empty());

  const std::vector<Response> all = ScanAll({"security", std::nullopt, std::nullopt, true});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].answers, MakeResponse("keep-1").answers);
  auto meta = store_->GetMeta("seeded");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, "yes");
  auto rows = store_->ReadIndexRows({"security", std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);

  const std::vector<AppendResult> again = AppendOk({MakeResponse("keep-1")});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].outcome, AppendOutcome::kDuplicate) << "idempotency holds across restarts";
  EXPECT_EQ(again[0].response_id, first[0].response_id);
}

INSTANTIATE_TEST_SUITE_P(Backends, DurableStoreTest, ::testing::Values(Backend::kSqliteFile, Backend::kMariaDb),
                         testsupport::StoreBackendParamName);

// ---------------------------------------------------------------------------------------------
// Backend-specific behaviour

TEST(OpenStoreTest, UnknownBackendIsInvalidInput) {
  StoreOptions o;
  o.backend = "oracle";
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(store.status().message().find("oracle"), std::string::npos);
}

TEST(SqliteStoreTest, RejectsUnknownSynchronousModeAndEmptyPath) {
  StoreOptions o;
  o.sqlite.path = ":memory:";
  o.sqlite.synchronous = "SOMETIMES";
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidInput);
  o.sqlite.synchronous = "normal";  // case-insensitive
  EXPECT_TRUE(OpenStore(o).ok());
  o.sqlite.path = "";
  EXPECT_EQ(OpenStore(o).status().code(), StatusCode::kInvalidInput);
}

TEST(SqliteStoreTest, UnopenablePathIsUnavailable) {
  StoreOptions o;
  o.sqlite.path = "/proc/minyi-cannot-create/minyi.db";
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status();
}

TEST(SqliteStoreTest, FileDatabaseUsesWriteAheadLog) {
  testsupport::TestDatabases databases(StoreBackend::kSqliteFile);
  auto options = databases.FreshOptions();
  ASSERT_TRUE(options.ok()) << options.status();
  const std::string path = options->sqlite.path;
  {
    auto store = OpenStore(*options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Migrate().ok());
    std::vector<AppendResult> results;
    ASSERT_TRUE((*store)->Append({MakeResponse("w")}, &results).ok());
    EXPECT_TRUE(fs::exists(path + "-wal")) << "journal_mode=WAL keeps a -wal file while open";
  }
}

// Issue 16: the WAL is checkpointed by a thread of the store's own, not in the commit that passes 1,000
// pages: the pages written reach the database file, and every row is there after the store (and its
// checkpointer, perhaps in the middle of a checkpoint) closed.
TEST(SqliteStoreTest, TheWalIsCheckpointedInTheBackground) {
  testsupport::TestDatabases databases(StoreBackend::kSqliteFile);
  auto options = databases.FreshOptions();
  ASSERT_TRUE(options.ok()) << options.status();
  options->sqlite.synchronous = "NORMAL";  // the test is about checkpoints, not fsyncs
  const std::string path = options->sqlite.path;
  auto store = OpenStore(*options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Migrate().ok());
  const auto db_size = [&] { return fs::file_size(path); };
  const std::uintmax_t before = db_size();
  const std::string payload(3000, 'x');  // about a page per response
  for (int batch = 0; batch < 300; ++batch) {
    std::vector<Response> responses;
    for (int i = 0; i < 10; ++i) {
      Response r = MakeResponse("ckpt-" + std::to_string(batch) + "-" + std::to_string(i));
      r.raw_payload = payload;
      responses.push_back(std::move(r));
    }
    std::vector<AppendResult> results;
    ASSERT_TRUE((*store)->Append(responses, &results).ok());
  }
  // About 3,000 pages written: the checkpoints of the first thousands reach the file (the WAL's last
  // frames, fewer than 1,000, wait for more commits, as with SQLite's own checkpoints).
  const std::uintmax_t reached = before + std::uintmax_t{1500} * 4096;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (db_size() < reached && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(db_size(), reached) << "the pages reached the database file";
  ResponseQuery q;
  q.survey_id = "security";
  std::size_t rows = 0;
  ASSERT_TRUE((*store)->Scan(q, [&](const Response&) { return ++rows, true; }).ok());
  EXPECT_EQ(rows, 3000u);
  store->reset();  // stops the checkpointer, which may be running
  auto reopened = OpenStore(*options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  rows = 0;
  ASSERT_TRUE((*reopened)->Scan(q, [&](const Response&) { return ++rows, true; }).ok());
  EXPECT_EQ(rows, 3000u);
}

TEST(SqliteStoreTest, AppendBeforeMigrateFailsWithoutCrashing) {
  StoreOptions o;
  o.sqlite.path = ":memory:";
  auto store = OpenStore(o);
  ASSERT_TRUE(store.ok());
  std::vector<AppendResult> results;
  const Status s = (*store)->Append({MakeResponse("early")}, &results);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("responses"), std::string::npos) << s;
}

TEST(MysqlStoreTest, UnreachableServerIsUnavailableAndTheMessageHidesThePassword) {
  StoreOptions o;
  o.backend = "mysql";
  o.mysql.socket = "/nonexistent/minyi-test.sock";
  o.mysql.password = "s3cret-pw";
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status();
  EXPECT_EQ(store.status().message().find("s3cret-pw"), std::string::npos);
}

TEST(MysqlStoreTest, DatabaseNameMustBeASimpleIdentifier) {
  StoreOptions o;
  o.backend = "mysql";
  o.mysql.database = "minyi`; DROP DATABASE mysql; --";
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidInput);
}

TEST(MysqlStoreTest, ReconnectsWhenTheServerKilledItsPooledConnections) {
  auto server = testsupport::SharedMariaDb();
  ASSERT_TRUE(server.ok()) << server.status();
  testsupport::TestDatabases databases(StoreBackend::kMariaDb);
  auto options = databases.FreshOptions();
  ASSERT_TRUE(options.ok()) << options.status();
  StoreOptions o = *options;
  o.mysql.pool_size = 2;
  auto store = OpenStore(o);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Migrate().ok());
  std::vector<AppendResult> results;
  ASSERT_TRUE((*store)->Append({MakeResponse("before")}, &results).ok());

  auto ids = (*server)->Query("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '" + o.mysql.database + "'");
  ASSERT_TRUE(ids.ok()) << ids.status();
  std::stringstream lines(*ids);
  std::string id;
  int killed = 0;
  while (std::getline(lines, id)) {
    if (id.empty()) continue;
    ASSERT_TRUE((*server)->Query("KILL CONNECTION " + id).ok());
    ++killed;
  }
  EXPECT_GE(killed, 1);

  const Status s = (*store)->Append({MakeResponse("after")}, &results);
  EXPECT_TRUE(s.ok()) << s;
  auto counts = (*store)->CountResponses();
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].count, 2);
  store->reset();
  (void)(*server)->Query("DROP DATABASE IF EXISTS " + o.mysql.database);
}

}  // namespace
}  // namespace minyi::sql
