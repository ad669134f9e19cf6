// Internals of the chat readers shared by their translation units (chat_reader.cc, which detects the
// format and dispatches, and one chat_reader_<layout>.cc per exporter layout): text and time helpers,
// the reset of a message, bounded line reading. Not part of the readers' API; include it only from
// collector/wechat/chat_reader*.cc and wechat_import_internal.h (the importer trims and cuts text
// alike). The helpers are inline: they run per message or per line, and were inlined when they
// lived in one file (callgrind, wechat_import_bench).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <istream>
#include <memory>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "collector/wechat/chat_reader.h"

namespace minyi::collector::wechat::chat_detail {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

inline std::string_view TrimView(std::string_view s) {
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
inline bool LooksLikeTime(std::string_view s) {
  if (s.size() < 19) return false;
  static constexpr std::array<int, 14> kDigits = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
  for (int i : kDigits) {
    if (!IsDigit(s[static_cast<std::size_t>(i)])) return false;
  }
  return (s[4] == '-' || s[4] == '/') && s[7] == s[4] && (s[10] == ' ' || s[10] == 'T') && s[13] == ':' &&
         s[16] == ':';
}

inline void StripCr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

// Classifies an ordinary text message by its content.
inline void ClassifyText(ChatMessage& m) {
  if (m.kind != MessageKind::kText) return;
  const std::string_view t = TrimView(m.text);
  if (IsMediaPlaceholder(t)) {
    m.kind = MessageKind::kMedia;
  } else if (t.find("#接龙") != std::string_view::npos) {
    m.kind = MessageKind::kSolitaire;
  }
}

// A notice's kind by its text.
inline MessageKind NoticeKind(std::string_view text) {
  return IsRecallNotice(text) ? MessageKind::kRecall : MessageKind::kSystem;
}

// *m = ChatMessage(), keeping the strings' buffers for the next message (a reader fills one message
// at a time; allocating every field again was a tenth of a chatty import's instructions, callgrind,
// wechat_import_bench). Every field of ChatMessage must be reset here.
inline void Reset(ChatMessage* m) {
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
inline void BareNotice(std::size_t line_no, std::string_view line, std::int64_t time_ms,
                       const std::string& local_time, ChatMessage* m) {
  Reset(m);
  m->line = line_no;
  m->time_ms = time_ms;
  m->local_time = local_time;
  m->text.assign(TrimView(line));
  m->kind = NoticeKind(m->text);
}

inline std::string Cut(std::string_view s, std::size_t max = 200) {
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
inline bool GetBoundedLine(std::istream& in, std::string* line, std::size_t max, bool* cut) {
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

// The title line WechatExporter writes first: "<group> - 微信聊天记录".
inline constexpr std::string_view kExporterTitle = " - 微信聊天记录";

// One reader per exporter layout (chat_reader_<layout>.cc); MakeReader (chat_reader.cc) dispatches.
std::unique_ptr<ChatReader> MakeWeChatMsgTxtReader(std::istream& text, const ReaderOptions& options);
std::unique_ptr<ChatReader> MakeWechatExporterTxtReader(std::istream& text, const ReaderOptions& options);

}  // namespace minyi::collector::wechat::chat_detail
