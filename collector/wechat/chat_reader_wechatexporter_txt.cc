// The WechatExporter TXT reader (iOS; docs/channels.md §3.4).

#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collector/wechat/chat_reader_internal.h"

namespace minyi::collector::wechat::chat_detail {
namespace {

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
  // The message's lines are kept in content_[0, n) and the header line in line_, whose buffers are
  // reused for the next message; the header's parts are views of line_. Allocating every line, part and
  // join per message made this layout's reader twice as costly as the others' (callgrind,
  // wechat_import_bench: 70 % of the import, most of it malloc/free and string copies).
  bool ReadNext(ChatMessage* m, std::vector<ReaderIssue>* issues) {
    std::string& line = line_;
    Header h;
    for (;;) {
      if (!lines_.Next(&line)) return false;
      if (lines_.line() == 1 && line.size() > kExporterTitle.size() &&
          line.compare(line.size() - kExporterTitle.size(), kExporterTitle.size(), kExporterTitle) == 0) {
        group_ = line.substr(0, line.size() - kExporterTitle.size());
        continue;
      }
      if (SplitHeader(line, &h)) break;
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
    m->sender_name.assign(h.name);
    m->local_time.assign(h.time);
    auto t = ParseLocalTime(h.time, options_.utc_offset_minutes);
    if (t.ok()) m->time_ms = t.value();
    last_time_ms_ = m->time_ms;
    last_local_time_ = m->local_time;
    std::vector<std::string>& content = content_;
    if (content.empty()) content.emplace_back();
    content[0].assign(h.first);
    std::size_t n = 1;
    std::size_t bytes = h.first.size();
    bool cut = false;
    for (;;) {
      const std::string* next = lines_.Peek();
      if (next == nullptr) break;
      Header next_header;
      if (SplitHeader(*next, &next_header)) break;
      if (IsNoticeLine(*next)) break;  // a notice written without a header (issue 16)
      if (n == content.size()) content.emplace_back();
      std::string& l = content[n];
      lines_.Next(&l);
      bytes += l.size() + 1;
      if (bytes > options_.max_message_bytes) {
        cut = true;
        continue;
      }
      ++n;
    }
    if (cut) issues->push_back({m->line, "message longer than the limit: cut", ""});
    while (n > 1 && TrimView(content[n - 1]).empty()) --n;
    // A quote: "「name：quoted」", a line of "- - - -", then the reply.
    std::size_t separator = n;
    if (StartsWith(TrimView(content[0]), "「")) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::string_view l = TrimView(content[i]);
        if (l.size() >= 9 && l.find_first_not_of("- ") == std::string_view::npos) {
          separator = i;
          break;
        }
      }
    }
    std::string& text = m->text;
    if (separator < n) {
      std::string& quoted = quoted_;
      quoted.clear();
      for (std::size_t i = 0; i < separator; ++i) {
        if (i) quoted += '\n';
        quoted += content[i];
      }
      std::string_view q = TrimView(quoted);
      if (StartsWith(q, "「")) q.remove_prefix(std::string_view("「").size());
      if (q.size() >= 3 && q.substr(q.size() - 3) == "」") q.remove_suffix(3);
      const std::size_t colon = q.find("：");
      if (colon != std::string_view::npos) {
        m->quoted_name.assign(q.substr(0, colon));
        m->quoted_text.assign(q.substr(colon + std::string_view("：").size()));
      } else {
        m->quoted_text.assign(q);
      }
      m->kind = MessageKind::kQuote;
      for (std::size_t i = separator + 1; i < n; ++i) {
        if (!text.empty()) text += '\n';  // (lines before the first non-empty one are dropped)
        text += content[i];
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        if (i) text += '\n';
        text += content[i];
      }
    }
    if (IsRecallNotice(m->text) && m->text.find('\n') == std::string::npos) m->kind = MessageKind::kRecall;
    ClassifyText(*m);
    return true;
  }

 private:
  // A header's parts, views of its line.
  struct Header {
    std::string_view name, time, first;
  };
  // "NAME (YYYY-MM-DD HH:MM:SS):text"; the name may itself contain " (".
  static bool SplitHeader(std::string_view line, Header* h) {
    std::size_t from = 0;
    for (;;) {
      const std::size_t at = line.find(" (", from);
      if (at == std::string_view::npos || at == 0) return false;
      const std::string_view rest = line.substr(at + 2);
      if (rest.size() >= 21 && LooksLikeTime(rest) && rest[19] == ')' && rest[20] == ':') {
        h->name = line.substr(0, at);
        h->time = rest.substr(0, 19);
        h->first = rest.substr(21);
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
  std::string line_;                  // the header line being read
  std::vector<std::string> content_;  // a message's lines (only the first ones count: see ReadNext)
  std::string quoted_;                // a quote's quoted lines, joined
};

}  // namespace

// MakeReader's reader of ChatFormat::kWechatExporterTxt: the group name comes from the title line.
std::unique_ptr<ChatReader> MakeWechatExporterTxtReader(std::istream& text, const ReaderOptions& options) {
  return std::make_unique<WechatExporterTxtReader>(text, options);
}

}  // namespace minyi::collector::wechat::chat_detail
