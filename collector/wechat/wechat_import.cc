#include "collector/wechat/wechat_import.h"

#include <algorithm>
#include <array>
#include <functional>
#include <sstream>
#include <tuple>

#include "collector/common/reply_parser.h"
#include "collector/response_import.h"
#include "collector/wechat/solitaire.h"
#include "collector/wechat/text_decoder.h"
#include "core/collector_counters.h"
#include "core/csv.h"
#include "core/json_text.h"
#include "core/privacy.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::wechat {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string CutText(std::string_view s, std::size_t max = 200) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "…";
}

// The file's name without directory and extension ("exports/幸福里一群.txt" → "幸福里一群").
std::string Stem(const std::string& name) {
  std::string base =
      name.substr(name.find_last_of("/\\") == std::string::npos ? 0 : name.find_last_of("/\\") + 1);
  const std::size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0) base.resize(dot);
  return base;
}

std::vector<std::string> SplitWorkers(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : std::string(text) + "|") {
    if (c == '|' || c == ';') {
      const std::string_view t = Trim(cur);
      if (!t.empty()) out.emplace_back(t);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

// A name as WeChatMsg TXT writes it in message headers: white space and \ / : * ? " < > | . become '_'.
std::string SafeName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (std::string_view(" \t\\/:*?\"<>|.").find(c) != std::string_view::npos) c = '_';
  }
  return out;
}

// A name compared across exporters: NFKC-folded and written as WeChatMsg TXT would.
// Chinese numerals (standing alone they are answers) and the opt-out words MayHoldAnswer looks for.
const char* const kNumerals[] = {"一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "两",   "壹",
                                 "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖", "拾", "〇", "退订", "拒收"};

std::string NameKey(std::string_view name) { return SafeName(text::NfkcFold(Trim(name))); }

// Quoted text compared with a prompt (issue 16): NFKC-folded, without white space (exporters keep the
// quoted lines, or join them with spaces, or cut them), without a trailing ellipsis ("…" folds to "...").
std::string QuoteText(std::string_view text) {
  const std::string folded = text::NfkcFold(text);
  std::string out;
  out.reserve(folded.size());
  for (char c : folded) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') out.push_back(c);
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

// ---- GroupMap

Result<GroupMap> GroupMap::Parse(std::istream& in, const AreaRegistry& areas) {
  DecodingStreamBuf buf(in);
  Status opened = buf.Open();
  if (!opened.ok()) return opened.WithContext("group map");
  std::istream text(&buf);
  CsvReader csv(text);
  GroupMap map;
  std::vector<std::string> errors;
  std::vector<std::string> fields;
  int group_col = -1, town_col = -1, workers_col = -1;
  bool header = true;
  Status error;
  while (csv.Next(fields, &error)) {
    const std::string at = "group map line " + std::to_string(csv.line()) + ": ";
    if (!error.ok()) {
      errors.push_back(at + error.message());
      continue;
    }
    if (fields.empty() || (fields.size() == 1 && Trim(fields[0]).empty())) continue;
    if (header) {
      header = false;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string name(Trim(fields[i]));
        if (name == "group" || name == "群" || name == "群名") group_col = static_cast<int>(i);
        if (name == "town" || name == "乡镇" || name == "town_code") town_col = static_cast<int>(i);
        if (name == "grid_workers" || name == "网格员") workers_col = static_cast<int>(i);
      }
      if (group_col < 0 || town_col < 0) {
        return Status::InvalidInput("group map: the header must name the columns group,town[,grid_workers]");
      }
      continue;
    }
    const auto get = [&fields](int col) {
      return col >= 0 && static_cast<std::size_t>(col) < fields.size()
                 ? std::string(Trim(fields[static_cast<std::size_t>(col)]))
                 : std::string();
    };
    const std::string group = get(group_col);
    const std::string town = get(town_col);
    if (group.empty()) {
      errors.push_back(at + "the group is empty");
      continue;
    }
    if (!areas.IsTown(town)) {
      errors.push_back(at + "\"" + town + "\" is not a known 9-digit town code");
      continue;
    }
    if (map.entries_.count(group) != 0) {
      errors.push_back(at + "group \"" + group + "\" is given twice");
      continue;
    }
    map.entries_[group] = Entry{town, SplitWorkers(get(workers_col))};
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return Status::InvalidInput(message);
  }
  return map;
}

