#include "collector/wechat/chat_reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "core/csv.h"
#include "core/response.h"

namespace minyi::collector::wechat {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// inline: it runs in IsMediaPlaceholder's loop over every message, and without the hint the compiler
// stopped inlining it once IsNoticeLine called it too (callgrind, wechat_import_bench).
inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "YYYY-MM-DD HH:MM:SS" at the start of s (separators '-' or '/', ' ' or 'T').
bool LooksLikeTime(std::string_view s) {
  if (s.size() < 19) return false;
  static constexpr std::array<int, 14> kDigits = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
  for (int i : kDigits) {
    if (!IsDigit(s[static_cast<std::size_t>(i)])) return false;
  }
  return (s[4] == '-' || s[4] == '/') && s[7] == s[4] && (s[10] == ' ' || s[10] == 'T') && s[13] == ':' &&
         s[16] == ':';
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int Num(std::string_view s, std::size_t at, std::size_t len) {
  int v = 0;
  for (std::size_t i = 0; i < len; ++i) v = v * 10 + (s[at + i] - '0');
  return v;
}

void StripCr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

// Classifies an ordinary text message by its content.
void ClassifyText(ChatMessage& m) {
  if (m.kind != MessageKind::kText) return;
  const std::string_view t = TrimView(m.text);
  if (IsMediaPlaceholder(t)) {
    m.kind = MessageKind::kMedia;
  } else if (t.find("#接龙") != std::string_view::npos) {
    m.kind = MessageKind::kSolitaire;
  }
}

// A notice's kind by its text.
MessageKind NoticeKind(std::string_view text) {
  return IsRecallNotice(text) ? MessageKind::kRecall : MessageKind::kSystem;
}

// *m = ChatMessage(), keeping the strings' buffers for the next message (a reader fills one message
// at a time; allocating every field again was a tenth of a chatty import's instructions, callgrind,
// wechat_import_bench). Every field of ChatMessage must be reset here.
void Reset(ChatMessage* m) {
  m->line = 0;
  m->time_ms = 0;
  m->local_time.clear();
  m->sender_name.clear();
  m->sender_wxid.clear();
  m->from_self = false;
  m->group_name.clear();
  m->room_id.clear();
  m->kind = MessageKind::kText;
  m->text.clear();
  m->quoted_name.clear();
  m->quoted_text.clear();
  m->quoted_wxid.clear();
  m->server_id.clear();
  m->solitaire_creator.clear();
  m->solitaire.clear();
}

// A notice the exporter wrote as a bare line, without a sender header (IsNoticeLine): a message of its
// own, at the time of the message before it (the notice came after it; 0 at the top of a file).
void BareNotice(std::size_t line_no, std::string_view line, std::int64_t time_ms,
                const std::string& local_time, ChatMessage* m) {
  Reset(m);
  m->line = line_no;
  m->time_ms = time_ms;
  m->local_time = local_time;
  m->text.assign(TrimView(line));
  m->kind = NoticeKind(m->text);
}

std::string Cut(std::string_view s, std::size_t max = 200) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole characters
  return std::string(s.substr(0, n)) + "…";
}

// The get area of any stream buffer: the member pointers are the language's way to reach protected
// members of a base-class object. GetBoundedLine scans the buffered text with memchr instead of taking
// it one sbumpc at a time: per byte that was 18% of a chatty import's instructions (callgrind,
// wechat_import_bench), now one call per line.
struct GetArea : std::streambuf {
  static char* Next(std::streambuf* b) { return (b->*&GetArea::gptr)(); }
  static char* End(std::streambuf* b) { return (b->*&GetArea::egptr)(); }
  static void Skip(std::streambuf* b, std::size_t n) { (b->*&GetArea::gbump)(static_cast<int>(n)); }
};

// One physical line of at most `max` bytes (its line end not kept); the rest of a longer line is
// read and dropped, never held, and *cut is set. False at the end of input. Hand-written because
// std::getline has no bound (a 1 GiB line without a newline would be held whole).
bool GetBoundedLine(std::istream& in, std::string* line, std::size_t max, bool* cut) {
  line->clear();
  *cut = false;
  std::streambuf* buf = in.rdbuf();
  bool any = false;
  for (;;) {
    char* from = GetArea::Next(buf);
    char* end = GetArea::End(buf);
    if (from == end) {
      const auto c = buf->sgetc();  // refills the get area
      if (c == std::streambuf::traits_type::eof()) {
        if (!any) in.setstate(std::ios::eofbit | std::ios::failbit);
        return any;
      }
      if (GetArea::Next(buf) == GetArea::End(buf)) {  // an unbuffered stream: a byte at a time
        buf->sbumpc();
        any = true;
        if (c == '\n') return true;
        if (line->size() < max) {
          line->push_back(static_cast<char>(c));
        } else {
          *cut = true;
        }
      }
      continue;
    }
    any = true;
    const auto* nl = static_cast<const char*>(std::memchr(from, '\n', static_cast<std::size_t>(end - from)));
    const std::size_t n = static_cast<std::size_t>((nl != nullptr ? nl : end) - from);
    const std::size_t room = max - std::min(max, line->size());
    line->append(from, std::min(n, room));
    if (n > room) *cut = true;
    GetArea::Skip(buf, n + (nl != nullptr ? 1 : 0));
    if (nl != nullptr) return true;
  }
}

// Reads physical lines with one line of look-ahead. Lines longer than the message limit are cut to
// it; their numbers are handed to the reader's issues (TakeCutLines).
class LineSource {
 public:
  LineSource(std::istream& in, std::size_t max_line_bytes) : in_(in), max_(max_line_bytes) {}
  bool Next(std::string* line) {
    if (has_peek_) {
      line->swap(peek_);  // (both keep their buffers)
      has_peek_ = false;
      ++line_no_;
      if (peek_cut_) cut_lines_.push_back(line_no_);
      return true;
    }
    bool cut = false;
    if (!GetBoundedLine(in_, line, max_, &cut)) return false;
    StripCr(*line);
    ++line_no_;
    if (cut) cut_lines_.push_back(line_no_);
    return true;
  }
  const std::string* Peek() {
    if (!has_peek_) {
      if (!GetBoundedLine(in_, &peek_, max_, &peek_cut_)) return nullptr;
      StripCr(peek_);
      has_peek_ = true;
    }
    return &peek_;
  }
  std::size_t line() const { return line_no_; }  // number of the line last returned by Next
  // Reports the lines cut since the last call.
  void TakeCutLines(std::vector<ReaderIssue>* issues) {
    for (std::size_t n : cut_lines_) {
      issues->push_back({n, "line longer than " + std::to_string(max_) + " bytes: cut to the limit", ""});
    }
    cut_lines_.clear();
  }

