// Revisable responses (core/revisions.h) on every backend: SQLite in memory, SQLite in a file and a
// private MariaDB (started once for this binary).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/analysis.h"
#include "sql/held_write_for_test.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

using testsupport::StoreBackend;

constexpr const char* kSurvey = "jiangsu-safety";

Response Version(const std::string& slot, const std::string& security, std::int64_t submitted_at_ms,
                 const std::string& town = "320812007") {
  Response r;
  r.survey_id = kSurvey;
  r.period = {2025, 0};
  r.town_code = town;
  r.channel = Channel::kWechat;
  r.respondent_key = "member-" + slot;
  r.answers = {{"security", {security}}, {"grid", {"1"}}};
  r.submitted_at_ms = submitted_at_ms;
  r.received_at_ms = submitted_at_ms + 1000;
  r.source_ref = "wechat:" + std::string(kSurvey) + ":2025:" + slot;
  r.raw_payload = "line for " + slot + " at " + std::to_string(submitted_at_ms);
  return r;
}

class RevisionsStoreTest : public testsupport::FreshStoreTest {
 protected:
  std::vector<ReviseResult> Store(const std::vector<Response>& batch,
                                  const std::string& reason = "later answer") {
    std::vector<ReviseResult> results;
    const Status s = store_->StoreRevisions(batch, reason, &results);
    EXPECT_TRUE(s.ok()) << s;
    return results;
  }

  // Every stored response of the survey, in scan order.
  std::vector<Response> Current() {
    std::vector<Response> out;
    ResponseQuery q;
    q.survey_id = kSurvey;
    q.include_raw_payload = true;
    EXPECT_TRUE(store_
                    ->Scan(q,
                           [&](const Response& r) {
                             out.push_back(r);
                             return true;
                           })
                    .ok());
    return out;
  }

  // The analysis rows (the aggregator's read path) of the survey's 2025 period: (town, response id).
  std::vector<std::pair<std::string, std::int64_t>> AnalysisRows() {
    std::vector<std::pair<std::string, std::int64_t>> out;
    AnalysisQuery q;
    q.survey_id = kSurvey;
    q.period = {2025, 0};
    EXPECT_TRUE(store_
                    ->ScanAnalysis(q,
                                   [&](const AnalysisRow& r) {
                                     out.emplace_back(std::string(r.town_code), r.response_id);
                                     return true;
                                   })
                    .ok());
    return out;
  }
};

TEST_P(RevisionsStoreTest, ALaterAnswerReplacesTheEarlierOneUnderANewIdAndIsLogged) {
  const Response first = Version("a", "1", 1000);
  auto r1 = Store({first});
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].outcome, ReviseOutcome::kStored);
  const std::int64_t first_id = r1[0].response_id;
  EXPECT_GT(first_id, 0);

  const Response second = Version("a", "4", 2000);  // a later answer
  auto r2 = Store({second});
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].outcome, ReviseOutcome::kRevised);
  EXPECT_GT(r2[0].response_id, first_id);  // readers that follow ids see the new version

  const std::vector<Response> current = Current();
  ASSERT_EQ(current.size(), 1u);  // one response per slot, never two
  EXPECT_EQ(current[0].id, r2[0].response_id);
  EXPECT_EQ(current[0].town_code, "320812007");
  EXPECT_EQ(current[0].answers.at("security"), std::vector<std::string>{"4"});
  EXPECT_EQ(current[0].raw_payload, second.raw_payload);

  const auto analysis = AnalysisRows();
  ASSERT_EQ(analysis.size(), 1u);
  EXPECT_EQ(analysis[0].first, "320812007");
  EXPECT_EQ(analysis[0].second, r2[0].response_id);

  auto log = store_->RevisionLog(Channel::kWechat, first.source_ref);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  const RevisionRecord& old = (*log)[0];
  EXPECT_EQ(old.action, "revised");
  EXPECT_EQ(old.response_id, first_id);
  EXPECT_EQ(old.content_hash, first.ContentHash());
  EXPECT_EQ(old.town_code, "320812007");
  EXPECT_EQ(old.answers_json, "{\"grid\":[\"1\"],\"security\":[\"1\"]}");
  EXPECT_EQ(old.submitted_at_ms, 1000);
  EXPECT_EQ(old.reason, "later answer");
  EXPECT_EQ(old.raw_payload, first.raw_payload);

  // The town is reported for incremental aggregation.
  auto activity = store_->RevisionActivitySince(0);
  ASSERT_TRUE(activity.ok()) << activity.status();
  ASSERT_EQ(activity->size(), 1u);
  EXPECT_EQ((*activity)[0].town_code, "320812007");
  EXPECT_EQ((*activity)[0].period, (Period{2025, 0}));
  auto none_after = store_->RevisionActivitySince((*activity)[0].revision_id);
  ASSERT_TRUE(none_after.ok());
  EXPECT_TRUE(none_after->empty());
}

