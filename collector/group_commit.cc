#include "collector/group_commit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace minyi::collector {

GroupCommitWriter::GroupCommitWriter(ResponseSink& sink, GroupCommitOptions options)
    : sink_(sink), options_(options) {
  options_.max_batch = std::max<std::size_t>(1, options_.max_batch);
  thread_ = std::thread([this] { Loop(); });
}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

Result<std::vector<GroupCommitWriter::Future>> GroupCommitWriter::Submit(std::vector<Response> responses) {
  std::vector<Future> futures;
  futures.reserve(responses.size());
  std::vector<std::string> hashes;
  hashes.reserve(responses.size());
  for (const Response& r : responses) hashes.push_back(r.ContentHash());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("the server is shutting down");
    if (queue_.size() + responses.size() > options_.max_queue) {
      ++stats_.rejected_full;
      return Status::ResourceExhausted("the write queue is full");
    }
    for (std::size_t i = 0; i < responses.size(); ++i) {
      queue_.push_back(Item{std::move(responses[i]), std::move(hashes[i]), {}});
      futures.push_back(queue_.back().promise.get_future());
    }
  }
  cv_.notify_one();
  return futures;
}

void GroupCommitWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::vector<Result<AppendResult>> GroupCommitWriter::AwaitAll(std::vector<Future>& futures) const {
  const auto deadline = std::chrono::steady_clock::now() + options_.commit_timeout;
  std::vector<Result<AppendResult>> out;
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

GroupCommitStats GroupCommitWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  GroupCommitStats s = stats_;
  s.queued = queue_.size();
  return s;
}

void GroupCommitWriter::Loop() {
  std::vector<Item> batch;
  for (;;) {
    std::size_t n = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued was committed
      if (options_.max_wait.count() > 0 && queue_.size() < options_.max_batch && !stopping_) {
        const auto deadline = std::chrono::steady_clock::now() + options_.max_wait;
        cv_.wait_until(lock, deadline,
                       [this] { return stopping_ || queue_.size() >= options_.max_batch; });
      }
      n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++stats_.batches;
      stats_.responses += n;
      stats_.largest_batch = std::max(stats_.largest_batch, n);
    }
    if (options_.batch_sizes != nullptr) options_.batch_sizes->Observe(static_cast<double>(n));
    Commit(batch);
    batch.clear();
  }
}

void GroupCommitWriter::Commit(std::vector<Item>& batch) {
  std::vector<Response> responses;
  std::vector<std::string> hashes;
  responses.reserve(batch.size());
  hashes.reserve(batch.size());
  for (Item& item : batch) {
    responses.push_back(std::move(item.response));
    hashes.push_back(std::move(item.content_hash));
  }
  std::vector<AppendResult> results;
  Status status;
  try {
    status = sink_.AppendHashed(responses, hashes, &results);
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("append threw: ") + e.what());
  }
  if (status.ok() && results.size() == batch.size()) {
    NoteCommitted();
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].promise.set_value(results[i]);
    return;
  }
  if (status.ok()) status = Status::Internal("append returned a wrong number of results");
  if (status.code() == StatusCode::kInvalidInput && batch.size() > 1) {
    // One row broke a constraint validation should have caught: isolate it.
    spdlog::warn("group commit: batch of {} rejected ({}); retrying one by one", batch.size(), status.ToString());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::vector<AppendResult> one;
      Status s = sink_.AppendHashed({responses[i]}, {hashes[i]}, &one);
      if (s.ok() && one.size() == 1) {
        batch[i].promise.set_value(one[0]);
      } else {
        if (s.ok()) s = Status::Internal("append returned no result");
        CountError(s);
        batch[i].promise.set_value(s);
      }
    }
    return;
  }
  NoteFailed(batch.size(), status);
  for (Item& item : batch) item.promise.set_value(status);
}

void GroupCommitWriter::NoteCommitted() {
  // One relaxed load per batch on the throughput path; the rest only after a failure.
  if (!writes_failing_.load(std::memory_order_relaxed) || !writes_failing_.exchange(false)) return;
  const std::uint64_t unlogged = failure_log_.TakeSuppressed();
  spdlog::info("group commit: batches commit again{}",
               unlogged > 0 ? "; " + std::to_string(unlogged) + " more failed batches were not logged" : "");
}

void GroupCommitWriter::CountError(const Status& status) {
  if (options_.store_errors == nullptr) return;
  std::string kind(StatusCodeName(status.code()));
  for (char& c : kind) c = c == ' ' ? '_' : c;
  options_.store_errors->With({kind}).Inc();
}

void GroupCommitWriter::NoteFailed(std::size_t batch_size, const Status& status) {
  CountError(status);
  if (status.code() == StatusCode::kUnavailable) {
    unavailable_batches_.fetch_add(1, std::memory_order_relaxed);  // before the flag: a check sees both
    writes_failing_.store(true);
  }
  const RepeatLimiter::Decision d = failure_log_.Admit();
  if (!d.pass) return;
  spdlog::error(
      "group commit: batch of {} failed: {}{}", batch_size, status.ToString(),
      d.suppressed > 0 ? " (" + std::to_string(d.suppressed) + " more failed batches in the last 10 s)" : "");
}

}  // namespace minyi::collector
