// minyi import responses FILE... | import population FILE...
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "collector/population_import.h"
#include "collector/response_import.h"

namespace minyi::cli {
namespace {

// Opens a file for streaming; "-" is standard input.
Result<std::unique_ptr<std::istream>> OpenInput(const std::string& path) {
  if (path == "-") return std::unique_ptr<std::istream>();  // null: use std::cin
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return Status::NotFound("cannot open " + path);
  return std::unique_ptr<std::istream>(std::move(file));
}

}  // namespace

int RunImportResponses(Context& context, const Args& args) {
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto surveys = context.Surveys();
  if (!surveys.ok()) return Fail(surveys.status());
  auto areas = context.Areas();
  if (!areas.ok()) return Fail(areas.status());
  auto batch = IntOption(args, "--batch", 1000, 1, 100000);
  if (!batch) return kExitUsage;

  int exit_code = kExitOk;
  for (const std::string& path : args.positionals) {
    auto input = OpenInput(path);
    if (!input.ok()) {
      exit_code = Fail(input.status());
      continue;
    }
    std::istream& in = input.value() ? *input.value() : std::cin;
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
    auto report = collector::ImportResponsesCsv(in, *surveys.value(), *areas.value(), *store.value(), options);
    if (!report.ok()) {
      exit_code = Fail(report.status().WithContext(path));
      continue;
    }
    std::cout << collector::FormatImportReport(report.value(), path);
    if ((report->rejected > 0 || report->conflicts > 0) && exit_code == kExitOk) exit_code = kExitRejected;
  }
  return exit_code;
}

int RunImportPopulation(Context& context, const Args& args) {
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto surveys = context.Surveys();
  if (!surveys.ok()) return Fail(surveys.status());
  auto areas = context.Areas();
  if (!areas.ok()) return Fail(areas.status());
  const collector::DemographicCodes codes = collector::DemographicCodesFromCatalog(*surveys.value());

  int exit_code = kExitOk;
  for (const std::string& path : args.positionals) {
    auto input = OpenInput(path);
    if (!input.ok()) {
      exit_code = Fail(input.status());
      continue;
    }
    std::istream& in = input.value() ? *input.value() : std::cin;
    auto report = collector::ImportPopulationCsv(in, *areas.value(), codes, *store.value(), *store.value(), {});
    if (!report.ok()) {
      exit_code = Fail(report.status().WithContext(path));
      continue;
    }
    std::cout << collector::FormatPopulationImportReport(report.value(), path);
    if ((report->rejected_lines > 0 || report->towns_rejected > 0) && exit_code == kExitOk) exit_code = kExitRejected;
  }
  return exit_code;
}

}  // namespace minyi::cli
