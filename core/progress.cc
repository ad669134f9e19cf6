#include "core/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace minyi {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// "0:42", "12:05", "3:02:05".
std::string Clock(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  }
  return text;
}

}  // namespace

std::string_view ProgressUnitName(ProgressUnit unit) {
  switch (unit) {
    case ProgressUnit::kRecords:
      return "records";
    case ProgressUnit::kRows:
      return "rows";
    case ProgressUnit::kBytes:
      return "bytes";
    case ProgressUnit::kMessages:
      return "messages";
    case ProgressUnit::kPages:
      return "pages";
    case ProgressUnit::kResponses:
      return "responses";
    case ProgressUnit::kTownPeriods:
      return "town-periods";
  }
  return "units";
}

ProgressReporter::ProgressReporter(std::string label, ProgressUnit unit, ProgressSink sink,
                                   ProgressOptions options)
    : label_(std::move(label)), unit_(unit), sink_(std::move(sink)), options_(std::move(options)) {
  started_ = Now();
  last_line_ = started_;
}

ProgressReporter::~ProgressReporter() { Erase(); }

std::chrono::steady_clock::time_point ProgressReporter::Now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

std::string ProgressReporter::Number(double value) const {
  char text[32];
  if (unit_ == ProgressUnit::kBytes) {
    std::snprintf(text, sizeof text, "%.1f", value / kMiB);
  } else {
    std::snprintf(text, sizeof text, "%.0f", value);
  }
  return text;
}

std::string_view ProgressReporter::Unit() const {
  return unit_ == ProgressUnit::kBytes ? "MiB" : ProgressUnitName(unit_);
}

std::string ProgressReporter::Line(std::uint64_t done, std::uint64_t total,
                                   std::chrono::steady_clock::duration elapsed) const {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = label_ + ": " + Number(static_cast<double>(done));
  if (total > 0) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.1f",
                  100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total));
    line += " of " + Number(static_cast<double>(total)) + " " + std::string(Unit()) + " (" + percent + "%)";
  } else {
    line += " " + std::string(Unit());
  }
  if (rate > 0) line += ", " + Number(rate) + " " + std::string(Unit()) + "/s";
  if (rate > 0 && done < total) {
    line += ", ETA " + Clock(static_cast<double>(total - done) / rate);
  }
  return line;
}

void ProgressReporter::Update(std::uint64_t done, std::uint64_t total) {
  if (finished_) return;
  done_ = done;
  const auto now = Now();
  const auto interval = sink_.terminal ? options_.terminal_interval : options_.log_interval;
  if (now - last_line_ < interval) return;
  last_line_ = now;
  const std::string line = Line(done, total, now - started_);
  if (sink_.terminal) {
    // "\r" back to the line's start, ESC [ K erases what a longer previous line left behind.
    if (sink_.write) sink_.write("\r" + line + "\x1b[K");
    shown_ = true;
  } else if (sink_.log) {
    sink_.log(line);
  }
}

void ProgressReporter::Finish(bool completed) {
  if (finished_) return;
  finished_ = true;
  Erase();
  if (!completed || !sink_.log) return;
  const double seconds = std::chrono::duration<double>(Now() - started_).count();
  char time[32];
  std::snprintf(time, sizeof time, "%.1f", seconds);
  std::string summary = label_ + ": done, " + Number(static_cast<double>(done_)) + " " + std::string(Unit()) +
                        " in " + time + " s";
  if (seconds > 0) {
    summary += " (" + Number(static_cast<double>(done_) / seconds) + " " + std::string(Unit()) + "/s)";
  }
  sink_.log(summary);
}

void ProgressReporter::Erase() {
  if (!shown_) return;
  shown_ = false;
  if (sink_.write) sink_.write("\r\x1b[K");
}

ProgressCallback ProgressReporter::Callback() {
  return [this](std::uint64_t done, std::uint64_t total) { Update(done, total); };
}

}  // namespace minyi
