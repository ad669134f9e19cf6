// The WechatExporter TXT reader (iOS; docs/channels.md §3.4).

#include <istream>
#include <memory>
#include <string>
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

}  // namespace

// MakeReader's reader of ChatFormat::kWechatExporterTxt: the group name comes from the title line.
std::unique_ptr<ChatReader> MakeWechatExporterTxtReader(std::istream& text, const ReaderOptions& options) {
  return std::make_unique<WechatExporterTxtReader>(text, options);
}

}  // namespace minyi::collector::wechat::chat_detail