const GroupMap::Entry* GroupMap::Find(const std::string& room_id, const std::string& group_name) const {
  if (!room_id.empty()) {
    auto it = entries_.find(room_id);
    if (it != entries_.end()) return &it->second;
  }
  if (!group_name.empty()) {
    auto it = entries_.find(group_name);
    if (it != entries_.end()) return &it->second;
  }
  return nullptr;
}

std::set<std::string> GroupMap::Towns() const {
  std::set<std::string> out;
  for (const auto& [group, entry] : entries_) out.insert(entry.town_code);
  return out;
}

// ---- WechatImporter

Result<std::unique_ptr<WechatImporter>> WechatImporter::Create(const SurveyDefinition& survey,
                                                               const AreaRegistry& areas,
                                                               const RespondentKeyer& keyer,
                                                               WechatImportOptions options) {
  if (!survey.wechat) {
    return Status::InvalidInput(
        "survey \"" + survey.id +
        "\" has no \"wechat\" section (prompt markers, reply window): see conf/README.md");
  }
  if (options.town_code.empty() && options.group_map == nullptr) {
    return Status::InvalidInput("give the town (--town CODE) or a group map (--group-map FILE)");
  }
  if (!options.town_code.empty() && !areas.IsTown(options.town_code)) {
    return Status::InvalidInput("town \"" + options.town_code + "\" is not a known 9-digit town code");
  }
  if (options.batch == 0) options.batch = 1;
  options.survey_id = survey.id;
  return std::unique_ptr<WechatImporter>(new WechatImporter(survey, areas, keyer, std::move(options)));
}

WechatImporter::WechatImporter(const SurveyDefinition& survey, const AreaRegistry& areas,
                               const RespondentKeyer& keyer, WechatImportOptions options)
    : survey_(survey), areas_(areas), keyer_(keyer), options_(std::move(options)) {
  for (const std::string& w : options_.grid_workers) {
    const std::string_view t = Trim(w);
    if (!t.empty()) global_grid_workers_.emplace(t);
    if (!t.empty() && SafeName(t) != t) global_safe_grid_workers_.insert(SafeName(t));
    if (!t.empty()) global_grid_worker_keys_.insert(NameKey(t));
  }
  for (const WechatPrompt& prompt : survey_.wechat->prompts) {
    std::vector<std::string> folded;
    for (const std::string& marker : prompt.markers) folded.push_back(text::NfkcFold(marker));
    std::vector<const Question*> questions;
    for (const std::string& code : prompt.questions) {
      if (const Question* q = survey_.FindQuestion(code)) questions.push_back(q);
    }
    markers_.emplace_back(std::move(folded), std::move(questions));
  }
  answer_chars_.assign(0x10000, 0);
  // The code point of the UTF-8 character at `at` (0x10000 for one beyond the BMP: MayHoldAnswer
  // accepts those before it looks at words).
  auto code_point = [](std::string_view w, std::size_t at) -> std::uint32_t {
    const auto c = static_cast<unsigned char>(w[at]);
    if (c < 0x80) return c;
    if ((c & 0xE0) == 0xC0 && at + 1 < w.size()) {
      return ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(w[at + 1]) & 0x3Fu);
    }
    if ((c & 0xF0) == 0xE0 && at + 2 < w.size()) {
      return ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(w[at + 1]) & 0x3Fu) << 6) |
             (static_cast<unsigned char>(w[at + 2]) & 0x3Fu);
    }
    return 0x10000;
  };
  auto note = [this](std::uint32_t cp, unsigned kind) {
    if (cp < answer_chars_.size()) answer_chars_[cp] = static_cast<std::uint8_t>(answer_chars_[cp] | kind);
  };
  for (const char* n : kNumerals) note(code_point(n, 0), kNumeral);
  for (const Question& q : survey_.questions) {
    for (const Option& o : q.options) {
      std::vector<std::string_view> words = {o.label};
      words.insert(words.end(), o.aliases.begin(), o.aliases.end());
      for (const std::string_view w : words) {
        if (w.empty()) continue;
        std::size_t last = w.size() - 1;
        while (last > 0 && (static_cast<unsigned char>(w[last]) & 0xC0) == 0x80) --last;
        word_ends_.emplace_back(code_point(w, 0), code_point(w, last));
        note(word_ends_.back().first, kWordFirst);
        note(word_ends_.back().second, kWordLast);
      }
    }
  }
}

