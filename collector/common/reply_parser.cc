#include "collector/common/reply_parser.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>
#include <tuple>
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

// An option word (label or alias, folded: a PreparedQuestion's) of one pending question. Sorted longest
// first, then by text, so the options a word reads as (一般 and 不清楚 belong to two questions) are one run
// of equal texts.
struct Phrase {
  std::u32string_view text;
  std::size_t question;  // index into pending
  const Option* option;
};

// The end of the run of phrases with the same text as phrases[p].
std::size_t RunEnd(const std::vector<Phrase>& phrases, std::size_t p) {
  std::size_t e = p + 1;
  while (e < phrases.size() && phrases[e].text == phrases[p].text) ++e;
  return e;
}

// Whether the runs starting at a and b read as the same options.
bool SameOptions(const std::vector<Phrase>& phrases, std::size_t a, std::size_t b) {
  const std::size_t a_end = RunEnd(phrases, a);
  const std::size_t b_end = RunEnd(phrases, b);
  if (a_end - a != b_end - b) return false;
  for (std::size_t i = 0; i < a_end - a; ++i) {
    if (phrases[a + i].question != phrases[b + i].question ||
        phrases[a + i].option->code != phrases[b + i].option->code)
      return false;
  }
  return true;
}

// Rule 4a: the closed list of fillers residents put inside an option word (基本上安全, 很是满意, 比较的满意,
// 还算是满意, 不 满意). They carry no meaning of their own; no negation or degree word is among them.
constexpr std::u32string_view kFillers = U"上是的地得算还也都 ";
constexpr int kMaxFillersPerGap = 3;
bool IsFiller(char32_t c) { return kFillers.find(c) != std::u32string_view::npos; }

// Rule 4b: negations, and what may stand between a negation and the word it negates (不算满意, 不是太安全,
// 没那么满意, 不觉得安全): the fillers and degree words.
constexpr std::u32string_view kNegations = U"不没未无";
constexpr std::u32string_view kNegationBridge = U"很太大够怎么那有觉感";
constexpr int kMaxNegationBridge = 4;
bool IsNegation(char32_t c) { return kNegations.find(c) != std::u32string_view::npos; }

// Where `phrase` matches `s` from `at` (its first character) with up to kMaxFillersPerGap fillers between
// two of its characters; after a negation character only 是 or a space (不是太满意 is 不太满意, 不算满意 is
// not 不满意). The end of the match, or npos; `fillers` says whether any was skipped.
// `used` (null: nothing is consumed) marks characters already read as another word.
std::size_t MatchAt(const std::u32string& s, std::size_t at, std::u32string_view phrase,
                    const std::vector<bool>* used, bool& fillers) {
  auto consumed = [used](std::size_t i) { return used != nullptr && (*used)[i]; };
  std::size_t k = at;
  for (std::size_t j = 0; j < phrase.size(); ++j, ++k) {
    if (j > 0 && k < s.size() && s[k] != phrase[j]) {
      const bool after_negation = IsNegation(phrase[j - 1]);
      for (int skipped = 0;
           k < s.size() && s[k] != phrase[j] && skipped < kMaxFillersPerGap && !consumed(k) &&
           IsFiller(s[k]) && (!after_negation || s[k] == U'是' || s[k] == U' ');
           ++skipped, ++k) {
        fillers = true;
      }
    }
    if (k >= s.size() || consumed(k) || s[k] != phrase[j]) return std::u32string::npos;
  }
  return k;
}

bool IsChoice(const Question* q) { return q->type != QuestionType::kText; }

const Option* OptionAt(const Question* q, long position) {
  if (position < 1 || position > static_cast<long>(q->options.size())) return nullptr;
  return &q->options[static_cast<std::size_t>(position - 1)];
}

std::string Range(const Question* q) { return "1-" + std::to_string(q->options.size()); }

