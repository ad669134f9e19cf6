// minyi import wechat, and the WeChat export upload of serve (cli/wechat_commands.h).
#include <Poco/File.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include "cli/import_runs.h"
#include "cli/progress.h"
#include "cli/questionnaire_commands.h"
#include "cli/wechat_commands.h"
#include "collector/common/crypto.h"
#include "collector/questionnaire/questionnaire_import.h"
#include "collector/web_service.h"
#include "collector/wechat/wechat_import.h"
#include "core/terminal_text.h"
#include "dashboards/dashboard_api.h"
#include "dashboards/guard.h"

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

// The import-run figures of one file (WechatFileReport: the responses that count for it): rows read
// are its messages; a revision counts as stored, a stale version as a duplicate; its unreadable
// lines, the responses the survey or the store refused and its answers from groups without a town as
// rejected.
void SetFileFigures(const wechat::WechatFileReport& file, ImportRun& run) {
  run.rows_read = static_cast<std::int64_t>(file.messages);
  run.rows_stored = static_cast<std::int64_t>(file.stored + file.revisions);
  run.rows_duplicate = static_cast<std::int64_t>(file.duplicates + file.stale);
  run.rows_rejected = static_cast<std::int64_t>(file.lines_rejected + file.responses_invalid + file.refused +
                                                file.answers_without_town);
}

class UploadRuntime final : public WechatUploadRuntime {
 public:
  WechatKit kit;
  std::shared_ptr<dashboards::Guard> guard;
  // Null while questionnaire_off says why the maps of questionnaire.map_dir cannot be used.
  std::unique_ptr<QuestionnaireUpload> questionnaire;
  Status questionnaire_off;
  std::string page;
};

// Where an upload goes; exactly one is set. A town takes every row of a chat or questionnaire
// export; an area (county, city or the province) takes a questionnaire export whose rows are placed
// by the file's town column.
struct UploadTarget {
  std::string town;
  std::string area;
};

// The target of the query (town=CODE or area=CODE), checked against the caller, deny by default:
// grid workers upload into their own towns, or into an area holding one of them (its rows in other
// towns are then refused one by one); officials within their areas; admins anywhere; statisticians
// nowhere. kInvalidInput for a missing or unknown code, kPermissionDenied outside the scope.
Result<UploadTarget> AuthorizedTarget(const dashboards::Caller& caller, const http::Request& request,
                                      const AreaRegistry& areas, const dashboards::Guard& guard) {
  const User& user = caller.principal.user;
  if (user.role != Role::kGridWorker && user.role != Role::kOfficial && user.role != Role::kAdmin) {
    return Status::PermissionDenied("该账号无权导入微信群记录");
  }
  UploadTarget target{dashboards::QueryParam(request, "town"), dashboards::QueryParam(request, "area")};
  if (!target.town.empty() && !target.area.empty()) {
    return Status::InvalidInput(
        "give town (one town) or area (a county- or city-wide questionnaire), not both");
  }
  if (target.area.empty() && !areas.IsTown(target.town)) {
    return Status::InvalidInput("town: a 9-digit town code is required");
  }
  if (!target.area.empty() && (areas.Find(target.area) == nullptr || areas.IsTown(target.area))) {
    return Status::InvalidInput("area: a county, city or province code is required (a town goes in town=)");
  }
  const std::string& code = target.area.empty() ? target.town : target.area;
  if (user.role == Role::kGridWorker) {
    // Grid workers see no dashboards (InScope is false for them): their towns are their scope.
    const bool holds_own_town =
        std::any_of(user.areas.begin(), user.areas.end(),
                    [&](const std::string& town) { return areas.Contains(code, town); });
    if (!holds_own_town) return Status::PermissionDenied("只能导入本人负责的乡镇（街道）");
  } else {
    auto scoped = guard.Authorize(caller, code);
    if (!scoped.ok()) return scoped.status();
  }
  return target;
}

// Why `user` may not place a row of an upload into `area` in `town` ("" when it may): the town must
// lie inside the area and inside the user's scope (grid workers: their towns).
std::string TownRefusal(const User& user, const AreaRegistry& areas, const std::string& area,
                        const std::string& town) {
  const std::string named = "town " + town + " (" + areas.FullName(town) + ")";
  if (!areas.Contains(area, town)) {
    return named + " is not inside the upload's area " + area + " (" + areas.FullName(area) + ")";
  }
  if (user.role == Role::kGridWorker) {
    if (std::find(user.areas.begin(), user.areas.end(), town) == user.areas.end()) {
      return named + " is not one of your towns";
    }
  } else if (!InScope(user, areas, town)) {
    return named + " is outside your areas";
  }
  return std::string();
}

