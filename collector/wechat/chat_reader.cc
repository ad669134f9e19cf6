// The format's detection, the dispatch to one reader per exporter layout (chat_reader_<layout>.cc) and
// the helpers the header exposes.
#include "collector/wechat/chat_reader.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <vector>

#include "collector/wechat/chat_reader_csv.h"
#include "collector/wechat/chat_reader_internal.h"
#include "core/response.h"

namespace minyi::collector::wechat {

// The readers' shared internals (chat_reader_internal.h, chat_reader_csv.h).
using namespace chat_detail;  // NOLINT(google-build-using-namespace)

namespace {

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int Num(std::string_view s, std::size_t at, std::size_t len) {
  int v = 0;
  for (std::size_t i = 0; i < len; ++i) v = v * 10 + (s[at + i] - '0');
  return v;
}

bool HasColumns(std::string_view header, std::initializer_list<std::string_view> names) {
  std::string lower = LowerAscii(std::string(header));
  std::vector<std::string> cols;
  std::string cur;
  for (char c : lower + ",") {
    if (c == ',') {
      std::string_view t = TrimView(cur);
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
      cols.emplace_back(t);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  for (std::string_view n : names) {
    if (std::find(cols.begin(), cols.end(), n) == cols.end()) return false;
  }
  return true;
}

}  // namespace

std::string_view ChatFormatName(ChatFormat format) {
  switch (format) {
    case ChatFormat::kWeChatMsgTxt:
      return "wechatmsg-txt";
    case ChatFormat::kWeChatMsgCsv:
      return "wechatmsg-csv";
    case ChatFormat::kPyWxDumpCsv:
      return "pywxdump-csv";
    case ChatFormat::kWechatExporterTxt:
      return "wechatexporter-txt";
    case ChatFormat::kChatlogCsv:
      return "chatlog-csv";
  }
  return "?";
}

std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kText:
      return "text";
    case MessageKind::kQuote:
      return "quote";
    case MessageKind::kSolitaire:
      return "solitaire";
    case MessageKind::kSystem:
      return "system";
    case MessageKind::kRecall:
      return "recall";
    case MessageKind::kMedia:
      return "media";
    case MessageKind::kOther:
      return "other";
  }
  return "?";
}

Result<ChatFormat> DetectFormat(std::string_view head) {
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  // The first non-blank line.
  std::string_view first;
  while (!head.empty()) {
    const std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!TrimView(line).empty()) {
      first = line;
      break;
    }
  }
  if (first.empty()) return Status::InvalidInput("no text in the file");
  if (HasColumns(first, {"localid", "talkerid", "type", "subtype", "strcontent"}))
    return ChatFormat::kWeChatMsgCsv;
  if (HasColumns(first, {"msgsvrid", "type_name", "talker", "msg", "createtime"}))
    return ChatFormat::kPyWxDumpCsv;
  if (HasColumns(first, {"time", "sendername", "sender", "talker", "content"}))
    return ChatFormat::kChatlogCsv;
  if (first.size() > kExporterTitle.size() &&
      first.substr(first.size() - kExporterTitle.size()) == kExporterTitle) {
    return ChatFormat::kWechatExporterTxt;
  }
  if (LooksLikeTime(first) && first[10] == ' ' && (first.size() == 19 || first[19] == ' ')) {
    return ChatFormat::kWeChatMsgTxt;
  }
  return Status::InvalidInput(
      "not a recognized chat export (WeChatMsg TXT/CSV, PyWxDump CSV, WechatExporter TXT, "
      "chatlog CSV); first line: \"" +
      Cut(first, 80) + "\"");
}

std::unique_ptr<ChatReader> MakeReader(ChatFormat format, std::istream& text, const ReaderOptions& options) {
  switch (format) {
    case ChatFormat::kWeChatMsgTxt:
      return MakeWeChatMsgTxtReader(text, options);
    case ChatFormat::kWechatExporterTxt:
      return MakeWechatExporterTxtReader(text, options);
    case ChatFormat::kWeChatMsgCsv:
      return std::make_unique<CsvEndNotifier>(MakeWeChatMsgCsvReader(text, options));
    case ChatFormat::kPyWxDumpCsv:
      return std::make_unique<CsvEndNotifier>(MakePyWxDumpCsvReader(text, options));
    case ChatFormat::kChatlogCsv:
      return std::make_unique<CsvEndNotifier>(MakeChatlogCsvReader(text, options));
  }
  return nullptr;
}

Result<std::int64_t> ParseLocalTime(std::string_view text, int utc_offset_minutes) {
  text = TrimView(text);
  if (text.size() == 19 && LooksLikeTime(text)) {
    const int y = Num(text, 0, 4), mo = Num(text, 5, 2), d = Num(text, 8, 2);
    const int h = Num(text, 11, 2), mi = Num(text, 14, 2), s = Num(text, 17, 2);
    static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    if (y < 1990 || y > 2100 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60 ||
        d > kDaysIn[mo - 1] + (mo == 2 && leap ? 1 : 0)) {  // "2024-02-30" would become 1 March
      return Status::InvalidInput("not a valid time: " + std::string(text));
    }
    const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    const std::int64_t secs =
        days * 86400 + h * 3600 + mi * 60 + s - static_cast<std::int64_t>(utc_offset_minutes) * 60;
    return secs * 1000;
  }
  return ParseTimestamp(text, utc_offset_minutes);
}

