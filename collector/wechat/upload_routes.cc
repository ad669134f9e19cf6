#include "collector/wechat/upload_routes.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "collector/import_runs.h"
#include "collector/text_util.h"
#include "collector/wechat/wechat_import.h"
#include "core/area_scope.h"

namespace minyi::collector::wechat {
namespace {

struct Routes {
  UploadPorts ports;
  UploadOptions options;
  std::string page;
};

// A refused upload that cannot be used as given: 422 (error_reply.h) with its own code.
void SendUnusable(http::Response& response, std::string code, std::string message) {
  http::SendError(
      response, {Status::InvalidInput(std::move(message)), http::ErrorKind::kUnprocessable, std::move(code)});
}

// The request's part of an upload, read once the caller may upload there.
struct Upload {
  const User* user = nullptr;
  const UploadTarget* target = nullptr;
  std::shared_ptr<const SurveyDefinition> survey;
  Period period;
  std::string name;  // the file's name (report and import run)
};

// A 问卷星/腾讯问卷 export: imported into the target's town, or placed by its town column.
void UploadQuestionnaire(const Routes& routes, const Upload& upload, const http::Request& request,
                         std::string_view body, http::Response& response) {
  if (routes.ports.questionnaire == nullptr) {
    return http::SendError(
        response, {Status::Unavailable("'" + upload.name +
                                       "' is a questionnaire export, but questionnaire uploads are "
                                       "off until an administrator fixes the questionnaire maps (" +
                                       routes.ports.questionnaire_off.message() + "); nothing was stored"),
                   http::ErrorKind::kDefault, "questionnaire_maps_unusable"});
  }
  QuestionnaireImport::Request q;
  q.survey_id = upload.survey->id;
  q.period = upload.period.ToString();
  q.questionnaire_id = http::QueryParam(request, "questionnaire");
  q.file_name = upload.name;
  q.actor = upload.user->username;
  q.town = upload.target->town();
  q.area = upload.target->area();
  if (!q.area.empty()) {
    q.refuse_town = [target = upload.target](const std::string& town) { return target->RefuseTown(town); };
  }
  auto report = routes.ports.questionnaire->Import(body, *routes.ports.keyer, q);
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
void UploadChat(const Routes& routes, const Upload& upload, const http::Request& request,
                const std::string& body, http::Response& response) {
  const std::string& town = upload.target->town();
  const std::string& user = upload.user->username;
  WechatImportOptions options;
  options.period = upload.period;
  options.town_code = town;
  options.grid_workers = routes.options.grid_workers;
  const std::string listed = http::QueryParam(request, "grid_workers");  // the views below point into it
  for (std::string_view w : Split(listed, ',')) {
    if (!Trim(w).empty()) options.grid_workers.emplace_back(Trim(w));
  }
  options.group = http::QueryParam(request, "group");
  options.utc_offset_minutes = routes.options.utc_offset_minutes;
  options.reason = "later answer in chat (upload by " + user + ")";
  auto importer = WechatImporter::Create(*upload.survey, *routes.ports.areas, *routes.ports.keyer, options);
  if (!importer.ok()) {
    // A survey asked only through questionnaires: the file was neither kind.
    return SendUnusable(
        response, "unreadable_file",
        "not a 问卷星/腾讯问卷 export, and not usable as a chat export: " + importer.status().message());
  }
  ImportRun run;
  run.command = "upload wechat";
  run.actor = user;
  run.file_name = upload.name;
  run.survey_id = upload.survey->id;
  run.area_code = town;
  run.started_at_ms = NowMillis();
  std::istringstream in(body);
  const Status added = (*importer)->AddFile(upload.name, in);
  if (!added.ok()) {
    return http::SendJson(
        response, http::HttpErrorFor(StatusCode::kInvalidInput, http::ErrorKind::kUnprocessable).status,
        "{\"error\":" + http::ErrorObject("unreadable_file", added.message()) +
            ",\"report\":" + (*importer)->report().ToJson() + "}");
  }
  const Status stored = (*importer)->Store(*routes.ports.reviser, NowMillis());
  if (!stored.ok()) {
    spdlog::error("wechat upload by {}: {}", user, stored.ToString());
    return http::SendError(response,
                           Status::Unavailable("the store failed; nothing was acknowledged, retry"));
  }
  const WechatReport& report = (*importer)->report();
  SetImportRunFigures(report.files.back(), run);
  RecordImportRun(*routes.ports.counters, std::move(run));
  spdlog::info("wechat upload by {} into {}: {} stored, {} revisions", user, town, report.stored,
               report.revisions);
  http::SendJson(response, 200, report.ToJson());
}

// POST /api/v1/imports/wechat: who, where, what, then the file's kind decides the import.
void PostUpload(const Routes& routes, http::Request& request, http::Response& response) {
  auto user = routes.ports.authenticator->Authenticate(request);
  if (!user.ok()) return http::SendError(response, user.status());
  auto target = AuthorizeUpload(user.value(), *routes.ports.areas, http::QueryParam(request, "town"),
                                http::QueryParam(request, "area"));
  if (!target.ok()) return http::SendError(response, target.status());
  Upload upload;
  upload.user = &user.value();
  upload.target = &target.value();
  auto period = Period::Parse(http::QueryParam(request, "period"));
  if (!period.ok()) return http::SendError(response, period.status().WithContext("period"));
  upload.period = period.value();
  std::string survey_id = http::QueryParam(request, "survey");
  if (survey_id.empty()) survey_id = routes.options.default_survey;
  upload.survey = routes.ports.surveys->Find(survey_id);
  if (!upload.survey) {
    return http::SendError(response, Status::InvalidInput("survey: unknown survey '" + survey_id + "'"));
  }
  std::string body;
  if (!http::ReadBody(request, response, routes.options.max_upload_bytes, body)) {
    return http::SendError(response,
                           {Status::ResourceExhausted("the file is larger than wechat.max_upload_bytes"),
                            http::ErrorKind::kTooLarge});
  }
  upload.name = http::QueryParam(request, "name");
  if (upload.name.empty()) upload.name = "upload";
  if (routes.ports.is_questionnaire_export(body)) {
    return UploadQuestionnaire(routes, upload, request, body, response);
  }
  if (target->town().empty()) {
    return http::SendError(
        response,
        Status::InvalidInput("area: '" + upload.name +
                             "' is a chat export, which goes into one town: "
                             "give town=CODE (area= is for questionnaire exports with a town column)"));
  }
  UploadChat(routes, upload, request, body, response);
}

}  // namespace

void RegisterUploadRoutes(http::Router& router, UploadPorts ports, UploadOptions options) {
  auto routes = std::make_shared<Routes>();
  {
    std::ifstream in(options.page_file, std::ios::binary);
    std::ostringstream page;
    page << in.rdbuf();
    routes->page = page.str();
    if (routes->page.empty())
      spdlog::warn("wechat upload: {} not found (the page is not served)", options.page_file);
  }
  routes->ports = std::move(ports);
  routes->options = std::move(options);
  router.Add("GET", "/import/wechat",
             [routes](http::Request&, http::Response& response, const http::PathParams&) {
               if (routes->page.empty())
                 return http::SendError(response, Status::NotFound("page not installed: wechat.html"));
               http::SendText(response, 200, "text/html; charset=utf-8", routes->page);
             });
  router.Add("POST", "/api/v1/imports/wechat",
             [routes](http::Request& request, http::Response& response, const http::PathParams&) {
               PostUpload(*routes, request, response);
             });
}

}  // namespace minyi::collector::wechat