 private:
  std::istream& in_;
  std::size_t max_;
  std::string peek_;
  bool has_peek_ = false;
  bool peek_cut_ = false;
  std::size_t line_no_ = 0;
  std::vector<std::size_t> cut_lines_;
};

// ---- WeChatMsg / MemoTrace TXT (docs/channels.md §3.1)

class WeChatMsgTxtReader final : public ChatReader {
 public:
  WeChatMsgTxtReader(std::istream& in, ReaderOptions options)
      : lines_(in, options.max_message_bytes), options_(options) {}
  ChatFormat format() const override { return ChatFormat::kWeChatMsgTxt; }

  bool Next(ChatMessage* m, std::vector<ReaderIssue>* issues) override {
    const bool got = ReadNext(m, issues);
    lines_.TakeCutLines(issues);
    return got;
  }

 private:
  bool ReadNext(ChatMessage* m, std::vector<ReaderIssue>* issues) {
    std::string& line = line_;
    // Find the next header.
    for (;;) {
      if (!lines_.Next(&line)) return false;
      if (IsHeader(line)) break;
      if (IsNoticeLine(line)) {
        BareNotice(lines_.line(), line, last_time_ms_, last_local_time_, m);
        return true;
      }
      if (!TrimView(line).empty()) {
        issues->push_back(
            {lines_.line(), "not part of a message (expected \"YYYY-MM-DD HH:MM:SS name\")", Cut(line)});
      }
    }
    Reset(m);
    m->line = lines_.line();
    m->local_time.assign(line, 0, 19);
    auto t = ParseLocalTime(m->local_time, options_.utc_offset_minutes);
    if (!t.ok()) {
      issues->push_back({m->line, "bad time: " + t.status().message(), Cut(line)});
    } else {
      m->time_ms = t.value();
    }
    last_time_ms_ = m->time_ms;
    last_local_time_ = m->local_time;
    const std::string_view rest = line.size() > 20 ? std::string_view(line).substr(20) : std::string_view();
    // Content: up to a blank line followed by a header (or the end), or up to a notice (IsNoticeLine:
    // bare, or "<time> <notice>" without the blank line before it) after the first line. A header
    // that is itself a notice has no content.
    // The message's lines, in content_[0, n) (the strings are kept for the next message).
    std::vector<std::string>& content = content_;
    std::size_t n = 0;
    std::size_t bytes = 0;
    bool cut = false;
    bool previous_blank = false;
    const bool notice_header = IsNoticeLine(rest);
    while (!notice_header) {
      const std::string* next = lines_.Peek();
      if (next == nullptr) break;
      const bool header = IsHeader(*next);
      if (header && (previous_blank || n == 0)) break;
      if (n != 0 && IsNoticeLine(header ? std::string_view(*next).substr(19) : *next)) break;
      if (n == content.size()) content.emplace_back();
      std::string& l = content[n];
      lines_.Next(&l);
      previous_blank = TrimView(l).empty();
      bytes += l.size() + 1;
      if (bytes > options_.max_message_bytes) {
        cut = true;
        continue;
      }
      ++n;
    }
    if (cut) issues->push_back({m->line, "message longer than the limit: cut", ""});
    while (n != 0 && TrimView(content[n - 1]).empty()) --n;
    if (n == 0) {
      // A system notice: "<time> <text>" on one line.
      m->text.assign(rest.data(), rest.size());
      m->kind = NoticeKind(rest);
      return true;
    }
    m->sender_name.assign(rest.data(), rest.size());
    // A quote reply ends with "引用:<name>:<quoted>" (the quoted text may run over several lines).
    std::size_t quote_at = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (StartsWith(content[i], "引用:")) quote_at = i;
    }
    std::string& text = m->text;
    for (std::size_t i = 0; i < quote_at; ++i) {
      if (i) text += '\n';
      text += content[i];
    }
    if (quote_at < n) {
      std::string quoted = content[quote_at].substr(std::string_view("引用:").size());
      for (std::size_t i = quote_at + 1; i < n; ++i) quoted += "\n" + content[i];
      const std::size_t colon = quoted.find(':');
      m->kind = MessageKind::kQuote;
      if (colon != std::string::npos) {
        m->quoted_name = quoted.substr(0, colon);
        m->quoted_text = quoted.substr(colon + 1);
      } else {
        m->quoted_text = quoted;
      }
    }
    ClassifyText(*m);
    return true;
  }

