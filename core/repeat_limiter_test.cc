#include "core/repeat_limiter.h"

#include <gtest/gtest.h>

namespace minyi {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RepeatLimiterTest, FirstPassesThenCountsUntilTheWindowEnds) {
  RepeatLimiter limiter(seconds(10));
  const auto t0 = RepeatLimiter::Clock::time_point{} + seconds(1000);
  const auto first = limiter.Admit(t0);
  EXPECT_TRUE(first.pass);
  EXPECT_EQ(first.suppressed, 0u);
  // An outage: 673 failures in 5 s write one line, not 673.
  int passed = 0;
  for (int i = 1; i <= 672; ++i) passed += limiter.Admit(t0 + milliseconds(i * 7)).pass ? 1 : 0;
  EXPECT_EQ(passed, 0);
  const auto later = limiter.Admit(t0 + seconds(10));
  EXPECT_TRUE(later.pass);
  EXPECT_EQ(later.suppressed, 672u);
  EXPECT_FALSE(limiter.Admit(t0 + seconds(11)).pass);
  EXPECT_EQ(limiter.TakeSuppressed(), 1u);
  // After TakeSuppressed the next occurrence is a first one again.
  const auto again = limiter.Admit(t0 + seconds(12));
  EXPECT_TRUE(again.pass);
  EXPECT_EQ(again.suppressed, 0u);
}

TEST(RepeatLimiterTest, NothingHeldBackWhenOccurrencesAreRare) {
  RepeatLimiter limiter(seconds(10));
  const auto t0 = RepeatLimiter::Clock::time_point{} + seconds(1000);
  for (int i = 0; i < 5; ++i) {
    const auto d = limiter.Admit(t0 + seconds(11 * i));
    EXPECT_TRUE(d.pass);
    EXPECT_EQ(d.suppressed, 0u);
  }
  EXPECT_EQ(limiter.TakeSuppressed(), 0u);
}

}  // namespace
}  // namespace minyi
