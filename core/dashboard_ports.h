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

}  // namespace minyi