// Regression (issue 13): a version from another town revised the slot and moved the response into
// that town. Now it is refused whatever its time, nothing is logged, the response stays where it was,
// and the other versions of the batch are applied.
TEST_P(RevisionsStoreTest, AVersionFromAnotherTownIsRefusedAndTheResponseStaysInItsTown) {
  const Response first = Version("a", "1", 1000);
  auto r1 = Store({first});
  ASSERT_EQ(r1[0].outcome, ReviseOutcome::kStored);
  const auto results = Store({Version("a", "4", 2000, "320803002"), Version("a", "5", 500, "320803002"),
                              Version("b", "2", 2000, "320803002")});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].outcome, ReviseOutcome::kRefused);
  EXPECT_EQ(results[0].refusal, Refusal::kOtherTown);
  EXPECT_EQ(results[0].response_id, r1[0].response_id);
  EXPECT_EQ(results[1].outcome, ReviseOutcome::kRefused);  // older: would have been logged as stale
  EXPECT_EQ(results[2].outcome, ReviseOutcome::kStored);

  std::map<std::string, std::string> town_by_slot;
  for (const Response& r : Current())
    town_by_slot[r.source_ref] = r.town_code + " " + r.answers.at("security")[0];
  EXPECT_EQ(town_by_slot[first.source_ref], "320812007 1");
  EXPECT_EQ(town_by_slot[Version("b", "2", 0).source_ref], "320803002 2");
  auto log = store_->RevisionLog(Channel::kWechat, first.source_ref);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(log->empty());
  auto activity = store_->RevisionActivitySince(0);
  ASSERT_TRUE(activity.ok());
  EXPECT_TRUE(activity->empty());
}

TEST_P(RevisionsStoreTest, WithoutRevisionsAllowedOnlyNewSlotsAndDuplicatesPass) {
  const Response first = Version("a", "1", 1000);
  Store({first});
  RevisePolicy no_revisions;
  no_revisions.allow_revisions = false;
  std::vector<ReviseResult> results;
  ASSERT_TRUE(
      store_
          ->StoreRevisions({first, Version("a", "4", 2000), Version("a", "3", 500), Version("c", "2", 10)},
                           "push", no_revisions, &results)
          .ok());
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].outcome, ReviseOutcome::kDuplicate);
  EXPECT_EQ(results[1].outcome, ReviseOutcome::kRefused);
  EXPECT_EQ(results[1].refusal, Refusal::kRevisionNotAllowed);
  EXPECT_EQ(results[2].outcome, ReviseOutcome::kRefused);
  EXPECT_EQ(results[3].outcome, ReviseOutcome::kStored);
  auto log = store_->RevisionLog(Channel::kWechat, first.source_ref);
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(log->empty());
  for (const Response& r : Current()) {
    if (r.source_ref == first.source_ref) {
      EXPECT_EQ(r.answers.at("security"), std::vector<std::string>{"1"});
    }
  }
}

