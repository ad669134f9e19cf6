// minyi import wechat, and the wiring of the export upload of serve (cli/wechat_commands.h; the routes
// are collector/wechat/upload_routes.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>

#include "cli/import_runs.h"
#include "cli/progress.h"
#include "cli/questionnaire_commands.h"
#include "cli/wechat_commands.h"
#include "collector/common/crypto.h"
#include "collector/questionnaire/questionnaire_import.h"
#include "collector/web_service.h"
#include "collector/wechat/upload_routes.h"
#include "collector/wechat/wechat_import.h"
#include "core/terminal_text.h"
#include "dashboards/dashboard_api.h"
#include "dashboards/guard.h"
#include "sql/collector_counters.h"

namespace minyi::cli {
namespace {

namespace wechat = collector::wechat;

// What both the command and the upload need: the survey, the keyer and the configured options.
struct WechatKit {
  std::shared_ptr<const SurveyDefinition> survey;
  std::unique_ptr<collector::RespondentKeyer> keyer;
  int utc_offset_minutes = 480;
  std::vector<std::string> grid_workers;
};

Result<WechatKit> OpenKit(const Config& config, const SurveyCatalog& surveys, const std::string& survey_id,
                          std::string secret) {
  WechatKit kit;
  kit.survey = surveys.Find(survey_id);
  if (!kit.survey) return Status::NotFound("no survey '" + survey_id + "'");
  if (secret.empty()) {
    bool created = false;
    auto loaded = collector::LoadRespondentSecret(config.collector.respondent_key_secret,
                                                  config.collector.secret_file, &created);
    if (!loaded.ok()) return loaded.status();
    if (created) spdlog::warn("generated a new respondent-key secret in {}", config.collector.secret_file);
    secret = std::move(loaded).value();
  }
  auto keyer = collector::RespondentKeyer::Create(secret);
  if (!keyer.ok()) return keyer.status();
  kit.keyer = std::make_unique<collector::RespondentKeyer>(std::move(keyer).value());
  kit.utc_offset_minutes = config.wechat.utc_offset_minutes;
  kit.grid_workers = config.wechat.grid_workers;
  return kit;
}

// Whether the report holds input that was refused (exit code 3): unreadable lines or files, groups
// without a town, responses the survey rejects, members whose slot holds another town's response. Replies
// that are not understood are ordinary chat and are listed, not refused.
bool SomethingRejected(const wechat::WechatReport& report) {
  for (const wechat::WechatIssue& i : report.issues) {
    if (i.category == "file" || i.category == "group" || i.category == "rejected" ||
        i.category == "refused") {
      return true;
    }
  }
  return report.lines_rejected > 0 || report.answers_without_town > 0 || report.responses_invalid > 0 ||
         report.refused > 0 || report.issues_dropped > 0;
}

class UploadRuntime final : public WechatUploadRuntime {
 public:
  WechatKit kit;
  std::unique_ptr<dashboards::Guard> guard;
  std::unique_ptr<CollectorCounters> counters;
  // Null while questionnaire uploads are off.
  std::unique_ptr<collector::questionnaire::FileUpload> questionnaire;
};

}  // namespace

int RunImportWechat(Context& context, const Args& args) {
  auto opened = context.OpenAll();
  if (!opened.ok()) return Fail(opened.status());
  const Resources& r = opened.value();
  const Config& config = context.config();
  if (!args.Has("--period")) {
    std::cerr << "minyi: --period is required (e.g. 2025)\n";
    return kExitUsage;
  }
  auto period = Period::Parse(args.Get("--period"));
  if (!period.ok()) return Fail(period.status().WithContext("--period"));
  if (args.Has("--town") == args.Has("--group-map")) {
    std::cerr << "minyi: give either --town CODE or --group-map FILE\n";
    return kExitUsage;
  }
  auto kit = OpenKit(config, *r.surveys, args.Get("--survey", config.dashboard.survey), "");
  if (!kit.ok()) return Fail(kit.status());

  std::optional<wechat::GroupMap> group_map;
  if (args.Has("--group-map")) {
    std::ifstream in(args.Get("--group-map"), std::ios::binary);
    if (!in) return Fail(Status::InvalidInput("cannot open " + args.Get("--group-map")));
    auto parsed = wechat::GroupMap::Parse(in, *r.areas);
    if (!parsed.ok()) return Fail(parsed.status().WithContext(args.Get("--group-map")));
    group_map = std::move(parsed).value();
  }
  wechat::WechatImportOptions options;
  options.period = *period;
  options.town_code = args.Get("--town");
  options.group_map = group_map ? &*group_map : nullptr;
  options.grid_workers = kit->grid_workers;
  for (const std::string& w : args.All("--grid-worker")) options.grid_workers.push_back(w);
  options.group = args.Get("--group");
  options.utc_offset_minutes = kit->utc_offset_minutes;
  ProgressReporter* storing = nullptr;  // the progress of Store, once it begins
  options.progress = [&storing](std::uint64_t done, std::uint64_t total) {
    if (storing != nullptr) storing->Update(done, total);
  };
  auto importer = wechat::WechatImporter::Create(*kit->survey, *r.areas, *kit->keyer, options);
  if (!importer.ok()) return Fail(importer.status());

  // Files in the order of their first message (paged exports may be given in any order).
  std::vector<std::pair<std::int64_t, std::string>> files;
  for (const std::string& file : args.positionals) {
    std::ifstream in(file, std::ios::binary);
    const auto first = in ? wechat::FirstMessageTime(in, kit->utc_offset_minutes) : std::nullopt;
    files.emplace_back(first.value_or(std::numeric_limits<std::int64_t>::max()), file);
  }
  std::stable_sort(files.begin(), files.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  bool file_failed = false;
  // One run per file read, with the index of its part of the report (a file that cannot be read at
  // all has none).
  std::vector<std::pair<ImportRun, std::size_t>> runs;
  for (const auto& [unused, file] : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "minyi: cannot open " << file << "\n";
      file_failed = true;
      continue;
    }
    ImportRun run;
    run.command = "import wechat";
    run.file_name = file;
    run.started_at_ms = NowMillis();
    const Status added = (*importer)->AddFile(file, in);
    if (!added.ok()) {
      file_failed = true;  // listed in the report
      continue;
    }
    runs.emplace_back(std::move(run), (*importer)->report().files.size() - 1);
  }
  if (!args.Has("--dry-run")) {
    TrackingReviser reviser(*r.store);
    ProgressReporter progress = CliProgress("import wechat", ProgressUnit::kResponses);
    storing = &progress;
    const Status stored = (*importer)->Store(reviser, NowMillis());
    progress.Finish(stored.ok());
    storing = nullptr;
    if (!stored.ok()) {
      std::cout << TerminalSafe((*importer)->report().ToText(), LineBreaks::kKeep);
      return Fail(stored);
    }
    // Each file's run gets its own figures: the responses whose newest answer it holds.
    for (auto& [run, index] : runs) {
      wechat::SetImportRunFigures((*importer)->report().files[index], run);
      run.survey_id = kit->survey->id;
      const std::string& file_area = (*importer)->report().files[index].area;
      run.area_code = !file_area.empty()        ? file_area
                      : !reviser.area().empty() ? reviser.area()
                                                : options.town_code;
      RecordImportRun(*r.store, run);
    }
  } else {
    (*importer)->BuildResponses(NowMillis());
  }
  std::cout << TerminalSafe((*importer)->report().ToText(), LineBreaks::kKeep);
  if (args.Has("--dry-run")) std::cout << "dry run: nothing was stored\n";
  return file_failed || SomethingRejected((*importer)->report()) ? kExitRejected : kExitOk;
}

Result<std::unique_ptr<WechatUploadRuntime>> RegisterWechatUpload(Context& context,
                                                                  const Resources& resources,
                                                                  dashboards::AccessService& access,
                                                                  const std::string& secret,
                                                                  http::Router& router) {
  const Config& config = context.config();
  auto runtime = std::make_unique<UploadRuntime>();
  // The survey is chosen per request; the kit's survey is only the default.
  auto kit = OpenKit(config, *resources.surveys, config.dashboard.survey, secret);
  if (!kit.ok()) return kit.status();
  runtime->kit = std::move(kit).value();
  auto counters = sql::OpenCollectorCounters(*resources.store);
  if (!counters.ok()) return counters.status();
  runtime->counters = std::move(counters).value();
  runtime->guard = std::make_unique<dashboards::Guard>(access, router);

  wechat::UploadPorts ports;
  ports.authenticator = runtime->guard.get();
  ports.surveys = resources.surveys;
  ports.areas = resources.areas;
  ports.keyer = runtime->kit.keyer.get();
  ports.reviser = resources.store;
  ports.counters = runtime->counters.get();
  ports.is_questionnaire_export = [](std::string_view body) {
    return collector::questionnaire::SniffQuestionnaireExport(body).has_value();
  };
  // The maps serve the questionnaire uploads here. A live endpoint needs them too and has stopped
  // serve already when they are unusable (StartQuestionnaire); without one, a broken map must not
  // take the chat uploads and the dashboards down with it: it is logged once and turns questionnaire
  // uploads off.
  auto questionnaire = CreateQuestionnaireUpload(config, resources, *runtime->counters);
  if (questionnaire.ok()) {
    runtime->questionnaire = std::move(questionnaire).value();
    ports.questionnaire = runtime->questionnaire.get();
  } else if (QuestionnaireEndpointsConfigured(config.questionnaire)) {
    return questionnaire.status();
  } else {
    ports.questionnaire_off = questionnaire.status();
    spdlog::warn("questionnaire uploads are off (chat uploads work): {}", questionnaire.status().ToString());
  }

  wechat::UploadOptions options;
  options.default_survey = runtime->kit.survey->id;
  options.grid_workers = runtime->kit.grid_workers;
  options.utc_offset_minutes = runtime->kit.utc_offset_minutes;
  options.max_upload_bytes = static_cast<std::size_t>(config.wechat.max_upload_bytes);
  options.page_file =
      (config.dashboard.web_dir.empty() ? dashboards::DefaultWebDir() : config.dashboard.web_dir) +
      "/wechat.html";
  wechat::RegisterUploadRoutes(router, std::move(ports), std::move(options));
  return std::unique_ptr<WechatUploadRuntime>(std::move(runtime));
}

}  // namespace minyi::cli
