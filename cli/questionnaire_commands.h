// `minyi import questionnaire` and the questionnaire endpoints of `minyi serve` (问卷星 push,
// 腾讯问卷 webhook). Options come from the questionnaire.* keys (README "Configuration").
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "collector/common/crypto.h"
#include "collector/questionnaire/file_upload.h"
#include "core/collector_counters.h"
#include "core/http/router.h"

namespace minyi::cli {

int RunImportQuestionnaire(Context& context, const Args& args);

// Whether a live questionnaire endpoint is configured (questionnaire.wjx.push_secret or
// questionnaire.txwj.token). Only then must the maps of questionnaire.map_dir be usable for serve to
// start; otherwise an unusable map only turns questionnaire uploads off (collector/wechat/upload_routes.h).
bool QuestionnaireEndpointsConfigured(const QuestionnaireConfig& config);

// The questionnaire half of the export upload of serve (POST /api/v1/imports/wechat): the maps of
// questionnaire.map_dir, read once here, in collector::questionnaire::FileUpload (the port
// QuestionnaireImport of collector/wechat/upload_routes.h), importing into the store and recording the
// import runs through `counters` (which must outlive it). kInvalidInput (naming the file) when a map in
// questionnaire.map_dir cannot be read or checked.
Result<std::unique_ptr<collector::questionnaire::FileUpload>> CreateQuestionnaireUpload(
    const Config& config, const Resources& resources, CollectorCounters& counters);

// What serve keeps for the questionnaire endpoints (maps, keyer, handlers); must outlive the server.
class QuestionnaireRuntime {
 public:
  virtual ~QuestionnaireRuntime() = default;
};

// Registers the endpoints whose secret is configured (questionnaire.wjx.push_secret,
// questionnaire.txwj.token) with the maps of questionnaire.map_dir. nullptr when neither secret is
// set. `respondent_secret` is the respondent-key secret serve has loaded.
Result<std::unique_ptr<QuestionnaireRuntime>> StartQuestionnaire(Context& context, const Resources& resources,
                                                                 const std::string& respondent_secret,
                                                                 http::Router& router);

}  // namespace minyi::cli
