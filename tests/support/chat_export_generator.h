// A synthetic WeChat group chat export in each exporter layout (collector/wechat/chat_reader.h), for the
// importer's golden test and bench/wechat_import_bench: one group, 2,000 members, a grid worker's
// `#安全感调查` prompt every day, about 5% of messages answers such as `很安全 满意`, `2 2`, `①`, `选2`,
// 1% quotes (in the TXT layouts), 1% recalls, the rest chatter incl. multi-line messages and media.
// The same seed gives the same messages in every layout (as far as the layout can say them).
//
// The grid worker is "网格员_小王" (wxid "wxid_grid"); member n is "居民_n" (wxid "wxid_n").
#pragma once
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <string_view>

namespace minyi::testing {

enum class ChatLayout { kWeChatMsgTxt, kWeChatMsgCsv, kPyWxDumpCsv, kWechatExporterTxt, kChatlogCsv };

inline constexpr ChatLayout kAllChatLayouts[] = {ChatLayout::kWeChatMsgTxt, ChatLayout::kWeChatMsgCsv,
                                                 ChatLayout::kPyWxDumpCsv, ChatLayout::kWechatExporterTxt,
                                                 ChatLayout::kChatlogCsv};

inline const char* ChatLayoutFileName(ChatLayout layout) {
  switch (layout) {
    case ChatLayout::kWeChatMsgTxt:
      return "wechatmsg.txt";
    case ChatLayout::kWeChatMsgCsv:
      return "wechatmsg.csv";
    case ChatLayout::kPyWxDumpCsv:
      return "pywxdump.csv";
    case ChatLayout::kWechatExporterTxt:
      return "wechatexporter.txt";
    case ChatLayout::kChatlogCsv:
      return "chatlog.csv";
  }
  return "export.txt";
}

namespace chat_export_detail {
inline std::string Two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }
inline std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}
}  // namespace chat_export_detail

