// minyi import questionnaire FILE..., and the questionnaire endpoints in serve.
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/import_runs.h"
#include "cli/progress.h"
#include "cli/questionnaire_commands.h"
#include "collector/questionnaire/file_upload.h"
#include "collector/questionnaire/questionnaire_endpoints.h"
#include "collector/questionnaire/questionnaire_import.h"
#include "collector/web_service.h"
#include "core/terminal_text.h"

namespace minyi::cli {
namespace {

namespace q = collector::questionnaire;

Result<collector::RespondentKeyer> KeyerFrom(const Config& config, const std::string& given) {
  std::string secret = given;
  if (secret.empty()) {
    bool created = false;
    auto loaded = collector::LoadRespondentSecret(config.collector.respondent_key_secret,
                                                  config.collector.secret_file, &created);
    if (!loaded.ok()) return loaded.status();
    if (created) spdlog::warn("generated a new respondent-key secret in {}", config.collector.secret_file);
    secret = std::move(loaded).value();
  }
  return collector::RespondentKeyer::Create(secret);
}

class Runtime final : public QuestionnaireRuntime {
 public:
  std::unique_ptr<collector::RespondentKeyer> keyer;
  std::unique_ptr<q::QuestionnaireEndpoints> endpoints;
};

}  // namespace

int RunImportQuestionnaire(Context& context, const Args& args) {
  auto batch = IntOption(args, "--batch", 500, 1, 100000);
  if (!batch) return kExitUsage;
  std::optional<q::Provider> provider;
  if (args.Has("--provider")) {
    provider = q::ParseProvider(args.Get("--provider"));
    if (!provider) {
      std::cerr << "minyi: --provider '" << args.Get("--provider") << "': expected wjx or txwj\n";
      return kExitUsage;
    }
  }
  if (args.Has("--town") && args.Has("--town-column")) {
    std::cerr << "minyi: give --town or --town-column, not both\n";
    return kExitUsage;
  }
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  std::optional<q::QuestionnaireMap> map;
  if (args.Has("--map")) {
    std::ifstream in(args.Get("--map"), std::ios::binary);
    if (!in) return Fail(Status::NotFound("cannot open " + args.Get("--map")));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = q::ParseQuestionnaireMap(text.str(), r.surveys);
    if (!parsed.ok()) return Fail(parsed.status().WithContext(args.Get("--map")));
    map = std::move(parsed).value();
  }
  auto keyer = KeyerFrom(context.config(), "");
  if (!keyer.ok()) return Fail(keyer.status());

  q::QuestionnaireImportOptions options;
  options.survey_id = args.Get("--survey");
  options.period = args.Get("--period");
  options.town = args.Get("--town");
  options.town_column = args.Get("--town-column");
  options.county = args.Get("--county");
  options.provider = provider;
  options.questionnaire_id = args.Get("--questionnaire-id");
  options.map = map ? &*map : nullptr;
  options.utc_offset_minutes = context.config().questionnaire.utc_offset_minutes;
  options.batch_size = static_cast<std::size_t>(*batch);

  int exit_code = kExitOk;
  for (const std::string& path : args.positionals) {
    const std::int64_t started = NowMillis();
    TrackingReviser reviser(*r.store);
    ProgressReporter progress = CliProgress("import questionnaire " + path, ProgressUnit::kRows);
    options.progress = progress.Callback();
    auto report = q::ImportQuestionnaireFile(path, *r.surveys, *r.areas, keyer.value(), reviser, options);
    if (report.ok()) progress.Update(report->rows);
    progress.Finish(report.ok());
    if (!report.ok()) {
      exit_code = Fail(report.status().WithContext(path));
      continue;
    }
    std::cout << TerminalSafe(q::FormatQuestionnaireReport(report.value(), path), LineBreaks::kKeep);
    ImportRun run = q::ImportRunOf(report.value(), "import questionnaire", path, started);
    run.survey_id = reviser.survey();
    if (run.survey_id.empty())
      run.survey_id = !options.survey_id.empty() ? options.survey_id : map ? map->survey : "";
    run.area_code = reviser.area();
    if (run.area_code.empty()) run.area_code = !options.town.empty() ? options.town : map ? map->town : "";
    RecordImportRun(*r.store, run);
    if (report->rejected > 0 && exit_code == kExitOk) exit_code = kExitRejected;
  }
  return exit_code;
}

bool QuestionnaireEndpointsConfigured(const QuestionnaireConfig& config) {
  return !config.wjx_push_secret.empty() || !config.txwj_token.empty();
}

Result<std::unique_ptr<q::FileUpload>> CreateQuestionnaireUpload(const Config& config,
                                                                 const Resources& resources,
                                                                 CollectorCounters& counters) {
  auto maps = q::LoadQuestionnaireMaps(config.questionnaire.map_dir, resources.surveys);
  if (!maps.ok()) return maps.status().WithContext("questionnaire.map_dir");
  return std::make_unique<q::FileUpload>(*resources.surveys, *resources.areas, *resources.store, counters,
                                         std::move(maps).value(), config.questionnaire.utc_offset_minutes);
}

Result<std::unique_ptr<QuestionnaireRuntime>> StartQuestionnaire(Context& context, const Resources& resources,
                                                                 const std::string& respondent_secret,
                                                                 http::Router& router) {
  const QuestionnaireConfig& c = context.config().questionnaire;
  if (!QuestionnaireEndpointsConfigured(c)) return std::unique_ptr<QuestionnaireRuntime>();
  if (!c.txwj_token.empty() && c.txwj_token.size() < 16) {
    return Status::InvalidInput(
        "questionnaire.txwj.token: use at least 16 characters (it is the webhook's only secret)");
  }
  auto runtime = std::make_unique<Runtime>();
  auto keyer = KeyerFrom(context.config(), respondent_secret);
  if (!keyer.ok()) return keyer.status();
  runtime->keyer = std::make_unique<collector::RespondentKeyer>(std::move(keyer).value());
  auto maps = q::LoadQuestionnaireMaps(c.map_dir, resources.surveys);
  if (!maps.ok()) return maps.status().WithContext("questionnaire.map_dir");
  for (const q::QuestionnaireMap& m : maps.value()) {
    if (!m.provider || m.id.empty() || m.survey.empty()) {
      return Status::InvalidInput("questionnaire.map_dir: every map needs provider, id and survey");
    }
  }
  q::EndpointOptions options;
  options.wjx_push_secret = c.wjx_push_secret;
  options.txwj_token = c.txwj_token;
  options.wjx_allow_from = c.wjx_allow_from;
  options.wjx_allow_revisions = c.wjx_allow_revisions;
  options.maps = std::move(maps).value();
  options.utc_offset_minutes = c.utc_offset_minutes;
  options.max_body_bytes = static_cast<std::size_t>(c.max_body_bytes);
  const std::size_t count = options.maps.size();
  runtime->endpoints = std::make_unique<q::QuestionnaireEndpoints>(
      *resources.surveys, *resources.areas, *runtime->keyer, *resources.store, std::move(options));
  runtime->endpoints->Register(router);
  spdlog::info("questionnaire endpoints: {}{}{} ({} questionnaire maps)",
               c.wjx_push_secret.empty() ? "" : "问卷星 push",
               !c.wjx_push_secret.empty() && !c.txwj_token.empty() ? ", " : "",
               c.txwj_token.empty() ? "" : "腾讯问卷 webhook", count);
  return std::unique_ptr<QuestionnaireRuntime>(std::move(runtime));
}

}  // namespace minyi::cli
