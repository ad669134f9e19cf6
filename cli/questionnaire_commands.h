// `minyi import questionnaire` and the questionnaire endpoints of `minyi serve` (问卷星 push,
// 腾讯问卷 webhook). Options come from the questionnaire.* keys (README "Configuration").
#pragma once

#include <memory>
#include <string>

#include "cli/command.h"
#include "core/http/router.h"

namespace minyi::cli {

int RunImportQuestionnaire(Context& context, const Args& args);

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