// answer.delete names the answer, not its town: every town slot of it is withdrawn, others are not.
TEST_P(RevisionsStoreTest, WithdrawTakesEveryTownSlotOfTheAnswer) {
  auto in = [](const std::string& town, const std::string& ref) {
    Response r = Version("x", "1", 1000, town);
    r.source_ref = TownSlot(ref, town);
    return r;
  };
  Store({in("320812007", "txwj:1:7"), in("320803002", "txwj:1:7"), in("320812007", "txwj:1:70")});
  auto gone = store_->Withdraw(Channel::kWechat, "txwj:1:7", "answer.delete");
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(*gone, WithdrawOutcome::kWithdrawn);
  const std::vector<Response> left = Current();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].source_ref, "txwj:1:70@320812007");
  auto again = store_->Withdraw(Channel::kWechat, "txwj:1:7", "answer.delete");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, WithdrawOutcome::kAlreadyGone);
}

TEST_P(RevisionsStoreTest, ReimportingAnyKnownVersionAddsNothing) {
  const Response v1 = Version("a", "1", 1000);
  const Response v2 = Version("a", "2", 2000);
  Store({v1, v2});
  // The same two versions again, in either order, and a re-received copy (other received time and
  // payload, same content): all duplicates.
  Response v1_again = v1;
  v1_again.received_at_ms += 99999;
  v1_again.raw_payload = "re-exported";
  auto again = Store({v2, v1, v1_again});
  ASSERT_EQ(again.size(), 3u);
  for (const ReviseResult& r : again) EXPECT_EQ(r.outcome, ReviseOutcome::kDuplicate);
  EXPECT_EQ(Current().size(), 1u);
  auto log = store_->RevisionLog(Channel::kWechat, v1.source_ref);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 1u);
}

TEST_P(RevisionsStoreTest, AnOlderVersionArrivingLateIsKeptButDoesNotCount) {
  const Response newer = Version("a", "3", 5000);
  const Response older = Version("a", "1", 1000);
  auto first = Store({newer});
  auto late = Store({older});
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].outcome, ReviseOutcome::kStale);
  EXPECT_EQ(late[0].response_id, first[0].response_id);
  const std::vector<Response> current = Current();
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].answers.at("security"), std::vector<std::string>{"3"});
  auto log = store_->RevisionLog(Channel::kWechat, older.source_ref);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].action, "stale");
  EXPECT_EQ((*log)[0].response_id, 0);
  // Stale entries changed nothing that counts.
  auto activity = store_->RevisionActivitySince(0);
  ASSERT_TRUE(activity.ok());
  EXPECT_TRUE(activity->empty());
  // And the late version, imported again, is a duplicate.
  EXPECT_EQ(Store({older})[0].outcome, ReviseOutcome::kDuplicate);
}

TEST_P(RevisionsStoreTest, SlotsAreIndependentAndABatchAppliesInOrder) {
  auto results = Store(
      {Version("a", "1", 1000), Version("b", "2", 1000), Version("a", "5", 3000), Version("b", "4", 500)});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].outcome, ReviseOutcome::kStored);
  EXPECT_EQ(results[1].outcome, ReviseOutcome::kStored);
  EXPECT_EQ(results[2].outcome, ReviseOutcome::kRevised);
  EXPECT_EQ(results[3].outcome, ReviseOutcome::kStale);
  const std::vector<Response> current = Current();
  ASSERT_EQ(current.size(), 2u);
  std::map<std::string, std::string> by_slot;
  for (const Response& r : current) by_slot[r.respondent_key] = r.answers.at("security")[0];
  EXPECT_EQ(by_slot["member-a"], "5");
  EXPECT_EQ(by_slot["member-b"], "2");
}