void WechatImporter::AddIssue(const std::string& file, std::size_t line, const char* category,
                              std::string reason, std::string_view text) {
  if (report_.issues.size() >= options_.max_issues) {
    ++report_.issues_dropped;
    return;
  }
  report_.issues.push_back(
      WechatIssue{file, line, category, std::move(reason), CutText(MaskPhoneNumbers(text))});
}

WechatImporter::Group& WechatImporter::GroupOf(const ChatMessage& m, const std::string& file_group) {
  const std::string& name = m.group_name.empty() && m.room_id.empty() ? file_group : m.group_name;
  const std::string key = !m.room_id.empty() ? m.room_id : name;
  auto it = groups_.find(key);
  if (it != groups_.end()) return it->second;
  Group g;
  g.key = key;
  g.display = !name.empty() ? name : m.room_id;
  if (!options_.town_code.empty()) {
    g.town = options_.town_code;
  }
  if (options_.group_map != nullptr) {
    if (const GroupMap::Entry* e = options_.group_map->Find(m.room_id, name)) {
      g.town = e->town_code;
      g.grid_workers.insert(e->grid_workers.begin(), e->grid_workers.end());
      for (const std::string& w : e->grid_workers) {
        if (SafeName(w) != w) g.safe_grid_workers.insert(SafeName(w));
        g.grid_worker_keys.insert(NameKey(w));
      }
    }
  }
  return groups_.emplace(key, std::move(g)).first->second;
}

