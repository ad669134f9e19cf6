#include "collector/rejection_tally.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace minyi::collector {

RejectionTally::RejectionTally(CollectorCounters& sink, std::chrono::milliseconds interval, std::size_t max_keys)
    : sink_(sink), interval_(interval), max_keys_(max_keys) {}

RejectionTally::~RejectionTally() { Stop(); }

void RejectionTally::Count(const std::string& channel, const std::string& reason, const std::string& survey_id,
                           const Period& period, const std::string& town_code) {
  Key key{channel, reason, survey_id, period.year, period.quarter, town_code};
  const std::int64_t now = NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(key);
  if (it == pending_.end() && pending_.size() >= max_keys_) {
    key = Key{channel, reason, survey_id, 0, 0, std::string()};
    it = pending_.find(key);
  }
  Value& v = it != pending_.end() ? it->second : pending_[key];
  ++v.count;
  v.last_at_ms = now;
}

Status RejectionTally::Flush() {
  std::lock_guard<std::mutex> one(flush_mu_);
  std::map<Key, Value> taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken.swap(pending_);
  }
  if (taken.empty()) return Status::Ok();
  std::vector<RejectionCount> counts;
  counts.reserve(taken.size());
  for (const auto& [key, value] : taken) {
    RejectionCount c;
    c.channel = std::get<0>(key);
    c.reason = std::get<1>(key);
    c.survey_id = std::get<2>(key);
    c.period = {std::get<3>(key), std::get<4>(key)};
    c.town_code = std::get<5>(key);
    c.count = value.count;
    c.last_at_ms = value.last_at_ms;
    counts.push_back(std::move(c));
  }
  Status s = sink_.RecordRejections(counts);
  if (!s.ok()) {
    // Put them back (merged with what arrived meanwhile) for the next flush.
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, value] : taken) {
      Value& v = pending_[key];
      v.count += value.count;
      v.last_at_ms = std::max(v.last_at_ms, value.last_at_ms);
    }
  }
  return s;
}

void RejectionTally::Start() {
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> guard(thread_mu_);
    while (!stop_) {
      wake_.wait_for(guard, interval_, [this] { return stop_; });
      if (stop_) break;
      guard.unlock();
      Status s = Flush();
      if (!s.ok()) spdlog::warn("collector: recording rejected submissions failed (kept for later): {}", s.ToString());
      guard.lock();
    }
  });
}

void RejectionTally::Stop() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  Status s = Flush();
  if (!s.ok()) spdlog::warn("collector: {} rejected submissions not recorded: {}", Pending(), s.ToString());
}

std::int64_t RejectionTally::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::int64_t n = 0;
  for (const auto& [key, value] : pending_) n += value.count;
  return n;
}

}  // namespace minyi::collector
