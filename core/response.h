// The normalized response: what every channel (web, SMS, WeChat exports, file imports) turns its
// input into, and what the store keeps. See docs in README "Data model".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace minyi {

enum class Channel { kWeb, kSms, kWechat, kImport };

// "web", "sms", "wechat", "import".
std::string_view ChannelName(Channel channel);
std::optional<Channel> ParseChannel(std::string_view name);
const std::vector<Channel>& AllChannels();

// A survey period: the survey year, optionally a quarter (1..4). quarter == 0 means the whole year.
// Each period is an independent sample (docs/methodology.md §2.1).
struct Period {
  int year = 0;
  int quarter = 0;

  // "2025" or "2025Q2".
  std::string ToString() const;
  // Accepts "2025", "2025Q2", "2025q2", "2025-Q2". Years 1990..2100.
  static Result<Period> Parse(std::string_view text);

  friend bool operator==(const Period& a, const Period& b) { return a.year == b.year && a.quarter == b.quarter; }
  friend bool operator!=(const Period& a, const Period& b) { return !(a == b); }
  friend bool operator<(const Period& a, const Period& b) {
    return a.year != b.year ? a.year < b.year : a.quarter < b.quarter;
  }
};

enum class Completion { kComplete, kPartial };
std::string_view CompletionName(Completion c);  // "complete", "partial"

// Answers by question code. A single-choice answer holds one option code, a multi-choice answer one
// code per chosen option (in the order given), a text answer one string. An absent key means the
// question was not answered.
using Answers = std::map<std::string, std::vector<std::string>>;

struct Response {
  std::int64_t id = 0;              // assigned by the store; 0 before it is stored
  std::string survey_id;            // SurveyDefinition::id
  Period period;
  std::string town_code;            // 9-digit statistical town code (乡镇/街道)
  Channel channel = Channel::kImport;
  std::string respondent_key;       // keyed hash identifying the respondent; never a phone number
  double weight = 1.0;              // base (design) weight d_i ≥ 0 (docs/methodology.md §2.3)
  Answers answers;
  Completion completion = Completion::kComplete;
  std::int64_t submitted_at_ms = 0; // when the respondent answered (UTC epoch ms); 0 if unknown
  std::int64_t received_at_ms = 0;  // when we received it (UTC epoch ms)
  std::string source_ref;           // the channel's id for the input; (channel, source_ref) is unique
  std::string raw_payload;          // the input as received, kept for audit

  // Hex SHA-256 of the canonical content: survey, period, town, channel, respondent key, weight,
  // answers, completion and submitted time. Received time, id and raw payload are excluded, so a
  // gateway retry of the same message has the same hash. Two stores compare hashes to tell a replay
  // (same hash) from a conflict (different hash) under one source reference.
  std::string ContentHash() const;

  // The canonical text the hash is computed over (stable across versions; changing it is a
  // migration).
  std::string CanonicalContent() const;
};

// One answer value of a scanned response (ResponseView).
struct AnswerView {
  std::string_view question;
  std::string_view value;
};

// A stored response as ResponseSource::ScanViews lends it: the fields of Response, its texts as views
// into the scan's own buffers (valid only during the visit), and its answers flattened to one entry per
// value in Response::answers' order (question code, then the values' order). Exports read a million
// responses this way without a map, vector and strings per response (bench/RESULTS.md, "Exports").
struct ResponseView {
  std::int64_t id = 0;
  std::string_view survey_id;
  Period period;
  std::string_view town_code;
  Channel channel = Channel::kImport;
  std::string_view respondent_key;
  double weight = 1.0;
  const AnswerView* answers = nullptr;
  std::size_t answer_count = 0;
  Completion completion = Completion::kComplete;
  std::int64_t submitted_at_ms = 0;
  std::int64_t received_at_ms = 0;
  std::string_view source_ref;
  std::string_view raw_payload;  // "" unless the query asked for it

  // An owning copy.
  Response ToResponse() const;
};

// `response` as a view (its texts must outlive the view); the flattened answers go to `answers`.
ResponseView ViewOf(const Response& response, std::vector<AnswerView>* answers);

// Answers as a JSON object {"question": ["value", ...]} (keys in code order), and back. The stored
// form of answers outside the response tables (SMS conversations, the revision log).
std::string AnswersToJson(const Answers& answers);
// kInvalidInput when the text is not such an object; "" is no answers.
Result<Answers> ParseAnswersJson(std::string_view json);

// Current UTC time in epoch milliseconds.
std::int64_t NowMillis();

// Parses "2024-05-12 09:01:33", "2024-05-12T09:01:33", "2024/05/12 09:01:33", with optional
// fractional seconds and an optional "Z" or "+08:00" offset (at most 14:00 either way). Without an offset the
// time is local time at utc_offset_minutes (Asia/Shanghai = +480). Returns UTC epoch ms.
Result<std::int64_t> ParseTimestamp(std::string_view text, int utc_offset_minutes = 480);
// "2024-05-12T01:01:33Z" (UTC, second precision).
std::string FormatTimestampUtc(std::int64_t epoch_ms);
// "2024-05-12 09:01:33": local time at utc_offset_minutes (Asia/Shanghai = +480), second precision.
std::string FormatTimestampLocal(std::int64_t epoch_ms, int utc_offset_minutes = 480);

}  // namespace minyi
