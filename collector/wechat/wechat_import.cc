#include "collector/wechat/wechat_import.h"

#include <algorithm>
#include <array>
#include <functional>
#include <sstream>
#include <tuple>

#include "collector/common/reply_parser.h"
#include "collector/response_import.h"
#include "collector/wechat/read_ahead.h"
#include "collector/wechat/solitaire.h"
#include "collector/wechat/text_decoder.h"
#include "collector/wechat/wechat_import_internal.h"
#include "core/collector_counters.h"
#include "core/csv.h"
#include "core/json_text.h"
#include "core/privacy.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::wechat {

// The importer's shared internals (wechat_import_internal.h).
using namespace import_detail;  // NOLINT(google-build-using-namespace)

namespace {

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
    : survey_(survey), areas_(areas), keyer_(keyer), options_(std::move(options)), reply_words_(survey_) {
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
  // A code point as answer_chars_ indexes it: one beyond the BMP (or undecodable) is 0x10000, which
  // MayHoldAnswer never looks up (it accepts such text before it looks at words). Set-up code, once
  // per importer: decoded by core/text (ICU's U8_NEXT), not by the fast path of wechat_matching.cc.
  auto bmp_index = [](char32_t cp) -> std::uint32_t {
    return cp < 0x10000 && cp != 0xFFFD ? static_cast<std::uint32_t>(cp) : 0x10000u;
  };
  auto note = [this](std::uint32_t cp, unsigned kind) {
    if (cp < answer_chars_.size()) answer_chars_[cp] = static_cast<std::uint8_t>(answer_chars_[cp] | kind);
  };
  for (const auto& [from, to] : {std::pair<std::uint32_t, std::uint32_t>{0x2460, 0x24FF},
                                 {0x2776, 0x2793},
                                 {0x3200, 0x33FF},
                                 {0xFF10, 0xFF19},
                                 {0xFF21, 0xFF3A},
                                 {0xFF41, 0xFF5A},
                                 {0xF900, 0xFAFF}}) {
    for (std::uint32_t cp = from; cp <= to; ++cp) note(cp, kReadable);
  }
  for (const char* n : kNumerals) note(bmp_index(text::ToUtf32(n).front()), kNumeral);
  for (const Question& q : survey_.questions) {
    for (const Option& o : q.options) {
      std::vector<std::string_view> words = {o.label};
      words.insert(words.end(), o.aliases.begin(), o.aliases.end());
      for (const std::string_view w : words) {
        const std::u32string chars = text::ToUtf32(w);
        if (chars.empty()) continue;
        word_ends_.emplace_back(bmp_index(chars.front()), bmp_index(chars.back()));
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
  const std::string& key = !m.room_id.empty() ? m.room_id : name;  // copied only for a new group
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
  auto take = [&](ChatMessage& message) {
    flush_issues();
    ++file.messages;
    ++report_.messages_read;
    Handle(name, file_group, message);
  };
  if (options_.read_ahead_batches >= 2) {
    // Joined at the end of this block (or by an exception), before the reader and the decoder are read.
    ReadAhead ahead(*reader, options_.read_ahead_batches, options_.read_ahead_messages);
    ChatMessage* next = nullptr;
    while (ahead.Next(&next, &issues)) take(*next);
  } else {
    while (reader->Next(&m, &issues)) take(m);
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
}  // namespace minyi::collector::wechat
