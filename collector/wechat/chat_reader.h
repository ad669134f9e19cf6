// Chat exports of community WeChat groups (docs/channels.md §3): the format is recognized from the
// content (never the file name), and each format has a streaming reader that turns the decoded UTF-8
// text into ChatMessage records, one at a time, with bounded memory.
//
//   WeChatMsg / MemoTrace TXT   "2024-05-12 09:01:33 张阿姨" header, raw content, blank line
//   WeChatMsg CSV               localId,TalkerId,Type,SubType,IsSender,CreateTime,...,StrContent,... (BOM)
//   PyWxDump CSV                id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime
//   WechatExporter TXT (iOS)    "<group> - 微信聊天记录", then "NAME (YYYY-MM-DD HH:MM:SS):message"
//   chatlog CSV (WeChat 4.x)    Time,SenderName,Sender,TalkerName,Talker,Content
//
// In the TXT formats a notice written as a bare line, without a sender header (IsNoticeLine), ends the
// message above it and is returned as a notice of its own, timed like that message (issue 16).
//
// Readers never stop at a bad record: a line that cannot be read is returned as a ReaderIssue (line
// and reason) and reading continues with the next record. Times in exports are local time of the
// exporting machine without an offset; they are converted to UTC with the configured offset (epoch
// seconds in WeChatMsg CSV's CreateTime are already absolute and are used as they are).
//
// Not thread-safe; one reader per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace minyi::collector::wechat {

enum class ChatFormat { kWeChatMsgTxt, kWeChatMsgCsv, kPyWxDumpCsv, kWechatExporterTxt, kChatlogCsv };
// "wechatmsg-txt", "wechatmsg-csv", "pywxdump-csv", "wechatexporter-txt", "chatlog-csv".
std::string_view ChatFormatName(ChatFormat format);

enum class MessageKind {
  kText,       // an ordinary text message
  kQuote,      // a reply quoting an earlier message (quoted_name / quoted_text)
  kSolitaire,  // a 接龙 list (text with #接龙, or the app message with the list in <title>)
  kSystem,     // a system notice (joined the group, renamed, pat ...)
  kRecall,     // "X 撤回了一条消息"
  kMedia,      // a placeholder: [图片] [语音] [视频] [表情包] [文件] ...
  kOther,      // app messages, merged forwards, links, ...
};
std::string_view MessageKindName(MessageKind kind);  // "text", "quote", "solitaire", ...

// One participant's entry of an app-message 接龙 (solitaire_info), in list order.
struct SolitaireEntryInfo {
  std::string wxid;
  std::int64_t time_ms = 0;  // 0 when not given
};

struct ChatMessage {
  std::size_t line = 0;        // first physical line of the message in its file (1-based)
  std::int64_t time_ms = 0;    // UTC epoch ms
  std::string local_time;      // the time as written in the export
  std::string sender_name;     // display name (remark, nickname or group nickname); may be empty
  std::string sender_wxid;     // the sender's wxid when the export has it
  bool from_self = false;      // sent by the account that made the export
  std::string group_name;      // the group's name when the export has it
  std::string room_id;         // "<digits>@chatroom" when the export has it
  MessageKind kind = MessageKind::kText;
  std::string text;            // the message text (a 接龙: the whole list; may be empty)
  std::string quoted_name;     // kQuote: the quoted message's sender
  std::string quoted_text;     // kQuote: the quoted text (as the exporter kept it)
  std::string quoted_wxid;     // kQuote: the quoted message's sender's wxid when the export has it
  std::string server_id;       // the server message id (PyWxDump MsgSvrID), for dedupe; may be empty
  std::string solitaire_creator;                 // app-message 接龙: the creator's wxid (au)
  std::vector<SolitaireEntryInfo> solitaire;     // app-message 接龙: per entry, in list order
};

struct ReaderIssue {
  std::size_t line = 0;
  std::string reason;  // English
  std::string text;    // the offending line (may be cut)
};

struct ReaderOptions {
  int utc_offset_minutes = 480;  // local time of the export (Asia/Shanghai)
  std::size_t max_message_bytes = 1 << 20;  // longer messages are cut (and reported)
};

class ChatReader {
 public:
  virtual ~ChatReader() = default;
  // The next message. Issues met on the way (bad lines) are appended to `issues`. False at the end.
  virtual bool Next(ChatMessage* message, std::vector<ReaderIssue>* issues) = 0;
  virtual ChatFormat format() const = 0;
  // The group name written at the top of the file (WechatExporter), else empty.
  virtual std::string file_group_name() const { return std::string(); }
  // True when the input ended inside a record (a quoted CSV field): the file looks truncated.
  virtual bool truncated() const { return false; }
};

// Recognizes the format from the first decoded text of a file (a few lines are enough).
// kInvalidInput, quoting the first line, when it is none of the five.
Result<ChatFormat> DetectFormat(std::string_view head);

// A reader of `format` over decoded UTF-8 text; `text` must outlive it.
std::unique_ptr<ChatReader> MakeReader(ChatFormat format, std::istream& text, const ReaderOptions& options);

// Helpers shared with the importer (exposed for tests).

// "2024-05-12 09:01:33" (also with '/' or 'T') local at utc_offset_minutes → UTC epoch ms.
Result<std::int64_t> ParseLocalTime(std::string_view text, int utc_offset_minutes);
// [图片] [语音] [视频] [表情包] [动画表情] [文件] [位置] [名片] [链接] [音视频通话] [视频号] [小程序] ...
bool IsMediaPlaceholder(std::string_view text);
// A system notice's text that reports a recall ("撤回了一条消息").
bool IsRecallNotice(std::string_view text);
// True when one line is a notice WeChat writes itself (issue 16, docs/channels.md §3.8), so that an
// exporter writing it as a bare line, without a sender header, does not glue it to the message above:
//   a recall       "…撤回了一条消息" (optionally followed by "重新编辑")
//   a join         "\"A\"邀请\"B\"加入了群聊", "\"B\"通过扫描\"A\"分享的二维码加入群聊"
//   a removal      "\"A\"将\"B\"移出了群聊"; a new owner "\"A\"已成为新群主"
//   a pat          "\"A\" 拍了拍 \"B\"" (and any suffix B set), "我拍了拍…", "你拍了拍…"
//   a rename       "\"A\"修改群名为\"…\""
//   a red packet   "…领取了…的红包", "…的红包已被领完"
// The recall and the red packet are told by how the line ends; every other notice begins with a
// member's name in quotes (ASCII or “”) or with 你/我 and names a member in quotes, which a resident's
// own line almost never does. False for text with a line end or longer than 400 bytes.
bool IsNoticeLine(std::string_view line);
// The text of <tag>…</tag> in a small XML fragment (first occurrence, entities and CDATA decoded);
// empty when absent.
std::string XmlTagText(std::string_view xml, std::string_view tag);

}  // namespace minyi::collector::wechat
