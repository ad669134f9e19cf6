// Rate-limits a repeated event (an error line that every failed batch would write during an outage):
// the first occurrence goes through, later ones within `window` are only counted, and the first one
// after the window goes through carrying how many were held back ("N more in the last 10 s").
//
// It decides and counts; it does not log, so it stays a standard-library helper that any component
// can use with its own logger. spdlog has no such filter (its sinks drop nothing by content).
//
// Thread-safe: Admit and TakeSuppressed may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace minyi {

class RepeatLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool pass = false;             // report this occurrence
    std::uint64_t suppressed = 0;  // when pass: occurrences held back since the last one reported
  };

  explicit RepeatLimiter(Clock::duration window = std::chrono::seconds(10)) : window_(window) {}

  // One occurrence at `now`.
  Decision Admit(Clock::time_point now = Clock::now());

  // The occurrences held back and not yet reported, resetting the count and the window (for a final
  // summary when the condition ends, e.g. "recovered; 12 more failures were not logged").
  std::uint64_t TakeSuppressed();

 private:
  const Clock::duration window_;
  std::mutex mu_;
  bool open_ = false;  // an occurrence was reported and its window has not been closed
  Clock::time_point reported_at_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace minyi
