// minyi aggregate: weights and indices for every town, county, city and the province
// (aggregator/run.h), written to the store's index tables.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "aggregator/run.h"
#include "cli/command.h"
#include "cli/progress.h"
#include "cli/version.h"

namespace minyi::cli {
namespace {

// `--dry-run`: the rows are computed (and written to --csv) but not published, so that the index
// tables another process keeps (live aggregation in `serve`) can be compared with a batch run.
class DiscardRows : public IndexSink {
 public:
  Status WriteIndexRows(const std::vector<IndexRow>&) override { return Status::Ok(); }
};

}  // namespace

int RunAggregate(Context& context, const Args& args) {
  auto threads = IntOption(args, "--threads", 2, 1, 64);
  if (!threads) return kExitUsage;
  std::optional<Period> period;
  if (args.Has("--period")) {
    auto parsed = Period::Parse(args.Get("--period"));
    if (!parsed.ok()) {
      std::cerr << "minyi: --period: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    period = parsed.value();
  }
  double trim = 0;
  if (args.Has("--trim")) {
    try {
      trim = std::stod(args.Get("--trim"));
    } catch (const std::exception&) {
      trim = -1;
    }
    if (!(trim >= 1.0)) {
      std::cerr << "minyi: --trim K: K is the cap as a multiple of the town's median weight, at least 1\n";
      return kExitUsage;
    }
  }

  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  sql::Store& db = *r.store;

  // The surveys to compute: the one asked for, else every survey that has responses.
  std::set<std::string> survey_ids;
  if (args.Has("--survey")) {
    survey_ids.insert(args.Get("--survey"));
  } else {
    auto stored = db.AnalysisPeriods();
    if (!stored.ok()) return Fail(stored.status());
    for (const auto& sp : stored.value()) survey_ids.insert(sp.survey_id);
  }
  if (survey_ids.empty()) {
    std::cout << "no responses stored: nothing to aggregate\n";
    return kExitOk;
  }

  std::unique_ptr<std::ofstream> csv;
  if (args.Has("--csv")) {
    csv = std::make_unique<std::ofstream>(args.Get("--csv"), std::ios::binary);
    if (!*csv) return Fail(Status::InvalidInput("cannot write " + args.Get("--csv")));
  }

  const bool dry_run = args.Has("--dry-run");
  DiscardRows discard;
  IndexSink& sink = dry_run ? static_cast<IndexSink&>(discard) : db;
  bool header_written = false;
  for (const std::string& survey_id : survey_ids) {
    if (!r.surveys->Find(survey_id)) return Fail(Status::NotFound("no survey definition '" + survey_id + "'"));
    aggregator::AggregationOptions options;
    options.survey_id = survey_id;
    options.period = period;
    options.compute.threads = static_cast<int>(*threads);
    options.compute.weighting.trim_factor = trim;
    options.code_version = kVersion;
    ProgressReporter progress = CliProgress("aggregate " + survey_id, ProgressUnit::kResponses);
    options.progress = progress.Callback();
    const auto started = std::chrono::steady_clock::now();
    auto summary = aggregator::RunAggregation(options, db, db, *r.surveys, *r.areas, sink);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    progress.Finish(summary.ok());
    if (!summary.ok()) return Fail(summary.status().WithContext("survey " + survey_id));
    const auto& s = summary.value();
    std::string periods;
    for (const auto& p : s.periods) periods += (periods.empty() ? "" : ", ") + p.ToString();
    std::cout << "survey " << survey_id << ": periods " << (periods.empty() ? "none" : periods) << "; "
              << s.responses << " responses, " << s.towns << " town-periods, " << s.rows
              << (dry_run ? " index rows computed (not written: --dry-run)\n" : " index rows written\n")
              << "  weighting: " << s.fallback_towns << " town-periods fell back to post-stratification, "
              << s.unweighted_towns << " without a population total, " << s.lonely_strata
              << " with a single respondent (lonely strata)\n"
              << "  raking: " << s.nonconverged_towns << " town-periods did not converge; "
              << s.empty_population_cells << " population cells with population 0 (skipped by raking)\n";
    std::printf("  time: %.2f s (reading %.2f s summed over %d reader threads, computing %.2f s, writing %.2f s)\n",
                wall, s.read_seconds, options.read_threads, s.compute_seconds, s.write_seconds);
    std::fflush(stdout);
    const std::size_t shown = std::min<std::size_t>(s.warnings.size(), args.Has("--all-warnings") ? SIZE_MAX : 20);
    for (std::size_t i = 0; i < shown; ++i) std::cout << "  warning: " << s.warnings[i] << "\n";
    if (shown < s.warnings.size()) {
      std::cout << "  ... and " << s.warnings.size() - shown << " more warnings (--all-warnings lists them)\n";
    }
    if (csv) {
      // The rows carry the model-based town figures (docs/small_area.md), computed with the run.
      // One header for the whole file: WriteIndexCsv writes one per call, so keep only the first.
      std::ostringstream text;
      MINYI_RETURN_IF_ERROR_CLI(aggregator::WriteIndexCsv(s.index_rows, text));
      std::string out = text.str();
      if (header_written) out = out.substr(out.find('\n') + 1);
      *csv << out;
      header_written = true;
    }
  }
  if (csv) {
    csv->close();
    if (!*csv) return Fail(Status::Unavailable("writing " + args.Get("--csv") + " failed"));
    std::cout << "wrote " << args.Get("--csv") << "\n";
  }
  return kExitOk;
}

}  // namespace minyi::cli
