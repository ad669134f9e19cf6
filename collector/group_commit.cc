#include "collector/group_commit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace minyi::collector {

GroupCommitWriter::GroupCommitWriter(ResponseSink& sink, GroupCommitOptions options)
    : sink_(sink),
      options_(options),
      queue_([this](std::vector<Item>& batch) { return Commit(batch); }, options) {}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

Result<std::vector<GroupCommitWriter::Future>> GroupCommitWriter::Submit(std::vector<Response> responses) {
  std::vector<Item> items;
  items.reserve(responses.size());
  for (Response& r : responses) {
    std::string hash = r.ContentHash();
    items.push_back(Item{std::move(r), std::move(hash)});
  }
  return queue_.Submit(std::move(items));
}

std::vector<Result<AppendResult>> GroupCommitWriter::Commit(std::vector<Item>& batch) {
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
  std::vector<Result<AppendResult>> out;
  out.reserve(batch.size());
  if (status.ok() && results.size() == batch.size()) {
    NoteCommitted();
    for (AppendResult& r : results) out.push_back(std::move(r));
    return out;
  }
  if (status.ok()) status = Status::Internal("append returned a wrong number of results");
  if (status.code() == StatusCode::kInvalidInput && batch.size() > 1) {
    // One row broke a constraint validation should have caught: isolate it.
    spdlog::warn("group commit: batch of {} rejected ({}); retrying one by one", batch.size(), status.ToString());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::vector<AppendResult> one;
      Status s = sink_.AppendHashed({responses[i]}, {hashes[i]}, &one);
      if (s.ok() && one.size() == 1) {
        out.push_back(one[0]);
      } else {
        if (s.ok()) s = Status::Internal("append returned no result");
        CountError(s);
        out.push_back(s);
      }
    }
    return out;
  }
  NoteFailed(batch.size(), status);
  out.assign(batch.size(), status);
  return out;
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
