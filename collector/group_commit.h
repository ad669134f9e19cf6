// Group commit: one writer thread drains a queue of responses into ResponseSink::AppendHashed, so
// many concurrent requests share one transaction and one fsync. Submitters compute the content
// hashes on their own threads; the single writer only writes. Each submitter gets a future that is
// fulfilled only after the batch holding its response committed (or failed).
//
// Backpressure: the queue is bounded; Submit fails fast with kResourceExhausted when it is full
// (HTTP 503 with Retry-After), never blocking a request thread. A batch the store rejects as a whole
// with kInvalidInput is retried one response at a time, so one bad row cannot fail its neighbours;
// kUnavailable (database down, disk full) fails every response of the batch.
//
// Bounded waits: a submitter waits for its batch at most `commit_timeout` (AwaitAll). When the store
// hangs (a paused database) it gets kUnavailable (HTTP 503 + Retry-After) and is never told "stored"
// for a response that was not committed; the response stays queued or in flight, and if it commits
// later a replay under the same identity is answered as a duplicate (200).
//
// Thread safety: Submit may be called from any number of threads. Stop() (also run by the
// destructor) refuses new submissions, commits everything already queued, and joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/ports.h"
#include "core/repeat_limiter.h"
#include "core/status.h"

namespace minyi::collector {

struct GroupCommitOptions {
  std::size_t max_batch = 512;   // responses per transaction at most
  // After the first queued response, wait at most this long for more before committing (0: commit
  // whatever is queued at once; under load a batch still forms while the previous one commits).
  std::chrono::microseconds max_wait{0};
  std::size_t max_queue = 10000;  // queued responses at most; beyond: kResourceExhausted
  // AwaitAll gives up after this long: the store did not commit in time (kUnavailable).
  std::chrono::milliseconds commit_timeout{5000};
  // Optional metrics (core/metrics.h), owned by the caller and outliving the writer: the size of every
  // batch taken from the queue, and failed batches by kind (the status code's name: "unavailable",
  // "internal", "invalid_input" for a row refused on its own after a batch was split).
  metrics::Histogram* batch_sizes = nullptr;
  metrics::CounterFamily* store_errors = nullptr;  // one label: kind
};

struct GroupCommitStats {
  std::uint64_t batches = 0;
  std::uint64_t responses = 0;
  std::uint64_t rejected_full = 0;  // submissions refused because the queue was full
  std::size_t largest_batch = 0;
  std::size_t queued = 0;  // responses waiting for a batch now
};

class GroupCommitWriter {
 public:
  using Future = std::future<Result<AppendResult>>;

  // `sink` must outlive the writer. Starts the writer thread.
  GroupCommitWriter(ResponseSink& sink, GroupCommitOptions options);
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues responses (all or none): one future per response, in order. kResourceExhausted when the
  // queue cannot take them all; kUnavailable after Stop().
  Result<std::vector<Future>> Submit(std::vector<Response> responses);

  // Waits for the futures of one Submit with one deadline, `commit_timeout` from now: one result per
  // future, in order; kUnavailable ("not committed within ...") for each one not ready in time (its
  // outcome is then unknown to the caller: the commit may still happen). Any thread.
  std::vector<Result<AppendResult>> AwaitAll(std::vector<Future>& futures) const;

  // Whether the last batch failed with kUnavailable (database down, disk full, I/O error) and no
  // batch has committed since. For health checks; lock-free.
  bool writes_failing() const { return writes_failing_.load(std::memory_order_relaxed); }
  // Batches failed with kUnavailable since the start (monotonic): a health check that saw a write
  // succeed after the last of them need not write again (sql/store_health.h). Lock-free.
  std::uint64_t unavailable_batches() const { return unavailable_batches_.load(std::memory_order_relaxed); }

  // Refuses new submissions, commits everything queued, joins the writer. Idempotent.
  void Stop();

  GroupCommitStats stats() const;

 private:
  struct Item {
    Response response;
    std::string content_hash;  // computed by the submitting thread, off the writer's path
    std::promise<Result<AppendResult>> promise;
  };
  void Loop();
  void Commit(std::vector<Item>& batch);
  void NoteCommitted();
  void NoteFailed(std::size_t batch_size, const Status& status);
  void CountError(const Status& status);  // options_.store_errors, when set

  ResponseSink& sink_;
  GroupCommitOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  GroupCommitStats stats_;
  std::atomic<bool> writes_failing_{false};
  std::atomic<std::uint64_t> unavailable_batches_{0};
  RepeatLimiter failure_log_;  // one error line per 10 s during an outage, not one per batch
  std::thread thread_;
};

}  // namespace minyi::collector
