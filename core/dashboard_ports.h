// Read-only queries the dashboards need from the response store besides the computed indices:
// response counts by year and channel for an area, and the text answers of an open question. The
// SQL stores implement it next to the UserStore (sql/access_store.h).
//
// Areas are given by division code; because codes are hierarchical (town 320812007 lies in county
// 320812, city 3208 and province 32), "within an area" means "town code starts with the area code".
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

struct ChannelCount {
  Period period;
  Channel channel = Channel::kImport;
  Completion completion = Completion::kComplete;
  std::int64_t count = 0;
};

struct TextAnswer {
  std::int64_t response_id = 0;
  Period period;
  std::string town_code;
  std::string text;  // as stored (channels mask phone numbers on the way in; mask again on display)
};

class DashboardQueries {
 public:
  virtual ~DashboardQueries() = default;

  // Responses of `survey_id` in towns within `area_code`, per period, channel and completion, ordered
  // by those keys. kInvalidInput for an empty survey or a code that is not 2..9 digits.
  virtual Result<std::vector<ChannelCount>> CountByChannel(const std::string& survey_id,
                                                           const std::string& area_code) = 0;

  // Non-empty answers to `question_code` from towns within `area_code`, optionally of one period,
  // newest response first, at most `limit` (1..100000) of them; `total` (when not null) receives how
  // many there are in all.
  virtual Result<std::vector<TextAnswer>> ReadTextAnswers(const std::string& survey_id,
                                                          const std::string& question_code,
                                                          const std::string& area_code,
                                                          std::optional<Period> period, std::int64_t limit,
                                                          std::int64_t* total) = 0;
};

// Invitations and what became of them, for one area code (issue 7 "response rates where invitations
// are known"). `area_code` is the town (9 digits); an SMS conversation whose town is not known yet
// is counted under its roster county (6 digits); web tokens made without a town (the resident
// chooses) and SMS replies outside any conversation are counted under "".
struct InvitationCounts {
  std::string area_code;
  // Web invitation tokens issued during the period (UTC+8) and how many of them were used (a
  // response is stored under the token, whatever its period).
  std::int64_t web_issued = 0;
  std::int64_t web_used = 0;
  // SMS conversations of the period (each one started by an invitation):
  std::int64_t sms_invited = 0;
  std::int64_t sms_sent = 0;       // the gateway accepted a message of it, or the resident replied
  std::int64_t sms_failed = 0;     // every attempt failed (the gateway refused; never sent)
  std::int64_t sms_delivered = 0;  // known to have arrived: the resident replied at least once
  std::int64_t sms_answered = 0;   // completed (a complete response was stored)
  std::int64_t sms_partial = 0;    // expired with some answers (stored as a partial response)
  std::int64_t sms_opted_out = 0;  // ended by an opt-out (退订)
  std::int64_t sms_open = 0;       // still waiting for replies
  std::int64_t sms_unparsed = 0;   // replies kept as unparsed (counted per reply, not per conversation)
};

class ResponseRateQueries {
 public:
  virtual ~ResponseRateQueries() = default;

  // One row per area code within `area_code` (2..9 digits) with any invitation or unparsed reply of
  // `survey_id` in `period`, ordered by code; the "" row only with `include_unplaced`.
  // kInvalidInput for an empty survey or a bad area code.
  virtual Result<std::vector<InvitationCounts>> CountInvitations(const std::string& survey_id,
                                                                 const std::string& area_code, const Period& period,
                                                                 bool include_unplaced) = 0;
};

}  // namespace minyi