TEST_P(RevisionsStoreTest, WithdrawRemovesTheCurrentVersionAndKeepsItInTheLog) {
  const Response v = Version("a", "2", 1000);
  Store({v});
  auto missing = store_->Withdraw(Channel::kWechat, "wechat:never", "answer.delete");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(*missing, WithdrawOutcome::kNotFound);

  auto gone = store_->Withdraw(Channel::kWechat, v.source_ref, "answer.delete");
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(*gone, WithdrawOutcome::kWithdrawn);
  EXPECT_TRUE(Current().empty());
  EXPECT_TRUE(AnalysisRows().empty());
  auto again = store_->Withdraw(Channel::kWechat, v.source_ref, "answer.delete");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, WithdrawOutcome::kAlreadyGone);

  auto log = store_->RevisionLog(Channel::kWechat, v.source_ref);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].action, "withdrawn");
  EXPECT_EQ((*log)[0].reason, "answer.delete");

  // Re-importing the withdrawn version does not bring it back; a new answer does.
  EXPECT_EQ(Store({v})[0].outcome, ReviseOutcome::kDuplicate);
  EXPECT_TRUE(Current().empty());
  EXPECT_EQ(Store({Version("a", "1", 9000)})[0].outcome, ReviseOutcome::kStored);
  EXPECT_EQ(Current().size(), 1u);
}

TEST_P(RevisionsStoreTest, RevisedSlotsStayIdempotentForPlainAppends) {
  // The ordinary Append path still sees the slot's current version under its source_ref.
  const Response v1 = Version("a", "1", 1000);
  const Response v2 = Version("a", "2", 2000);
  Store({v1, v2});
  std::vector<AppendResult> appended;
  ASSERT_TRUE(store_->Append({v2, v1}, &appended).ok());
  ASSERT_EQ(appended.size(), 2u);
  EXPECT_EQ(appended[0].outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(appended[1].outcome, AppendOutcome::kConflict);
  EXPECT_EQ(Current().size(), 1u);
}

TEST_P(RevisionsStoreTest, InvalidInputStoresNothingOfTheBatch) {
  Response bad = Version("b", "1", 1000);
  bad.town_code = "12";
  std::vector<ReviseResult> results;
  const Status s = store_->StoreRevisions({Version("a", "1", 1000), bad}, "x", &results);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(Current().empty());
  EXPECT_EQ(store_->StoreRevisions({Version("a", "1", 1000)}, std::string(300, 'x'), &results).code(),
            StatusCode::kInvalidInput);
  EXPECT_TRUE(Current().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, RevisionsStoreTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

// Migration 009 renames the chat and questionnaire slots stored before it after their town (SQLite;
// the MySQL migration is the same statement in its dialect): re-importing the same answers into the
// same town still adds nothing, and the slot keeps its log. Other references are left alone.
// Versions of one slot stored concurrently (MariaDB: each transaction locks the slot, and a
// deadlock between two is retried): every call succeeds or asks for a retry (kUnavailable), the slot
// ends with exactly one current response, and each kRevised result logged exactly one old version.
TEST_P(RevisionsStoreTest, ConcurrentVersionsOfOneSlotLeaveOneResponseAndAConsistentLog) {
  constexpr std::size_t kThreads = 6;
  std::vector<std::vector<ReviseResult>> results(kThreads);
  std::vector<Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      statuses[t] = store_->StoreRevisions(
          {Version("a", std::to_string(1 + t % 4), 1000 + static_cast<std::int64_t>(t))}, "concurrent",
          &results[t]);
    });
  }
  for (auto& th : threads) th.join();
  int stored = 0, revised = 0, stale = 0;
  for (std::size_t t = 0; t < kThreads; ++t) {
    if (!statuses[t].ok()) {
      EXPECT_EQ(statuses[t].code(), StatusCode::kUnavailable) << statuses[t];
      continue;
    }
    ASSERT_EQ(results[t].size(), 1u);
    const ReviseOutcome o = results[t][0].outcome;
    stored += o == ReviseOutcome::kStored;
    revised += o == ReviseOutcome::kRevised;
    stale += o == ReviseOutcome::kStale;
  }
  EXPECT_EQ(stored, 1) << "the first version to arrive stores the slot";
  ASSERT_EQ(Current().size(), 1u);
  ASSERT_EQ(AnalysisRows().size(), 1u);
  auto log = store_->RevisionLog(Channel::kWechat, Version("a", "1", 0).source_ref);
  ASSERT_TRUE(log.ok()) << log.status();
  const auto count = [&](const char* action) {
    return std::count_if(log->begin(), log->end(),
                         [&](const RevisionRecord& r) { return r.action == action; });
  };
  EXPECT_EQ(count("revised"), revised);
  EXPECT_EQ(count("stale"), stale);
}

