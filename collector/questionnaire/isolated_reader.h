// Internal to collector/questionnaire: runs a table reader in a child process, so that a fault inside
// a third-party parser ends the child, not `minyi serve` (issue 13: the fuzzer found a
// memcpy-param-overlap inside FreeXL 1.0.6 that no pre-check of ours catches; see
// tests/fuzz/crashes/README.md).
//
// The child (fork, no exec) runs `read`, which calls its RowCallback for each row; every row goes to
// the parent through a pipe and the parent hands it to `on_row`. The parent bounds what the child may
// cost: `seconds` of wall time (then the child is killed: kResourceExhausted), and `max_bytes` of
// rows on the pipe (kResourceExhausted). A child that dies before it finished (a signal, a sanitizer
// report, an exit without its end record) is kInvalidInput naming how it ended; the rows it sent
// before are delivered, as for any reader that stops part-way. A non-OK status of `on_row` stops the
// child and is returned; a non-OK status of `read` in the child is returned as it was.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "collector/questionnaire/table_reader.h"
#include "core/status.h"

namespace minyi::collector::questionnaire {

struct IsolationLimits {
  int seconds = 60;
  std::size_t max_bytes = std::size_t{256} << 20;
};

// `what` names the input in errors ("the .xls file").
Status ReadIsolated(const std::function<Status(const RowCallback& emit)>& read, const RowCallback& on_row,
                    const IsolationLimits& limits, const std::string& what);

}  // namespace minyi::collector::questionnaire
