// WechatImporter's matching: prompts found by their markers, replies within the window read into
// answers (quotes of a prompt, opt-outs, the reply parser), 接龙 lists and their threads, and each
// answer recorded for its member. The files and groups they come from: wechat_import.cc.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/common/reply_parser.h"
#include "collector/response_import.h"
#include "collector/wechat/solitaire.h"
#include "collector/wechat/wechat_import.h"
#include "collector/wechat/wechat_import_internal.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::wechat {

// The importer's shared internals (wechat_import_internal.h).
using namespace import_detail;  // NOLINT(google-build-using-namespace)

bool WechatImporter::QuotesPromptSender(const Group& g, const ChatMessage& m, const std::string& quoted_key,
                                        const Prompt& p) const {
  if (m.quoted_name.empty() && m.quoted_wxid.empty()) return true;  // the export names no one
  if (!m.quoted_wxid.empty()) {
    ChatMessage quoted;
    quoted.sender_wxid = m.quoted_wxid;
    if (m.quoted_wxid == p.sender_wxid || IsGridWorker(g, quoted)) return true;
  }
  if (m.quoted_name.empty()) return false;
  return quoted_key == p.sender_key || m.quoted_name == p.sender_wxid ||
         global_grid_worker_keys_.count(quoted_key) != 0 || g.grid_worker_keys.count(quoted_key) != 0;
}

std::vector<const Question*> WechatImporter::MatchPrompt(const std::string& folded) const {
  for (const auto& [markers, questions] : markers_) {
    for (const std::string& marker : markers) {
      if (folded.find(marker) != std::string::npos) return questions;
    }
  }
  return {};
}