// Rule 4 for the phrases [begin, end) of one length: every match not on a consumed character, exact
// matches first, then matches with fillers, each in text order; a match overlapping one already taken is
// dropped, unless fillers are involved and the two read differently (rule 4c): then the reason to give
// up. Marks the matches in `used` and adds them to `readings`.
std::optional<std::string> MatchPhrases(const std::u32string& s, const std::vector<Phrase>& phrases,
                                        std::size_t begin, std::size_t end, std::vector<bool>& used,
                                        std::vector<Reading>& readings) {
  struct Match {
    std::size_t pos, end, phrase;
    bool fillers;
  };
  std::vector<Match> found;
  for (std::size_t p = begin; p < end; p = RunEnd(phrases, p)) {
    const std::u32string_view text = phrases[p].text;
    if (text.empty()) continue;
    for (std::size_t at = s.find(text[0]); at != std::u32string::npos; at = s.find(text[0], at + 1)) {
      if (used[at]) continue;
      bool fillers = false;
      const std::size_t stop = MatchAt(s, at, text, &used, fillers);
      if (stop != std::u32string::npos) found.push_back({at, stop, p, fillers});
    }
  }
  std::sort(found.begin(), found.end(), [](const Match& a, const Match& b) {
    return std::tie(a.fillers, a.pos, a.phrase) < std::tie(b.fillers, b.pos, b.phrase);
  });
  std::vector<Match> taken;
  for (const Match& m : found) {
    auto overlap = std::find_if(taken.begin(), taken.end(),
                                [&](const Match& t) { return m.pos < t.end && t.pos < m.end; });
    if (overlap != taken.end()) {
      if ((m.fillers || overlap->fillers) && !SameOptions(phrases, m.phrase, overlap->phrase)) {
        return "'" + ToUtf8(s.substr(m.pos, m.end - m.pos)) + "' and '" +
               ToUtf8(s.substr(overlap->pos, overlap->end - overlap->pos)) + "' overlap and read differently";
      }
      continue;
    }
    taken.push_back(m);
    std::fill(used.begin() + static_cast<long>(m.pos), used.begin() + static_cast<long>(m.end), true);
    Reading r;
    r.pos = m.pos;
    r.kind = Reading::Kind::kPhrase;
    r.text = ToUtf8(s.substr(m.pos, m.end - m.pos));
    for (std::size_t same = m.phrase; same < RunEnd(phrases, m.phrase); ++same) {
      r.options.emplace_back(phrases[same].question, phrases[same].option->code);
    }
    readings.push_back(std::move(r));
  }
  return std::nullopt;
}

// Rule 4b: the start of a negation standing before `pos` (over at most kMaxNegationBridge fillers or
// degree words, none consumed), or nullopt.
std::optional<std::size_t> NegationBefore(const std::u32string& s, std::size_t pos,
                                          const std::vector<bool>& used) {
  std::size_t k = pos;
  for (int bridged = 0; k > 0 && !used[k - 1]; ++bridged, --k) {
    if (IsNegation(s[k - 1])) return k - 1;
    if (bridged == kMaxNegationBridge ||
        (!IsFiller(s[k - 1]) && kNegationBridge.find(s[k - 1]) == std::u32string_view::npos)) {
      break;
    }
  }
  return std::nullopt;
}

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

PreparedReply PrepareReply(std::string_view text) { return {std::string(text), Prepare(text)}; }

bool IsOptOut(std::string_view text) { return FindOptOut(Prepare(text)).has_value(); }

bool IsOptOut(const PreparedReply& reply) { return FindOptOut(reply.folded).has_value(); }

