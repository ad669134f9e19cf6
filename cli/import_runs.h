// Import-run records for the dashboards' data-quality view (core/collector_counters.h): every CLI
// import (and any other importer run from the CLI) and every upload through serve's pages records
// one row per file with what it read, stored, found duplicated and rejected. Recording is best
// effort: a failure is logged, never the import's failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/import_runs.h"
#include "core/collector_counters.h"
#include "sql/store.h"

namespace minyi::cli {

// The name of who runs this process (the OS user), for ImportRun::actor.
std::string ImportActor();

// Fills `run.actor` (when empty) and keeps only the base name of `run.file_name`, then stores it.
void RecordImportRun(sql::Store& store, ImportRun run);

// The trackers are the collector's (collector/import_runs.h), used by every importer.
using collector::ImportScope;
using collector::TrackingReviser;
using collector::TrackingSink;

}  // namespace minyi::cli
