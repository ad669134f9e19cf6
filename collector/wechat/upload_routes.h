// The export upload of `minyi serve` (README "WeChat group exports"): grid workers, officials and admins
// hand in a WeChat chat export or a 问卷星/腾讯问卷 export through a page. Written against ports only:
// the signed-in user comes from an http::Authenticator (core/http/authenticator.h; the executable wires
// the dashboards' guard), the scope from core/area_scope.h, chat answers go through a ResponseReviser,
// import runs through CollectorCounters, and the questionnaire half through QuestionnaireImport
// (collector/questionnaire_upload_port.h; collector::questionnaire::FileUpload implements it, the
// executable constructs it with the maps of questionnaire.map_dir). No sql/, no dashboards/.
//
//   GET  /import/wechat              the upload page (dashboards/web/wechat.html + wechat.js)
//   POST /api/v1/imports/wechat?survey=S&period=Y&(town=CODE|area=CODE)[&name=FILE][&group=NAME]
//        [&grid_workers=A,B][&questionnaire=ID]
//        the export as the raw request body; answers the import report as JSON (200). A body that
//        UploadPorts::is_questionnaire_export recognizes is imported as a questionnaire, anything else as
//        a chat export.
//        town: every row (chat or questionnaire) goes into this town.
//        area: a county, city or province code, for questionnaire exports only (a chat export needs
//        town, else 400): each row's town comes from the file's town column named by the
//        questionnaire map; a row whose town is unknown, outside the area or outside the caller's
//        scope is rejected with its row number and the reason, every other row is stored.
// Answers, deny by default and through the one error boundary (core/http/error_reply.h): 401 without a
// session, 403 without the CSRF token, for a statistician or outside the uploader's scope (naming the
// code; core/area_scope.h AuthorizeUpload), 400 naming the parameter (town, area, period, survey), 413 over
// wechat.max_upload_bytes or a reader limit, 422 for a file that cannot be used ("unreadable_file" with
// the chat report; "unusable_questionnaire"), 503 when the store fails (retry) or, code
// "questionnaire_maps_unusable", for a questionnaire export while questionnaire uploads are off.
// Every imported file is recorded as an import run (actor: the signed-in user).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/common/crypto.h"
#include "collector/questionnaire_upload_port.h"
#include "core/areas.h"
#include "core/collector_counters.h"
#include "core/http/authenticator.h"
#include "core/http/router.h"
#include "core/revisions.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector::wechat {

// The questionnaire half of the upload (collector/questionnaire_upload_port.h).
using QuestionnaireImport = collector::QuestionnaireImport;

// What the routes use; every pointer must outlive the routes.
struct UploadPorts {
  const http::Authenticator* authenticator = nullptr;
  const SurveyCatalog* surveys = nullptr;
  const AreaRegistry* areas = nullptr;
  const RespondentKeyer* keyer = nullptr;
  ResponseReviser* reviser = nullptr;     // the chat exports' responses
  CollectorCounters* counters = nullptr;  // the chat exports' import runs
  // Whether a body is a 问卷星/腾讯问卷 export (collector::questionnaire::SniffQuestionnaireExport).
  std::function<bool(std::string_view body)> is_questionnaire_export;
  // Null while questionnaire uploads are off; `questionnaire_off` then says why (answered as 503).
  const QuestionnaireImport* questionnaire = nullptr;
  Status questionnaire_off;
};

struct UploadOptions {
  std::string default_survey;             // dashboard.survey: the survey when the request names none
  std::vector<std::string> grid_workers;  // wechat.grid_workers, beside the request's grid_workers
  int utc_offset_minutes = 480;           // wechat.utc_offset_minutes
  std::size_t max_upload_bytes = 0;       // wechat.max_upload_bytes
  std::string page_file;  // the page's HTML (<web dir>/wechat.html); missing: 404, logged once
};

// Registers the two routes on `router`. Thread-safe once registered (the routes keep their own state).
void RegisterUploadRoutes(http::Router& router, UploadPorts ports, UploadOptions options);

}  // namespace minyi::collector::wechat