bool WechatImporter::IsGridWorker(const Group& g, const ChatMessage& m) const {
  auto known = [&](const std::string& id) {
    return !id.empty() && (global_grid_workers_.count(id) != 0 || g.grid_workers.count(id) != 0);
  };
  if (known(m.sender_wxid) || known(m.sender_name)) return true;
  // WeChatMsg TXT writes "网格员 小王" as "网格员_小王": a configured name so written (the sets hold only
  // names that change so, usually none, which keeps the common path at the lookups above).
  if (global_safe_grid_workers_.empty() && g.safe_grid_workers.empty()) return false;
  return global_safe_grid_workers_.count(m.sender_name) != 0 || g.safe_grid_workers.count(m.sender_name) != 0;
}

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
  auto note = [&](std::uint32_t cp) {
    const unsigned kind = answer_chars_[cp];
    seen |= kind;
    if ((kind & (kWordFirst | kWordLast)) != 0 && n_ends < ends.size()) ends[n_ends++] = cp;
    if ((kind & (kWordFirst | kWordLast)) != 0 && n_ends == ends.size()) seen |= kUnsure;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return true;
      note(c);
      continue;
    }
    if ((c & 0xF0) == 0xE0 && i + 2 < text.size()) {
      const std::uint32_t cp = ((c & 0x0Fu) << 12) |
                               ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
                               (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
      if ((cp >= 0x2460 && cp <= 0x24FF) || (cp >= 0x2776 && cp <= 0x2793) ||
          (cp >= 0x3200 && cp <= 0x33FF) || (cp >= 0xFF10 && cp <= 0xFF19) ||
          (cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A) ||
          (cp >= 0xF900 && cp <= 0xFAFF)) {
        return true;
      }
      note(cp);
    } else if ((c & 0xF8) == 0xF0) {
      return true;  // beyond the BMP: let NFKC decide
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size()) {
      note(((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu));
    } else if ((c & 0xC0) != 0x80) {
      seen |= kUnsure;  // a lead byte cut off at the end: search as before
    }
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
  for (const char* n : kNumerals) {
    if (!unsure && (seen & kNumeral) == 0) break;
    const std::string_view numeral(n);
    for (std::size_t at = text.find(numeral); at != std::string_view::npos; at = text.find(numeral, at + 1)) {
      if (numeral.size() > 3) return true;  // 退订, 拒收
      bool before_ok = !is_ideograph_at(at, true);
      for (const char* b : kBefore) before_ok |= at >= 3 && text.substr(at - 3, 3) == b;
      const std::size_t next = at + numeral.size();
      bool after_ok = !is_ideograph_at(next, false);
      for (const char* a : kAfter) after_ok |= text.substr(next, 3) == a;
      if (before_ok && after_ok) return true;
    }
  }
  return word_may_be_there() && MentionsOptionWord(text, questions);
}

bool WechatImporter::SeenBefore(const Group& g, const ChatMessage& m) {
  std::string id;
  if (!m.server_id.empty()) {
    id = "id\x1f" + m.server_id;
  } else {
    id = g.key + '\x1f' + std::to_string(m.time_ms) + '\x1f' + m.sender_wxid + '\x1f' + m.sender_name +
         '\x1f' + m.text + '\x1f' + m.quoted_text;
  }
  const std::uint64_t h = std::hash<std::string>{}(id);
  if (!seen_.insert(h).second) {
    ++report_.duplicate_messages;
    return true;
  }
  return false;
}

Status WechatImporter::AddFile(const std::string& name, std::istream& raw) {
  // Listed first, so that what its messages lead to (answers without a town) is counted on it.
  report_.files.emplace_back();
  file_index_ = report_.files.size() - 1;
  WechatFileReport& file = report_.files.back();  // nothing else is added to files while reading
  file.name = name;
  DecodingStreamBuf buf(raw);
  Status opened = buf.Open();
  file.encoding = std::string(SourceEncodingName(buf.encoding()));
  if (!opened.ok()) {
    AddIssue(name, 0, "file", opened.message(), "");
    return opened.WithContext(name);
  }
  auto format = DetectFormat(buf.Head());
  if (!format.ok()) {
    AddIssue(name, 1, "file", format.status().message(), "");
    return format.status().WithContext(name);
  }
  file.format = std::string(ChatFormatName(format.value()));
  std::istream text(&buf);
  ReaderOptions reader_options;
  reader_options.utc_offset_minutes = options_.utc_offset_minutes;
  std::unique_ptr<ChatReader> reader = MakeReader(format.value(), text, reader_options);
  const std::string file_group = options_.group.empty() ? Stem(name) : options_.group;
  ChatMessage m;
  std::vector<ReaderIssue> issues;
  auto flush_issues = [&]() {
    for (ReaderIssue& i : issues) {
      ++report_.lines_rejected;
      ++file.lines_rejected;
      AddIssue(name, i.line, "rejected", std::move(i.reason), i.text);
    }
    issues.clear();
  };
  while (reader->Next(&m, &issues)) {
    flush_issues();
    ++file.messages;
    ++report_.messages_read;
    Handle(name, file_group, m);
  }
  flush_issues();
  file.bytes = buf.bytes_in();
  file.truncated = reader->truncated() || buf.truncated();
  if (file.truncated) {
    AddIssue(name, 0, "file",
             "the file ends inside a " + std::string(reader->truncated() ? "quoted field" : "character") +
                 ": it looks truncated; every complete message before the end was read",
             "");
  }
  if (buf.invalid_sequences() > 0) {
    AddIssue(name, 0, "file",
             std::to_string(buf.invalid_sequences()) + " invalid byte sequence(s) in " + file.encoding +
                 " text replaced by U+FFFD (the first at byte " + std::to_string(buf.first_invalid_offset()) +
                 ")",
             "");
  }
  // A UTF-8 export with a few lines in another encoding: each such line, decoded on its own.
  for (const DecodeLineIssue& line : buf.line_issues()) AddIssue(name, line.line, "file", line.what, "");
  if (buf.lines_not_utf8() > buf.line_issues().size()) {
    AddIssue(name, 0, "file",
             std::to_string(buf.lines_not_utf8() - buf.line_issues().size()) +
                 " more lines not UTF-8 (not listed)",
             "");
  }
  if (file.messages == 0) AddIssue(name, 0, "file", "no message could be read", "");
  return Status::Ok();
}

void WechatImporter::Handle(const std::string& file, const std::string& file_group, ChatMessage& m) {
  Group& g = GroupOf(m, file_group);
  switch (m.kind) {
    case MessageKind::kSystem:
    case MessageKind::kRecall:
    case MessageKind::kMedia:
    case MessageKind::kOther: {
      if (!g.prompts.empty()) {
        const Prompt& last = g.prompts.back();
        const std::int64_t window = std::int64_t{survey_.wechat->reply_window_minutes} * 60000;
        if (m.time_ms >= last.time_ms && m.time_ms - last.time_ms <= window && !IsGridWorker(g, m)) {
          ++report_.not_answers;
        }
      }
      return;
    }
    case MessageKind::kSolitaire:
      HandleSolitaire(file, g, m);
      return;
    case MessageKind::kText:
    case MessageKind::kQuote:
      break;
  }
  if (IsGridWorker(g, m)) {
    ++report_.grid_worker_messages;
    if (m.kind != MessageKind::kText) return;
    std::string folded = text::NfkcFold(m.text);
    std::vector<const Question*> questions = MatchPrompt(folded);
    if (questions.empty() || SeenBefore(g, m)) return;
    Prompt p{m.time_ms,         m.sender_name,       m.sender_wxid, NameKey(m.sender_name),
             QuoteText(folded), std::move(questions)};
    auto at = std::upper_bound(g.prompts.begin(), g.prompts.end(), p.time_ms,
                               [](std::int64_t t, const Prompt& q) { return t < q.time_ms; });
    g.prompts.insert(at, std::move(p));
    ++report_.prompts_found;
    return;
  }
  HandleReply(file, g, m);
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
  if (text.size() > kMaxRememberedReplyBytes) return ParseReply(text, questions);
  std::string key;
  for (const Question* q : questions) key.append(reinterpret_cast<const char*>(&q), sizeof q);
  key.push_back('\0');
  key.append(text);
  if (auto it = parsed_.find(key); it != parsed_.end()) return it->second;
  if (parsed_.size() >= kMaxRememberedReplies) parsed_.clear();
  return parsed_.emplace(std::move(key), ParseReply(text, questions)).first->second;
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

std::string WechatImporter::RespondentKey(const Group& g, const std::string& wxid, const std::string& name) {
  std::string input = wxid.empty() ? "wechat-name:" + g.key + "\n" + name : "wechat-wxid:" + wxid;
  if (auto it = keys_.find(input); it != keys_.end()) return it->second;
  if (keys_.size() >= kMaxRememberedKeys) keys_.clear();
  std::string key = keyer_.KeyFor(input);
  keys_.emplace(std::move(input), key);
  return key;
}

std::vector<Response> WechatImporter::BuildResponses(std::int64_t received_at_ms) {
  return Build(received_at_ms).responses;
}

WechatImporter::Built WechatImporter::Build(std::int64_t received_at_ms) {
  Built out;
  report_.respondents = members_.size();
  report_.weak_keys = 0;
  report_.responses_invalid = 0;
  for (WechatFileReport& f : report_.files) f.responses_invalid = 0;
  const std::string& location_question = survey_.wechat->location_question;
  for (const auto& [key, member] : members_) {
    if (member.weak) ++report_.weak_keys;
    Response r;
    r.survey_id = survey_.id;
    r.period = options_.period;
    r.town_code = member.town;
    r.channel = Channel::kWechat;
    r.respondent_key = key;
    r.received_at_ms = received_at_ms;
    std::string messages;
    const Answer* newest = nullptr;  // its file is the one the response counts for
    for (const auto& [code, answer] : member.answers) {
      if (newest == nullptr ||
          std::tie(answer.time_ms, answer.file_index) > std::tie(newest->time_ms, newest->file_index)) {
        newest = &answer;
      }
      r.answers[code] = answer.values;
      r.submitted_at_ms = std::max(r.submitted_at_ms, answer.time_ms);
      messages +=
          std::string(messages.empty() ? "" : ",") + "{\"question\":" + JsonString(code) +
          ",\"file\":" + JsonString(answer.file) + ",\"line\":" + std::to_string(answer.line) +
          ",\"time\":" + JsonString(FormatTimestampLocal(answer.time_ms, options_.utc_offset_minutes)) +
          ",\"text\":" + JsonString(answer.text) + "}";
    }
    if (!location_question.empty() && !member.location.empty())
      r.answers[location_question] = {member.location};
    std::vector<FieldError> errors = survey_.ValidateAnswers(r.answers, Completion::kComplete);
    r.completion = Completion::kComplete;
    if (!errors.empty()) {
      errors = survey_.ValidateAnswers(r.answers, Completion::kPartial);
      r.completion = Completion::kPartial;
    }
    // The town is part of the identity (core/revisions.h TownSlot): the same member imported into
    // another town is another response, never a revision of this one.
    r.source_ref =
        TownSlot("wechat:" + survey_.id + ":" + options_.period.ToString() + ":" + key, member.town);
    if (!errors.empty()) {
      ++report_.responses_invalid;
      ++report_.files[newest->file_index].responses_invalid;
      AddIssue(member.answers.begin()->second.file, member.answers.begin()->second.line, "rejected",
               errors.front().field + ": " + errors.front().reason, "");
      continue;
    }
    r.raw_payload =
        "{\"source\":\"wechat\",\"group\":" + JsonString(member.group) +
        ",\"key_basis\":" + JsonString(member.weak ? "group+name" : "wxid") +
        ",\"weak_key\":" + (member.weak ? "true" : "false") +
        (member.location.empty() ? std::string() : ",\"location\":" + JsonString(member.location)) +
        ",\"messages\":[" + messages + "]}";
    out.responses.push_back(std::move(r));
    out.files.push_back(newest->file_index);
    out.newest.push_back(newest);
  }
  return out;
}

Status WechatImporter::Store(ResponseReviser& reviser, std::int64_t received_at_ms) {
  Built built = Build(received_at_ms);
  std::vector<Response>& responses = built.responses;
  for (std::size_t from = 0; from < responses.size(); from += options_.batch) {
    const std::size_t to = std::min(responses.size(), from + options_.batch);
    std::vector<Response> batch(
        std::make_move_iterator(responses.begin() + static_cast<std::ptrdiff_t>(from)),
        std::make_move_iterator(responses.begin() + static_cast<std::ptrdiff_t>(to)));
    std::vector<ReviseResult> results;
    Status stored = reviser.StoreRevisions(batch, options_.reason, &results);
    if (!stored.ok()) return stored.WithContext("storing WeChat responses");
    for (std::size_t i = 0; i < results.size(); ++i) {
      WechatFileReport& file = report_.files[built.files[from + i]];
      const std::string& town = batch[i].town_code;
      file.area = file.area.empty() ? town : CommonArea({file.area, town});
      switch (results[i].outcome) {
        case ReviseOutcome::kStored:
          ++report_.stored, ++file.stored;
          break;
        case ReviseOutcome::kDuplicate:
          ++report_.duplicates, ++file.duplicates;
          break;
        case ReviseOutcome::kRevised:
          ++report_.revisions, ++file.revisions;
          break;
        case ReviseOutcome::kStale:
          ++report_.stale, ++file.stale;
          break;
        case ReviseOutcome::kRefused:
          ++report_.refused, ++file.refused;
          AddIssue(built.newest[from + i]->file, built.newest[from + i]->line, "refused",
                   "not stored: this member's response is stored for another town, which this import may not "
                   "change",
                   built.newest[from + i]->text);
          break;
      }
    }
    if (options_.progress) options_.progress(to, responses.size());
  }
  return Status::Ok();
}

std::optional<std::int64_t> FirstMessageTime(std::istream& raw, int utc_offset_minutes) {
  DecodingStreamBuf buf(raw);
  if (!buf.Open().ok()) return std::nullopt;
  auto format = DetectFormat(buf.Head());
  if (!format.ok()) return std::nullopt;
  std::istream text(&buf);
  ReaderOptions options;
  options.utc_offset_minutes = utc_offset_minutes;
  auto reader = MakeReader(format.value(), text, options);
  ChatMessage m;
  std::vector<ReaderIssue> issues;
  for (int i = 0; i < 100 && reader->Next(&m, &issues); ++i) {
    if (m.time_ms != 0) return m.time_ms;
  }
  return std::nullopt;
}

// ---- report

std::string WechatReport::ToText() const {
  std::ostringstream out;
  for (const WechatFileReport& f : files) {
    out << f.name << ": " << (f.format.empty() ? "not read" : f.format) << ", " << f.encoding << ", "
        << f.messages << " messages" << (f.truncated ? ", TRUNCATED" : "") << "\n";
  }
  out << "messages read: " << messages_read << " (duplicates " << duplicate_messages << ", unreadable lines "
      << lines_rejected << ")\n"
      << "prompts found: " << prompts_found << " (ignored, not by a known grid worker: " << prompts_ignored
      << ")\n"
      << "接龙: " << solitaire_threads << " survey threads, " << solitaire_snapshots << " snapshots, "
      << solitaire_entries << " entries\n"
      << "replies read: " << replies_read << "; answers accepted: " << answers_accepted
      << "; not understood: " << not_understood
      << "; not answers (recalls, notices, media, opt-outs, other quotes): " << not_answers << "\n";
  if (answers_without_town > 0) out << "answers in groups without a town: " << answers_without_town << "\n";
  out << "respondents: " << respondents << " (" << weak_keys
      << " keyed by group and display name, no wxid in the export: weaker)\n"
      << "responses: stored " << stored << ", duplicates " << duplicates << ", revisions " << revisions
      << ", stale " << stale << ", refused " << refused << ", invalid " << responses_invalid << "\n";
  for (const WechatIssue& i : issues) {
    out << "  " << i.file;
    if (i.line > 0) out << ":" << i.line;
    out << " [" << i.category << "] " << i.reason;
    if (!i.text.empty()) {
      std::string one_line = i.text;
      std::replace(one_line.begin(), one_line.end(), '\n', ' ');
      out << ": " << one_line;
    }
    out << "\n";
  }
  if (issues_dropped > 0) out << "  ... and " << issues_dropped << " more issues not listed\n";
  return out.str();
}

std::string WechatReport::ToJson() const {
  std::string out = "{\"files\":[";
  for (std::size_t i = 0; i < files.size(); ++i) {
    const WechatFileReport& f = files[i];
    out += std::string(i ? "," : "") + "{\"name\":" + JsonString(f.name) +
           ",\"format\":" + JsonString(f.format) + ",\"encoding\":" + JsonString(f.encoding) +
           ",\"bytes\":" + std::to_string(f.bytes) + ",\"messages\":" + std::to_string(f.messages) +
           ",\"truncated\":" + (f.truncated ? "true" : "false") + "}";
  }
  auto n = [](const char* name, std::size_t v) {
    return ",\"" + std::string(name) + "\":" + std::to_string(v);
  };
  out += "]" + n("messages_read", messages_read) + n("duplicate_messages", duplicate_messages) +
         n("lines_rejected", lines_rejected) + n("prompts_found", prompts_found) +
         n("prompts_ignored", prompts_ignored) + n("replies_read", replies_read) +
         n("answers_accepted", answers_accepted) + n("not_understood", not_understood) +
         n("not_answers", not_answers) + n("grid_worker_messages", grid_worker_messages) +
         n("solitaire_threads", solitaire_threads) + n("solitaire_snapshots", solitaire_snapshots) +
         n("solitaire_entries", solitaire_entries) + n("answers_without_town", answers_without_town) +
         n("respondents", respondents) + n("weak_keys", weak_keys) +
         n("responses_invalid", responses_invalid) + n("stored", stored) + n("duplicates", duplicates) +
         n("revisions", revisions) + n("stale", stale) + n("refused", refused) + ",\"issues\":[";
  for (std::size_t i = 0; i < issues.size(); ++i) {
    const WechatIssue& x = issues[i];
    out += std::string(i ? "," : "") + "{\"file\":" + JsonString(x.file) +
           ",\"line\":" + std::to_string(x.line) + ",\"category\":" + JsonString(x.category) +
           ",\"reason\":" + JsonString(x.reason) + ",\"text\":" + JsonString(x.text) + "}";
  }
  return out + "]" + n("issues_dropped", issues_dropped) + "}";
}

}  // namespace minyi::collector::wechat
