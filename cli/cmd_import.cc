// minyi import responses FILE... | import population FILE...
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>

#include "cli/command.h"
#include "cli/import_runs.h"
#include "cli/progress.h"
#include "collector/import_runs.h"
#include "collector/population_import.h"
#include "collector/response_import.h"
#include "core/terminal_text.h"
#include "sql/collector_counters.h"

namespace minyi::cli {
namespace {

// Imports every file ("-" is standard input) with `import_one`, which prints its report and says
// whether the file had rejected input. A file that cannot be read or whose import fails is reported
// and the next file is still imported. Returns the command's exit code.
int ForEachInput(const Args& args,
                 const std::function<Result<bool>(std::istream&, const std::string&)>& import_one) {
  int exit_code = kExitOk;
  for (const std::string& path : args.positionals) {
    std::ifstream file;
    if (path != "-") {
      file.open(path, std::ios::binary);
      if (!file) {
        exit_code = Fail(Status::NotFound("cannot open " + path));
        continue;
      }
    }
    auto rejected = import_one(path == "-" ? std::cin : file, path);
    if (!rejected.ok()) {
      exit_code = Fail(rejected.status().WithContext(path));
    } else if (rejected.value() && exit_code == kExitOk) {
      exit_code = kExitRejected;
    }
  }
  return exit_code;
}

}  // namespace

std::string ImportActor() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user != nullptr) return user;
  return "uid " + std::to_string(::geteuid());
}

void RecordImportRun(sql::Store& store, ImportRun run) {
  if (run.actor.empty()) run.actor = ImportActor();
  auto counters = sql::OpenCollectorCounters(store);
  if (!counters.ok()) {
    spdlog::warn("{}: the import run was not recorded: {}", run.file_name, counters.status().ToString());
    return;
  }
  collector::RecordImportRun(*counters.value(), std::move(run));
}

int RunImportResponses(Context& context, const Args& args) {
  auto batch = IntOption(args, "--batch", 1000, 1, 100000);
  if (!batch) return kExitUsage;
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();

  return ForEachInput(args, [&](std::istream& in, const std::string& path) -> Result<bool> {
    collector::ImportOptions options;
    options.batch_size = static_cast<std::size_t>(*batch);
    options.source_name = path;
    // Bytes of the file: the number of rows is not known before the end.
    ProgressReporter progress = CliProgress("import responses " + path, ProgressUnit::kBytes);
    const std::uint64_t size = InputSize(path);
    options.progress = [&](const collector::ImportReport& so_far) { progress.Update(so_far.bytes, size); };
    const std::int64_t started = NowMillis();
    TrackingSink sink(*r.store);
    auto report = collector::ImportResponsesCsv(in, *r.surveys, *r.areas, sink, options);
    if (report.ok()) progress.Update(report->bytes, size);
    progress.Finish(report.ok());
    if (!report.ok()) return report.status();
    std::cout << TerminalSafe(collector::FormatImportReport(report.value(), path), LineBreaks::kKeep);
    ImportRun run;
    run.command = "import responses";
    run.file_name = path;
    run.survey_id = sink.survey();
    run.area_code = sink.area();
    run.started_at_ms = started;
    run.rows_read = static_cast<std::int64_t>(report->records);
    run.rows_stored = static_cast<std::int64_t>(report->stored);
    run.rows_duplicate = static_cast<std::int64_t>(report->duplicates);
    run.rows_rejected = static_cast<std::int64_t>(report->rejected + report->conflicts);
    RecordImportRun(*r.store, run);
    return report->rejected > 0 || report->conflicts > 0;
  });
}

int RunImportPopulation(Context& context, const Args& args) {
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  const collector::DemographicCodes codes = collector::DemographicCodesFromCatalog(*r.surveys);

  return ForEachInput(args, [&](std::istream& in, const std::string& path) -> Result<bool> {
    const std::int64_t started = NowMillis();
    auto report = collector::ImportPopulationCsv(in, *r.areas, codes, *r.store, *r.store, {});
    if (!report.ok()) return report.status();
    std::cout << TerminalSafe(collector::FormatPopulationImportReport(report.value(), path),
                              LineBreaks::kKeep);
    ImportRun run;
    run.command = "import population";
    run.file_name = path;
    run.started_at_ms = started;
    run.rows_read = static_cast<std::int64_t>(report->records);
    run.rows_stored = static_cast<std::int64_t>(report->records - report->rejected_lines);
    run.rows_rejected = static_cast<std::int64_t>(report->rejected_lines);
    RecordImportRun(*r.store, run);
    return report->rejected_lines > 0 || report->towns_rejected > 0;
  });
}

}  // namespace minyi::cli
