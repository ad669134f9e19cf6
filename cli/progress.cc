#include "cli/progress.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "core/terminal_text.h"

namespace minyi::cli {
namespace {

bool progress_shown = true;

}  // namespace

void SetProgressShown(bool shown) { progress_shown = shown; }

ProgressReporter CliProgress(const std::string& label, ProgressUnit unit) {
  ProgressSink sink;
  sink.terminal = progress_shown && ::isatty(STDERR_FILENO) == 1;
  sink.write = [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
  };
  sink.log = [](const std::string& line) { spdlog::info("{}", line); };
  ProgressOptions options;
  if (!progress_shown) options.log_interval = std::chrono::hours(24 * 365);
  return ProgressReporter(TerminalSafe(label), unit, std::move(sink), std::move(options));
}

std::uint64_t InputSize(const std::string& path) {
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace minyi::cli