bool MentionsOptionWord(std::string_view text, const std::vector<const Question*>& questions) {
  auto any_word = [&questions](auto&& matches) {
    for (const Question* q : questions) {
      for (const Option& o : q->options) {
        if (matches(std::string_view(o.label))) return true;
        for (const std::string& alias : o.aliases) {
          if (matches(std::string_view(alias))) return true;
        }
      }
    }
    return false;
  };
  // A word matches exactly, or with fillers; either way the text holds its first character as written,
  // and with fillers its last one too: only then is the text decoded (once) and matched. Most chat
  // holds neither, so this costs about what a plain search for each word does.
  std::u32string s;
  return any_word([text, &s](std::string_view w) {
    if (w.empty()) return false;
    auto is_continuation = [w](std::size_t i) { return (static_cast<unsigned char>(w[i]) & 0xC0) == 0x80; };
    std::size_t first_end = 1;
    while (first_end < w.size() && is_continuation(first_end)) ++first_end;
    const std::size_t first_at = text.find(w.substr(0, first_end));
    if (first_at == std::string_view::npos) return false;
    if (text.find(w, first_at) != std::string_view::npos) return true;
    std::size_t last_start = w.size() - 1;
    while (last_start > 0 && is_continuation(last_start)) --last_start;
    if (last_start < first_end || text.find(w.substr(last_start), first_at) == std::string_view::npos) {
      return false;  // a single character (not there as written), or the last one is missing
    }
    if (s.empty()) s = ToUtf32(text);
    const std::u32string word = ToUtf32(w);
    for (std::size_t at = s.find(word[0]); at != std::u32string::npos; at = s.find(word[0], at + 1)) {
      bool fillers = false;
      if (MatchAt(s, at, word, nullptr, fillers) != std::u32string::npos) return true;
    }
    return false;
  });
}

