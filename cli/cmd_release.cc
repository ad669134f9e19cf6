// minyi release freeze | list: frozen annual releases (exports/release.h).
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "cli/command.h"
#include "cli/progress.h"
#include "cli/version.h"
#include "exports/release.h"

namespace minyi::cli {

std::string CliActor() {
  const char* user = std::getenv("USER");
  return "cli:" + std::string(user != nullptr && *user != '\0' ? user : "unknown");
}

int RunReleaseFreeze(Context& context, const Args& args) {
  if (!args.Has("--period")) {
    std::cerr << "minyi: release freeze: --period is required\n";
    return kExitUsage;
  }
  auto period = Period::Parse(args.Get("--period"));
  if (!period.ok()) {
    std::cerr << "minyi: --period: " << period.status().message() << "\n";
    return kExitUsage;
  }
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  exports::FreezeOptions options;
  options.survey_id = args.Get("--survey", context.config().dashboard.survey);
  options.period = period.value();
  options.reason = args.Get("--reason");
  options.created_by = CliActor();
  options.code_version = kVersion;
  ProgressReporter progress = CliProgress(
      "release freeze " + options.survey_id + " " + options.period.ToString(), ProgressUnit::kResponses);
  options.progress = progress.Callback();
  auto frozen = exports::FreezeRelease(options, *r.store, *r.store, *r.store, *r.store, *r.surveys, *r.areas);
  progress.Finish(frozen.ok());
  if (!frozen.ok()) return Fail(frozen.status());
  const ReleaseRecord& rel = frozen->release;
  if (frozen->unchanged) {
    std::cout << "nothing changed since " << rel.Label() << " of " << rel.survey_id << " " << rel.period.ToString()
              << " (same responses, margins and definition): no new revision\n";
    return kExitOk;
  }
  spdlog::info("release frozen: {} {} {} by {} ({} responses)", rel.survey_id, rel.period.ToString(), rel.Label(),
               rel.created_by, rel.response_count);
  std::cout << "frozen " << rel.survey_id << " " << rel.period.ToString() << " " << rel.Label() << ": "
            << rel.response_count << " responses, " << frozen->index_rows << " index rows\n"
            << "  manifest hash " << rel.manifest_hash << "\n  content hash  " << rel.content_hash << "\n"
            << "  definition " << rel.definition_version << ", population " << rel.population_version << ", code "
            << rel.code_version << "\n  change vs " << exports::ChangeBaseline(rel) << "\n";
  const std::size_t shown = std::min<std::size_t>(frozen->warnings.size(), 10);
  for (std::size_t i = 0; i < shown; ++i) std::cout << "  warning: " << frozen->warnings[i] << "\n";
  if (shown < frozen->warnings.size()) std::cout << "  ... and " << frozen->warnings.size() - shown << " more warnings\n";
  return kExitOk;
}

int RunReleaseList(Context& context, const Args& args) {
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto list = store.value()->ListReleases(args.Get("--survey"));
  if (!list.ok()) return Fail(list.status());
  if (list->empty()) {
    std::cout << "no releases (minyi release freeze --period Y)\n";
    return kExitOk;
  }
  std::cout << "survey\tperiod\trelease\tfrozen_at\tresponses\tcontent_hash\tby\treason\n";
  for (const ReleaseRecord& rel : list.value()) {
    std::cout << rel.survey_id << "\t" << rel.period.ToString() << "\t" << rel.Label() << "\t"
              << FormatTimestampUtc(rel.frozen_at_ms) << "\t" << rel.response_count << "\t" << rel.content_hash << "\t"
              << rel.created_by << "\t" << rel.reason << "\n";
  }
  return kExitOk;
}

}  // namespace minyi::cli
