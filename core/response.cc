#include "core/response.h"

#include <Poco/DigestEngine.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/SHA2Engine.h>

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace minyi {
namespace {

constexpr std::array<Channel, 4> kChannels = {Channel::kWeb, Channel::kSms, Channel::kWechat, Channel::kImport};

// Appends a length-prefixed field so that no choice of field contents can make two different
// responses serialize to the same text.
void AppendField(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ';';
}

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? static_cast<unsigned>(-3) : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400) + (m <= 2);
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::string_view ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kWeb: return "web";
    case Channel::kSms: return "sms";
    case Channel::kWechat: return "wechat";
    case Channel::kImport: return "import";
  }
  return "import";
}

std::optional<Channel> ParseChannel(std::string_view name) {
  for (Channel c : kChannels) {
    if (ChannelName(c) == name) return c;
  }
  return std::nullopt;
}

const std::vector<Channel>& AllChannels() {
  static const std::vector<Channel> kAll(kChannels.begin(), kChannels.end());
  return kAll;
}

std::string Period::ToString() const {
  std::string s = std::to_string(year);
  if (quarter != 0) s += "Q" + std::to_string(quarter);
  return s;
}

Result<Period> Period::Parse(std::string_view text) {
  Period p;
  std::string_view year_part = text;
  std::string_view quarter_part;
  if (auto q = text.find_first_of("Qq"); q != std::string_view::npos) {
    year_part = text.substr(0, q);
    if (!year_part.empty() && year_part.back() == '-') year_part.remove_suffix(1);
    quarter_part = text.substr(q + 1);
    if (!ParseInt(quarter_part, p.quarter) || p.quarter < 1 || p.quarter > 4) {
      return Status::InvalidInput("period '" + std::string(text) + "': quarter must be 1 to 4");
    }
  }
  if (!ParseInt(year_part, p.year) || p.year < 1990 || p.year > 2100) {
    return Status::InvalidInput("period '" + std::string(text) + "' is not a year (1990-2100) or YYYYQn");
  }
  return p;
}

std::string_view CompletionName(Completion c) { return c == Completion::kPartial ? "partial" : "complete"; }

std::string Response::CanonicalContent() const {
  std::string out;
  out.reserve(128 + raw_payload.size() / 4);
  out += "minyi-response-v1;";
  AppendField(out, survey_id);
  AppendField(out, period.ToString());
  AppendField(out, town_code);
  AppendField(out, ChannelName(channel));
  AppendField(out, respondent_key);
  // Shortest round-trip decimal form: the same double always gives the same text.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, weight);
  AppendField(out, ec == std::errc() ? std::string_view(buf, static_cast<std::size_t>(end - buf)) : "nan");
  AppendField(out, CompletionName(completion));
  AppendField(out, std::to_string(submitted_at_ms));
  AppendField(out, std::to_string(answers.size()));
  for (const auto& [question, values] : answers) {  // std::map: ordered by question code
    AppendField(out, question);
    AppendField(out, std::to_string(values.size()));
    for (const auto& v : values) AppendField(out, v);
  }
  return out;
}

std::string Response::ContentHash() const {
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  sha.update(CanonicalContent());
  return Poco::DigestEngine::digestToHex(sha.digest());
}

