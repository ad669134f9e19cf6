// minyi import responses FILE... | import population FILE...
#include <spdlog/spdlog.h>

#include <fstream>
#include <functional>
#include <iostream>

#include "cli/command.h"
#include "collector/population_import.h"
#include "collector/response_import.h"

namespace minyi::cli {
namespace {

// Imports every file ("-" is standard input) with `import_one`, which prints its report and says
// whether the file had rejected input. A file that cannot be read or whose import fails is reported
// and the next file is still imported. Returns the command's exit code.
int ForEachInput(const Args& args, const std::function<Result<bool>(std::istream&, const std::string&)>& import_one) {
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
    std::size_t last_logged = 0;
    options.progress = [&](const collector::ImportReport& so_far) {
      if (so_far.records - last_logged >= 100000) {
        last_logged = so_far.records;
        spdlog::info("{}: {} records read, {} stored", path, so_far.records, so_far.stored);
      }
    };
    auto report = collector::ImportResponsesCsv(in, *r.surveys, *r.areas, *r.store, options);
    if (!report.ok()) return report.status();
    std::cout << collector::FormatImportReport(report.value(), path);
    return report->rejected > 0 || report->conflicts > 0;
  });
}

int RunImportPopulation(Context& context, const Args& args) {
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  const collector::DemographicCodes codes = collector::DemographicCodesFromCatalog(*r.surveys);

  return ForEachInput(args, [&](std::istream& in, const std::string& path) -> Result<bool> {
    auto report = collector::ImportPopulationCsv(in, *r.areas, codes, *r.store, *r.store, {});
    if (!report.ok()) return report.status();
    std::cout << collector::FormatPopulationImportReport(report.value(), path);
    return report->rejected_lines > 0 || report->towns_rejected > 0;
  });
}

}  // namespace minyi::cli
