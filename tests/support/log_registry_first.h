// Included by one test file of each test binary whose threads log through spdlog (the HTTP server's
// connections, the group-commit writer): spdlog's registry is then built by the main thread during static
// initialisation, before any thread of a test starts, as `minyi serve` sets its logger (cli/logging.cc)
// before starting threads. The registry is a function-local static of the uninstrumented libspdlog: built
// lazily by whichever thread logs first, it looks unordered with the logs of the threads already running to
// ThreadSanitizer (the guard's acquire load runs inside libspdlog, unseen). tests/sanitize/tsan.supp
// suppresses that report, but only after symbolizing it: 0.5-1.4 s for the first report of a process
// (an llvm-symbolizer started and the libraries' debug information read), which was what took
// ServerTest.DrainIsBoundedByItsTimeoutWithAHalfSentRequest over its bound under TSan. Header-only.
#pragma once

#include <spdlog/spdlog.h>

namespace minyi::testing {

inline const bool kLogRegistryBuilt = spdlog::default_logger_raw() != nullptr;

}  // namespace minyi::testing
