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

// Registers, through a dashboards Guard (session, role, CSRF, scope):
//   GET  /import/wechat              the upload page (dashboards/web/wechat.html + wechat.js)
//   POST /api/v1/imports/wechat?survey=S&period=Y&(town=CODE|area=CODE)[&name=FILE][&group=NAME]
//        [&grid_workers=A,B][&questionnaire=ID]
//        the export as the raw request body; answers the import report as JSON. A 问卷星/腾讯问卷
//        export (recognized by collector::questionnaire::SniffQuestionnaireExport) is imported as a
//        questionnaire (cli/questionnaire_commands.h QuestionnaireUpload), anything else as a chat
//        export.
//        town: every row (chat or questionnaire) goes into this town.
//        area: a county, city or province code, for questionnaire exports only (a chat export needs
//        town, else 400): each row's town comes from the file's town column named by the
//        questionnaire map; a row whose town is unknown, outside the area or outside the caller's
//        scope is rejected with its row number and the reason, every other row is stored.
// Grid workers may import into the towns they are assigned (an area only when it holds one of them,
// and only rows of their towns), officials into their areas, admins anywhere; statisticians may not.
// Every imported file is recorded as an import run (actor: the signed-in user).
// `secret` is the respondent-key secret. An unusable questionnaire map in questionnaire.map_dir is an
// error (kInvalidInput) only when a live questionnaire endpoint is configured
// (QuestionnaireEndpointsConfigured); otherwise it is logged as a warning and questionnaire uploads
// answer 503 "questionnaire_maps_unusable" naming the map's problem and the file, while chat uploads
// keep working.
Result<std::unique_ptr<WechatUploadRuntime>> RegisterWechatUpload(Context& context, const Resources& resources,
                                                                  dashboards::AccessService& access,
                                                                  const std::string& secret, http::Router& router);

}  // namespace minyi::cli
