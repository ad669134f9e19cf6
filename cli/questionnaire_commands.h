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
#include "collector/questionnaire/questionnaire_map.h"
#include "collector/wechat/upload_routes.h"
#include "core/http/router.h"

namespace minyi::cli {

int RunImportQuestionnaire(Context& context, const Args& args);

// Whether a live questionnaire endpoint is configured (questionnaire.wjx.push_secret or
// questionnaire.txwj.token). Only then must the maps of questionnaire.map_dir be usable for serve to
// start; otherwise an unusable map only turns questionnaire uploads off (collector/wechat/upload_routes.h).
bool QuestionnaireEndpointsConfigured(const QuestionnaireConfig& config);

// The questionnaire half of the export upload of serve (POST /api/v1/imports/wechat,
// collector/wechat/upload_routes.h, whose port QuestionnaireImport this implements): the maps of
// questionnaire.map_dir, read once when serve starts, and the import of one uploaded file into the
// store. Thread-safe (the maps are read only).
class QuestionnaireUpload final : public collector::wechat::QuestionnaireImport {
 public:
  // kInvalidInput (naming the file) when a map in questionnaire.map_dir cannot be read or checked.
  static Result<std::unique_ptr<QuestionnaireUpload>> Create(const Config& config,
                                                             const Resources& resources);

  // Imports `body`, a file collector::questionnaire::SniffQuestionnaireExport recognized, through a
  // private temporary file (removed before returning) with the town or area of the request and the
  // map of its survey (the one whose id is questionnaire_id; else the only one for the survey and the
  // provider the header shows; none: question titles are matched), records the import run and returns the
  // report as JSON (collector::questionnaire::QuestionnaireReportJson). kInvalidInput with a reason
  // for a file that cannot be read, a header that names no survey question (saying whether a map was
  // found), several maps to choose from, or an area upload without a map that names the town
  // column; nothing is stored then. kUnavailable when the store fails (batches committed before stay).
  Result<std::string> Import(std::string_view body, const collector::RespondentKeyer& keyer,
                             const Request& request) const override;

 private:
  QuestionnaireUpload(const Resources& resources,
                      std::vector<collector::questionnaire::QuestionnaireMap> maps, int utc_offset_minutes)
      : resources_(resources), maps_(std::move(maps)), utc_offset_minutes_(utc_offset_minutes) {}
  Resources resources_;
  std::vector<collector::questionnaire::QuestionnaireMap> maps_;
  int utc_offset_minutes_;
};

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
