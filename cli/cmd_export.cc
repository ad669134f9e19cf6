// minyi export indices | microdata: statisticians' exports (exports/index_export.h, microdata.h).
// Every export is logged (who, what, which release, where); dashboard downloads are audited in the
// database (dashboards/export_routes.cc).
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <set>

#include "cli/command.h"
#include "cli/progress.h"
#include "exports/index_export.h"
#include "exports/microdata.h"
#include "exports/release.h"

namespace minyi::cli {

std::string CliActor();

namespace {

// --release R: -1 (live) when absent; nullopt (usage error printed) when malformed.
std::optional<int> ReleaseOption(const Args& args) {
  if (!args.Has("--release")) return -1;
  auto r = exports::ParseReleaseSelector(args.Get("--release"));
  if (!r) std::cerr << "minyi: --release '" << args.Get("--release") << "': expected R1, R2, ... or latest\n";
  return r;
}

std::string WithoutExtension(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  return dot != std::string::npos && (slash == std::string::npos || dot > slash) ? path.substr(0, dot) : path;
}

}  // namespace

int RunExportIndices(Context& context, const Args& args) {
  if (!args.Has("--period") || !args.Has("--format") || !args.Has("--out")) {
    std::cerr << "minyi: export indices: --period, --format and --out are required\n";
    return kExitUsage;
  }
  auto period = Period::Parse(args.Get("--period"));
  if (!period.ok()) {
    std::cerr << "minyi: --period: " << period.status().message() << "\n";
    return kExitUsage;
  }
  const auto format = exports::ParseIndexFormat(args.Get("--format"));
  if (!format) {
    std::cerr << "minyi: --format: expected csv, xlsx or json\n";
    return kExitUsage;
  }
  const auto edition = exports::ParseEdition(args.Get("--edition", "internal"));
  if (!edition) {
    std::cerr << "minyi: --edition: expected public or internal\n";
    return kExitUsage;
  }
  const auto release = ReleaseOption(args);
  if (!release) return kExitUsage;
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  const std::string survey_id = args.Get("--survey", context.config().dashboard.survey);
  auto def = r.surveys->Find(survey_id);
  if (!def) return Fail(Status::NotFound("no survey definition '" + survey_id + "'"));
  auto figures = exports::LoadIndexFigures(survey_id, period.value(), *release, *r.store, *r.store);
  if (!figures.ok()) return Fail(figures.status());
  exports::IndexExportOptions options;
  options.format = *format;
  options.edition = *edition;
  std::int64_t rows = 0;
  const std::string out = args.Get("--out");
  ProgressReporter progress = CliProgress("export indices " + out, ProgressUnit::kRows);
  options.progress = progress.Callback();
  const Status written = exports::WriteIndexExport(figures.value(), *def, *r.areas, options, out, &rows);
  progress.Finish(written.ok());
  MINYI_RETURN_IF_ERROR_CLI(written);
  const std::string label = figures->frozen ? figures->release.Label() : "live (not frozen)";
  spdlog::info("export indices by {}: {} {} {} edition={} format={} rows={} -> {}", CliActor(), survey_id,
               period->ToString(), label, exports::EditionName(*edition), args.Get("--format"), rows, out);
  std::cout << "wrote " << rows << " rows (" << survey_id << " " << period->ToString() << ", " << label << ", "
            << exports::EditionName(*edition) << " edition) to " << out << "\n";
  return kExitOk;
}

int RunExportMicrodata(Context& context, const Args& args) {
  if (!args.Has("--period") || !args.Has("--format") || !args.Has("--out")) {
    std::cerr << "minyi: export microdata: --period, --format and --out are required\n";
    return kExitUsage;
  }
  const auto format = exports::ParseMicrodataFormat(args.Get("--format"));
  if (!format) {
    std::cerr << "minyi: --format: expected csv, sav, dta or xlsx\n";
    return kExitUsage;
  }
  const auto release = ReleaseOption(args);
  if (!release) return kExitUsage;
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  const std::string survey_id = args.Get("--survey", context.config().dashboard.survey);

  exports::MicrodataRequest request;
  request.survey_id = survey_id;
  request.release = *release;
  request.format = *format;
  request.path = args.Get("--out");
  const std::string text = args.Get("--period");
  if (text == "all") {
    if (*release >= 0) {
      std::cerr << "minyi: --period all: a release covers one period\n";
      return kExitUsage;
    }
    auto stored = r.store->AnalysisPeriods();
    if (!stored.ok()) return Fail(stored.status());
    for (const SurveyPeriod& sp : stored.value()) {
      if (sp.survey_id == survey_id) request.periods.push_back(sp.period);
    }
    if (request.periods.empty()) return Fail(Status::NotFound("no responses stored for survey " + survey_id));
  } else {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t end = text.find(',', pos);
      if (end == std::string::npos) end = text.size();
      auto p = Period::Parse(text.substr(pos, end - pos));
      if (!p.ok()) {
        std::cerr << "minyi: --period: " << p.status().message() << "\n";
        return kExitUsage;
      }
      request.periods.push_back(p.value());
      pos = end + 1;
    }
  }
  if (!args.Has("--no-codebook")) {
    const std::string base = args.Get("--codebook", WithoutExtension(request.path) + ".codebook");
    request.codebook_md_path = base + ".md";
    request.codebook_xlsx_path = base + ".xlsx";
  }
  const auto started = std::chrono::steady_clock::now();
  exports::MicrodataSources sources;
  sources.responses = r.store;
  sources.population = r.store;
  sources.releases = r.store;
  sources.catalog = r.surveys;
  sources.areas = r.areas;
  ProgressReporter progress = CliProgress("export microdata " + request.path, ProgressUnit::kRows);
  request.progress = progress.Callback();
  auto summary = exports::ExportMicrodata(request, sources);
  progress.Finish(summary.ok());
  if (!summary.ok()) return Fail(summary.status());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("export microdata by {}: {} {} {} format={} rows={} -> {}", CliActor(), survey_id, text,
               summary->release_label, args.Get("--format"), summary->rows, request.path);
  std::cout << "wrote " << summary->rows << " responses x " << summary->variables << " variables (" << survey_id
            << " " << text << ", " << summary->release_label << ") to " << request.path << " in " << seconds << " s\n";
  if (!request.codebook_md_path.empty()) {
    std::cout << "codebook: " << request.codebook_md_path << ", " << request.codebook_xlsx_path << "\n";
  }
  for (const std::string& note : summary->notes) std::cout << "  note: " << note << "\n";
  return kExitOk;
}

}  // namespace minyi::cli
