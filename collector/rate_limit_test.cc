#include "collector/rate_limit.h"

#include <gtest/gtest.h>

namespace minyi::collector {
namespace {

using Clock = RateLimiter::Clock;

TEST(RateLimiterTest, BurstThenRefill) {
  RateLimiter limiter(60, 3);  // one a second, burst 3
  const auto t0 = Clock::now();
  EXPECT_EQ(limiter.Take("a", t0), 0);
  EXPECT_EQ(limiter.Take("a", t0), 0);
  EXPECT_EQ(limiter.Take("a", t0), 0);
  EXPECT_EQ(limiter.Take("a", t0), 1) << "fourth request in the same instant waits a second";
  EXPECT_EQ(limiter.Take("b", t0), 0) << "keys are independent";
  EXPECT_EQ(limiter.Take("a", t0 + std::chrono::milliseconds(1100)), 0);
  EXPECT_GE(limiter.Take("a", t0 + std::chrono::milliseconds(1100)), 1);
}

TEST(RateLimiterTest, DisabledPassesEverything) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take("a"), 0);
}

TEST(RateLimiterTest, TableStaysBounded) {
  RateLimiter limiter(60, 1, 10);
  const auto t0 = Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take("k" + std::to_string(i), t0), 0);
  // A key seen long ago was swept; it gets a full bucket again.
  EXPECT_EQ(limiter.Take("k0", t0 + std::chrono::seconds(5)), 0);
}

}  // namespace
}  // namespace minyi::collector
