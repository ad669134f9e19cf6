#include "collector/group_commit.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "collector/fake_store_for_test.h"
#include "tests/support/log_registry_first.h"

namespace minyi::collector {
namespace {

Response MakeResponse(const std::string& ref, const std::string& answer = "1") {
  Response r;
  r.survey_id = "s";
  r.period = {2025, 0};
  r.town_code = "320812007";
  r.channel = Channel::kWeb;
  r.respondent_key = "k";
  r.answers = {{"security", {answer}}};
  r.source_ref = ref;
  return r;
}

TEST(GroupCommitTest, ConcurrentSubmittersShareTransactions) {
  FakeStore store;
  GroupCommitWriter writer(store, {64, std::chrono::microseconds(2000), 10000});
  std::atomic<int> stored{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto f = writer.Submit({MakeResponse("r" + std::to_string(t) + "-" + std::to_string(i))});
        ASSERT_TRUE(f.ok());
        auto result = (*f)[0].get();
        ASSERT_TRUE(result.ok());
        if (result->outcome == AppendOutcome::kStored) ++stored;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(stored.load(), 800);
  EXPECT_EQ(store.rows.size(), 800u);
  const auto stats = writer.stats();
  EXPECT_EQ(stats.responses, 800u);
  EXPECT_LT(stats.batches, 800u) << "requests must share transactions";
  EXPECT_LE(stats.largest_batch, 64u);
}

// The writer hands the store the hashes its submitters computed (AppendHashed), so the single writer
// thread does no hashing; they are the responses' own content hashes.
TEST(GroupCommitTest, TheWriterAppendsWithTheSubmittersHashes) {
  struct HashCheckingStore : FakeStore {
    std::atomic<int> hashed_calls{0};
    std::atomic<int> plain_calls{0};
    std::atomic<int> wrong_hashes{0};
    Status Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) override {
      ++plain_calls;
      return FakeStore::Append(batch, results);
    }
    Status AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                        std::vector<AppendResult>* results) override {
      ++hashed_calls;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (hashes.at(i) != batch[i].ContentHash()) ++wrong_hashes;
      }
      return FakeStore::Append(batch, results);
    }
  } store;
  {
    GroupCommitWriter writer(store, {});
    auto f = writer.Submit({MakeResponse("a"), MakeResponse("b", "2")});
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)[0].get()->outcome, AppendOutcome::kStored);
    EXPECT_EQ((*f)[1].get()->outcome, AppendOutcome::kStored);
  }
  EXPECT_GE(store.hashed_calls.load(), 1);
  EXPECT_EQ(store.plain_calls.load(), 0);
  EXPECT_EQ(store.wrong_hashes.load(), 0);
}

TEST(GroupCommitTest, DuplicatesAndConflictsInsideOneBatch) {
  FakeStore store;
  GroupCommitWriter writer(store, {});
  auto f = writer.Submit({MakeResponse("a"), MakeResponse("a"), MakeResponse("a", "2")});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[0].get()->outcome, AppendOutcome::kStored);
  EXPECT_EQ((*f)[1].get()->outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ((*f)[2].get()->outcome, AppendOutcome::kConflict);
}

TEST(GroupCommitTest, FullQueueIsRefusedNotBlocked) {
  FakeStore store;
  GroupCommitWriter writer(store, {8, std::chrono::microseconds(0), 2});
  auto too_many = writer.Submit({MakeResponse("a"), MakeResponse("b"), MakeResponse("c")});
  EXPECT_EQ(too_many.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(writer.stats().rejected_full, 1u);
}

TEST(GroupCommitTest, StoreFailureFailsTheBatchAndLaterBatchesSucceed) {
  FakeStore store;
  store.fail_append_call = 0;
  GroupCommitWriter writer(store, {});
  auto first = writer.Submit({MakeResponse("a")});
  ASSERT_TRUE(first.ok());
  auto r1 = (*first)[0].get();
  EXPECT_EQ(r1.status().code(), StatusCode::kUnavailable);
  auto second = writer.Submit({MakeResponse("a")});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)[0].get()->outcome, AppendOutcome::kStored);
}