 private:
  static bool IsHeader(const std::string& line) {
    return LooksLikeTime(line) && line[10] == ' ' && (line.size() == 19 || line[19] == ' ');
  }
  LineSource lines_;
  ReaderOptions options_;
  std::string line_;                  // the header line being read
  std::vector<std::string> content_;  // a message's lines (only the first ones count: see ReadNext)
  std::int64_t last_time_ms_ = 0;  // of the last header, for bare notices
  std::string last_local_time_;
};

// ---- WechatExporter TXT (docs/channels.md §3.4)

constexpr std::string_view kExporterTitle = " - 微信聊天记录";

class WechatExporterTxtReader final : public ChatReader {
 public:
  WechatExporterTxtReader(std::istream& in, ReaderOptions options)
      : lines_(in, options.max_message_bytes), options_(options) {}
  ChatFormat format() const override { return ChatFormat::kWechatExporterTxt; }
  std::string file_group_name() const override { return group_; }

  bool Next(ChatMessage* m, std::vector<ReaderIssue>* issues) override {
    const bool got = ReadNext(m, issues);
    lines_.TakeCutLines(issues);
    return got;
  }

 private:
  bool ReadNext(ChatMessage* m, std::vector<ReaderIssue>* issues) {
    std::string line;
    std::string name, time, first;
    for (;;) {
      if (!lines_.Next(&line)) return false;
      if (lines_.line() == 1 && line.size() > kExporterTitle.size() &&
          line.compare(line.size() - kExporterTitle.size(), kExporterTitle.size(), kExporterTitle) == 0) {
        group_ = line.substr(0, line.size() - kExporterTitle.size());
        continue;
      }
      if (SplitHeader(line, &name, &time, &first)) break;
      if (IsNoticeLine(line)) {
        BareNotice(lines_.line(), line, last_time_ms_, last_local_time_, m);
        m->group_name = group_;
        return true;
      }
      if (!TrimView(line).empty()) {
        issues->push_back({lines_.line(),
                           "not part of a message (expected \"NAME (YYYY-MM-DD HH:MM:SS):text\")",
                           Cut(line)});
      }
    }
    Reset(m);
    m->line = lines_.line();
    m->group_name = group_;
    m->sender_name = name;
    m->local_time = time;
    auto t = ParseLocalTime(time, options_.utc_offset_minutes);
    if (t.ok()) m->time_ms = t.value();
    last_time_ms_ = m->time_ms;
    last_local_time_ = m->local_time;
    std::vector<std::string> content{first};
    std::size_t bytes = first.size();
    bool cut = false;
    for (;;) {
      const std::string* next = lines_.Peek();
      if (next == nullptr) break;
      std::string n1, t1, f1;
      if (SplitHeader(*next, &n1, &t1, &f1)) break;
      if (IsNoticeLine(*next)) break;  // a notice written without a header (issue 16)
      std::string l;
      lines_.Next(&l);
      bytes += l.size() + 1;
      if (bytes > options_.max_message_bytes) {
        cut = true;
        continue;
      }
      content.push_back(std::move(l));
    }
    if (cut) issues->push_back({m->line, "message longer than the limit: cut", ""});
    while (content.size() > 1 && TrimView(content.back()).empty()) content.pop_back();
    // A quote: "「name：quoted」", a line of "- - - -", then the reply.
    std::size_t separator = content.size();
    if (StartsWith(TrimView(content[0]), "「")) {
      for (std::size_t i = 0; i < content.size(); ++i) {
        const std::string_view l = TrimView(content[i]);
        if (l.size() >= 9 && l.find_first_not_of("- ") == std::string_view::npos) {
          separator = i;
          break;
        }
      }
    }
    std::string text;
    if (separator < content.size()) {
      std::string quoted;
      for (std::size_t i = 0; i < separator; ++i) quoted += (i ? "\n" : "") + content[i];
      std::string_view q = TrimView(quoted);
      if (StartsWith(q, "「")) q.remove_prefix(std::string_view("「").size());
      if (q.size() >= 3 && q.substr(q.size() - 3) == "」") q.remove_suffix(3);
      const std::size_t colon = q.find("：");
      if (colon != std::string_view::npos) {
        m->quoted_name = std::string(q.substr(0, colon));
        m->quoted_text = std::string(q.substr(colon + std::string_view("：").size()));
      } else {
        m->quoted_text = std::string(q);
      }
      m->kind = MessageKind::kQuote;
      for (std::size_t i = separator + 1; i < content.size(); ++i)
        text += (text.empty() ? "" : "\n") + content[i];
    } else {
      for (std::size_t i = 0; i < content.size(); ++i) text += (i ? "\n" : "") + content[i];
    }
    m->text = std::move(text);
    if (IsRecallNotice(m->text) && m->text.find('\n') == std::string::npos) m->kind = MessageKind::kRecall;
    ClassifyText(*m);
    return true;
  }

