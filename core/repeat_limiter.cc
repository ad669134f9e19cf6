#include "core/repeat_limiter.h"

namespace minyi {

RepeatLimiter::Decision RepeatLimiter::Admit(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ && now - reported_at_ < window_) {
    ++suppressed_;
    return {false, 0};
  }
  Decision d{true, suppressed_};
  open_ = true;
  reported_at_ = now;
  suppressed_ = 0;
  return d;
}

std::uint64_t RepeatLimiter::TakeSuppressed() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t n = suppressed_;
  suppressed_ = 0;
  open_ = false;
  return n;
}

}  // namespace minyi