TEST(GroupCommitTest, InvalidRowIsIsolated) {
  FakeStore store;
  GroupCommitWriter writer(store, {64, std::chrono::microseconds(0), 100});
  Response bad = MakeResponse("");  // no source_ref: the store rejects the whole batch
  auto f = writer.Submit({MakeResponse("a"), bad, MakeResponse("b")});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[0].get()->outcome, AppendOutcome::kStored);
  EXPECT_EQ((*f)[1].get().status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ((*f)[2].get()->outcome, AppendOutcome::kStored);
}

// Batch sizes, the queue depth and store errors by kind, for GET /metrics.
TEST(GroupCommitTest, MetricsCountBatchesAndStoreErrorsByKind) {
  FakeStore store;
  store.fail_append_call = 0;  // the first batch fails: unavailable
  metrics::Registry registry;
  GroupCommitOptions options{64, std::chrono::microseconds(0), 100};
  options.batch_sizes = &registry.AddHistogram("batch", "", {}, {1, 2, 4}).With({});
  options.store_errors = &registry.AddCounter("errors_total", "", {"kind"});
  {
    GroupCommitWriter writer(store, options);
    auto failed = writer.Submit({MakeResponse("a")});
    ASSERT_TRUE(failed.ok());
    EXPECT_EQ((*failed)[0].get().status().code(), StatusCode::kUnavailable);
    auto f = writer.Submit({MakeResponse("b"), MakeResponse(""), MakeResponse("c")});  // "" is refused alone
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)[1].get().status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(writer.stats().queued, 0u);
  }
  const metrics::Histogram::Snapshot sizes = options.batch_sizes->Read();
  EXPECT_EQ(sizes.count, 2u);
  EXPECT_EQ(sizes.sum, 4.0);
  EXPECT_EQ(options.store_errors->With({"unavailable"}).Value(), 1u);
  EXPECT_EQ(options.store_errors->With({"invalid_input"}).Value(), 1u);
}

TEST(GroupCommitTest, QueuedCountsWhatWaitsForABatch) {
  struct BlockingStore : FakeStore {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool release = false;
    Status AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>&,
                        std::vector<AppendResult>* results) override {
      std::unique_lock<std::mutex> lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [this] { return release; });
      lock.unlock();
      return FakeStore::Append(batch, results);
    }
  } store;
  GroupCommitWriter writer(store, {1, std::chrono::microseconds(0), 100});
  auto first = writer.Submit({MakeResponse("a")});
  ASSERT_TRUE(first.ok());
  {
    std::unique_lock<std::mutex> lock(store.mu);
    ASSERT_TRUE(store.cv.wait_for(lock, std::chrono::seconds(10), [&] { return store.entered; }));
  }
  auto more = writer.Submit({MakeResponse("b"), MakeResponse("c")});
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(writer.stats().queued, 2u) << "the writer holds the first batch; two wait";
  {
    std::lock_guard<std::mutex> lock(store.mu);
    store.release = true;
  }
  store.cv.notify_all();
  writer.Stop();
  EXPECT_EQ(writer.stats().queued, 0u);
}

TEST(GroupCommitTest, StopCommitsEverythingQueuedThenRefuses) {
  FakeStore store;
  std::vector<GroupCommitWriter::Future> futures;
  {
    GroupCommitWriter writer(store, {4, std::chrono::microseconds(50000), 1000});
    for (int i = 0; i < 20; ++i) {
      auto f = writer.Submit({MakeResponse("r" + std::to_string(i))});
      ASSERT_TRUE(f.ok());
      futures.push_back(std::move((*f)[0]));
    }
    writer.Stop();
    EXPECT_EQ(writer.Submit({MakeResponse("late")}).status().code(), StatusCode::kUnavailable);
  }
  for (auto& f : futures) EXPECT_EQ(f.get()->outcome, AppendOutcome::kStored);
  EXPECT_EQ(store.rows.size(), 20u);
}