namespace {

// A text question's answer keeps the resident's own characters (only trimmed), not the folded form.
ParsedReply TextAnswer(std::string_view text, const Question& question) {
  ParsedReply result;
  std::string answer(text);
  const auto first = answer.find_first_not_of(" \t\r\n");
  const auto last = answer.find_last_not_of(" \t\r\n");
  answer = first == std::string::npos ? std::string() : answer.substr(first, last - first + 1);
  if (ToUtf32(answer).size() > kMaxTextLength) answer = ToUtf8(ToUtf32(answer).substr(0, kMaxTextLength));
  result.kind = ReplyKind::kAnswers;
  result.answers[question.code] = {answer};
  result.answered = 1;
  return result;
}

// Rule 4: labels and aliases, longest first, each match consumed; fillers inside (rule 4a), never
// after a negation (rule 4b), never two options on overlapping words (rule 4c). Adds what it reads to
// `readings` and blanks the characters read in `s`; the reason the reply is unparseable, if it is.
std::optional<std::string> ReadOptionWords(std::u32string& s,
                                           const std::vector<const PreparedQuestion*>& pending,
                                           std::vector<Reading>& readings) {
  std::vector<Phrase> phrases;
  for (std::size_t qi = 0; qi < pending.size(); ++qi) {
    if (!IsChoice(pending[qi]->question)) break;  // a text question ends what one message can answer
    for (const PreparedQuestion::Word& w : pending[qi]->words) phrases.push_back({w.folded, qi, w.option});
  }
  std::sort(phrases.begin(), phrases.end(), [](const Phrase& a, const Phrase& b) {
    if (a.text.size() != b.text.size()) return a.text.size() > b.text.size();
    return std::tie(a.text, a.question) < std::tie(b.text, b.question);
  });
  std::vector<bool> used(s.size(), false);
  for (std::size_t group = 0; group < phrases.size();) {
    const std::size_t length = phrases[group].text.size();
    std::size_t group_end = group;
    while (group_end < phrases.size() && phrases[group_end].text.size() == length) ++group_end;
    if (auto ambiguity = MatchPhrases(s, phrases, group, group_end, used, readings)) {
      return ambiguity;
    }
    group = group_end;
  }
  for (const Reading& r : readings) {
    if (auto negation = NegationBefore(s, r.pos, used)) {
      return "'" + r.text + "' follows the negation '" + ToUtf8(s.substr(*negation, r.pos - *negation)) +
             "': not read as that option";
    }
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (used[i]) s[i] = U' ';
  }
  return std::nullopt;
}

// Rules 5 and 6: numbers, numerals and letters in what remains, added to `readings`. Whether a number
// was read as chatter (an address, age or id) rather than an answer.
bool ReadNumbers(const std::u32string& s, std::vector<Reading>& readings) {
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
  return saw_chatter_number;
}

// Rule 7: fill the pending questions in order from `readings` (sorted by position).
ParsedReply FillPending(const std::vector<Reading>& readings, const std::vector<const Question*>& pending,
                        bool saw_chatter_number) {
  ParsedReply result;
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

// The parse itself: `prepared[i]` is `pending[i]` with its words folded.
ParsedReply ParsePrepared(const PreparedReply& reply, const std::vector<const Question*>& pending,
                          const std::vector<const PreparedQuestion*>& prepared) {
  ParsedReply result;
  const std::string_view text = reply.text;
  std::u32string s = reply.folded;  // matched spans are blanked below
  const bool blank = std::all_of(
      s.begin(), s.end(), [](char32_t c) { return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r'; });
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
  if (!IsChoice(pending.front())) return TextAnswer(text, *pending.front());

  std::vector<Reading> readings;
  if (auto reason = ReadOptionWords(s, prepared, readings)) {
    result.reason = std::move(*reason);
    return result;
  }
  const bool saw_chatter_number = ReadNumbers(s, readings);
  std::stable_sort(readings.begin(), readings.end(),
                   [](const Reading& a, const Reading& b) { return a.pos < b.pos; });
  return FillPending(readings, pending, saw_chatter_number);
}

// The prepared forms of `pending`: `find`'s where it has one, else prepared into `storage` (reserved
// here, so that the pointers into it stay valid).
std::vector<const PreparedQuestion*> PreparedForms(
    const std::vector<const Question*>& pending,
    const std::function<const PreparedQuestion*(const Question*)>& find,
    std::vector<PreparedQuestion>& storage) {
  storage.reserve(pending.size());
  std::vector<const PreparedQuestion*> prepared;
  prepared.reserve(pending.size());
  for (const Question* q : pending) {
    const PreparedQuestion* p = find(q);
    prepared.push_back(p != nullptr ? p : &storage.emplace_back(PrepareQuestion(*q)));
  }
  return prepared;
}

}  // namespace

PreparedQuestion PrepareQuestion(const Question& question) {
  PreparedQuestion prepared;
  prepared.question = &question;
  for (const Option& o : question.options) {
    prepared.words.push_back({ToUtf32(NfkcFold(o.label)), &o});
    for (const std::string& alias : o.aliases) prepared.words.push_back({ToUtf32(NfkcFold(alias)), &o});
  }
  return prepared;
}

PreparedSurvey::PreparedSurvey(const SurveyDefinition& survey) : survey_(&survey) {
  questions_.reserve(survey.questions.size());
  for (const Question& q : survey.questions) questions_.push_back(PrepareQuestion(q));
}

const PreparedQuestion* PreparedSurvey::Find(const Question* q) const {
  const std::vector<Question>& questions = survey_->questions;
  const std::less<const Question*> before;  // a total order, also for pointers into other arrays
  if (questions.empty() || before(q, questions.data()) || !before(q, questions.data() + questions.size())) {
    return nullptr;
  }
  return &questions_[static_cast<std::size_t>(q - questions.data())];
}

ParsedReply PreparedSurvey::Parse(const PreparedReply& reply,
                                  const std::vector<const Question*>& pending) const {
  std::vector<PreparedQuestion> elsewhere;  // questions of another survey (not expected)
  const auto prepared = PreparedForms(
      pending, [this](const Question* q) { return Find(q); }, elsewhere);
  return ParsePrepared(reply, pending, prepared);
}

ParsedReply ParseReply(std::string_view text, const std::vector<const Question*>& pending) {
  std::vector<PreparedQuestion> storage;
  const auto prepared = PreparedForms(
      pending, [](const Question*) { return nullptr; }, storage);
  return ParsePrepared(PrepareReply(text), pending, prepared);
}

}  // namespace minyi::collector
