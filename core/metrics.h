// Process metrics for `GET /metrics` in the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Written by hand: no Prometheus C++
// client library is packaged in Debian 12, and what we need is small (counters, gauges, histograms with
// fixed buckets, a text renderer).
//
// Components count through this interface only (core ← everything): a component is handed a
// `Registry&` (or the families it needs) by the executable that wires it, and never includes another
// component to report something.
//
// Cost: Inc/Observe on a child already created is a few relaxed atomic operations. Finding a child by its
// label values takes a shared (reader) lock on the family's map; creating one takes the writer lock once.
// Callers on a hot path may keep the child pointer (children live as long as the registry).
//
// Bounded: every label value a caller passes must come from a bounded set (a route pattern, a status
// code, a method from a fixed list). Nothing an outsider sends (a path, a query string) may become a label.
//
// Thread safety: everything is safe to call from several threads at once. Families are registered
// before the server starts (Registry::Add* take a lock, so registering later is safe, just rare).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace minyi::metrics {

// A monotonically increasing count.
class Counter {
 public:
  void Inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Observations counted in fixed buckets (upper bounds, ascending; +Inf is implicit), with their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bound, then the +Inf bucket
  std::atomic<double> sum_{0};
};

// A family: one metric name, its help text and label names; children by label values.
template <typename T>
class Family {
 public:
  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<T>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}
  // The child for `values` (as many as label names; created on first use). Never null.
  T& With(const std::vector<std::string>& values);
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Every child, ordered by label values.
  std::vector<std::pair<std::vector<std::string>, const T*>> Children() const;

 private:
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<T>()> make_;
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

using CounterFamily = Family<Counter>;
using HistogramFamily = Family<Histogram>;

// Bucket bounds for request durations in seconds (1 ms .. 10 s).
std::vector<double> LatencyBuckets();

class Registry {
 public:
  // `name` must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), unique in the registry; label
  // names [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__". A bad name is a programming error:
  // std::invalid_argument.
  CounterFamily& AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> labels);
  HistogramFamily& AddHistogram(const std::string& name, const std::string& help,
                                std::vector<std::string> labels, std::vector<double> bounds);
  // A gauge read when rendered (a queue depth, a lag). `read` must be cheap and thread-safe; it is
  // called from the thread that serves /metrics.
  void AddGauge(const std::string& name, const std::string& help, std::function<double()> read);

  // Every family in registration order, in the text format (version 0.0.4).
  std::string Render() const;

 private:
  struct Entry;
  void CheckNew(const std::string& name, const std::vector<std::string>& labels);

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Entry>> entries_;
};

// The Content-Type of Render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label value escaped for the text format: backslash, double quote and line feed.
std::string EscapeLabelValue(std::string_view value);
// HELP text escaped for the text format: backslash and line feed.
std::string EscapeHelp(std::string_view help);
// A sample value as the text format writes it: integers without exponent, "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

template <typename T>
T& Family<T>::With(const std::vector<std::string>& values) {
  {
    std::shared_lock lock(mutex_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto& slot = children_[values];
  if (!slot) slot = make_();
  return *slot;
}

template <typename T>
std::vector<std::pair<std::vector<std::string>, const T*>> Family<T>::Children() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::vector<std::string>, const T*>> out;
  out.reserve(children_.size());
  for (const auto& [values, child] : children_) out.emplace_back(values, child.get());
  return out;
}

}  // namespace minyi::metrics
