#include "collector/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace minyi::collector {

RateLimiter::RateLimiter(double per_minute, double burst, std::size_t max_keys)
    : rate_per_second_(per_minute / 60.0), burst_(std::max(1.0, burst)), max_keys_(max_keys) {}

int RateLimiter::Take(const std::string& key, Clock::time_point now) {
  if (rate_per_second_ <= 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) Sweep(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_per_second_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_per_second_)));
}

void RateLimiter::Sweep(Clock::time_point now) {
  const double full_after = burst_ / rate_per_second_;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (std::chrono::duration<double>(now - it->second.updated).count() >= full_after) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  // Still full of active clients: start over rather than grow without bound.
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

}  // namespace minyi::collector