 private:
  // "NAME (YYYY-MM-DD HH:MM:SS):text"; the name may itself contain " (".
  static bool SplitHeader(const std::string& line, std::string* name, std::string* time, std::string* first) {
    std::size_t from = 0;
    for (;;) {
      const std::size_t at = line.find(" (", from);
      if (at == std::string::npos || at == 0) return false;
      const std::string_view rest = std::string_view(line).substr(at + 2);
      if (rest.size() >= 21 && LooksLikeTime(rest) && rest[19] == ')' && rest[20] == ':') {
        *name = line.substr(0, at);
        *time = std::string(rest.substr(0, 19));
        *first = std::string(rest.substr(21));
        return true;
      }
      from = at + 1;
    }
  }
  LineSource lines_;
  ReaderOptions options_;
  std::string group_;
  std::int64_t last_time_ms_ = 0;  // of the last header, for bare notices
  std::string last_local_time_;
};

// ---- CSV formats (docs/channels.md §3.2, §3.3, §3.5)

std::string LowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

class CsvChatReader : public ChatReader {
 public:
  CsvChatReader(std::istream& in, ReaderOptions options) : csv_(in, CsvOptions(options)), options_(options) {}
  bool truncated() const override { return truncated_; }

  bool Next(ChatMessage* m, std::vector<ReaderIssue>* issues) override {
    std::vector<std::string>& fields = fields_;  // kept: its buffers serve the next record
    for (;;) {
      Status error;
      if (!csv_.Next(fields, &error)) return false;
      if (!error.ok()) {
        if (error.message().find("unterminated") != std::string::npos) last_error_unterminated_ = true;
        issues->push_back({csv_.line(), error.message(), Cut(csv_.raw())});
        continue;
      }
      last_error_unterminated_ = false;
      if (fields.empty() || (fields.size() == 1 && TrimView(fields[0]).empty())) continue;
      if (columns_.empty()) {
        for (std::size_t i = 0; i < fields.size(); ++i)
          columns_[LowerAscii(std::string(TrimView(fields[i])))] = i;
        continue;
      }
      if (fields.size() < columns_.size()) {
        issues->push_back({csv_.line(),
                           "has " + std::to_string(fields.size()) + " fields, the header has " +
                               std::to_string(columns_.size()),
                           Cut(csv_.raw())});
        continue;
      }
      Reset(m);
      m->line = csv_.line();
      std::string problem;
      if (!Convert(fields, m, &problem)) {
        issues->push_back({csv_.line(), problem, Cut(csv_.raw())});
        continue;
      }
      return true;
    }
  }

