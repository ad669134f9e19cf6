// Counts of rejected submissions, kept in memory and written to the CollectorCounters port
// (core/collector_counters.h) in the background, so a flood of bad requests costs a map increment
// each, not a database write each. Used by the web collector (IngestService) for validation
// failures and malformed API bodies.
//
// Start() runs a thread that flushes every `interval`; Stop() (and the destructor) flushes what is
// left. A failed flush keeps the counts for the next one. At most `max_keys` distinct keys are held;
// beyond, further keys are counted with period and town cleared, so memory stays bounded whatever
// the input. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

#include "core/collector_counters.h"

namespace minyi::collector {

class RejectionTally {
 public:
  // `sink` must outlive the tally.
  explicit RejectionTally(CollectorCounters& sink, std::chrono::milliseconds interval = std::chrono::seconds(2),
                          std::size_t max_keys = 10000);
  ~RejectionTally();
  RejectionTally(const RejectionTally&) = delete;
  RejectionTally& operator=(const RejectionTally&) = delete;

  // One rejected submission. `survey_id` and `town_code` must already be known-valid or "".
  void Count(const std::string& channel, const std::string& reason, const std::string& survey_id,
             const Period& period, const std::string& town_code);

  // Writes everything counted so far; on failure the counts stay for the next flush.
  Status Flush();

  void Start();
  void Stop();

  // Counted and not yet written.
  std::int64_t Pending() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string, int, int, std::string>;
  struct Value {
    std::int64_t count = 0;
    std::int64_t last_at_ms = 0;
  };

  CollectorCounters& sink_;
  std::chrono::milliseconds interval_;
  std::size_t max_keys_;
  mutable std::mutex mu_;
  std::map<Key, Value> pending_;
  std::mutex flush_mu_;  // one flush at a time
  std::mutex thread_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace minyi::collector
