// `minyi import wechat` and the WeChat upload of `minyi serve` (README "WeChat group exports").
// Options come from the wechat.* configuration keys and the command line.
#pragma once

#include <memory>

#include "cli/command.h"
#include "core/http/router.h"
#include "dashboards/access_service.h"

namespace minyi::cli {

int RunImportWechat(Context& context, const Args& args);

// What serve keeps alive for the upload routes.
class WechatUploadRuntime {
 public:
  virtual ~WechatUploadRuntime() = default;
};

// Wires the export upload (the routes, their answers and the scope rules: collector/wechat/upload_routes.h):
//   GET  /import/wechat and POST /api/v1/imports/wechat, with a dashboards Guard over `access` as the
// http::Authenticator (session, CSRF), the store as the ResponseReviser and CollectorCounters, and
// collector::questionnaire::FileUpload (cli/questionnaire_commands.h CreateQuestionnaireUpload) as the
// questionnaire port. Configuration: wechat.*
// (grid_workers, utc_offset_minutes, max_upload_bytes), dashboard.survey (the default survey) and
// dashboard.web_dir (the page). `secret` is the respondent-key secret. An unusable questionnaire map in
// questionnaire.map_dir is an error (kInvalidInput) only when a live questionnaire endpoint is configured
// (QuestionnaireEndpointsConfigured); otherwise it is logged as a warning and questionnaire uploads
// answer 503 "questionnaire_maps_unusable" naming the map's problem and the file, while chat uploads
// keep working.
Result<std::unique_ptr<WechatUploadRuntime>> RegisterWechatUpload(Context& context, const Resources& resources,
                                                                  dashboards::AccessService& access,
                                                                  const std::string& secret, http::Router& router);

}  // namespace minyi::cli