// A refused upload that cannot be used as given: 422 (error_reply.h) with its own code.
void SendUnusable(http::Response& response, std::string code, std::string message) {
  http::SendError(
      response, {Status::InvalidInput(std::move(message)), http::ErrorKind::kUnprocessable, std::move(code)});
}

// A 问卷星/腾讯问卷 export: imported into the target's town, or placed by its town column.
void UploadQuestionnaire(const UploadRuntime& runtime, const AreaRegistry& areas,
                         const dashboards::Caller& caller, const UploadTarget& target,
                         QuestionnaireUpload::Request q, std::string_view body, http::Response& response) {
  if (!runtime.questionnaire) {
    return http::SendError(
        response, {Status::Unavailable("'" + q.file_name +
                                       "' is a questionnaire export, but questionnaire uploads are "
                                       "off until an administrator fixes the questionnaire maps (" +
                                       runtime.questionnaire_off.message() + "); nothing was stored"),
                   http::ErrorKind::kDefault, "questionnaire_maps_unusable"});
  }
  q.town = target.town;
  q.area = target.area;
  if (!target.area.empty()) {
    const User& user = caller.principal.user;
    q.refuse_town = [&user, &areas, area = target.area](const std::string& town) {
      return TownRefusal(user, areas, area, town);
    };
  }
  auto report = runtime.questionnaire->Import(body, *runtime.kit.keyer, q);
  if (report.status().code() == StatusCode::kUnavailable) {
    spdlog::error("questionnaire upload by {}: {}", q.actor, report.status().ToString());
    return http::SendError(response,
                           Status::Unavailable("the store failed; retry (rows stored before stay)"));
  }
  // Over a reader limit (a workbook that unpacks too large: table_reader.h): 413; else 422.
  if (report.status().code() == StatusCode::kResourceExhausted) {
    return http::SendError(response, {report.status(), http::ErrorKind::kTooLarge});
  }
  if (!report.ok()) return SendUnusable(response, "unusable_questionnaire", report.status().message());
  http::SendJson(response, 200, report.value());
}