  // Called at the end: an unterminated quote on the last record means the file was cut.
  void NoteEnd() { truncated_ = last_error_unterminated_; }

 protected:
  const std::string& Field(const std::vector<std::string>& fields, const char* name) const {
    static const std::string kEmpty;
    auto it = columns_.find(name);
    return it == columns_.end() || it->second >= fields.size() ? kEmpty : fields[it->second];
  }
  bool Time(const std::string& text, ChatMessage* m, std::string* problem) const {
    m->local_time = text;
    auto t = ParseLocalTime(TrimView(text), options_.utc_offset_minutes);
    if (!t.ok()) {
      *problem = "bad time \"" + Cut(text, 40) + "\"";
      return false;
    }
    m->time_ms = t.value();
    return true;
  }
  virtual bool Convert(const std::vector<std::string>& fields, ChatMessage* m, std::string* problem) = 0;

 private:
  static CsvReader::Options CsvOptions(const ReaderOptions& o) {
    CsvReader::Options c;
    c.max_record_bytes = o.max_message_bytes;
    return c;
  }
  CsvReader csv_;
  std::vector<std::string> fields_;
  // By lower-case name; std::less<> finds a name given as const char* without making a std::string
  // of it on every field of every record (callgrind, wechat_import_bench).
  std::map<std::string, std::size_t, std::less<>> columns_;
  bool last_error_unterminated_ = false;
  bool truncated_ = false;

 protected:
  ReaderOptions options_;
};

// Reads a 57 (quote) app message's XML: <title> is the reply, <refermsg> the quoted message.
void ReadQuoteXml(ChatMessage* m, const std::string& xml) {
  m->kind = MessageKind::kQuote;
  m->text = XmlTagText(xml, "title");
  const std::string refer = XmlTagText(xml, "refermsg");
  m->quoted_name = XmlTagText(refer.empty() ? xml : refer, "displayname");
  m->quoted_text = XmlTagText(refer.empty() ? xml : refer, "content");
  m->quoted_wxid = XmlTagText(refer.empty() ? xml : refer, "chatusr");
}

// Reads a 53 (接龙) app message's XML: <title> holds the list, solitaire_info the participants.
void ReadSolitaireXml(ChatMessage* m, const std::string& xml) {
  m->kind = MessageKind::kSolitaire;
  m->text = XmlTagText(xml, "title");
  std::string info = XmlTagText(xml, "solitaire_info");
  if (info.empty()) return;
  m->solitaire_creator = XmlTagText(info, "au");
  std::size_t at = 0;
  for (;;) {
    const std::size_t open = info.find("<i>", at);
    if (open == std::string::npos) break;
    const std::size_t close = info.find("</i>", open);
    if (close == std::string::npos) break;
    const std::string item = info.substr(open + 3, close - open - 3);
    SolitaireEntryInfo entry;
    entry.wxid = XmlTagText(item, "u");
    const std::string t = XmlTagText(item, "t");
    if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos && t.size() < 14) {
      entry.time_ms = std::stoll(t) * (t.size() > 11 ? 1 : 1000);
    }
    m->solitaire.push_back(std::move(entry));
    at = close + 4;
  }
}

class WeChatMsgCsvReader final : public CsvChatReader {
 public:
  using CsvChatReader::CsvChatReader;
  ChatFormat format() const override { return ChatFormat::kWeChatMsgCsv; }

 protected:
  bool Convert(const std::vector<std::string>& f, ChatMessage* m, std::string* problem) override {
    const std::string& type_text = Field(f, "type");
    int type = 0, sub = 0;
    try {
      type = std::stoi(type_text);
      const std::string& s = Field(f, "subtype");
      sub = s.empty() ? 0 : std::stoi(s);
    } catch (const std::exception&) {
      *problem = "Type \"" + Cut(type_text, 20) + "\" is not a number";
      return false;
    }
    const std::string& epoch = Field(f, "createtime");
    if (!epoch.empty() && epoch.find_first_not_of("0123456789") == std::string::npos && epoch.size() < 14) {
      m->time_ms = std::stoll(epoch) * 1000;
      m->local_time = Field(f, "strtime");
    } else if (!Time(Field(f, "strtime"), m, problem)) {
      return false;
    }
    m->room_id.assign(TrimView(Field(f, "talkerid")));
    m->from_self = TrimView(Field(f, "issender")) == "1";
    m->sender_wxid.assign(TrimView(Field(f, "sender")));
    const std::string& remark = Field(f, "remark");
    m->sender_name.assign(TrimView(remark.empty() ? Field(f, "nickname") : remark));
    const std::string& content = Field(f, "strcontent");
    switch (type) {
      case 1:
        m->kind = MessageKind::kText;
        m->text = content;
        ClassifyText(*m);
        break;
      case 3:
      case 34:
      case 43:
      case 47:
        m->kind = MessageKind::kMedia;
        m->text = content;
        break;
      case 49:
        if (sub == 53) {
          ReadSolitaireXml(m, content);
        } else if (sub == 57) {
          if (!content.empty() && content.front() == '<') {
            ReadQuoteXml(m, content);
          } else {
            m->kind = MessageKind::kQuote;
            m->text = content;
          }
        } else {
          m->kind = MessageKind::kOther;
          m->text = content;
        }
        break;
      case 10000:
        m->kind = NoticeKind(content);
        m->text = content;
        break;
      case 10002:
        m->kind = MessageKind::kRecall;
        m->text = content;
        break;
      default:
        m->kind = MessageKind::kOther;
        m->text = content;
    }
    return true;
  }
};

