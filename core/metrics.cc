#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace minyi::metrics {
namespace {

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

// {a="x",b="y"} (with `extra` appended, e.g. le="0.5"); "" when there is no label at all.
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra = "") {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  return out.empty() ? out : out + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  bounds_.erase(std::remove_if(bounds_.begin(), bounds_.end(), [](double b) { return !std::isfinite(b); }),
                bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // The first bucket whose upper bound holds the value (le is "less than or equal"); NaN goes to +Inf.
  const std::size_t i = std::isnan(value)
                            ? bounds_.size()
                            : static_cast<std::size_t>(
                                  std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  // std::atomic<double>::fetch_add is C++20: a compare-exchange loop.
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct Registry::Entry {
  std::string name;
  std::string help;
  std::string type;  // counter, gauge, histogram
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<HistogramFamily> histograms;
  std::function<double()> gauge;
};

void Registry::CheckNew(const std::string& name, const std::vector<std::string>& labels) {
  if (!ValidName(name, true)) throw std::invalid_argument("metric name '" + name + "'");
  for (const std::string& label : labels) {
    if (!ValidName(label, false) || label.rfind("__", 0) == 0 || label == "le") {
      throw std::invalid_argument("label name '" + label + "' of " + name);
    }
  }
  for (const auto& e : entries_) {
    if (e->name == name) throw std::invalid_argument("metric '" + name + "' registered twice");
  }
}

CounterFamily& Registry::AddCounter(const std::string& name, const std::string& help,
                                    std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  CheckNew(name, labels);
  auto e = std::make_shared<Entry>();
  e->name = name;
  e->help = help;
  e->type = "counter";
  e->counters =
      std::make_unique<CounterFamily>(std::move(labels), [] { return std::make_unique<Counter>(); });
  entries_.push_back(e);
  return *e->counters;
}

HistogramFamily& Registry::AddHistogram(const std::string& name, const std::string& help,
                                        std::vector<std::string> labels, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  CheckNew(name, labels);
  auto e = std::make_shared<Entry>();
  e->name = name;
  e->help = help;
  e->type = "histogram";
  e->histograms = std::make_unique<HistogramFamily>(
      std::move(labels), [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
  entries_.push_back(e);
  return *e->histograms;
}

void Registry::AddGauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  CheckNew(name, {});
  auto e = std::make_shared<Entry>();
  e->name = name;
  e->help = help;
  e->type = "gauge";
  e->gauge = std::move(read);
  entries_.push_back(e);
}

std::string Registry::Render() const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
  }
  std::string out;
  for (const auto& e : entries) {
    out += "# HELP " + e->name + " " + EscapeHelp(e->help) + "\n";
    out += "# TYPE " + e->name + " " + e->type + "\n";
    if (e->counters) {
      for (const auto& [values, counter] : e->counters->Children()) {
        out += e->name + LabelText(e->counters->label_names(), values) + " " +
               std::to_string(counter->Value()) + "\n";
      }
    } else if (e->histograms) {
      const auto& names = e->histograms->label_names();
      for (const auto& [values, histogram] : e->histograms->Children()) {
        const Histogram::Snapshot s = histogram->Read();
        for (std::size_t i = 0; i <= s.bounds.size(); ++i) {
          const std::string le = i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf";
          out += e->name + "_bucket" + LabelText(names, values, "le=\"" + le + "\"") + " " +
                 std::to_string(s.cumulative[i]) + "\n";
        }
        out += e->name + "_sum" + LabelText(names, values) + " " + FormatValue(s.sum) + "\n";
        out += e->name + "_count" + LabelText(names, values) + " " + std::to_string(s.count) + "\n";
      }
    } else if (e->gauge) {
      out += e->name + " " + FormatValue(e->gauge()) + "\n";
    }
  }
  return out;
}

namespace {
// Backslash and line feed always; the double quote too inside a label value (the text format's rules).
std::string Escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || (quote && c == '"')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::string EscapeLabelValue(std::string_view value) { return Escape(value, true); }

std::string EscapeHelp(std::string_view help) { return Escape(help, false); }

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  // Whole numbers (counts, sizes) without an exponent: 1000000, not 1e+06.
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
    return buffer;
  }
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  // Shortest form that reads back the same (0.1 rather than 0.10000000000000001).
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) return shorter;
  }
  return buffer;
}

}  // namespace minyi::metrics