bool WechatImporter::MayHoldAnswer(std::string_view text,
                                   const std::vector<const Question*>& questions) const {
  // Everything the reply parser reads (collector/common/reply_parser.h): ASCII digits and letters,
  // fullwidth, circled, enclosed and dingbat forms, Chinese numerals, option labels and aliases,
  // opt-out words. Anything else cannot give an answer.
  //
  // One pass also notes the characters that could begin a numeral, or begin or end an option word
  // (answer_chars_): a numeral search needs its numeral as written, and MentionsOptionWord needs its
  // word's first and last characters as written (with fillers between them or not), so without them
  // those searches fail and need not run. Most chat in a window has none: the searches were 33% of a
  // chatty import's instructions (callgrind, wechat_import_bench; one memchr/memcmp per word).
  unsigned seen = 0;
  std::array<std::uint32_t, 32> ends{};  // characters seen that begin or end a word
  std::size_t n_ends = 0;
  // Where characters that begin a numeral stand (all numerals are 3-byte characters), so that only
  // there are the numerals compared: searching the text for each of them was most of this function.
  std::array<std::size_t, 16> numeral_at{};
  std::size_t n_numerals = 0;
  bool numerals_overflow = false;
  auto note = [&](std::uint32_t cp) {
    const unsigned kind = answer_chars_[cp];
    seen |= kind;
    if ((kind & (kWordFirst | kWordLast)) != 0 && n_ends < ends.size()) ends[n_ends++] = cp;
    if ((kind & (kWordFirst | kWordLast)) != 0 && n_ends == ends.size()) seen |= kUnsure;
  };
  // A character's continuation bytes are stepped over with it (each alone would change nothing); the
  // readable forms are one flag of answer_chars_ instead of seven range tests per character. This
  // loop sees every message of a member in a reply window (bench/RESULTS.md, "WeChat import").
  const auto continuation = [&text](std::size_t at) {
    return at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80;
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return true;
      note(c);
      ++i;
      continue;
    }
    if ((c & 0xF0) == 0xE0 && i + 2 < text.size()) {
      const std::uint32_t cp = ((c & 0x0Fu) << 12) |
                               ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
                               (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
      if ((answer_chars_[cp] & kReadable) != 0) return true;
      if ((answer_chars_[cp] & kNumeral) != 0) {
        if (n_numerals < numeral_at.size()) {
          numeral_at[n_numerals++] = i;
        } else {
          numerals_overflow = true;
        }
      }
      note(cp);
      i += continuation(i + 1) && continuation(i + 2) ? 3u : 1u;
      continue;
    }
    if ((c & 0xF8) == 0xF0) {
      return true;  // beyond the BMP: let NFKC decide
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size()) {
      note(((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu));
      i += continuation(i + 1) ? 2u : 1u;
      continue;
    } else if ((c & 0xC0) != 0x80) {
      seen |= kUnsure;  // a lead byte cut off at the end: search as before
    }
    ++i;
  }
  if (seen == 0) return false;
  const bool unsure = (seen & kUnsure) != 0;
  auto word_may_be_there = [&]() {
    if (unsure) return true;
    if ((seen & kWordFirst) == 0 || (seen & kWordLast) == 0) return false;
    auto has = [&](std::uint32_t cp) {
      return std::find(ends.begin(), ends.begin() + n_ends, cp) != ends.begin() + n_ends;
    };
    for (const auto& [first, last] : word_ends_) {
      if (has(first) && has(last)) return true;
    }
    return false;
  };
  // A numeral counts only standing alone (rule 5 of the parser): not inside a word like 一下 or 十分.
  auto is_ideograph_at = [&text](std::size_t at, bool before) {
    if (before) {
      if (at < 3) return false;
      at -= 3;
    }
    if (at + 3 > text.size()) return false;
    const auto b0 = static_cast<unsigned char>(text[at]);
    if ((b0 & 0xF0) != 0xE0) return false;
    const std::uint32_t cp = ((b0 & 0x0Fu) << 12) |
                             ((static_cast<unsigned char>(text[at + 1]) & 0x3Fu) << 6) |
                             (static_cast<unsigned char>(text[at + 2]) & 0x3Fu);
    return cp >= 0x4E00 && cp <= 0x9FFF;
  };
  static const char* const kBefore[] = {"选", "择", "第", "是", "答"};
  static const char* const kAfter[] = {"号", "项"};
  // `numeral` written at `at` counts as an answer.
  auto counts_at = [&](std::size_t at, std::string_view numeral) {
    if (numeral.size() > 3) return true;  // 退订, 拒收
    bool before_ok = !is_ideograph_at(at, true);
    for (const char* b : kBefore) before_ok |= at >= 3 && text.substr(at - 3, 3) == b;
    const std::size_t next = at + numeral.size();
    bool after_ok = !is_ideograph_at(next, false);
    for (const char* a : kAfter) after_ok |= text.substr(next, 3) == a;
    return before_ok && after_ok;
  };
  if (!unsure && !numerals_overflow) {
    for (std::size_t k = 0; k < n_numerals; ++k) {
      for (const char* n : kNumerals) {
        const std::string_view numeral(n);
        if (text.compare(numeral_at[k], numeral.size(), numeral) == 0 && counts_at(numeral_at[k], numeral)) {
          return true;
        }
      }
    }
  }
  for (const char* n : kNumerals) {
    if (!unsure && !numerals_overflow) break;  // (every place a numeral may stand was looked at above)
    const std::string_view numeral(n);
    for (std::size_t at = text.find(numeral); at != std::string_view::npos; at = text.find(numeral, at + 1)) {
      if (counts_at(at, numeral)) return true;
    }
  }
  return word_may_be_there() && MentionsOptionWord(text, questions);
}

void WechatImporter::HandleReply(const std::string& file, Group& g, const ChatMessage& m) {
  const std::int64_t window = std::int64_t{survey_.wechat->reply_window_minutes} * 60000;
  auto latest_before = [&g](std::int64_t t) -> const Prompt* {
    auto it = std::upper_bound(g.prompts.begin(), g.prompts.end(), t,
                               [](std::int64_t v, const Prompt& q) { return v < q.time_ms; });
    return it == g.prompts.begin() ? nullptr : &*(it - 1);
  };
  const Prompt* latest = latest_before(m.time_ms);
  const bool in_window = latest != nullptr && m.time_ms - latest->time_ms <= window;
  const Prompt* prompt = nullptr;
  if (m.kind == MessageKind::kQuote) {
    // Issue 16: whichever part of the prompt the quote keeps (a line, the whole with its lines joined,
    // a cut start) its start must be in the prompt, white space aside; whichever name of the grid
    // worker the header uses.
    std::string probe = QuoteText(m.quoted_text);
    if (probe.size() > 60) {
      probe.resize(60);
      while (!probe.empty() && (static_cast<unsigned char>(probe.back()) & 0xC0) == 0x80) probe.pop_back();
      if (!probe.empty() && (static_cast<unsigned char>(probe.back()) & 0xC0) == 0xC0) probe.pop_back();
    }
    const std::string quoted_key = NameKey(m.quoted_name);
    for (auto it = g.prompts.rbegin(); it != g.prompts.rend() && !probe.empty(); ++it) {
      if (it->time_ms > m.time_ms) continue;
      if (it->quote_text.find(probe) != std::string::npos && QuotesPromptSender(g, m, quoted_key, *it)) {
        prompt = &*it;
        break;
      }
    }
    if (prompt == nullptr) {
      if (in_window && !SeenBefore(g, m)) {
        ++report_.not_answers;
        AddIssue(file, m.line, "ignored",
                 "a quote of another message, not of the survey prompt: not an answer", m.text);
      }
      return;
    }
    if (m.time_ms - prompt->time_ms > window) {
      if (!SeenBefore(g, m)) {
        ++report_.not_answers;
        AddIssue(file, m.line, "ignored", "quotes the survey prompt after the reply window", m.text);
      }
      return;
    }
  } else {
    if (!in_window) {
      // Outside every window: chatter. A survey marker from a member is worth a note (an unknown grid
      // worker?).
      for (const auto& [markers, questions] : markers_) {
        for (const std::string& marker : markers) {
          if (m.text.find(marker) != std::string::npos) {
            if (!SeenBefore(g, m)) {
              ++report_.prompts_ignored;
              AddIssue(
                  file, m.line, "ignored",
                  "contains a survey marker, but \"" + m.sender_name +
                      "\" is not a known grid worker (--grid-worker, wechat.grid_workers or the group map)",
                  m.text);
            }
            return;
          }
        }
      }
      return;
    }
    prompt = latest;
  }
  ++report_.replies_read;
  Record(file, g, m, m.sender_wxid, m.sender_name, m.text, m.time_ms, prompt->questions, true, true);
}

ParsedReply WechatImporter::Parse(std::string_view text, const std::vector<const Question*>& questions) {
  // ParseReply (NFKC folding, the rules of collector/common/reply_parser.h) was about a quarter of a
  // chatty import's instructions (callgrind, wechat_import_bench), most of it on the same short answers
  // again; it depends on nothing but the text and the questions, so a short text's reading is kept.
  if (text.size() > kMaxRememberedReplyBytes) return reply_words_.Parse(PrepareReply(text), questions);
  std::string key;
  for (const Question* q : questions) key.append(reinterpret_cast<const char*>(&q), sizeof q);
  key.push_back('\0');
  key.append(text);
  if (auto it = parsed_.find(key); it != parsed_.end()) return it->second;
  if (parsed_.size() >= kMaxRememberedReplies) parsed_.clear();
  return parsed_.emplace(std::move(key), reply_words_.Parse(PrepareReply(text), questions)).first->second;
}

bool WechatImporter::Record(const std::string& file, Group& g, const ChatMessage& m,
                            const std::string& participant_wxid, const std::string& participant_name,
                            const std::string& text, std::int64_t time_ms,
                            const std::vector<const Question*>& questions, bool try_unanswered_first,
                            bool dedupe_message) {
  if (!MayHoldAnswer(text, questions)) {
    // Nothing the reply parser could read (no digit, letter, numeral, option word or opt-out word):
    // most chat after a prompt is this, and the parser need not run.
    ++report_.not_understood;
    AddIssue(file, m.line, "not_understood", "no answer found", text);
    return false;
  }
  const bool weak = participant_wxid.empty();
  const std::string key = RespondentKey(g, participant_wxid, participant_name);
  auto found = members_.find(key);
  // A reply already recorded (an overlapping export, a page given twice) changes nothing and is counted
  // once. Compared with the member's current answers only, so memory does not grow with the messages.
  const std::uint64_t text_hash = std::hash<std::string>{}(text);
  if (dedupe_message && found != members_.end()) {
    for (const auto& [code, a] : found->second.answers) {
      if (a.time_ms == time_ms && a.text_hash == text_hash) {
        ++report_.duplicate_messages;
        return true;
      }
    }
  }
  std::vector<const Question*> pending;
  if (try_unanswered_first && found != members_.end()) {
    for (const Question* q : questions) {
      auto a = found->second.answers.find(q->code);
      // Unanswered, or answered before this prompt's time window began.
      if (a == found->second.answers.end()) pending.push_back(q);
    }
  }
  ParsedReply parsed;
  if (!pending.empty() && pending.size() < questions.size()) {
    parsed = Parse(text, pending);
    if (parsed.kind == ReplyKind::kUnparseable) parsed = Parse(text, questions);
  } else {
    parsed = Parse(text, questions);
  }
  if (parsed.kind == ReplyKind::kUnparseable && questions.size() > 1) {
    // A reply to one question only ("很满意" to a prompt asking security, then grid): accepted when
    // exactly one of the questions reads it, so nothing is guessed.
    std::vector<ParsedReply> single;
    for (const Question* q : questions) {
      ParsedReply one = Parse(text, {q});
      if (one.kind == ReplyKind::kAnswers && !one.answers.empty()) single.push_back(std::move(one));
    }
    if (single.size() == 1) parsed = std::move(single.front());
  }
  if (parsed.kind == ReplyKind::kOptOut) {
    ++report_.not_answers;
    AddIssue(file, m.line, "ignored", "an opt-out word (" + parsed.reason + "): not an answer", text);
    return false;
  }
  if (parsed.kind != ReplyKind::kAnswers || parsed.answers.empty()) {
    ++report_.not_understood;
    AddIssue(file, m.line, "not_understood", parsed.reason.empty() ? "no answer found" : parsed.reason, text);
    return false;
  }
  if (!g.town) {
    ++report_.answers_without_town;
    ++report_.files[file_index_].answers_without_town;
    if (unmapped_groups_reported_.insert(g.key).second) {
      AddIssue(
          file, m.line, "group",
          "group \"" + g.display + "\" (" + g.key + ") is not in the group map: its answers are not stored",
          "");
    }
    return false;
  }
  Member& member = members_[key];
  member.weak = weak;
  for (auto& [code, values] : parsed.answers) {
    Answer& a = member.answers[code];
    if (a.values.empty() || time_ms >= a.time_ms) {
      a.values = values;
      a.time_ms = time_ms;
      a.file = file;
      a.file_index = file_index_;
      a.line = m.line;
      a.text = CutText(MaskPhoneNumbers(text));
      a.text_hash = text_hash;
    }
  }
  if (time_ms >= member.town_time_ms) {
    member.town = *g.town;
    member.group = g.display;
    member.town_time_ms = time_ms;
  }
  ++report_.answers_accepted;
  return true;
}

void WechatImporter::HandleSolitaire(const std::string& file, Group& g, const ChatMessage& m) {
  if (Trim(m.text).empty()) {
    AddIssue(file, m.line, "ignored",
             "a 接龙 message without its list (PyWxDump keeps only the word 接龙; export with another tool)",
             "");
    ++report_.not_answers;
    return;
  }
  const SolitaireList list = ParseSolitaire(m.text);
  if (list.entries.empty() && list.header.empty()) return;
  Thread& t = threads_[g.key + '\x1f' + list.header];
  if (!t.counted) {
    t.counted = true;
    t.questions = MatchPrompt(text::NfkcFold(list.topic.empty() ? list.header : list.topic));
    if (!t.questions.empty()) {
      ChatMessage creator = m;
      if (!m.solitaire_creator.empty()) {
        creator.sender_wxid = m.solitaire_creator;
        creator.sender_name.clear();
      }
      if (IsGridWorker(g, creator)) {
        t.survey = true;
        ++report_.solitaire_threads;
      } else {
        ++report_.prompts_ignored;
        AddIssue(file, m.line, "ignored",
                 "a survey 接龙 started by \"" +
                     (m.solitaire_creator.empty() ? m.sender_name : m.solitaire_creator) +
                     "\", who is not a known grid worker: its entries are not read",
                 list.topic);
      }
    }
  }
  if (!t.survey || SeenBefore(g, m)) return;
  ++report_.solitaire_snapshots;
  const bool attributed = !m.solitaire.empty() && m.solitaire.size() == list.entries.size();
  if (!m.solitaire.empty() && !attributed) {
    AddIssue(file, m.line, "ignored",
             "the 接龙 lists " + std::to_string(list.entries.size()) + " entries but names " +
                 std::to_string(m.solitaire.size()) + " participants: entries attributed by their poster",
             "");
  }
  report_.solitaire_entries +=
      attributed ? MergeByAuthor(file, g, t, m, list) : MergeByPoster(file, g, t, m, list);
}

// Issue 16: a 接龙 forks when two members post the same number from the same list; later posts may go on
// from one branch only. The union is by person: everyone who appears in any snapshot is a participant,
// a post that lacks someone's entry erases nothing, and only a member's own newer words revise theirs.
std::size_t WechatImporter::MergeByAuthor(const std::string& file, Group& g, Thread& t, const ChatMessage& m,
                                          const SolitaireList& list) {
  // solitaire_info names each entry's author (and when it was written). An entry counts when its
  // author never had these words (two members writing the same words are two entries), or wrote them
  // after the words that count now (an edit back to earlier words); a post of another branch that
  // still shows an author's older words changes nothing.
  std::size_t taken = 0;
  for (std::size_t i = 0; i < list.entries.size(); ++i) {
    const SolitaireEntryInfo& info = m.solitaire[i];
    ChatMessage who;
    who.sender_wxid = info.wxid;
    if (info.wxid.empty() || IsGridWorker(g, who)) continue;
    const std::string& entry = list.entries[i];
    auto found = t.participants.find(RespondentKey(g, info.wxid, ""));
    const bool new_words = found == t.participants.end() || found->second.texts.count(entry) == 0;
    const bool rewritten =
        found != t.participants.end() && info.time_ms > found->second.time_ms && entry != found->second.text;
    if (!new_words && !rewritten) continue;
    ++taken;
    TakeEntry(file, g, t, m, info.wxid, "", entry, info.time_ms > 0 ? info.time_ms : m.time_ms);
  }
  return taken;
}

std::size_t WechatImporter::MergeByPoster(const std::string& file, Group& g, Thread& t, const ChatMessage& m,
                                          const SolitaireList& list) {
  // Without solitaire_info an entry's author is known only as the member who posted the snapshot that
  // changed it. Entries not seen in any earlier snapshot (as a multiset: identical entries of two
  // people count twice), whichever branch they are on:
  std::unordered_map<std::string, int> counts;
  std::vector<std::string> fresh;
  for (const std::string& entry : list.entries) {
    const int n = ++counts[entry];
    int& seen = t.seen_counts[entry];
    if (n > seen) {
      seen = n;
      fresh.push_back(entry);
    }
  }
  const bool worker = IsGridWorker(g, m);
  if (fresh.size() == 1) {
    // The member who re-posted the list with one new entry wrote it: theirs, new or edited.
    if (!worker) TakeEntry(file, g, t, m, m.sender_wxid, m.sender_name, fresh.front(), m.time_ms);
  } else if (fresh.empty() && !worker) {
    // No new words: the poster may have gone back to words they had before. Taken when the words that
    // count for them are gone from the list and exactly one entry holds earlier words of theirs.
    auto found = t.participants.find(RespondentKey(g, m.sender_wxid, m.sender_name));
    if (found != t.participants.end() && counts.count(found->second.text) == 0) {
      const std::string* back = nullptr;
      int earlier = 0;
      for (const std::string& entry : list.entries) {
        if (found->second.texts.count(entry) != 0) back = &entry, ++earlier;
      }
      if (earlier == 1) TakeEntry(file, g, t, m, m.sender_wxid, m.sender_name, *back, m.time_ms);
    }
  } else {
    // Several new entries at once: whose each is cannot be told; the entry itself names the member.
    for (const std::string& entry : fresh) TakeEntry(file, g, t, m, "", "接龙:" + entry, entry, m.time_ms);
  }
  return fresh.size();
}

void WechatImporter::TakeEntry(const std::string& file, Group& g, Thread& t, const ChatMessage& m,
                               const std::string& wxid, const std::string& name, const std::string& entry,
                               std::int64_t time_ms) {
  const std::string key = RespondentKey(g, wxid, name);
  Participant& p = t.participants[key];
  p.texts.insert(entry);
  if (time_ms >= p.time_ms) {
    p.text = entry;
    p.time_ms = time_ms;
  }
  if (!Record(file, g, m, wxid, name, entry, time_ms, t.questions, false, false)) return;
  const std::string location = EntryLocation(entry);
  Member& member = members_[key];
  if (!location.empty() && time_ms >= member.location_time_ms) {
    member.location = location;
    member.location_time_ms = time_ms;
  }
}

}  // namespace minyi::collector::wechat
