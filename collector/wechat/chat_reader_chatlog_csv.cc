// The chatlog CSV reader (WeChat 4.x; docs/channels.md §3.5).

#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "collector/wechat/chat_reader_csv.h"

namespace minyi::collector::wechat::chat_detail {
namespace {

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

}  // namespace

// MakeReader's reader of ChatFormat::kChatlogCsv (wrapped in a CsvEndNotifier there).
std::unique_ptr<CsvChatReader> MakeChatlogCsvReader(std::istream& text, const ReaderOptions& options) {
  return std::make_unique<ChatlogCsvReader>(text, options);
}

}  // namespace minyi::collector::wechat::chat_detail