// The revision log and the activity the live aggregator polls are reads: with a second connection
// (SQLite in a file, a MariaDB pool) they answer while a write transaction is open, and see only
// committed rows. Regression: written on db.h as transactions, on SQLite they took the write
// mutex and BEGIN IMMEDIATE, so they waited for the writer.
TEST_P(RevisionsStoreTest, LogReadsAnswerWhileAWriteTransactionIsOpen) {
  if (GetParam() == StoreBackend::kSqliteMemory) GTEST_SKIP() << "one connection: reads share the writer's";
  const Response first = Version("a", "1", 1000);
  Store({first});
  Store({Version("a", "4", 2000)});

  HeldWrite held(store_->SqlDb(), "UPDATE response_revisions SET reason = 'uncommitted'", {});
  auto reads = std::async(std::launch::async, [&] {
    auto log = store_->RevisionLog(Channel::kWechat, first.source_ref);
    auto activity = store_->RevisionActivitySince(0);
    return log.ok() && log->size() == 1 && (*log)[0].reason == "later answer" && activity.ok() &&
           activity->size() == 1;
  });
  const bool answered = reads.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  EXPECT_TRUE(held.Release().ok());
  EXPECT_TRUE(answered) << "a revision read waited for the open write transaction";
  EXPECT_TRUE(reads.get());
}

TEST(TownSlotMigrationTest, SlotsStoredBeforeItKeepWorkingUnderTheirTownSlot) {
  namespace fs = std::filesystem;
  std::string pattern = (fs::temp_directory_path() / "minyi-town-slots-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  StoreOptions o;
  o.sqlite.path = pattern + "/minyi.db";
  o.sqlite.synchronous = "NORMAL";
  auto store = OpenStore(o);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Migrate().ok());
  Response first = Version("m", "1", 1000);  // "wechat:jiangsu-safety:2025:m", stored the old way
  Response later = Version("m", "4", 2000);
  Response wjx = Version("w", "2", 1000);
  wjx.source_ref = "wjx:5657754:17";
  Response other = Version("o", "3", 1000);
  other.source_ref = "my-own-ref";
  std::vector<ReviseResult> results;
  ASSERT_TRUE((*store)->StoreRevisions({first, later, wjx, other}, "old", &results).ok());
  store.value().reset();

  // Pretend the database predates migration 009, then migrate again.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.sqlite.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM schema_migrations WHERE version = 9", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto reopened = OpenStore(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ASSERT_TRUE((*reopened)->Migrate().ok());

  auto in_town = [](Response r) {
    r.source_ref = TownSlot(r.source_ref, r.town_code);
    return r;
  };
  ASSERT_TRUE((*reopened)
                  ->StoreRevisions({in_town(first), in_town(later), in_town(wjx), other}, "again", &results)
                  .ok());
  ASSERT_EQ(results.size(), 4u);
  for (const ReviseResult& r : results) EXPECT_EQ(r.outcome, ReviseOutcome::kDuplicate);
  auto log = (*reopened)->RevisionLog(Channel::kWechat, in_town(first).source_ref);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].content_hash, first.ContentHash());
  reopened->reset();
  std::error_code ec;
  fs::remove_all(pattern, ec);
}

}  // namespace
}  // namespace minyi::sql
