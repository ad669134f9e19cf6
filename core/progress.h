// Progress of long command-line work (issue 18): components report how far they are through a
// ProgressCallback on their options and never print; the executable turns the calls into output with a
// ProgressReporter.
//
// Two forms, chosen by the sink:
//  - on a terminal: one line rewritten in place ("\r", then the line, then "erase to end of line"), at
//    most once per terminal_interval; Finish() erases it and logs the summary;
//  - otherwise (a log file, a pipe, journald): a log line at most once per log_interval, and the summary.
// The first line comes one interval after the start, so work shorter than that shows only the summary.
//
// The rate is the mean since the start (done / elapsed); the ETA is (total - done) / rate and is shown only
// when the total is known (non-zero) and the rate is positive. Not thread-safe: one reporter per task, fed
// from the thread that does the work.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace minyi {

// done: units finished so far; total: units in all, 0 when unknown. Called as often as convenient (the
// reporter throttles); done never decreases.
using ProgressCallback = std::function<void(std::uint64_t done, std::uint64_t total)>;

enum class ProgressUnit { kRecords, kRows, kBytes, kMessages, kPages, kResponses, kTownPeriods };

// The plural noun of a unit ("rows", "bytes", "town-periods").
std::string_view ProgressUnitName(ProgressUnit unit);

struct ProgressSink {
  bool terminal = false;                        // true: the in-place line; false: log lines only
  std::function<void(std::string_view)> write;  // raw text to the terminal (used only when terminal)
  std::function<void(const std::string&)> log;  // one informational log line
};

struct ProgressOptions {
  std::chrono::milliseconds terminal_interval{200};  // at most ~5 rewrites a second
  std::chrono::milliseconds log_interval{10000};
  // The clock (injectable for tests); steady_clock::now when empty.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class ProgressReporter {
 public:
  // `label` begins every line ("import responses a.csv"). The clock starts now.
  ProgressReporter(std::string label, ProgressUnit unit, ProgressSink sink, ProgressOptions options = {});
  // Erases a line still shown (without a summary: the work did not finish).
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Records the position; writes a line when the interval since the last one has passed.
  void Update(std::uint64_t done, std::uint64_t total = 0);
  // Ends the report: erases the in-place line; when `completed`, logs the summary ("label: done, N units
  // in T s (R units/s)"). Later calls do nothing.
  void Finish(bool completed = true);
  // A callback that calls Update; valid while this reporter lives.
  ProgressCallback Callback();

  // The text of the line at this position after `elapsed` (for the form, and tests).
  std::string Line(std::uint64_t done, std::uint64_t total,
                   std::chrono::steady_clock::duration elapsed) const;

 private:
  std::chrono::steady_clock::time_point Now() const;
  std::string Number(double value) const;  // "1234" (a count), "12.3" (MiB of bytes)
  std::string_view Unit() const;           // "rows", "MiB"
  void Erase();

  std::string label_;
  ProgressUnit unit_;
  ProgressSink sink_;
  ProgressOptions options_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_line_;
  std::uint64_t done_ = 0;
  bool shown_ = false;  // an in-place line is on the terminal
  bool finished_ = false;
};

}  // namespace minyi
