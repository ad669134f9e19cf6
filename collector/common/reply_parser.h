// The SMS reply parser: a pure function from a resident's reply and the pending question(s) to the
// answers it gives, an opt-out, or "unparseable" with the reason. It never guesses: anything it
// cannot read by the rules below is unparseable (the conversation then re-asks once).
//
// The rules, in order (docs/channels.md §2.4):
//  1. NFKC (fullwidth digits/letters/punctuation, circled digits ① → 1), ASCII lowercased; dingbat
//     digits ❶ ➀ ➊ ⓵ mapped to digits.
//  2. Opt-out first: 退订 or 拒收 anywhere, or a standalone ASCII-letter word td, t or r. A message
//     containing an opt-out is never an answer.
//  3. A pending text question (the first pending one) takes the whole reply as its answer.
//  4. Option labels and aliases of the pending choice questions are matched as substrings, longest
//     first (非常满意 before 满意, 不满意 before 满意); a matched span is consumed. Of words of equal
//     length, exact matches come before matches with fillers (4a), then text order.
//     4a. Fillers: between two characters of a label or alias, up to 3 characters of the closed list
//         上 是 的 地 得 算 还 也 都 and space may stand (基本上安全 = 基本安全, 很是满意 = 很满意,
//         比较的满意, 还算是满意, 不 满意). Right after a negation character of the word only 是 or a space
//         (不是太满意 = 不太满意; 不算满意 is not 不满意). Fillers around a word need no rule: what
//         no rule reads is ignored.
//     4b. Negation: a word preceded by 不 没 未 无 — directly or over at most 4 fillers or degree words
//         很 太 大 够 怎 么 那 有 觉 感, none of them part of another matched word — is never read: the
//         reply is unparseable (不算满意, 不很安全, 没那么满意, 不是不满意, 不是男的).
//     4c. Ambiguity: when a match with fillers overlaps another match of the same length that reads as
//         other options, the reply is unparseable.
//  5. In what remains: ASCII digit runs; single Chinese numerals 一..十 / 壹..拾 when standalone
//     (neighbours are not ideographs, except 选/择/第/是/答 before and 号/项 after — so 一般 is not 1);
//     single ASCII letters a, b, c ... (option positions). Numbers and letters are option POSITIONS
//     (1 = the first option listed in the SMS), not option codes.
//  6. Chatter: a number immediately followed by an address/quantity word (号楼 栋 幢 单元 室 楼 层 号院
//     号门 户 岁 年 月 日 点 元 块 分 天 次 个 人 口) is not an answer — "3号楼 张三 1" answers 1; 2号 is
//     an answer. A run of 5 or more digits (phone numbers, ids) is never an answer.
//  7. The readings, in text order, fill the pending questions in order: one per single-choice
//     question; consecutive readings valid for a multi-choice question all go to it. A run of digits
//     whose value is not an option ("123") is read digit by digit only when every digit is a valid
//     option of the question it would fill; otherwise the run is chatter.
//  8. Unparseable when nothing is read, when a single digit/letter is not a valid option, when a word
//     is an option of a later question but not the current one, or when there are more readings
//     than pending choice questions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/response.h"
#include "core/survey.h"

namespace minyi::collector {

enum class ReplyKind { kAnswers, kOptOut, kUnparseable };
std::string_view ReplyKindName(ReplyKind kind);  // "answers", "optout", "unparseable"

struct ParsedReply {
  ReplyKind kind = ReplyKind::kUnparseable;
  Answers answers;        // kAnswers: question code → option codes (or the text), pending questions only
  std::size_t answered = 0;  // kAnswers: how many pending questions, from the first, were answered
  std::string reason;     // kUnparseable: why, in English; kOptOut: the opt-out word found

  // "security=1 grid=2", "optout", "unparseable" — for logs, tests and the inbound ledger.
  std::string Describe() const;
};

// A reply with its rule-1 folding done (NFKC through ICU, the costly part), so that it can be done once
// and elsewhere than the parsing: the SMS webhooks fold on the request threads, and their one writer,
// which knows the pending questions, only parses.
struct PreparedReply {
  std::string text;       // as written
  std::u32string folded;  // rule 1 applied
};
PreparedReply PrepareReply(std::string_view text);

// A question with its option labels and aliases folded by rule 1 (NFKC through core/text, as a reply
// is), so that parsing folds only the reply. Built once where a survey is loaded (PreparedSurvey); it
// points into `question`, which must outlive it. A text question has no words.
struct PreparedQuestion {
  struct Word {
    std::u32string folded;           // the label or alias after rule 1
    const Option* option = nullptr;  // whose label or alias it is
  };
  const Question* question = nullptr;
  std::vector<Word> words;  // per option, in order: its label, then its aliases
};
PreparedQuestion PrepareQuestion(const Question& question);

// Every question of one survey, prepared (PrepareQuestion) when it is built: what the SMS service and
// the WeChat importer parse replies with. Immutable once built, so thread-safe; the survey must outlive
// it and not change.
class PreparedSurvey {
 public:
  explicit PreparedSurvey(const SurveyDefinition& survey);

  // ParseReply against `pending`: the question the conversation is waiting for first, then the
  // questions after it that the same message may answer (null pointers are not allowed). Questions of
  // the survey are read with their words as prepared; another question (not expected) is prepared on
  // the spot, which reads the same, only slower.
  ParsedReply Parse(const PreparedReply& reply, const std::vector<const Question*>& pending) const;

 private:
  // The prepared form of `q` when it is one of the survey's questions, else null.
  const PreparedQuestion* Find(const Question* q) const;

  const SurveyDefinition* survey_;
  std::vector<PreparedQuestion> questions_;  // as survey_->questions, index for index
};

// `pending` as PreparedSurvey::Parse's. Folds the questions' words on every call: for tests and one-off
// readings; a caller that reads many replies parses through a PreparedSurvey. Thread-safe.
ParsedReply ParseReply(std::string_view text, const std::vector<const Question*>& pending);

// True when the text is an opt-out (rule 2), whatever else it contains.
bool IsOptOut(std::string_view text);
bool IsOptOut(const PreparedReply& reply);

// True when an option label or alias of `questions` occurs in `text` (UTF-8 as written), exactly or
// with fillers inside (rule 4a). No normalisation and no negation test: a cheap test for callers that
// drop messages the parser could not read before parsing them; true is not yet an answer. Null
// pointers are not allowed. Thread-safe.
bool MentionsOptionWord(std::string_view text, const std::vector<const Question*>& questions);

}  // namespace minyi::collector
