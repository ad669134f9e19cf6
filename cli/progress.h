// The progress output of long commands (core/progress.h): the in-place line on stderr when stderr is a
// terminal, else informational log lines through spdlog (the console sink is stderr too, and log.file).
// Never stdout: it carries data (`aggregate --csv -`, exports to "-", reports parsed by scripts).
#pragma once

#include <cstdint>
#include <string>

#include "core/progress.h"

namespace minyi::cli {

// false (`minyi --no-progress`): no in-place line and no periodic log lines, only the final summary.
// Set once by main before the command runs.
void SetProgressShown(bool shown);

// A reporter labelled `label` (made terminal-safe: it may carry a file name).
ProgressReporter CliProgress(const std::string& label, ProgressUnit unit);

// The size of the regular file `path`, 0 when unknown ("-", a pipe, a file that cannot be read): the
// total of a byte count.
std::uint64_t InputSize(const std::string& path);

}  // namespace minyi::cli
