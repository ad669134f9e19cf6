// minyi demo seed: the synthetic demo data set (collector/demo.h), seeded once per parameter set.
#include <iostream>

#include "cli/access_setup.h"
#include "cli/command.h"
#include "cli/progress.h"
#include "collector/demo.h"

namespace minyi::cli {

int RunDemoSeed(Context& context, const Args& args) {
  auto responses = IntOption(args, "--responses", 1000000, 1, 100000000);
  auto seed = IntOption(args, "--seed", 20250101, 0, 9000000000000000000LL);
  if (!responses || !seed) return kExitUsage;
  const std::string survey_id = args.Get("--survey", "jiangsu-safety");

  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  auto survey = r.surveys->Find(survey_id);
  if (!survey) return Fail(Status::NotFound("no survey '" + survey_id + "' in " + context.config().paths.surveys));

  collector::DemoOptions options;
  options.seed = static_cast<std::uint64_t>(*seed);
  options.responses = static_cast<std::size_t>(*responses);
  const std::string fingerprint = survey_id + " " + survey->version + " seed=" + std::to_string(options.seed) +
                                  " responses=" + std::to_string(options.responses) + " years=" +
                                  std::to_string(options.first_year) + "-" + std::to_string(options.last_year);

  sql::Store& db = *r.store;
  auto seeded = db.GetMeta("demo.seeded");
  if (!seeded.ok()) return Fail(seeded.status());
  if (seeded.value() == fingerprint && !args.Has("--force")) {
    std::cout << "demo data already seeded (" << fingerprint << "); --force re-checks every response\n";
    MINYI_RETURN_IF_ERROR_CLI(CreateDemoAccounts(context, std::cout));
    return kExitOk;
  }

  ProgressReporter progress = CliProgress("demo seed", ProgressUnit::kResponses);
  auto summary =
      collector::SeedDemo(options, *survey, *r.areas, db, db,
                          [&progress](std::size_t done, std::size_t total) { progress.Update(done, total); });
  progress.Finish(summary.ok());
  if (!summary.ok()) return Fail(summary.status());
  MINYI_RETURN_IF_ERROR_CLI(db.SetMeta("demo.seeded", fingerprint));
  MINYI_RETURN_IF_ERROR_CLI(db.SetMeta("demo.note", "合成演示数据（随机种子 " + std::to_string(options.seed) + "，共 " +
                                                         std::to_string(options.responses) + " 份答卷），不代表真实民意"));
  const auto& s = summary.value();
  std::cout << "demo data: " << s.responses_stored << " responses stored, " << s.duplicates
            << " already present, " << s.conflicts << " conflicts; " << s.towns << " towns x " << s.years
            << " years; " << s.population_cells << " population cells (synthetic)\n";
  MINYI_RETURN_IF_ERROR_CLI(CreateDemoAccounts(context, std::cout));
  return s.conflicts > 0 ? kExitRejected : kExitOk;
}

}  // namespace minyi::cli
