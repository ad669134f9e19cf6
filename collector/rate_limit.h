// A token-bucket rate limiter keyed by client address (public resident pages). Each key earns
// `per_minute / 60` tokens a second up to `burst`; a request takes one. Memory is bounded: keys whose
// bucket has refilled completely are dropped when the table grows past `max_keys`. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace minyi::collector {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // per_minute <= 0 disables limiting (every request passes).
  RateLimiter(double per_minute, double burst, std::size_t max_keys = 100000);

  // 0 when the request may proceed (a token was taken); otherwise the whole seconds (>= 1) to wait
  // before the next token is available (for Retry-After).
  int Take(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  void Sweep(Clock::time_point now);

  double rate_per_second_;
  double burst_;
  std::size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace minyi::collector