// Writes about `bytes` of export in `layout`, the first prompt `first_prompt_seconds` after the first
// message's day began; returns the number of messages written.
inline std::size_t GenerateChatExport(std::ostream& out, ChatLayout layout, std::uint64_t bytes,
                                      std::int64_t first_prompt_seconds = 8 * 3600,
                                      std::uint64_t seed = 20250101) {
  using chat_export_detail::CsvField;
  using chat_export_detail::Two;
  std::mt19937_64 rng(seed);
  static const char* kChatter[] = {"今天小区门口的快递柜又满了",
                                   "有人知道物业电话吗",
                                   "好的收到",
                                   "晚上广场舞几点开始？",
                                   "我家楼下的路灯坏了\n麻烦物业看一下",
                                   "谢谢网格员！",
                                   "周末社区有义诊活动，大家可以去看看",
                                   "[图片]",
                                   "[语音]"};
  static const char* kAnswers[] = {"1", "很安全 满意", "2 2",    "安全，比较满意", "基本安全", "一般",
                                   "3", "非常满意",    "还行吧", "不太安全",       "①",        "选2"};
  static const std::string kPrompt = "#安全感调查 各位居民好，请回复：您觉得安全吗？对网格员工作满意吗？";
  const std::string kGroup = "幸福里一群", kRoom = "12345678@chatroom";
  // Epoch seconds of 2024-01-01 00:00:00 +08:00 (WeChatMsg CSV's CreateTime is absolute).
  constexpr std::int64_t kEpoch0 = 1704038400;
  std::int64_t t = 0;  // seconds since 2024-01-01 00:00:00 local
  std::size_t messages = 0;
  std::uint64_t written = 0;
  std::int64_t next_prompt = first_prompt_seconds;
  std::string buf;
  switch (layout) {
    case ChatLayout::kWeChatMsgCsv:
      buf =
          "\xEF\xBB\xBFlocalId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,"
          "NickName,Sender\n";
      break;
    case ChatLayout::kPyWxDumpCsv:
      buf = "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n";
      break;
    case ChatLayout::kWechatExporterTxt:
      buf = kGroup + " - 微信聊天记录\n\n";
      break;
    case ChatLayout::kChatlogCsv:
      buf = "Time,SenderName,Sender,TalkerName,Talker,Content\n";
      break;
    case ChatLayout::kWeChatMsgTxt:
      break;
  }
  out << buf;
  written += buf.size();
  while (written < bytes) {
    t += 1 + static_cast<std::int64_t>(rng() % 9);
    const std::int64_t day = t / 86400, sec = t % 86400;
    // A date from the day count with 28-day months (only the order matters here; 30-day months wrote
    // 2024-02-30, which the CSV readers rightly reject, losing a day of messages every 360).
    const int year = 2024 + static_cast<int>(day / 336), month = 1 + static_cast<int>((day % 336) / 28),
              dom = 1 + static_cast<int>(day % 28);
    const std::string stamp = std::to_string(year) + "-" + Two(month) + "-" + Two(dom) + " " +
                              Two(static_cast<int>(sec / 3600)) + ":" +
                              Two(static_cast<int>(sec % 3600 / 60)) + ":" + Two(static_cast<int>(sec % 60));
    const int member = static_cast<int>(rng() % 2000);
    std::string name = "居民_" + std::to_string(member), wxid = "wxid_" + std::to_string(member);
    std::string text, quoted_name;
    enum { kText, kQuote, kRecall, kMedia } kind = kText;
    if (t >= next_prompt) {
      name = "网格员_小王";
      wxid = "wxid_grid";
      text = kPrompt;
      next_prompt += 86400;
    } else {
      const unsigned r = static_cast<unsigned>(rng() % 100);
      if (r < 5) {
        text = kAnswers[rng() % 12];
      } else if (r < 6) {
        text = "同意";
        quoted_name = "居民_" + std::to_string(rng() % 2000);
        kind = kQuote;
      } else if (r < 7) {
        kind = kRecall;
      } else {
        text = kChatter[rng() % 9];
        if (text.front() == '[') kind = kMedia;
      }
    }
    buf.clear();
    switch (layout) {
      case ChatLayout::kWeChatMsgTxt:
        if (kind == kRecall) {
          buf = stamp + " " + name + " 撤回了一条消息\n\n";
        } else {
          buf = stamp + " " + name + "\n" + text + (kind == kQuote ? "\n引用:" + quoted_name + ":1" : "") +
                "\n\n";
        }
        break;
      case ChatLayout::kWechatExporterTxt:
        if (kind == kRecall) {
          buf = "\"" + name + "\" 撤回了一条消息\n";
        } else if (kind == kQuote) {
          buf = name + " (" + stamp + "):「" + quoted_name + "：1」\n- - - - - - - - - - - - - - -\n" + text +
                "\n";
        } else {
          buf = name + " (" + stamp + "):" + text + "\n";
        }
        break;
      case ChatLayout::kWeChatMsgCsv: {
        const int type = kind == kRecall ? 10002 : kind == kMedia ? (text == "[图片]" ? 3 : 34) : 1;
        const std::string content = kind == kRecall ? "\"" + name + "\" 撤回了一条消息" : text;
        buf = std::to_string(messages + 1) + "," + kRoom + "," + std::to_string(type) + ",0,0," +
              std::to_string(kEpoch0 + t) + ",2," + CsvField(content) + "," + stamp + ",," +
              (kind == kRecall ? std::string(",") : name + "," + wxid) + "\n";
        break;
      }
      case ChatLayout::kPyWxDumpCsv: {
        const char* type = kind == kRecall  ? "系统通知"
                           : kind == kMedia ? (text == "[图片]" ? "图片" : "语音")
                                            : "文本";
        const std::string content = kind == kRecall ? "\"" + wxid + "\"撤回了一条消息" : text;
        buf = std::to_string(messages + 1) + "," + std::to_string(7000000000000000000ULL + messages) + "," +
              type + ",0," + (kind == kRecall ? std::string() : wxid) + "," + kRoom + "," +
              CsvField(content) + ",," + stamp + "\n";
        break;
      }
      case ChatLayout::kChatlogCsv: {
        const std::string content = kind == kRecall ? "\"" + name + "\" 撤回了一条消息" : text;
        buf = stamp + "," + (kind == kRecall ? std::string(",") : name + "," + wxid) + "," + kGroup + "," +
              kRoom + "," + CsvField(content) + "\n";
        break;
      }
    }
    out << buf;
    written += buf.size();
    ++messages;
  }
  return messages;
}

}  // namespace minyi::testing