std::int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::int64_t> ParseTimestamp(std::string_view text, int utc_offset_minutes) {
  auto bad = [&](const char* why) {
    return Status::InvalidInput("time '" + std::string(text) + "': " + why);
  };
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  // Compact "20150101120000" (Aliyun) → split positions.
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, ms = 0;
  std::size_t pos = 0;
  auto digits = [&](int n, int& out) {
    if (pos + static_cast<std::size_t>(n) > s.size()) return false;
    if (!ParseInt(s.substr(pos, static_cast<std::size_t>(n)), out)) return false;
    pos += static_cast<std::size_t>(n);
    return true;
  };
  bool compact = s.size() == 14 && s.find_first_not_of("0123456789") == std::string_view::npos;
  if (compact) {
    if (!digits(4, y) || !digits(2, mo) || !digits(2, d) || !digits(2, h) || !digits(2, mi) || !digits(2, se))
      return bad("not a time");
  } else {
    auto sep = [&](const char* allowed) {
      if (pos < s.size() && std::string_view(allowed).find(s[pos]) != std::string_view::npos) {
        ++pos;
        return true;
      }
      return false;
    };
    if (!digits(4, y) || !sep("-/") || !digits(2, mo) || !sep("-/") || !digits(2, d))
      return bad("expected YYYY-MM-DD HH:MM:SS");
    if (pos < s.size()) {
      if (!sep(" T") || !digits(2, h) || !sep(":") || !digits(2, mi)) return bad("expected HH:MM:SS after the date");
      if (sep(":") && !digits(2, se)) return bad("bad seconds");
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
        std::string_view frac = s.substr(start, pos - start);
        if (frac.empty()) return bad("bad fraction of a second");
        std::string f(frac.substr(0, 3));
        while (f.size() < 3) f += '0';
        ParseInt(f, ms);
      }
      if (pos < s.size()) {
        if (s[pos] == 'Z' && pos + 1 == s.size()) {
          utc_offset_minutes = 0;
          ++pos;
        } else if (s[pos] == '+' || s[pos] == '-') {
          int sign = s[pos] == '-' ? -1 : 1;
          ++pos;
          int oh = 0, om = 0;
          if (!digits(2, oh)) return bad("bad UTC offset");
          sep(":");
          if (pos < s.size() && !digits(2, om)) return bad("bad UTC offset");
          // Real offsets run from -12:00 to +14:00; "+99:00" would move the time by four days.
          if (om > 59 || oh * 60 + om > 14 * 60) return bad("UTC offset out of range (at most 14:00)");
          utc_offset_minutes = sign * (oh * 60 + om);
        }
      }
    }
    if (pos != s.size()) return bad("unexpected characters at the end");
  }
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 2100 || mo < 1 || mo > 12) return bad("date out of range");
  int dim = kDaysIn[mo - 1] + (mo == 2 && IsLeap(y) ? 1 : 0);
  if (d < 1 || d > dim || h > 23 || mi > 59 || se > 60) return bad("date or time out of range");
  std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - static_cast<std::int64_t>(utc_offset_minutes) * 60;
  return secs * 1000 + ms;
}

std::string FormatTimestampUtc(std::int64_t epoch_ms) {
  std::int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
  std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  std::int64_t rem = secs - days * 86400;
  int y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d, static_cast<int>(rem / 3600),
                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

std::string FormatTimestampLocal(std::int64_t epoch_ms, int utc_offset_minutes) {
  std::string text = FormatTimestampUtc(epoch_ms + static_cast<std::int64_t>(utc_offset_minutes) * 60000);
  text[10] = ' ';
  text.pop_back();  // the 'Z'
  return text;
}

std::string AnswersToJson(const Answers& answers) {
  Poco::JSON::Object o;
  for (const auto& [question, values] : answers) {
    Poco::JSON::Array a;
    for (const std::string& v : values) a.add(v);
    o.set(question, a);
  }
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

Result<Answers> ParseAnswersJson(std::string_view json) {
  Answers out;
  if (json.empty()) return out;
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
    for (const auto& [key, value] : *o) {
      auto a = value.extract<Poco::JSON::Array::Ptr>();
      std::vector<std::string>& values = out[key];
      for (std::size_t i = 0; i < a->size(); ++i) values.push_back(a->getElement<std::string>(static_cast<unsigned>(i)));
    }
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("answers: not a JSON object of string arrays: " + e.displayText());
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("answers: not a JSON object of string arrays: ") + e.what());
  }
  return out;
}

Response ResponseView::ToResponse() const {
  Response r;
  r.id = id;
  r.survey_id = std::string(survey_id);
  r.period = period;
  r.town_code = std::string(town_code);
  r.channel = channel;
  r.respondent_key = std::string(respondent_key);
  r.weight = weight;
  for (std::size_t i = 0; i < answer_count; ++i) {
    r.answers[std::string(answers[i].question)].emplace_back(answers[i].value);
  }
  r.completion = completion;
  r.submitted_at_ms = submitted_at_ms;
  r.received_at_ms = received_at_ms;
  r.source_ref = std::string(source_ref);
  r.raw_payload = std::string(raw_payload);
  return r;
}

ResponseView ViewOf(const Response& response, std::vector<AnswerView>* answers) {
  answers->clear();
  for (const auto& [question, values] : response.answers) {
    for (const std::string& v : values) answers->push_back({question, v});
  }
  ResponseView v;
  v.id = response.id;
  v.survey_id = response.survey_id;
  v.period = response.period;
  v.town_code = response.town_code;
  v.channel = response.channel;
  v.respondent_key = response.respondent_key;
  v.weight = response.weight;
  v.answers = answers->data();
  v.answer_count = answers->size();
  v.completion = response.completion;
  v.submitted_at_ms = response.submitted_at_ms;
  v.received_at_ms = response.received_at_ms;
  v.source_ref = response.source_ref;
  v.raw_payload = response.raw_payload;
  return v;
}

}  // namespace minyi