class PyWxDumpCsvReader final : public CsvChatReader {
 public:
  using CsvChatReader::CsvChatReader;
  ChatFormat format() const override { return ChatFormat::kPyWxDumpCsv; }

 protected:
  bool Convert(const std::vector<std::string>& f, ChatMessage* m, std::string* problem) override {
    if (!Time(Field(f, "createtime"), m, problem)) return false;
    m->server_id.assign(TrimView(Field(f, "msgsvrid")));
    m->sender_wxid.assign(TrimView(Field(f, "talker")));
    m->sender_name = m->sender_wxid;  // PyWxDump keeps no display name
    m->room_id.assign(TrimView(Field(f, "room_name")));
    m->from_self = TrimView(Field(f, "is_sender")) == "1";
    const std::string type(TrimView(Field(f, "type_name")));
    const std::string& msg = Field(f, "msg");
    m->text = msg;
    if (type == "文本") {
      m->kind = MessageKind::kText;
      ClassifyText(*m);
    } else if (type == "引用回复") {
      if (!msg.empty() && msg.front() == '<') {
        ReadQuoteXml(m, msg);
      } else {
        m->kind = MessageKind::kQuote;
      }
    } else if (type == "接龙") {
      m->kind = MessageKind::kSolitaire;
      if (TrimView(msg) == "接龙") m->text.clear();  // PyWxDump keeps only the word
    } else if (type == "系统通知" || type == "系统消息") {
      m->kind = NoticeKind(msg);
    } else if (type.find("撤回") != std::string::npos) {
      m->kind = MessageKind::kRecall;
    } else if (type == "图片" || type == "语音" || type == "视频" || type == "动画表情" || type == "文件" ||
               type == "表情包" || type == "语音通话" || type == "视频通话") {
      m->kind = MessageKind::kMedia;
    } else {
      m->kind = MessageKind::kOther;
    }
    return true;
  }
};

class ChatlogCsvReader final : public CsvChatReader {
 public:
  using CsvChatReader::CsvChatReader;
  ChatFormat format() const override { return ChatFormat::kChatlogCsv; }

 protected:
  bool Convert(const std::vector<std::string>& f, ChatMessage* m, std::string* problem) override {
    if (!Time(Field(f, "time"), m, problem)) return false;
    m->sender_name.assign(TrimView(Field(f, "sendername")));
    m->sender_wxid.assign(TrimView(Field(f, "sender")));
    m->group_name.assign(TrimView(Field(f, "talkername")));
    m->room_id.assign(TrimView(Field(f, "talker")));
    m->text = Field(f, "content");
    if (m->sender_wxid.empty() && m->sender_name.empty()) {
      m->kind = NoticeKind(m->text);
    } else if ((IsRecallNotice(m->text) && m->text.size() < 80) || IsNoticeLine(m->text)) {
      // WeChat 4.x keeps the member who caused a notice (a pat, an invitation) as its sender.
      m->kind = NoticeKind(m->text);
    } else {
      m->kind = MessageKind::kText;
      ClassifyText(*m);
    }
    return true;
  }
};

// A reader wrapper that records truncation once the CSV reader is exhausted.
class CsvEndNotifier final : public ChatReader {
 public:
  explicit CsvEndNotifier(std::unique_ptr<CsvChatReader> inner) : inner_(std::move(inner)) {}
  bool Next(ChatMessage* m, std::vector<ReaderIssue>* issues) override {
    if (inner_->Next(m, issues)) return true;
    inner_->NoteEnd();
    return false;
  }
  ChatFormat format() const override { return inner_->format(); }
  bool truncated() const override { return inner_->truncated(); }

 private:
  std::unique_ptr<CsvChatReader> inner_;
};

