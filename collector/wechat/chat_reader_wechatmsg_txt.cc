// The WeChatMsg / MemoTrace TXT reader (docs/channels.md §3.1).

#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "collector/wechat/chat_reader_internal.h"

namespace minyi::collector::wechat::chat_detail {
namespace {

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
  std::int64_t last_time_ms_ = 0;     // of the last header, for bare notices
  std::string last_local_time_;
};

}  // namespace

// MakeReader's reader of ChatFormat::kWeChatMsgTxt.
std::unique_ptr<ChatReader> MakeWeChatMsgTxtReader(std::istream& text, const ReaderOptions& options) {
  return std::make_unique<WeChatMsgTxtReader>(text, options);
}

}  // namespace minyi::collector::wechat::chat_detail