bool IsMediaPlaceholder(std::string_view text) {
  static const std::array<std::string_view, 16> kPlaceholders = {
      "[图片]", "[语音]",       "[视频]",   "[表情包]", "[动画表情]", "[文件]",     "[位置]", "[名片]",
      "[链接]", "[音视频通话]", "[视频号]", "[小程序]", "[语音通话]", "[视频通话]", "[表情]", "[分享]"};
  text = TrimView(text);
  // Every placeholder begins with '[': other text (most messages; this runs for each) is answered at once.
  if (text.empty() || text.front() != '[') return false;
  if (std::find(kPlaceholders.begin(), kPlaceholders.end(), text) != kPlaceholders.end()) return true;
  // "[文件] name.pdf", "[链接] title": a placeholder followed by a caption.
  for (std::string_view p : kPlaceholders) {
    if (StartsWith(text, p) && (p == "[文件]" || p == "[链接]" || p == "[分享]" || p == "[小程序]"))
      return true;
  }
  return false;
}

bool IsRecallNotice(std::string_view text) { return text.find("撤回了一条消息") != std::string_view::npos; }

bool IsNoticeLine(std::string_view line) {
  line = TrimView(line);
  // The shortest notice ("你撤回了一条消息") is 24 bytes. Every test below looks at the line's ends
  // first, so that an ordinary line costs a few comparisons, not a scan per wording: this runs on
  // every continuation line of the TXT exports.
  if (line.size() < 12 || line.size() > 400) return false;
  const auto ends = [line](std::string_view s) {
    return line.size() >= s.size() && line.substr(line.size() - s.size()) == s;
  };
  const auto has = [line](std::string_view s) { return line.find(s) != std::string_view::npos; };
  const auto begins = [line](std::string_view s) { return StartsWith(line, s); };
  if (ends("撤回了一条消息") || ends("撤回了一条消息 重新编辑") || ends("撤回了一条消息重新编辑")) {
    return line.find('\n') == std::string_view::npos;
  }
  if (ends("的红包") || ends("红包已被领完")) return has("领取了") || has("已被领完");
  const bool opens_with_name = begins("\"") || begins("“");
  const bool by_you = begins("你") || begins("我");
  if (!opens_with_name && !by_you) return false;
  if (line.find('\n') != std::string_view::npos) return false;
  if (has("拍了拍")) return opens_with_name || begins("我拍了拍") || begins("你拍了拍");
  const bool quotes_a_name = has("\"") || has("“");
  if (!quotes_a_name) return false;
  return ((ends("加入了群聊") || ends("加入群聊")) && (has("邀请") || has("二维码"))) || ends("移出了群聊") ||
         ends("成为新群主") || has("修改群名为");
}

std::string XmlTagText(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag);
  std::size_t at = 0;
  std::size_t start = std::string_view::npos;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    const std::size_t after = at + open.size();
    if (after < xml.size() && (xml[after] == '>' || xml[after] == ' ')) {
      const std::size_t gt = xml.find('>', after);
      if (gt == std::string_view::npos) return std::string();
      if (xml[gt - 1] == '/') return std::string();  // <tag/>
      start = gt + 1;
      break;
    }
    at = after;
  }
  if (start == std::string_view::npos) return std::string();
  const std::string close = "</" + std::string(tag) + ">";
  const std::size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return std::string();
  std::string_view inner = xml.substr(start, end - start);
  std::string out;
  out.reserve(inner.size());
  for (std::size_t i = 0; i < inner.size();) {
    if (inner.substr(i, 9) == "<![CDATA[") {
      const std::size_t e = inner.find("]]>", i + 9);
      const std::size_t stop = e == std::string_view::npos ? inner.size() : e;
      out.append(inner.substr(i + 9, stop - i - 9));
      i = e == std::string_view::npos ? inner.size() : e + 3;
    } else if (inner[i] == '&') {
      const std::size_t semi = inner.find(';', i);
      const std::string_view entity =
          semi == std::string_view::npos ? std::string_view() : inner.substr(i + 1, semi - i - 1);
      std::uint32_t cp = 0;
      if (entity == "lt")
        cp = '<';
      else if (entity == "gt")
        cp = '>';
      else if (entity == "amp")
        cp = '&';
      else if (entity == "quot")
        cp = '"';
      else if (entity == "apos")
        cp = '\'';
      else if (entity.size() > 1 && entity[0] == '#') {
        const bool hex = entity[1] == 'x' || entity[1] == 'X';
        try {
          cp = static_cast<std::uint32_t>(
              std::stoul(std::string(entity.substr(hex ? 2 : 1)), nullptr, hex ? 16 : 10));
        } catch (const std::exception&) {
          cp = 0;
        }
      }
      if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        out.push_back('&');
        ++i;
        continue;
      }
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      i = semi + 1;
    } else {
      out.push_back(inner[i]);
      ++i;
    }
  }
  return out;
}

}  // namespace minyi::collector::wechat