bool HasColumns(std::string_view header, std::initializer_list<std::string_view> names) {
  std::string lower = LowerAscii(std::string(header));
  std::vector<std::string> cols;
  std::string cur;
  for (char c : lower + ",") {
    if (c == ',') {
      std::string_view t = TrimView(cur);
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
      cols.emplace_back(t);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  for (std::string_view n : names) {
    if (std::find(cols.begin(), cols.end(), n) == cols.end()) return false;
  }
  return true;
}

}  // namespace

std::string_view ChatFormatName(ChatFormat format) {
  switch (format) {
    case ChatFormat::kWeChatMsgTxt:
      return "wechatmsg-txt";
    case ChatFormat::kWeChatMsgCsv:
      return "wechatmsg-csv";
    case ChatFormat::kPyWxDumpCsv:
      return "pywxdump-csv";
    case ChatFormat::kWechatExporterTxt:
      return "wechatexporter-txt";
    case ChatFormat::kChatlogCsv:
      return "chatlog-csv";
  }
  return "?";
}

std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kText:
      return "text";
    case MessageKind::kQuote:
      return "quote";
    case MessageKind::kSolitaire:
      return "solitaire";
    case MessageKind::kSystem:
      return "system";
    case MessageKind::kRecall:
      return "recall";
    case MessageKind::kMedia:
      return "media";
    case MessageKind::kOther:
      return "other";
  }
  return "?";
}

Result<ChatFormat> DetectFormat(std::string_view head) {
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  // The first non-blank line.
  std::string_view first;
  while (!head.empty()) {
    const std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!TrimView(line).empty()) {
      first = line;
      break;
    }
  }
  if (first.empty()) return Status::InvalidInput("no text in the file");
  if (HasColumns(first, {"localid", "talkerid", "type", "subtype", "strcontent"}))
    return ChatFormat::kWeChatMsgCsv;
  if (HasColumns(first, {"msgsvrid", "type_name", "talker", "msg", "createtime"}))
    return ChatFormat::kPyWxDumpCsv;
  if (HasColumns(first, {"time", "sendername", "sender", "talker", "content"}))
    return ChatFormat::kChatlogCsv;
  if (first.size() > kExporterTitle.size() &&
      first.substr(first.size() - kExporterTitle.size()) == kExporterTitle) {
    return ChatFormat::kWechatExporterTxt;
  }
  if (LooksLikeTime(first) && first[10] == ' ' && (first.size() == 19 || first[19] == ' ')) {
    return ChatFormat::kWeChatMsgTxt;
  }
  return Status::InvalidInput(
      "not a recognized chat export (WeChatMsg TXT/CSV, PyWxDump CSV, WechatExporter TXT, "
      "chatlog CSV); first line: \"" +
      Cut(first, 80) + "\"");
}

std::unique_ptr<ChatReader> MakeReader(ChatFormat format, std::istream& text, const ReaderOptions& options) {
  switch (format) {
    case ChatFormat::kWeChatMsgTxt:
      return std::make_unique<WeChatMsgTxtReader>(text, options);
    case ChatFormat::kWechatExporterTxt:
      return std::make_unique<WechatExporterTxtReader>(text, options);
    case ChatFormat::kWeChatMsgCsv:
      return std::make_unique<CsvEndNotifier>(std::make_unique<WeChatMsgCsvReader>(text, options));
    case ChatFormat::kPyWxDumpCsv:
      return std::make_unique<CsvEndNotifier>(std::make_unique<PyWxDumpCsvReader>(text, options));
    case ChatFormat::kChatlogCsv:
      return std::make_unique<CsvEndNotifier>(std::make_unique<ChatlogCsvReader>(text, options));
  }
  return nullptr;
}

Result<std::int64_t> ParseLocalTime(std::string_view text, int utc_offset_minutes) {
  text = TrimView(text);
  if (text.size() == 19 && LooksLikeTime(text)) {
    const int y = Num(text, 0, 4), mo = Num(text, 5, 2), d = Num(text, 8, 2);
    const int h = Num(text, 11, 2), mi = Num(text, 14, 2), s = Num(text, 17, 2);
    static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    if (y < 1990 || y > 2100 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60 ||
        d > kDaysIn[mo - 1] + (mo == 2 && leap ? 1 : 0)) {  // "2024-02-30" would become 1 March
      return Status::InvalidInput("not a valid time: " + std::string(text));
    }
    const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    const std::int64_t secs =
        days * 86400 + h * 3600 + mi * 60 + s - static_cast<std::int64_t>(utc_offset_minutes) * 60;
    return secs * 1000;
  }
  return ParseTimestamp(text, utc_offset_minutes);
}

