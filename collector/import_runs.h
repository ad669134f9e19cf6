// Recording one import run (core/collector_counters.h) for every importer, whoever wires the counters:
// the CLI commands (cli/import_runs.h) and the export upload of serve (collector/wechat/upload_routes.h).
#pragma once

#include "core/collector_counters.h"

namespace minyi::collector {

// Keeps only the base name of `run.file_name` ("-" is "(stdin)"), sets `run.finished_at_ms` when it is 0
// and stores the run through `counters`. Best effort: a failure is logged (naming the file), never the
// import's failure. `run.actor` is the caller's to set.
void RecordImportRun(CollectorCounters& counters, ImportRun run);

}  // namespace minyi::collector
