#include "core/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>

namespace minyi::metrics {
namespace {

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  Registry registry;
  registry.AddCounter("x_total", "help with \\ and\nnewline", {"route"}).With({"/a\"b\n"}).Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP x_total help with \\\\ and\\nnewline\n"
            "# TYPE x_total counter\n"
            "x_total{route=\"/a\\\"b\\n\"} 1\n");
}

TEST(MetricsTest, CountersByLabelsInOrder) {
  Registry registry;
  CounterFamily& requests =
      registry.AddCounter("minyi_http_requests_total", "Requests.", {"route", "status"});
  requests.With({"/b", "200"}).Inc(2);
  requests.With({"/a", "404"}).Inc();
  requests.With({"/b", "200"}).Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP minyi_http_requests_total Requests.\n"
            "# TYPE minyi_http_requests_total counter\n"
            "minyi_http_requests_total{route=\"/a\",status=\"404\"} 1\n"
            "minyi_http_requests_total{route=\"/b\",status=\"200\"} 3\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram& h = registry.AddHistogram("d_seconds", "Durations.", {"route"}, {0.5, 0.1, 1}).With({"/r"});
  h.Observe(0.05);  // le 0.1
  h.Observe(0.1);   // le 0.1 (bounds are inclusive)
  h.Observe(0.7);   // le 1
  h.Observe(30);    // +Inf only
  EXPECT_EQ(registry.Render(),
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{route=\"/r\",le=\"0.1\"} 2\n"
            "d_seconds_bucket{route=\"/r\",le=\"0.5\"} 2\n"
            "d_seconds_bucket{route=\"/r\",le=\"1\"} 3\n"
            "d_seconds_bucket{route=\"/r\",le=\"+Inf\"} 4\n"
            "d_seconds_sum{route=\"/r\"} " +
                FormatValue(0.05 + 0.1 + 0.7 + 30) +
                "\n"
                "d_seconds_count{route=\"/r\"} 4\n");
}

TEST(MetricsTest, NanIsCountedInInfOnly) {
  Histogram h({1});
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(s.count, 1u);
}

TEST(MetricsTest, UnlabelledHistogramAndGauge) {
  Registry registry;
  registry.AddHistogram("batch_size", "Sizes.", {}, {1, 10}).With({}).Observe(3);
  double depth = 7;
  registry.AddGauge("queue_depth", "Depth.", [&depth] { return depth; });
  EXPECT_EQ(
      registry.Render(),
      "# HELP batch_size Sizes.\n# TYPE batch_size histogram\n"
      "batch_size_bucket{le=\"1\"} 0\nbatch_size_bucket{le=\"10\"} 1\nbatch_size_bucket{le=\"+Inf\"} 1\n"
      "batch_size_sum 3\nbatch_size_count 1\n"
      "# HELP queue_depth Depth.\n# TYPE queue_depth gauge\nqueue_depth 7\n");
  depth = 0.25;
  EXPECT_NE(registry.Render().find("queue_depth 0.25\n"), std::string::npos);
}

TEST(MetricsTest, ValuesFormatted) {
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(2.5e-7), "2.5e-07");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsTest, BadNamesAndDuplicatesAreRefused) {
  Registry registry;
  EXPECT_THROW(registry.AddCounter("9bad", "", {}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok_total", "", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok_total", "", {"__x"}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok_total", "", {"a-b"}), std::invalid_argument);
  registry.AddCounter("ok_total", "", {});
  EXPECT_THROW(registry.AddGauge("ok_total", "", [] { return 0.0; }), std::invalid_argument);
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("c_total", "", {"k"});
  Histogram& h = registry.AddHistogram("h", "", {}, {1}).With({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        family.With({t % 2 == 0 ? "even" : "odd"}).Inc();
        h.Observe(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.With({"even"}).Value(), 20000u);
  EXPECT_EQ(family.With({"odd"}).Value(), 20000u);
  EXPECT_EQ(h.Read().count, 40000u);
  EXPECT_EQ(h.Read().sum, 40000.0);
}

}  // namespace
}  // namespace minyi::metrics
