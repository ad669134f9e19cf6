#include "sql/store_health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace minyi::sql {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A read probe that hangs (as on a paused database) until released.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};
  Result<int> Pass() {
    ++calls;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
    return 8;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

// Regression (issue #13): /healthz gave no answer while the database was paused. Every caller gets
// "unavailable" within the timeout, and the callers share one probe instead of each hanging a thread.
TEST(StoreHealthTest, AHungStoreIsReportedWithinTheTimeoutByOneProbe) {
  Gate gate;
  StoreHealth::Probes probes;
  probes.read = [&] { return gate.Pass(); };
  probes.write = [] { return Status::Ok(); };
  StoreHealth health(probes, milliseconds(200));
  std::vector<std::thread> callers;
  std::atomic<int> unavailable{0};
  std::atomic<long long> slowest_ms{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      for (int k = 0; k < 3; ++k) {
        const auto start = Clock::now();
        const StoreHealthReport r = health.Check();
        const long long ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
        if (ms > slowest_ms.load()) slowest_ms = ms;
        if (!r.ok) ++unavailable;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(unavailable.load(), 24);
  EXPECT_LT(slowest_ms.load(), 1500) << "a check must not wait for the hung store";
  EXPECT_EQ(gate.calls.load(), 1) << "one probe in flight at most";
  gate.Open();
  // The store answers again: the next check (after the hung one finished) reports ok.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  StoreHealthReport r;
  while (!(r = health.Check()).ok && Clock::now() < deadline) {
  }
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.schema_version, 8);
}

TEST(StoreHealthTest, AReadFailureIsUnavailableWithItsReason) {
  StoreHealth::Probes probes;
  probes.read = [] { return Result<int>(Status::Unavailable("mysql: connection refused")); };
  probes.write = [] { return Status::Ok(); };
  StoreHealth health(probes, milliseconds(2000));
  const StoreHealthReport r = health.Check();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("connection refused"), std::string::npos) << r.problem;
}

// Probes of a store whose reads work and whose writes fail while `disk_full`; counts the write probes.
StoreHealth::Probes DiskProbes(const std::atomic<bool>& disk_full, std::atomic<int>& write_probes) {
  StoreHealth::Probes probes;
  probes.read = [] { return Result<int>(8); };
  probes.write = [full = &disk_full, count = &write_probes] {
    ++*count;
    return *full ? Status::Unavailable("sqlite: write probe: database or disk is full (code 13)")
                 : Status::Ok();
  };
  return probes;
}

// Regression (issue #13): with a full disk writes answered 503 but /healthz stayed 200 (reads still
// worked). While the writers report failures, the check writes too, and is unavailable until that
// write succeeds.
TEST(StoreHealthTest, FailingWritesAreUnavailableUntilAWriteProbeSucceeds) {
  std::atomic<bool> writes_failing{false};
  std::atomic<bool> disk_full{true};
  std::atomic<int> write_probes{0};
  StoreHealth::Probes probes = DiskProbes(disk_full, write_probes);
  probes.writes_failing = [&] { return writes_failing.load(); };
  StoreHealth health(probes, milliseconds(2000));

  EXPECT_TRUE(health.Check().ok);
  EXPECT_EQ(write_probes.load(), 0) << "no write while writes succeed";

  writes_failing = true;
  const StoreHealthReport full = health.Check();
  EXPECT_FALSE(full.ok);
  EXPECT_NE(full.problem.find("disk is full"), std::string::npos) << full.problem;

  disk_full = false;  // space freed: the probe succeeds although no batch committed yet
  EXPECT_TRUE(health.Check().ok);
  EXPECT_EQ(write_probes.load(), 2);
}

// Regression (issue #13): after a full disk, until a batch committed again, every /healthz made a
// durable write (a meta row: a page of WAL each). With 256 KB freed on a full 8 MB tmpfs, 300 checks
// grew the WAL by 242 KB and filled the disk again before a post could use the space. Now one write
// probe that succeeds stands until another write fails.
TEST(StoreHealthTest, OneSuccessfulWriteProbeStandsUntilAnotherWriteFails) {
  std::atomic<std::uint64_t> failed_writes{3};
  std::atomic<bool> disk_full{true};
  std::atomic<int> write_probes{0};
  StoreHealth::Probes probes = DiskProbes(disk_full, write_probes);
  probes.writes_failing = [] { return true; };  // no batch commits: nobody posts
  probes.failed_writes = [&] { return failed_writes.load(); };
  StoreHealth health(probes, milliseconds(2000));

  EXPECT_FALSE(health.Check().ok);
  EXPECT_FALSE(health.Check().ok);
  EXPECT_EQ(write_probes.load(), 2) << "probes again while the probe fails";
  disk_full = false;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(health.Check().ok);
  EXPECT_EQ(write_probes.load(), 3) << "one successful probe, then no more writes";
  failed_writes = 4;  // a batch failed again: the disk is full again
  disk_full = true;
  EXPECT_FALSE(health.Check().ok);
  EXPECT_EQ(write_probes.load(), 4);
}

}  // namespace
}  // namespace minyi::sql
