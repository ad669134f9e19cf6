// Group commit: one writer thread drains a queue of work into one transaction per batch, so many
// concurrent requests share one transaction and one fsync (GroupCommitQueue, for any kind of work).
// GroupCommitWriter drains responses into ResponseSink::AppendHashed. Submitters compute the content
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

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
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

// The queue, writer thread, backpressure and bounded waits of a group commit, for any kind of work:
// `commit` runs on the one writer thread with each batch taken from the queue (at most max_batch items,
// in submission order) and returns one outcome per item, in order; every submitter's future is
// fulfilled with its item's outcome only then. The web ingest (GroupCommitWriter below) and the SMS
// webhooks (collector/sms/sms_service.h) are two uses of it. A commit that throws or returns the wrong
// number of outcomes fails its whole batch with kInternal.
template <typename Item, typename Outcome>
class GroupCommitQueue {
 public:
  using Future = std::future<Result<Outcome>>;
  using CommitFn = std::function<std::vector<Result<Outcome>>(std::vector<Item>&)>;

  // Starts the writer thread; `commit` may be called on it at once.
  GroupCommitQueue(CommitFn commit, GroupCommitOptions options)
      : commit_(std::move(commit)), options_(options) {
    options_.max_batch = std::max<std::size_t>(1, options_.max_batch);
    thread_ = std::thread([this] { Loop(); });
  }
  ~GroupCommitQueue() { Stop(); }
  GroupCommitQueue(const GroupCommitQueue&) = delete;
  GroupCommitQueue& operator=(const GroupCommitQueue&) = delete;

  // Queues items (all or none): one future per item, in order. kResourceExhausted when the queue
  // cannot take them all; kUnavailable after Stop().
  Result<std::vector<Future>> Submit(std::vector<Item> items) {
    std::vector<Future> futures;
    futures.reserve(items.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return Status::Unavailable("the server is shutting down");
      if (queue_.size() + items.size() > options_.max_queue) {
        ++stats_.rejected_full;
        return Status::ResourceExhausted("the write queue is full");
      }
      for (Item& item : items) {
        queue_.push_back(Entry{std::move(item), {}});
        futures.push_back(queue_.back().promise.get_future());
      }
    }
    cv_.notify_one();
    return futures;
  }

  // Waits for the futures of one Submit with one deadline, `commit_timeout` from now: one result per
  // future, in order; kUnavailable ("not committed within ...") for each one not ready in time (its
  // outcome is then unknown to the caller: the commit may still happen). Any thread.
  std::vector<Result<Outcome>> AwaitAll(std::vector<Future>& futures) const {
    const auto deadline = std::chrono::steady_clock::now() + options_.commit_timeout;
    std::vector<Result<Outcome>> out;
    out.reserve(futures.size());
    for (Future& f : futures) {
      // wait_until on a ready future returns at once: a committed batch costs no extra wait.
      if (f.wait_until(deadline) == std::future_status::ready) {
        out.push_back(f.get());
      } else {
        out.push_back(Status::Unavailable("the store did not commit within " +
                                          std::to_string(options_.commit_timeout.count()) + " ms"));
      }
    }
    return out;
  }

  // Refuses new submissions, commits everything queued, joins the writer. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  GroupCommitStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    GroupCommitStats s = stats_;
    s.queued = queue_.size();
    return s;
  }

 private:
  struct Entry {
    Item item;
    std::promise<Result<Outcome>> promise;
  };

  void Loop() {
    std::vector<Item> items;
    std::vector<std::promise<Result<Outcome>>> promises;
    for (;;) {
      std::size_t n = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything queued was committed
        if (options_.max_wait.count() > 0 && queue_.size() < options_.max_batch && !stopping_) {
          const auto deadline = std::chrono::steady_clock::now() + options_.max_wait;
          cv_.wait_until(lock, deadline, [this] { return stopping_ || queue_.size() >= options_.max_batch; });
        }
        n = std::min(queue_.size(), options_.max_batch);
        items.reserve(n);
        promises.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          items.push_back(std::move(queue_.front().item));
          promises.push_back(std::move(queue_.front().promise));
          queue_.pop_front();
        }
        ++stats_.batches;
        stats_.responses += n;
        stats_.largest_batch = std::max(stats_.largest_batch, n);
      }
      if (options_.batch_sizes != nullptr) options_.batch_sizes->Observe(static_cast<double>(n));
      std::vector<Result<Outcome>> outcomes;
      try {
        outcomes = commit_(items);
      } catch (const std::exception& e) {
        outcomes.clear();
        outcomes.resize(n, Status::Internal(std::string("group commit threw: ") + e.what()));
      }
      if (outcomes.size() != n) {
        outcomes.assign(n, Status::Internal("group commit returned a wrong number of outcomes"));
      }
      for (std::size_t i = 0; i < n; ++i) promises[i].set_value(std::move(outcomes[i]));
      items.clear();
      promises.clear();
    }
  }

  CommitFn commit_;
  GroupCommitOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Entry> queue_;
  bool stopping_ = false;
  GroupCommitStats stats_;
  std::thread thread_;  // last: started once every other member is built
};

// The web ingest's group commit: responses into ResponseSink::AppendHashed.
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

  // GroupCommitQueue::AwaitAll.
  std::vector<Result<AppendResult>> AwaitAll(std::vector<Future>& futures) const {
    return queue_.AwaitAll(futures);
  }

  // Whether the last batch failed with kUnavailable (database down, disk full, I/O error) and no
  // batch has committed since. For health checks; lock-free.
  bool writes_failing() const { return writes_failing_.load(std::memory_order_relaxed); }
  // Batches failed with kUnavailable since the start (monotonic): a health check that saw a write
  // succeed after the last of them need not write again (sql/store_health.h). Lock-free.
  std::uint64_t unavailable_batches() const { return unavailable_batches_.load(std::memory_order_relaxed); }

  // Refuses new submissions, commits everything queued, joins the writer. Idempotent.
  void Stop() { queue_.Stop(); }

  GroupCommitStats stats() const { return queue_.stats(); }

 private:
  struct Item {
    Response response;
    std::string content_hash;  // computed by the submitting thread, off the writer's path
  };
  std::vector<Result<AppendResult>> Commit(std::vector<Item>& batch);
  void NoteCommitted();
  void NoteFailed(std::size_t batch_size, const Status& status);
  void CountError(const Status& status);  // options_.store_errors, when set

  ResponseSink& sink_;
  GroupCommitOptions options_;
  std::atomic<bool> writes_failing_{false};
  std::atomic<std::uint64_t> unavailable_batches_{0};
  RepeatLimiter failure_log_;  // one error line per 10 s during an outage, not one per batch
  GroupCommitQueue<Item, AppendResult> queue_;  // last: its thread calls Commit
};

}  // namespace minyi::collector
