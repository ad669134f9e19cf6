// The live questionnaire endpoints of `minyi serve`:
//
//   POST /api/v1/questionnaire/wjx            问卷星 数据推送API: one answer as JSON per request
//   POST /api/v1/questionnaire/txwj/{token}   腾讯问卷 Webhook: answer.create / answer.update / answer.delete
//
// Authentication (README "Questionnaires", docs/channels.md §4.5–§4.6):
//  - 问卷星 signs each push: sign = hex SHA-1 of (activity + index + push secret), activity being the
//    questionnaire id and index the answer's 作答序号 (the documented scheme). The secret is
//    questionnaire.wjx.push_secret / MINYI_WJX_PUSH_SECRET. Pushes without an "index" field are
//    checked with "joinid" in its place.
//    The sign covers neither the answers nor a time: whoever saw one push (a proxy log, a browser
//    extension on the site's account) can replay it with other answers. So pushes may be limited to
//    the site's addresses (wjx_allow_from), a push never revises a stored answer unless
//    wjx_allow_revisions is set (an identical replay is a duplicate; other answers are 409), and the
//    sign is not stored with the payload.
//  - 腾讯问卷 documents no signature for answer webhooks yet, so the webhook URL carries a secret path
//    token (questionnaire.txwj.token / MINYI_TXWJ_WEBHOOK_TOKEN), compared in constant time.
// A request that fails authentication is answered 401 and changes nothing. A body over the limit is
// 413; a bad body 400 with {"error":{"code","message","fields":[{"field","reason"}]}}; a questionnaire
// without a map 404; a version the store refuses (ReviseOutcome::kRefused: another town's slot, or a
// push revision while they are off) 409 with code "conflict"; a store failure 503 (the sender retries).
//
// Each answer becomes a Response on the wechat channel in the slot "wjx:<activity>:<index>@<town>" or
// "txwj:<survey_id>:<answer_id>@<town>" (core/revisions.h TownSlot; the same slots as the file
// importer, so an export imported later into the same town adds nothing), stored with
// ResponseReviser::StoreRevisions; answer.delete withdraws the answer in every town.
//
// Thread-safe: the handlers only read their configuration; the reviser is thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "collector/common/crypto.h"
#include "collector/questionnaire/questionnaire_map.h"
#include "core/areas.h"
#include "core/http/router.h"
#include "core/revisions.h"
#include "core/survey.h"

namespace minyi::collector::questionnaire {

struct EndpointOptions {
  std::string wjx_push_secret;              // empty: the 问卷星 route is not registered
  std::string txwj_token;                   // empty: the 腾讯问卷 route is not registered
  std::vector<std::string> wjx_allow_from;  // IPv4 addresses or CIDR blocks pushes may come from; empty: any
  bool wjx_allow_revisions = false;         // false: a push with other answers for a stored answer is 409
  std::vector<QuestionnaireMap> maps;       // each with provider, id and survey
  int utc_offset_minutes = 480;
  std::size_t max_body_bytes = 1 << 20;
};

struct EndpointAnswer {
  int status = 200;
  std::string json;
  int retry_after_seconds = 0;  // > 0: sent as Retry-After (a 503 from core/http/error_reply.h)
};

// The hex SHA-1 问卷星 signs with (lowercase).
std::string WjxSign(std::string_view activity, std::string_view index, std::string_view secret);

class QuestionnaireEndpoints {
 public:
  // All references must outlive the object (and the server).
  QuestionnaireEndpoints(const SurveyCatalog& surveys, const AreaRegistry& areas,
                         const RespondentKeyer& keyer, ResponseReviser& reviser, EndpointOptions options);

  // The handlers without HTTP (the routes read the body and call these).
  // `peer_address`: the address the request came from (checked against wjx_allow_from).
  EndpointAnswer HandleWjxPush(std::string_view body, const std::string& peer_address) const;
  EndpointAnswer HandleTxwjWebhook(std::string_view path_token, std::string_view body) const;

  // Registers the routes whose secret is configured.
  void Register(http::Router& router) const;

 private:
  const QuestionnaireMap* FindMap(Provider provider, std::string_view id) const;
  EndpointAnswer Store(Response response, std::string_view reason, const RevisePolicy& policy) const;

  const SurveyCatalog& surveys_;
  const AreaRegistry& areas_;
  const RespondentKeyer& keyer_;
  ResponseReviser& reviser_;
  EndpointOptions options_;
};

}  // namespace minyi::collector::questionnaire