bool IsMediaPlaceholder(std::string_view text) {
  static const std::array<std::string_view, 16> kPlaceholders = {
      "[图片]", "[语音]",       "[视频]",   "[表情包]", "[动画表情]", "[文件]",     "[位置]", "[名片]",
      "[链接]", "[音视频通话]", "[视频号]", "[小程序]", "[语音通话]", "[视频通话]", "[表情]", "[分享]"};
  text = TrimView(text);
  if (std::find(kPlaceholders.begin(), kPlaceholders.end(), text) != kPlaceholders.end()) return true;
  // "[文件] name.pdf", "[链接] title": a placeholder followed by a caption.
  for (std::string_view p : kPlaceholders) {
    if (StartsWith(text, p) && (p == "[文件]" || p == "[链接]" || p == "[分享]" || p == "[小程序]"))
      return true;
  }
  return false;
}

bool IsRecallNotice(std::string_view text) { return text.find("撤回了一条消息") != std::string_view::npos; }

bool IsNoticeLine(std::string_view line) {
  line = TrimView(line);
  // The shortest notice ("你撤回了一条消息") is 24 bytes. Every test below looks at the line's ends
  // first, so that an ordinary line costs a few comparisons, not a scan per wording: this runs on
  // every continuation line of the TXT exports.
  if (line.size() < 12 || line.size() > 400) return false;
  const auto ends = [line](std::string_view s) {
    return line.size() >= s.size() && line.substr(line.size() - s.size()) == s;
  };
  const auto has = [line](std::string_view s) { return line.find(s) != std::string_view::npos; };
  const auto begins = [line](std::string_view s) { return StartsWith(line, s); };
  if (ends("撤回了一条消息") || ends("撤回了一条消息 重新编辑") || ends("撤回了一条消息重新编辑")) {
    return line.find('\n') == std::string_view::npos;
  }
  if (ends("的红包") || ends("红包已被领完")) return has("领取了") || has("已被领完");
  const bool opens_with_name = begins("\"") || begins("“");
  const bool by_you = begins("你") || begins("我");
  if (!opens_with_name && !by_you) return false;
  if (line.find('\n') != std::string_view::npos) return false;
  if (has("拍了拍")) return opens_with_name || begins("我拍了拍") || begins("你拍了拍");
  const bool quotes_a_name = has("\"") || has("“");
  if (!quotes_a_name) return false;
  return ((ends("加入了群聊") || ends("加入群聊")) && (has("邀请") || has("二维码"))) || ends("移出了群聊") ||
         ends("成为新群主") || has("修改群名为");
}

std::string XmlTagText(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag);
  std::size_t at = 0;
  std::size_t start = std::string_view::npos;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    const std::size_t after = at + open.size();
    if (after < xml.size() && (xml[after] == '>' || xml[after] == ' ')) {
      const std::size_t gt = xml.find('>', after);
      if (gt == std::string_view::npos) return std::string();
      if (xml[gt - 1] == '/') return std::string();  // <tag/>
      start = gt + 1;
      break;
    }
    at = after;
  }
  if (start == std::string_view::npos) return std::string();
  const std::string close = "</" + std::string(tag) + ">";
  const std::size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return std::string();
  std::string_view inner = xml.substr(start, end - start);
  std::string out;
  out.reserve(inner.size());
  for (std::size_t i = 0; i < inner.size();) {
    if (inner.substr(i, 9) == "<![CDATA[") {
      const std::size_t e = inner.find("]]>", i + 9);
      const std::size_t stop = e == std::string_view::npos ? inner.size() : e;
      out.append(inner.substr(i + 9, stop - i - 9));
      i = e == std::string_view::npos ? inner.size() : e + 3;
    } else if (inner[i] == '&') {
      const std::size_t semi = inner.find(';', i);
      const std::string_view entity =
          semi == std::string_view::npos ? std::string_view() : inner.substr(i + 1, semi - i - 1);
      std::uint32_t cp = 0;
      if (entity == "lt")
        cp = '<';
      else if (entity == "gt")
        cp = '>';
      else if (entity == "amp")
        cp = '&';
      else if (entity == "quot")
        cp = '"';
      else if (entity == "apos")
        cp = '\'';
      else if (entity.size() > 1 && entity[0] == '#') {
        const bool hex = entity[1] == 'x' || entity[1] == 'X';
        try {
          cp = static_cast<std::uint32_t>(
              std::stoul(std::string(entity.substr(hex ? 2 : 1)), nullptr, hex ? 16 : 10));
        } catch (const std::exception&) {
          cp = 0;
        }
      }
      if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        out.push_back('&');
        ++i;
        continue;
      }
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      i = semi + 1;
    } else {
      out.push_back(inner[i]);
      ++i;
    }
  }
  return out;
}

}  // namespace minyi::collector::wechat