// A store that hangs inside AppendHashed (as a paused database does) until released.
struct HangingStore : FakeStore {
  std::mutex mu;
  std::condition_variable cv;
  bool hang = true;
  Status AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>&,
                      std::vector<AppendResult>* results) override {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !hang; });
    }
    return FakeStore::Append(batch, results);
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      hang = false;
    }
    cv.notify_all();
  }
};

// Regression (issue #13): with the database paused every request waited as long as the pause. A
// submitter now gives up after commit_timeout with kUnavailable, is never told "stored" for what was
// not committed, and when the commit happens later a replay is a duplicate (HTTP 200).
TEST(GroupCommitTest, AwaitGivesUpAfterTheCommitTimeoutAndAReplayIsADuplicate) {
  HangingStore store;
  GroupCommitOptions options;
  options.commit_timeout = std::chrono::milliseconds(200);
  GroupCommitWriter writer(store, options);
  auto queued = writer.Submit({MakeResponse("a"), MakeResponse("b")});
  ASSERT_TRUE(queued.ok());
  const auto start = std::chrono::steady_clock::now();
  const auto results = writer.AwaitAll(*queued);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::milliseconds(1500)) << "one deadline for all futures of a submission";

  store.Release();  // the database resumes: the batch commits after all
  auto replay = writer.Submit({MakeResponse("a")});
  ASSERT_TRUE(replay.ok());
  const auto replayed = writer.AwaitAll(*replay);
  ASSERT_TRUE(replayed[0].ok()) << replayed[0].status().ToString();
  EXPECT_EQ(replayed[0]->outcome, AppendOutcome::kDuplicate);
  EXPECT_EQ(store.rows.size(), 2u);
}

// A store whose appends fail (kUnavailable) until told otherwise.
struct FailingStore : FakeStore {
  std::atomic<bool> failing{true};
  Status AppendHashed(const std::vector<Response>& batch, const std::vector<std::string>&,
                      std::vector<AppendResult>* results) override {
    if (failing) return Status::Unavailable("sqlite: append: database or disk is full (code 13)");
    return FakeStore::Append(batch, results);
  }
};

// Regression (issue #13): one error line per failed batch flooded the log during an outage (673 lines
// in 5 s). The first failure is logged, the rest of the outage is counted, and recovery is logged
// once with the count; writes_failing() follows the outage for /healthz.
TEST(GroupCommitTest, AnOutageLogsItsFirstFailureAndTheRecoveryNotEveryBatch) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger =
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_pattern("%l %v");
  spdlog::set_default_logger(logger);
  FailingStore store;
  {
    GroupCommitWriter writer(store, {});
    EXPECT_FALSE(writer.writes_failing());
    for (int i = 0; i < 100; ++i) {
      auto f = writer.Submit({MakeResponse("r" + std::to_string(i))});
      ASSERT_TRUE(f.ok());
      EXPECT_EQ((*f)[0].get().status().code(), StatusCode::kUnavailable);
    }
    EXPECT_TRUE(writer.writes_failing());
    store.failing = false;
    auto ok = writer.Submit({MakeResponse("after")});
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ((*ok)[0].get()->outcome, AppendOutcome::kStored);
    EXPECT_FALSE(writer.writes_failing());
  }
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  std::size_t errors = 0;
  for (std::size_t at = text.find("error group commit"); at != std::string::npos;
       at = text.find("error group commit", at + 1)) {
    ++errors;
  }
  EXPECT_EQ(errors, 1u) << text;
  EXPECT_NE(text.find("99 more failed batches were not logged"), std::string::npos) << text;
}

}  // namespace
}  // namespace minyi::collector
