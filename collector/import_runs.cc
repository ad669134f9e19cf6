#include "collector/import_runs.h"

#include <Poco/Path.h>
#include <spdlog/spdlog.h>

#include <utility>

namespace minyi::collector {

void RecordImportRun(CollectorCounters& counters, ImportRun run) {
  run.file_name = run.file_name == "-" ? "(stdin)" : Poco::Path(run.file_name).getFileName();
  if (run.finished_at_ms == 0) run.finished_at_ms = NowMillis();
  const Status s = counters.RecordImportRun(run).status();
  if (!s.ok()) spdlog::warn("{}: the import run was not recorded: {}", run.file_name, s.ToString());
}

}  // namespace minyi::collector
