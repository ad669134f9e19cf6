// The PyWxDump CSV reader (docs/channels.md §3.3).

#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "collector/wechat/chat_reader_csv.h"

namespace minyi::collector::wechat::chat_detail {
namespace {

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

}  // namespace

// MakeReader's reader of ChatFormat::kPyWxDumpCsv (wrapped in a CsvEndNotifier there).
std::unique_ptr<CsvChatReader> MakePyWxDumpCsvReader(std::istream& text, const ReaderOptions& options) {
  return std::make_unique<PyWxDumpCsvReader>(text, options);
}

}  // namespace minyi::collector::wechat::chat_detail
