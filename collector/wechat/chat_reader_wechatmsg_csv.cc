// The WeChatMsg CSV reader (docs/channels.md §3.2).

#include <exception>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "collector/wechat/chat_reader_csv.h"

namespace minyi::collector::wechat::chat_detail {
namespace {

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

}  // namespace

// MakeReader's reader of ChatFormat::kWeChatMsgCsv (wrapped in a CsvEndNotifier there).
std::unique_ptr<CsvChatReader> MakeWeChatMsgCsvReader(std::istream& text, const ReaderOptions& options) {
  return std::make_unique<WeChatMsgCsvReader>(text, options);
}

}  // namespace minyi::collector::wechat::chat_detail
