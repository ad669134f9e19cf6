#include "collector/common/reply_parser.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/text/unicode_text.h"

namespace minyi::collector {

using text::IsCjkIdeograph;
using text::NfkcFold;
using text::ToUtf32;
using text::ToUtf8;
namespace {

bool IsAsciiLetter(char32_t c) { return c >= U'a' && c <= U'z'; }
bool IsAsciiDigit(char32_t c) { return c >= U'0' && c <= U'9'; }

// Dingbat and double-circled digits that NFKC leaves alone.
char32_t MapDingbatDigit(char32_t c) {
  if (c >= 0x2776 && c <= 0x277E) return U'1' + (c - 0x2776);  // ❶..❾
  if (c >= 0x2780 && c <= 0x2788) return U'1' + (c - 0x2780);  // ➀..➈
  if (c >= 0x278A && c <= 0x2792) return U'1' + (c - 0x278A);  // ➊..➒
  if (c >= 0x24F5 && c <= 0x24FD) return U'1' + (c - 0x24F5);  // ⓵..⓽
  return c;
}

// 1..10 for a Chinese numeral character, 0 otherwise.
int ChineseNumeral(char32_t c) {
  static const std::u32string kSmall = U"一二三四五六七八九十";
  static const std::u32string kCapital = U"壹贰叁肆伍陆柒捌玖拾";
  if (auto p = kSmall.find(c); p != std::u32string::npos) return static_cast<int>(p) + 1;
  if (auto p = kCapital.find(c); p != std::u32string::npos) return static_cast<int>(p) + 1;
  return 0;
}

// Words that, right after a number, make it an address, age, date or quantity rather than an answer.
const std::vector<std::u32string>& ChatterSuffixes() {
  static const std::vector<std::u32string> kSuffixes = {
      U"号楼", U"号院", U"号门", U"号房", U"栋", U"幢", U"单元", U"室", U"楼", U"层", U"户", U"岁", U"年",
      U"月",   U"日",   U"点",   U"元",   U"块", U"分", U"天",   U"次", U"个", U"人", U"口"};
  return kSuffixes;
}

bool FollowedByChatter(const std::u32string& s, std::size_t end) {
  for (const std::u32string& suffix : ChatterSuffixes()) {
    if (s.compare(end, suffix.size(), suffix) == 0) return true;
  }
  return false;
}

// Opt-out words (rule 2).
std::optional<std::string> FindOptOut(const std::u32string& s) {
  for (const char32_t* word : {U"退订", U"拒收"}) {
    if (s.find(word) != std::u32string::npos) return ToUtf8(word);
  }
  std::size_t i = 0;
  while (i < s.size()) {
    if (!IsAsciiLetter(s[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && IsAsciiLetter(s[j])) ++j;
    const std::u32string word = s.substr(i, j - i);
    if (word == U"td" || word == U"t" || word == U"r") return ToUtf8(word);
    i = j;
  }
  return std::nullopt;
}

std::u32string Prepare(std::string_view text) {
  std::u32string s = ToUtf32(NfkcFold(text));
  for (char32_t& c : s) c = MapDingbatDigit(c);
  return s;
}

// One reading found in the reply, in text order.
struct Reading {
  std::size_t pos = 0;
  enum class Kind { kPhrase, kNumber } kind = Kind::kPhrase;
  std::string text;                                    // as written (for reasons)
  std::vector<std::pair<std::size_t, std::string>> options;  // kPhrase: (pending index, option code)
  std::string digits;                                  // kNumber: the digits ("3", "123", "10")
  bool single_symbol = false;                          // kNumber: one digit, numeral or letter
};

struct Phrase {
  std::u32string text;
  std::size_t question;  // index into pending
  std::string code;
};

bool IsChoice(const Question* q) { return q->type != QuestionType::kText; }

const Option* OptionAt(const Question* q, long position) {
  if (position < 1 || position > static_cast<long>(q->options.size())) return nullptr;
  return &q->options[static_cast<std::size_t>(position - 1)];
}

std::string Range(const Question* q) { return "1-" + std::to_string(q->options.size()); }

}  // namespace

std::string_view ReplyKindName(ReplyKind kind) {
  switch (kind) {
    case ReplyKind::kAnswers: return "answers";
    case ReplyKind::kOptOut: return "optout";
    case ReplyKind::kUnparseable: return "unparseable";
  }
  return "unparseable";
}

std::string ParsedReply::Describe() const {
  if (kind != ReplyKind::kAnswers) return std::string(ReplyKindName(kind));
  std::string out;
  for (const auto& [question, values] : answers) {
    if (!out.empty()) out += ' ';
    out += question + '=';
    for (std::size_t i = 0; i < values.size(); ++i) out += (i > 0 ? "," : "") + values[i];
  }
  return out;
}

bool IsOptOut(std::string_view text) { return FindOptOut(Prepare(text)).has_value(); }

ParsedReply ParseReply(std::string_view text, const std::vector<const Question*>& pending) {
  ParsedReply result;
  std::u32string s = Prepare(text);
  const bool blank = std::all_of(s.begin(), s.end(), [](char32_t c) { return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r'; });
  if (blank) {
    result.reason = "empty message";
    return result;
  }
  if (auto word = FindOptOut(s)) {
    result.kind = ReplyKind::kOptOut;
    result.reason = *word;
    return result;
  }
  if (pending.empty()) {
    result.reason = "no question is pending";
    return result;
  }
  if (!IsChoice(pending.front())) {
    // A text answer keeps the resident's own characters (only trimmed), not the folded form.
    std::string answer(text);
    const auto first = answer.find_first_not_of(" \t\r\n");
    const auto last = answer.find_last_not_of(" \t\r\n");
    answer = first == std::string::npos ? std::string() : answer.substr(first, last - first + 1);
    if (ToUtf32(answer).size() > kMaxTextLength) answer = ToUtf8(ToUtf32(answer).substr(0, kMaxTextLength));
    result.kind = ReplyKind::kAnswers;
    result.answers[pending.front()->code] = {answer};
    result.answered = 1;
    return result;
  }

  // Rule 4: labels and aliases, longest first, each match consumed.
  std::vector<Phrase> phrases;
  for (std::size_t qi = 0; qi < pending.size(); ++qi) {
    if (!IsChoice(pending[qi])) break;  // a text question ends what one message can answer
    for (const Option& o : pending[qi]->options) {
      phrases.push_back({ToUtf32(NfkcFold(o.label)), qi, o.code});
      for (const std::string& alias : o.aliases) phrases.push_back({ToUtf32(NfkcFold(alias)), qi, o.code});
    }
  }
  std::stable_sort(phrases.begin(), phrases.end(),
                   [](const Phrase& a, const Phrase& b) { return a.text.size() > b.text.size(); });
  std::vector<Reading> readings;
  std::vector<bool> used(s.size(), false);
  for (std::size_t p = 0; p < phrases.size(); ++p) {
    const std::u32string& needle = phrases[p].text;
    if (needle.empty()) continue;
    for (std::size_t at = s.find(needle); at != std::u32string::npos; at = s.find(needle, at + 1)) {
      if (std::any_of(used.begin() + static_cast<long>(at), used.begin() + static_cast<long>(at + needle.size()),
                      [](bool u) { return u; })) {
        continue;
      }
      Reading r;
      r.pos = at;
      r.kind = Reading::Kind::kPhrase;
      r.text = ToUtf8(needle);
      // The same word may be an option of several pending questions (一般, 不清楚).
      for (const Phrase& same : phrases) {
        if (same.text == needle) r.options.emplace_back(same.question, same.code);
      }
      std::fill(used.begin() + static_cast<long>(at), used.begin() + static_cast<long>(at + needle.size()), true);
      readings.push_back(std::move(r));
    }
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (used[i]) s[i] = U' ';
  }

  // Rules 5 and 6: numbers, numerals and letters in what remains.
  bool saw_chatter_number = false;
  for (std::size_t i = 0; i < s.size();) {
    const char32_t c = s[i];
    if (IsAsciiDigit(c)) {
      std::size_t j = i;
      while (j < s.size() && IsAsciiDigit(s[j])) ++j;
      const std::u32string run = s.substr(i, j - i);
      const bool glued_to_letter = (i > 0 && IsAsciiLetter(s[i - 1])) || (j < s.size() && IsAsciiLetter(s[j]));
      if (run.size() >= 5 || FollowedByChatter(s, j) || glued_to_letter) {
        saw_chatter_number = true;
      } else {
        Reading r;
        r.pos = i;
        r.kind = Reading::Kind::kNumber;
        r.digits = ToUtf8(run);
        r.text = r.digits;
        r.single_symbol = run.size() == 1;
        readings.push_back(std::move(r));
      }
      i = j;
      continue;
    }
    if (const int n = ChineseNumeral(c); n > 0) {
      static const std::u32string kBefore = U"选择第是答";
      static const std::u32string kAfter = U"号项";
      const bool before_ok = i == 0 || !IsCjkIdeograph(s[i - 1]) || kBefore.find(s[i - 1]) != std::u32string::npos;
      const bool after_ok =
          i + 1 >= s.size() || !IsCjkIdeograph(s[i + 1]) || kAfter.find(s[i + 1]) != std::u32string::npos;
      if (before_ok && after_ok) {
        if (FollowedByChatter(s, i + 1)) {
          saw_chatter_number = true;
        } else {
          Reading r;
          r.pos = i;
          r.kind = Reading::Kind::kNumber;
          r.digits = std::to_string(n);
          r.text = ToUtf8(s.substr(i, 1));
          r.single_symbol = true;
          readings.push_back(std::move(r));
        }
      }
      ++i;
      continue;
    }
    if (IsAsciiLetter(c)) {
      std::size_t j = i;
      while (j < s.size() && IsAsciiLetter(s[j])) ++j;
      const bool glued_to_digit = (i > 0 && IsAsciiDigit(s[i - 1])) || (j < s.size() && IsAsciiDigit(s[j]));
      if (j - i == 1 && !glued_to_digit) {
        Reading r;
        r.pos = i;
        r.kind = Reading::Kind::kNumber;
        r.digits = std::to_string(static_cast<int>(c - U'a') + 1);
        r.text = ToUtf8(s.substr(i, 1));
        r.single_symbol = true;
        readings.push_back(std::move(r));
      }
      i = j;
      continue;
    }
    ++i;
  }
  std::stable_sort(readings.begin(), readings.end(), [](const Reading& a, const Reading& b) { return a.pos < b.pos; });

  // Rule 7: fill the pending questions in order.
  std::size_t qi = 0;
  bool took_for_current = false;  // the current (multi-choice) question already has a reading
  auto advance = [&] {
    ++qi;
    took_for_current = false;
  };
  auto add = [&](std::size_t q, const std::string& code) {
    auto& values = result.answers[pending[q]->code];
    if (std::find(values.begin(), values.end(), code) == values.end()) values.push_back(code);
  };
  auto unparseable = [&](std::string reason) {
    ParsedReply r;
    r.reason = std::move(reason);
    return r;
  };
  for (const Reading& r : readings) {
    // A multi-choice question keeps taking readings that are valid for it.
    if (qi < pending.size() && took_for_current && pending[qi]->type == QuestionType::kMulti) {
      bool fits = false;
      if (r.kind == Reading::Kind::kPhrase) {
        fits = std::any_of(r.options.begin(), r.options.end(), [&](const auto& o) { return o.first == qi; });
      } else {
        fits = r.digits.size() <= 2 && OptionAt(pending[qi], std::stol(r.digits)) != nullptr;
      }
      if (!fits) advance();
    }
    if (qi >= pending.size() || !IsChoice(pending[qi])) {
      if (r.kind == Reading::Kind::kNumber && !r.single_symbol) {
        saw_chatter_number = true;  // a stray multi-digit run after the answers: chatter
        continue;
      }
      return unparseable("more answers than pending questions ('" + r.text + "')");
    }
    const Question* q = pending[qi];
    if (r.kind == Reading::Kind::kPhrase) {
      auto it = std::find_if(r.options.begin(), r.options.end(), [&](const auto& o) { return o.first == qi; });
      if (it == r.options.end()) {
        return unparseable("'" + r.text + "' is not an option of question " + q->code);
      }
      add(qi, it->second);
    } else if (r.single_symbol || std::stol(r.digits) <= static_cast<long>(q->options.size())) {
      const Option* o = OptionAt(q, std::stol(r.digits));
      if (o == nullptr) {
        return unparseable("'" + r.text + "' is not one of the options " + Range(q) + " of question " + q->code);
      }
      add(qi, o->code);
    } else {
      // A run like "123": digit by digit, only when every digit is a valid option where it lands.
      std::vector<std::pair<std::size_t, std::string>> assigned;
      std::size_t k = qi;
      bool valid = true;
      for (char d : r.digits) {
        if (k >= pending.size() || !IsChoice(pending[k])) {
          valid = false;
          break;
        }
        const Option* o = OptionAt(pending[k], d - '0');
        if (o == nullptr) {
          valid = false;
          break;
        }
        assigned.emplace_back(k, o->code);
        if (pending[k]->type != QuestionType::kMulti) ++k;
      }
      if (!valid) {
        saw_chatter_number = true;
        continue;
      }
      for (const auto& [question, code] : assigned) add(question, code);
      qi = k;
      took_for_current = qi < pending.size() && pending[qi]->type == QuestionType::kMulti &&
                         result.answers.count(pending[qi]->code) != 0;
      continue;
    }
    if (q->type == QuestionType::kMulti) {
      took_for_current = true;
    } else {
      advance();
    }
  }
  if (result.answers.empty()) {
    return unparseable(saw_chatter_number ? "no answer found (numbers read as addresses, ages or ids)"
                                          : "no answer found");
  }
  result.kind = ReplyKind::kAnswers;
  for (const Question* q : pending) {
    if (result.answers.count(q->code) == 0) break;
    ++result.answered;
  }
  return result;
}

}  // namespace minyi::collector
