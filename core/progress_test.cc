#include "core/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minyi {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A fake clock and string sinks: what a terminal received, and the log lines.
struct Harness {
  std::chrono::steady_clock::time_point now{};
  std::string terminal;
  std::vector<std::string> logs;

  ProgressSink Sink(bool on_terminal) {
    ProgressSink sink;
    sink.terminal = on_terminal;
    sink.write = [this](std::string_view text) { terminal += text; };
    sink.log = [this](const std::string& line) { logs.push_back(line); };
    return sink;
  }
  ProgressOptions Options() {
    ProgressOptions options;
    options.clock = [this] { return now; };
    return options;
  }
};

TEST(ProgressReporter, LogsAtMostOncePerIntervalWhenNotATerminal) {
  Harness h;
  ProgressReporter progress("import responses a.csv", ProgressUnit::kRows, h.Sink(false), h.Options());
  h.now += seconds(9);
  progress.Update(900, 10000);
  EXPECT_TRUE(h.logs.empty());  // the first line comes one interval after the start
  h.now += seconds(1);
  progress.Update(1000, 10000);
  ASSERT_EQ(h.logs.size(), 1u);
  EXPECT_EQ(h.logs[0], "import responses a.csv: 1000 of 10000 rows (10.0%), 100 rows/s, ETA 1:30");
  h.now += seconds(5);
  progress.Update(1500, 10000);
  EXPECT_EQ(h.logs.size(), 1u);
  h.now += seconds(5);
  progress.Update(2000, 10000);
  ASSERT_EQ(h.logs.size(), 2u);
  EXPECT_EQ(h.logs[1], "import responses a.csv: 2000 of 10000 rows (20.0%), 100 rows/s, ETA 1:20");
  EXPECT_TRUE(h.terminal.empty());  // never the in-place form
  h.now += seconds(2);
  progress.Update(2500, 10000);
  progress.Finish();
  ASSERT_EQ(h.logs.size(), 3u);
  EXPECT_EQ(h.logs[2], "import responses a.csv: done, 2500 rows in 22.0 s (114 rows/s)");
  progress.Finish();  // once only
  EXPECT_EQ(h.logs.size(), 3u);
}

TEST(ProgressReporter, RewritesOneLineInPlaceOnATerminal) {
  Harness h;
  {
    ProgressReporter progress("demo seed", ProgressUnit::kResponses, h.Sink(true), h.Options());
    h.now += milliseconds(100);
    progress.Update(10, 100);
    EXPECT_TRUE(h.terminal.empty());
    h.now += milliseconds(100);
    progress.Update(20, 100);
    EXPECT_EQ(h.terminal, "\rdemo seed: 20 of 100 responses (20.0%), 100 responses/s, ETA 0:01\x1b[K");
    h.terminal.clear();
    h.now += milliseconds(150);
    progress.Update(35, 100);  // within 200 ms of the last line: nothing
    EXPECT_TRUE(h.terminal.empty());
    h.now += milliseconds(50);
    progress.Update(40, 100);
    EXPECT_EQ(h.terminal, "\rdemo seed: 40 of 100 responses (40.0%), 100 responses/s, ETA 0:01\x1b[K");
    EXPECT_TRUE(h.logs.empty());  // no log lines while the line is on the terminal
    h.terminal.clear();
    h.now += milliseconds(600);
    progress.Update(100, 100);
    progress.Finish();
    // The last line written, then erased, then the summary in the log.
    EXPECT_EQ(h.terminal, "\rdemo seed: 100 of 100 responses (100.0%), 100 responses/s\x1b[K\r\x1b[K");
    ASSERT_EQ(h.logs.size(), 1u);
    EXPECT_EQ(h.logs[0], "demo seed: done, 100 responses in 1.0 s (100 responses/s)");
    h.terminal.clear();
  }
  EXPECT_TRUE(h.terminal.empty());  // already erased: the destructor writes nothing more
}

TEST(ProgressReporter, UnknownTotalShowsTheRateWithoutEta) {
  Harness h;
  ProgressReporter progress("import sms -", ProgressUnit::kBytes, h.Sink(false), h.Options());
  h.now += seconds(10);
  progress.Update(50ull * 1024 * 1024);
  ASSERT_EQ(h.logs.size(), 1u);
  EXPECT_EQ(h.logs[0], "import sms -: 50.0 MiB, 5.0 MiB/s");
}

TEST(ProgressReporter, EtaAndPercentOfAKnownTotal) {
  Harness h;
  ProgressReporter progress("db backup", ProgressUnit::kPages, h.Sink(false), h.Options());
  EXPECT_EQ(progress.Line(250, 1000, seconds(5)),
            "db backup: 250 of 1000 pages (25.0%), 50 pages/s, ETA 0:15");
  EXPECT_EQ(progress.Line(1, 10000, seconds(1)),
            "db backup: 1 of 10000 pages (0.0%), 1 pages/s, ETA 2:46:39");
  EXPECT_EQ(progress.Line(0, 1000, seconds(0)), "db backup: 0 of 1000 pages (0.0%)");  // no rate yet: no ETA
  EXPECT_EQ(progress.Line(5, 0, seconds(0)), "db backup: 5 pages");
}

TEST(ProgressReporter, BytesAreShownInMiB) {
  Harness h;
  ProgressReporter progress("import responses big.csv", ProgressUnit::kBytes, h.Sink(false), h.Options());
  EXPECT_EQ(progress.Line(3ull << 20, 12ull << 20, seconds(3)),
            "import responses big.csv: 3.0 of 12.0 MiB (25.0%), 1.0 MiB/s, ETA 0:09");
}

TEST(ProgressReporter, UnfinishedWorkErasesTheLineWithoutASummary) {
  Harness h;
  {
    ProgressReporter progress("aggregate", ProgressUnit::kTownPeriods, h.Sink(true), h.Options());
    h.now += seconds(1);
    progress.Update(3, 10);
    EXPECT_FALSE(h.terminal.empty());
    h.terminal.clear();
    progress.Finish(false);
    EXPECT_EQ(h.terminal, "\r\x1b[K");
    EXPECT_TRUE(h.logs.empty());
    h.terminal.clear();
  }
  EXPECT_TRUE(h.terminal.empty());
  {
    ProgressReporter progress("aggregate", ProgressUnit::kTownPeriods, h.Sink(true), h.Options());
    h.now += seconds(1);
    progress.Update(3, 10);
    h.terminal.clear();
  }  // destroyed without Finish (an error return): erased, no summary
  EXPECT_EQ(h.terminal, "\r\x1b[K");
  EXPECT_TRUE(h.logs.empty());
}

}  // namespace
}  // namespace minyi