// A chat export: every answer goes into the target town.
void UploadChat(const UploadRuntime& runtime, const AreaRegistry& areas, sql::Store& store,
                const SurveyDefinition& survey, const Period& period, const std::string& town,
                const std::string& name, const std::string& user, const http::Request& request,
                const std::string& body, http::Response& response) {
  collector::wechat::WechatImportOptions options;
  options.period = period;
  options.town_code = town;
  options.grid_workers = runtime.kit.grid_workers;
  for (const std::string& w : CommaList(dashboards::QueryParam(request, "grid_workers"))) {
    options.grid_workers.push_back(w);
  }
  options.group = dashboards::QueryParam(request, "group");
  options.utc_offset_minutes = runtime.kit.utc_offset_minutes;
  options.reason = "later answer in chat (upload by " + user + ")";
  auto importer = collector::wechat::WechatImporter::Create(survey, areas, *runtime.kit.keyer, options);
  if (!importer.ok()) {
    // A survey asked only through questionnaires: the file was neither kind.
    return SendUnusable(
        response, "unreadable_file",
        "not a 问卷星/腾讯问卷 export, and not usable as a chat export: " + importer.status().message());
  }
  ImportRun run;
  run.command = "upload wechat";
  run.actor = user;
  run.file_name = name;
  run.survey_id = survey.id;
  run.area_code = town;
  run.started_at_ms = NowMillis();
  std::istringstream in(body);
  const Status added = (*importer)->AddFile(name, in);
  if (!added.ok()) {
    return http::SendJson(
        response, http::HttpErrorFor(StatusCode::kInvalidInput, http::ErrorKind::kUnprocessable).status,
        "{\"error\":" + http::ErrorObject("unreadable_file", added.message()) +
            ",\"report\":" + (*importer)->report().ToJson() + "}");
  }
  const Status stored = (*importer)->Store(store, NowMillis());
  if (!stored.ok()) {
    spdlog::error("wechat upload by {}: {}", user, stored.ToString());
    return http::SendError(response,
                           Status::Unavailable("the store failed; nothing was acknowledged, retry"));
  }
  const collector::wechat::WechatReport& report = (*importer)->report();
  SetFileFigures(report.files.back(), run);
  RecordImportRun(store, run);
  spdlog::info("wechat upload by {} into {}: {} stored, {} revisions", user, town, report.stored,
               report.revisions);
  http::SendJson(response, 200, report.ToJson());
}

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
      SetFileFigures((*importer)->report().files[index], run);
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
  const std::string web_dir =
      config.dashboard.web_dir.empty() ? dashboards::DefaultWebDir() : config.dashboard.web_dir;
  {
    std::ifstream in(web_dir + "/wechat.html", std::ios::binary);
    std::ostringstream page;
    page << in.rdbuf();
    runtime->page = page.str();
    if (runtime->page.empty())
      spdlog::warn("wechat upload: {}/wechat.html not found (the page is not served)", web_dir);
  }
  // The maps serve the questionnaire uploads here. A live endpoint needs them too and has stopped
  // serve already when they are unusable (StartQuestionnaire); without one, a broken map must not
  // take the chat uploads and the dashboards down with it: it is logged once and turns questionnaire
  // uploads off.
  auto questionnaire = QuestionnaireUpload::Create(config, resources);
  if (questionnaire.ok()) {
    runtime->questionnaire = std::move(questionnaire).value();
  } else if (QuestionnaireEndpointsConfigured(config.questionnaire)) {
    return questionnaire.status();
  } else {
    runtime->questionnaire_off = questionnaire.status();
    spdlog::warn("questionnaire uploads are off (chat uploads work): {}", questionnaire.status().ToString());
  }
  runtime->guard = std::make_shared<dashboards::Guard>(access, router);
  UploadRuntime* self = runtime.get();
  const SurveyCatalog& surveys = *resources.surveys;
  const AreaRegistry& areas = *resources.areas;
  sql::Store& store = *resources.store;
  const auto max_bytes = static_cast<std::size_t>(config.wechat.max_upload_bytes);

  router.Add("GET", "/import/wechat",
             [self](http::Request&, http::Response& response, const http::PathParams&) {
               if (self->page.empty())
                 return http::SendError(response, Status::NotFound("page not installed: wechat.html"));
               http::SendText(response, 200, "text/html; charset=utf-8", self->page);
             });
  self->guard->Add(
      "POST", "/api/v1/imports/wechat", dashboards::Need::kSignedIn,
      [self, &surveys, &areas, &store, max_bytes](const dashboards::Caller& caller, http::Request& request,
                                                  http::Response& response, const http::PathParams&) {
        auto target = AuthorizedTarget(caller, request, areas, *self->guard);
        if (!target.ok()) return http::SendError(response, target.status());
        auto period = Period::Parse(dashboards::QueryParam(request, "period"));
        if (!period.ok()) return http::SendError(response, period.status().WithContext("period"));
        std::string survey_id = dashboards::QueryParam(request, "survey");
        if (survey_id.empty()) survey_id = self->kit.survey->id;
        auto survey = surveys.Find(survey_id);
        if (!survey)
          return http::SendError(response,
                                 Status::InvalidInput("survey: unknown survey '" + survey_id + "'"));
        std::string body;
        if (!http::ReadBody(request, response, max_bytes, body)) {
          return http::SendError(
              response, {Status::ResourceExhausted("the file is larger than wechat.max_upload_bytes"),
                         http::ErrorKind::kTooLarge});
        }
        std::string name = dashboards::QueryParam(request, "name");
        if (name.empty()) name = "upload";
        const std::string& user = caller.principal.user.username;
        if (collector::questionnaire::SniffQuestionnaireExport(body)) {
          QuestionnaireUpload::Request q;
          q.survey_id = survey->id;
          q.period = period->ToString();
          q.questionnaire_id = dashboards::QueryParam(request, "questionnaire");
          q.file_name = name;
          q.actor = user;
          return UploadQuestionnaire(*self, areas, caller, target.value(), std::move(q), body, response);
        }
        if (target->town.empty()) {
          return http::SendError(
              response,
              Status::InvalidInput("area: '" + name +
                                   "' is a chat export, which goes into one town: "
                                   "give town=CODE (area= is for questionnaire exports with a town column)"));
        }
        UploadChat(*self, areas, store, *survey, *period, target->town, name, user, request, body, response);
      });
  return std::unique_ptr<WechatUploadRuntime>(std::move(runtime));
}

}  // namespace minyi::cli
