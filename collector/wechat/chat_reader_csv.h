// Internals of the three CSV chat readers (chat_reader_wechatmsg_csv.cc, chat_reader_pywxdump_csv.cc,
// chat_reader_chatlog_csv.cc; docs/channels.md §3.2, §3.3, §3.5): the record loop with its column map,
// the end-of-input truncation check and the quote app message's XML. Not part of the readers' API;
// include it only from collector/wechat/chat_reader*.cc.
#pragma once

#include <exception>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/wechat/chat_reader_internal.h"
#include "core/csv.h"

namespace minyi::collector::wechat::chat_detail {

inline std::string LowerAscii(std::string s) {
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
inline void ReadQuoteXml(ChatMessage* m, const std::string& xml) {
  m->kind = MessageKind::kQuote;
  m->text = XmlTagText(xml, "title");
  const std::string refer = XmlTagText(xml, "refermsg");
  m->quoted_name = XmlTagText(refer.empty() ? xml : refer, "displayname");
  m->quoted_text = XmlTagText(refer.empty() ? xml : refer, "content");
  m->quoted_wxid = XmlTagText(refer.empty() ? xml : refer, "chatusr");
}

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

// The CSV readers; MakeReader wraps each in a CsvEndNotifier.
std::unique_ptr<CsvChatReader> MakeWeChatMsgCsvReader(std::istream& text, const ReaderOptions& options);
std::unique_ptr<CsvChatReader> MakePyWxDumpCsvReader(std::istream& text, const ReaderOptions& options);
std::unique_ptr<CsvChatReader> MakeChatlogCsvReader(std::istream& text, const ReaderOptions& options);

}  // namespace minyi::collector::wechat::chat_detail
