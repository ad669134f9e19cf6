#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_reviser_for_test.h"
#include "collector/wechat/chat_reader.h"
#include "collector/wechat/solitaire.h"
#include "collector/wechat/text_decoder.h"
#include "collector/wechat/wechat_import.h"
#include "core/areas.h"
#include "core/survey.h"
#include "tests/support/chat_export_generator.h"
#include "tests/support/proc_status.h"
#include "tests/support/under_asan.h"

namespace minyi::collector::wechat {
namespace {

const std::string kFixtures = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/";
constexpr const char* kTown = "320812007";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Decodes the whole input; the status of Open() in *status.
std::string Decode(const std::string& bytes, Status* status = nullptr, DecodingStreamBuf** keep = nullptr) {
  static std::istringstream* raw = nullptr;
  static DecodingStreamBuf* buf = nullptr;
  delete buf;
  delete raw;
  raw = new std::istringstream(bytes);
  buf = new DecodingStreamBuf(*raw);
  Status s = buf->Open();
  if (status) *status = s;
  if (keep) *keep = buf;
  std::istream text(buf);
  std::ostringstream out;
  if (s.ok()) out << text.rdbuf();
  return out.str();
}

// ---- decoding

TEST(TextDecoderTest, Utf8PassesThroughAndBomIsDropped) {
  DecodingStreamBuf* buf = nullptr;
  EXPECT_EQ(Decode("张阿姨\n1\n", nullptr, &buf), "张阿姨\n1\n");
  EXPECT_EQ(buf->encoding(), SourceEncoding::kUtf8);
  EXPECT_EQ(Decode("\xEF\xBB\xBFlocalId,很安全", nullptr, &buf), "localId,很安全");
  EXPECT_EQ(buf->encoding(), SourceEncoding::kUtf8Bom);
  EXPECT_FALSE(buf->truncated());
  EXPECT_EQ(buf->invalid_sequences(), 0u);
}

TEST(TextDecoderTest, GbkIsReadAsGb18030) {
  DecodingStreamBuf* buf = nullptr;
  // "很安全，满意" in GBK.
  EXPECT_EQ(Decode("\xBA\xDC\xB0\xB2\xC8\xAB\xA3\xAC\xC2\xFA\xD2\xE2\n", nullptr, &buf), "很安全，满意\n");
  EXPECT_EQ(buf->encoding(), SourceEncoding::kGb18030);
}

TEST(TextDecoderTest, AsciiStartThenGbkSwitchesToGb18030) {
  std::string bytes(70000, 'a');
  bytes += "\n\xBA\xDC\xB0\xB2\xC8\xAB\n";
  DecodingStreamBuf* buf = nullptr;
  const std::string text = Decode(bytes, nullptr, &buf);
  EXPECT_EQ(text, std::string(70000, 'a') + "\n很安全\n");
  EXPECT_EQ(buf->encoding(), SourceEncoding::kGb18030);
  EXPECT_EQ(buf->invalid_sequences(), 0u);
}

TEST(TextDecoderTest, CharactersAcrossBlockBoundariesSurvive) {
  std::string line;
  for (int i = 0; i < 30000; ++i) line += "安";  // 90,000 bytes: crosses the 64 KiB block
  DecodingStreamBuf* buf = nullptr;
  EXPECT_EQ(Decode(line, nullptr, &buf), line);
  EXPECT_EQ(buf->invalid_sequences(), 0u);
  // The same in GB18030 (2 bytes each).
  std::string gbk;
  for (int i = 0; i < 40000; ++i) gbk += "\xB0\xB2";
  line.clear();
  for (int i = 0; i < 40000; ++i) line += "安";
  EXPECT_EQ(Decode(gbk, nullptr, &buf), line);
  EXPECT_EQ(buf->invalid_sequences(), 0u);
}

TEST(TextDecoderTest, EmptyAndBinaryInputsAreRefusedWithAReason) {
  Status status;
  Decode("", &status);
  EXPECT_EQ(status.code(), StatusCode::kInvalidInput);
  EXPECT_NE(status.message().find("empty"), std::string::npos);
  Decode(std::string("PK\x03\x04\x00\x00zip", 9), &status);
  EXPECT_EQ(status.code(), StatusCode::kInvalidInput);
  EXPECT_NE(status.message().find("binary data (a NUL byte at offset 4)"), std::string::npos)
      << status.message();
}

TEST(TextDecoderTest, TruncatedCharacterIsFlagged) {
  DecodingStreamBuf* buf = nullptr;
  std::string text = Decode("很安全\n\xE6\xBB", nullptr, &buf);  // 满 cut after two of three bytes
  EXPECT_TRUE(buf->truncated());
  EXPECT_EQ(text.substr(0, 10), "很安全\n");
  Decode("\xBA\xDC\xB0\xB2\xC8\xAB\xA3\xAC\xC2", nullptr, &buf);  // GBK cut inside 满
  EXPECT_EQ(buf->encoding(), SourceEncoding::kGb18030);
  EXPECT_TRUE(buf->truncated());
}

TEST(TextDecoderTest, InvalidBytesInUtf8TextAreReplacedAndCounted) {
  DecodingStreamBuf* buf = nullptr;
  // The first block is valid UTF-8 (so the file is UTF-8); a bad byte further on is replaced.
  std::string prefix;
  for (int i = 0; i < 30000; ++i) prefix += "安";
  EXPECT_EQ(Decode(prefix + "安全\xFF满意", nullptr, &buf), prefix + "安全\xEF\xBF\xBD满意");
  EXPECT_EQ(buf->encoding(), SourceEncoding::kUtf8);
  EXPECT_EQ(buf->invalid_sequences(), 1u);
  EXPECT_EQ(buf->first_invalid_offset(), 90006u);
  // A short file with a byte that is not UTF-8 is sniffed as GB18030 instead.
  Decode("安全\xFF满意", nullptr, &buf);
  EXPECT_EQ(buf->encoding(), SourceEncoding::kGb18030);
}

// Issue 13: one GBK line in a UTF-8 export made the whole file GB18030, and every answer nonsense.
TEST(TextDecoderTest, ForeignLineInUtf8FileIsDecodedOnItsOwnAndReported) {
  DecodingStreamBuf* buf = nullptr;
  const std::string bytes =
      "2024-05-12 09:01:33 张阿姨\n"
      "\xBA\xDC\xB0\xB2\xC8\xAB\xA3\xAC\xC2\xFA\xD2\xE2\n"  // 很安全，满意 in GBK
      "满意\n"
      "比较满意\xFF\xFF\n"  // UTF-8 with damaged bytes: not GB18030 nonsense
      "安全\n";
  const std::string text = Decode(bytes, nullptr, &buf);
  EXPECT_EQ(buf->encoding(), SourceEncoding::kUtf8);
  EXPECT_EQ(text, "2024-05-12 09:01:33 张阿姨\n很安全，满意\n满意\n比较满意\xEF\xBF\xBD\xEF\xBF\xBD\n安全\n");
  ASSERT_EQ(buf->line_issues().size(), 2u);
  EXPECT_EQ(buf->lines_not_utf8(), 2u);
  EXPECT_EQ(buf->line_issues()[0].line, 2u);
  EXPECT_NE(buf->line_issues()[0].what.find("GB18030"), std::string::npos);
  EXPECT_EQ(buf->line_issues()[1].line, 4u);
  EXPECT_NE(buf->line_issues()[1].what.find("U+FFFD"), std::string::npos);
  // A GBK file stays GB18030 as a whole, even with a UTF-8 line in it.
  Decode("\xBA\xDC\xB0\xB2\xC8\xAB\n\xC2\xFA\xD2\xE2\n满意\n\xBA\xDC\xB0\xB2\xC8\xAB\n", nullptr, &buf);
  EXPECT_EQ(buf->encoding(), SourceEncoding::kGb18030);
}

// Clean UTF-8 blocks are appended whole and their lines counted at once (DecodeUtf8): the text is kept
// byte for byte, whatever its characters (ASCII runs, 2-, 3- and 4-byte ones, the E0 and ED leads whose
// second byte is bounded), and a foreign line several blocks on is reported at its own line.
TEST(TextDecoderTest, CleanBlocksKeepTheirBytesAndLineNumbers) {
  std::string clean;
  std::size_t lines = 0;
  for (int i = 0; clean.size() < 300 * 1024; ++i) {
    clean += "2024-05-12 09:01:33 张阿姨 café \xE0\xA0\x80 \xED\x9F\xBF \xF0\x9F\x98\x80 " +
             std::to_string(i) + std::string(static_cast<std::size_t>(i % 13), 'x') + "\n";
    ++lines;
  }
  DecodingStreamBuf* buf = nullptr;
  const std::string text = Decode(clean + "\xBA\xDC\xB0\xB2\xC8\xAB\n满意\n", nullptr, &buf);
  EXPECT_EQ(buf->encoding(), SourceEncoding::kUtf8);
  EXPECT_TRUE(text.compare(0, clean.size(), clean) == 0);  // (not EXPECT_EQ: 300 KiB in a failure)
  EXPECT_EQ(text.substr(std::min(clean.size(), text.size())), "很安全\n满意\n");
  ASSERT_EQ(buf->line_issues().size(), 1u);
  EXPECT_EQ(buf->line_issues()[0].line, lines + 1);
  // A surrogate (ED A0 80) in a block is not clean: each of its bytes is replaced.
  const std::string damaged = Decode(clean +
                                     "a\xED\xA0\x80"
                                     "b\n");
  EXPECT_TRUE(damaged.compare(0, clean.size(), clean) == 0);
  EXPECT_EQ(damaged.substr(std::min(clean.size(), damaged.size())),
            "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\n");
}

// ---- format detection and readers

TEST(ChatFormatTest, DetectedFromContent) {
  const std::vector<std::pair<std::string, ChatFormat>> cases = {
      {"wechatmsg.txt", ChatFormat::kWeChatMsgTxt},           {"wechatmsg.csv", ChatFormat::kWeChatMsgCsv},
      {"wechatmsg-gbk.csv", ChatFormat::kWeChatMsgCsv},       {"pywxdump_1.csv", ChatFormat::kPyWxDumpCsv},
      {"wechatexporter.txt", ChatFormat::kWechatExporterTxt}, {"chatlog.csv", ChatFormat::kChatlogCsv},
  };
  for (const auto& [file, format] : cases) {
    auto detected = DetectFormat(Decode(ReadFile(kFixtures + file)));
    ASSERT_TRUE(detected.ok()) << file << ": " << detected.status();
    EXPECT_EQ(detected.value(), format) << file;
  }
  auto unknown = DetectFormat("序号,提交答卷时间,所用时间\n1,2,3\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("first line: \"序号,提交答卷时间,所用时间\""), std::string::npos);
}

std::vector<ChatMessage> ReadAll(const std::string& file, std::vector<ReaderIssue>* issues) {
  std::string text = Decode(ReadFile(kFixtures + file));
  auto format = DetectFormat(text);
  EXPECT_TRUE(format.ok());
  std::istringstream in(text);
  auto reader = MakeReader(format.value(), in, ReaderOptions());
  std::vector<ChatMessage> out;
  ChatMessage m;
  while (reader->Next(&m, issues)) out.push_back(m);
  return out;
}

TEST(ChatReaderTest, WeChatMsgTxt) {
  std::vector<ReaderIssue> issues;
  auto messages = ReadAll("wechatmsg.txt", &issues);
  EXPECT_TRUE(issues.empty());
  ASSERT_EQ(messages.size(), 15u);
  EXPECT_EQ(messages[0].kind, MessageKind::kSystem);
  EXPECT_EQ(messages[1].sender_name, "网格员_小王");
  EXPECT_EQ(messages[1].line, 3u);
  EXPECT_NE(messages[1].text.find("\n2. 您对网格员工作满意吗"), std::string::npos);
  EXPECT_EQ(messages[1].time_ms, 1715475600000);  // 09:00:00 +08:00
  EXPECT_EQ(messages[3].sender_name, "李_建国");
  EXPECT_EQ(messages[3].text, "我觉得夜间照明不够，\n3号楼后面那条路很黑");
  EXPECT_EQ(messages[4].kind, MessageKind::kQuote);
  EXPECT_EQ(messages[4].text, "同意");
  EXPECT_EQ(messages[4].quoted_name, "张阿姨");
  EXPECT_EQ(messages[4].quoted_text, "1");
  EXPECT_EQ(messages[5].kind, MessageKind::kRecall);
  EXPECT_EQ(messages[6].kind, MessageKind::kMedia);
  EXPECT_EQ(messages[9].kind, MessageKind::kQuote);
  EXPECT_EQ(messages[9].quoted_name, "网格员_小王");
}

// A stream buffer without a get area: every character through uflow() (the line reader scans buffered
// text in place, and must still read such a stream).
class UnbufferedBuf : public std::streambuf {
 public:
  explicit UnbufferedBuf(std::string text) : text_(std::move(text)) {}

 protected:
  int_type underflow() override {
    return at_ < text_.size() ? traits_type::to_int_type(text_[at_]) : traits_type::eof();
  }
  int_type uflow() override {
    return at_ < text_.size() ? traits_type::to_int_type(text_[at_++]) : traits_type::eof();
  }

 private:
  std::string text_;
  std::size_t at_ = 0;
};

TEST(ChatReaderTest, TxtLayoutsReadTheSameFromAnUnbufferedStream) {
  for (const std::string file : {"wechatmsg.txt", "wechatexporter.txt"}) {
    std::vector<ReaderIssue> buffered_issues, unbuffered_issues;
    const std::vector<ChatMessage> buffered = ReadAll(file, &buffered_issues);
    const std::string text = Decode(ReadFile(kFixtures + file));
    UnbufferedBuf buf(text);
    std::istream in(&buf);
    auto reader = MakeReader(DetectFormat(text).value(), in, ReaderOptions());
    std::vector<ChatMessage> unbuffered;
    ChatMessage m;
    while (reader->Next(&m, &unbuffered_issues)) unbuffered.push_back(m);
    ASSERT_EQ(unbuffered.size(), buffered.size()) << file;
    ASSERT_GT(buffered.size(), 5u) << file;
    for (std::size_t i = 0; i < buffered.size(); ++i) {
      EXPECT_EQ(unbuffered[i].line, buffered[i].line) << file << " #" << i;
      EXPECT_EQ(unbuffered[i].sender_name, buffered[i].sender_name) << file << " #" << i;
      EXPECT_EQ(unbuffered[i].text, buffered[i].text) << file << " #" << i;
      EXPECT_EQ(unbuffered[i].quoted_text, buffered[i].quoted_text) << file << " #" << i;
      EXPECT_EQ(unbuffered[i].kind, buffered[i].kind) << file << " #" << i;
    }
    EXPECT_EQ(unbuffered_issues.size(), buffered_issues.size()) << file;
  }
}

// A stream of `head`, `fill` bytes of 'x' without a line end, then `tail`, generated as it is read.
class LongLineBuf : public std::streambuf {
 public:
  LongLineBuf(std::string head, std::size_t fill, std::string tail)
      : head_(std::move(head)), fill_(fill), tail_(std::move(tail)), block_(1 << 16, 'x') {}

 protected:
  int_type underflow() override {
    if (stage_ == 0) {
      stage_ = 1;
      current_ = head_;
    } else if (stage_ == 1 && fill_ > 0) {
      const std::size_t n = std::min(fill_, block_.size());
      fill_ -= n;
      current_ = block_.substr(0, n);
    } else if (stage_ <= 1) {
      stage_ = 2;
      current_ = tail_;
    } else {
      return traits_type::eof();
    }
    setg(current_.data(), current_.data(), current_.data() + current_.size());
    return current_.empty() ? underflow() : traits_type::to_int_type(*gptr());
  }

 private:
  std::string head_;
  std::size_t fill_;
  std::string tail_;
  std::string block_;
  std::string current_;
  int stage_ = 0;
};

// Issue 13: a line of hundreds of MiB without a line end was held whole (std::getline).

TEST(ChatReaderTest, HugeLineIsCutWithBoundedMemoryAndTheRestIsRead) {
  for (const bool exporter : {false, true}) {
    const std::string head =
        exporter ? "群 - 微信聊天记录\n张阿姨 (2024-05-12 09:01:33):1\n李四 (2024-05-12 09:02:00):"
                 : "2024-05-12 09:01:33 张阿姨\n1\n\n2024-05-12 09:02:00 李四\n";
    const std::string tail =
        exporter ? "\n王五 (2024-05-12 09:03:00):满意\n" : "\n\n2024-05-12 09:03:00 王五\n满意\n";
    LongLineBuf raw_buf(head, std::size_t{128} << 20, tail);
    std::istream raw(&raw_buf);
    DecodingStreamBuf buf(raw);
    ASSERT_TRUE(buf.Open().ok());
    std::istream text(&buf);
    const bool reset = minyi::testing::ResetPeakMemory();
    const std::size_t before = minyi::testing::ProcStatusKib(reset ? "VmRSS" : "VmHWM");
    auto reader = MakeReader(exporter ? ChatFormat::kWechatExporterTxt : ChatFormat::kWeChatMsgTxt, text,
                             ReaderOptions());
    std::vector<ChatMessage> messages;
    std::vector<ReaderIssue> issues;
    ChatMessage m;
    while (reader->Next(&m, &issues)) messages.push_back(m);
    const std::size_t peak = minyi::testing::ProcStatusKib("VmHWM");
#if !MINYI_UNDER_ASAN  // ASan's shadow memory and quarantine grow the RSS: the bound measures nothing there
    EXPECT_LT(peak - std::min(peak, before), 48u * 1024) << "KiB; exporter " << exporter;
#else
    (void)peak;
    (void)before;
#endif
    ASSERT_EQ(messages.size(), 3u) << exporter;
    EXPECT_EQ(messages[0].text, "1");
    EXPECT_LE(messages[1].text.size(), ReaderOptions().max_message_bytes);
    EXPECT_EQ(messages[2].sender_name, "王五");
    EXPECT_EQ(messages[2].text, "满意");
    bool reported = false;
    for (const ReaderIssue& i : issues) reported |= i.reason.find("line longer than") != std::string::npos;
    EXPECT_TRUE(reported) << exporter;
  }
}

TEST(ChatReaderTest, WeChatMsgCsvTypeCodes) {
  std::vector<ReaderIssue> issues;
  auto messages = ReadAll("wechatmsg.csv", &issues);
  EXPECT_TRUE(issues.empty());
  ASSERT_EQ(messages.size(), 11u);
  EXPECT_EQ(messages[0].kind, MessageKind::kSystem);
  EXPECT_EQ(messages[1].sender_wxid, "wxid_grid01");
  EXPECT_EQ(messages[1].sender_name, "网格员小王");  // the remark wins over the nickname
  EXPECT_TRUE(messages[1].from_self);
  EXPECT_EQ(messages[1].room_id, "12345678@chatroom");
  EXPECT_EQ(messages[3].kind, MessageKind::kMedia);
  EXPECT_EQ(messages[4].kind, MessageKind::kQuote);
  EXPECT_EQ(messages[4].text, "比较满意");
  EXPECT_EQ(messages[4].quoted_name, "网格员小王");
  EXPECT_EQ(messages[5].kind, MessageKind::kRecall);
  EXPECT_EQ(messages[6].sender_name, "王 五");
  EXPECT_EQ(messages[6].text, "安全\n一般");
  EXPECT_EQ(messages[9].kind, MessageKind::kSolitaire);
  EXPECT_EQ(messages[10].solitaire_creator, "wxid_grid01");
  ASSERT_EQ(messages[10].solitaire.size(), 2u);
  EXPECT_EQ(messages[10].solitaire[1].wxid, "wxid_wu");
  EXPECT_EQ(messages[10].solitaire[1].time_ms, 1715480100000);
}

TEST(ChatReaderTest, WechatExporterQuotesAndNamesWithSpaces) {
  std::vector<ReaderIssue> issues;
  auto messages = ReadAll("wechatexporter.txt", &issues);
  EXPECT_TRUE(issues.empty());
  ASSERT_GE(messages.size(), 5u);
  EXPECT_EQ(messages[0].group_name, "幸福里一群");
  EXPECT_EQ(messages[0].sender_name, "网格员 小王");
  EXPECT_EQ(messages[1].kind, MessageKind::kQuote);
  EXPECT_EQ(messages[1].quoted_name, "网格员 小王");
  EXPECT_EQ(messages[1].quoted_text, "#安全感调查 请大家回复：您觉得安全吗？");
  EXPECT_EQ(messages[1].text, "基本安全 一般");
  EXPECT_EQ(messages[2].kind, MessageKind::kMedia);
  EXPECT_EQ(messages[3].sender_name, "李 建国");
  EXPECT_EQ(messages[3].text, "今天天气不错\n大家出门注意安全");
  EXPECT_EQ(messages[4].kind, MessageKind::kSolitaire);
  EXPECT_EQ(messages.back().kind, MessageKind::kRecall);
}

TEST(ChatReaderTest, ChatlogRejectsBadLinesAndKeepsTheRest) {
  std::vector<ReaderIssue> issues;
  auto messages = ReadAll("chatlog.csv", &issues);
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].line, 9u);
  EXPECT_NE(issues[0].reason.find("has 2 fields"), std::string::npos);
  EXPECT_EQ(issues[1].line, 10u);
  EXPECT_NE(issues[1].reason.find("bad time"), std::string::npos);
  ASSERT_EQ(messages.size(), 6u);
  EXPECT_EQ(messages[0].group_name, "和平里居民群");
  EXPECT_EQ(messages[3].kind, MessageKind::kRecall);
  EXPECT_EQ(messages[4].text, "不太满意，\n上次报修没人管");
}

// Issue 16: what a bare line must look like to be split off as a notice; residents' own lines are not.
TEST(ChatReaderTest, NoticeLinesAreWeChatsOwnWordingNotResidentsLines) {
  for (const char* notice :
       {"\"张三\" 撤回了一条消息", "你撤回了一条消息 重新编辑",
        "\"网格员小王\"邀请\"刘阿姨\"和\"老周\"加入了群聊", "你邀请\"刘阿姨\"加入了群聊",
        "\"刘阿姨\"通过扫描\"网格员小王\"分享的二维码加入群聊", "\"网格员小王\"将\"广告号\"移出了群聊",
        "\"李建国\" 拍了拍 \"张阿姨\" 的肩膀说不满意", "我拍了拍 \"张阿姨\"", "“张阿姨” 拍了拍我",
        "\"网格员小王\"修改群名为\"幸福里3号楼居民群\"", "你领取了张阿姨的红包", "张阿姨领取了你的红包",
        "你的红包已被领完", "  \"网格员小王\"已成为新群主  "}) {
    EXPECT_TRUE(IsNoticeLine(notice)) << notice;
  }
  for (const char* line : {"1 2", "满意", "很安全，比较满意", "我昨天加入了群聊，大家好", "我也加入群聊",
                           "刚才拍了拍门没人应", "3号楼后面那条路很黑", "群名改一下吧 修改群名为平安群",
                           "他撤回了一条消息，说的是2", "\"张三\" 撤回了一条消息\n1", ""}) {
    EXPECT_FALSE(IsNoticeLine(line)) << line;
  }
}

TEST(ChatReaderTest, MediaPlaceholdersAloneOrWithACaption) {
  for (const char* text :
       {"[图片]", "  [语音]\n", "[表情]", "[文件] 通知.pdf", "[链接] 平安建设问卷", "[小程序]"}) {
    EXPECT_TRUE(IsMediaPlaceholder(text)) << text;
  }
  for (const char* text : {"", "图片", "[图片] 很好看", "好的[图片]", "[满意]", "[", "1 [图片]"}) {
    EXPECT_FALSE(IsMediaPlaceholder(text)) << text;
  }
}

TEST(ChatReaderTest, XmlTagTextDecodesEntitiesAndCdata) {
  EXPECT_EQ(XmlTagText("<a><title>x &lt;1&gt; &#24456;</title></a>", "title"), "x <1> 很");
  EXPECT_EQ(XmlTagText("<title><![CDATA[很<安>全]]></title>", "title"), "很<安>全");
  EXPECT_EQ(XmlTagText("<titles>no</titles>", "title"), "");
  EXPECT_EQ(XmlTagText("<title/>", "title"), "");
}

// ---- 接龙

TEST(SolitaireTest, ParsesHeaderEntriesAndContinuations) {
  const SolitaireList list = ParseSolitaire(
      "#接龙\n幸福里社区平安建设满意度接龙\n\n例 3号楼 张三 很安全 满意\n\n1. 3号楼 张阿姨 很安全 满意\n"
      "2.   李建国  基本安全\n一般\n3. \n12．王五 安全");
  EXPECT_EQ(list.header, "#接龙\n幸福里社区平安建设满意度接龙\n例 3号楼 张三 很安全 满意");
  EXPECT_EQ(list.topic, "幸福里社区平安建设满意度接龙");
  EXPECT_EQ(list.entries,
            (std::vector<std::string>{"3号楼 张阿姨 很安全 满意", "李建国 基本安全 一般", "王五 安全"}));
}

TEST(SolitaireTest, EntryLocation) {
  EXPECT_EQ(EntryLocation("3号楼 张阿姨 很安全 满意"), "3号楼");
  EXPECT_EQ(EntryLocation("5栋2单元 李四 安全"), "5栋2单元");
  EXPECT_EQ(EntryLocation("3号楼张阿姨 很安全"), "3号楼");
  EXPECT_EQ(EntryLocation("幸福里小区 王五 安全"), "幸福里小区");
  EXPECT_EQ(EntryLocation("王五 2号 安全"), "");
}

// ---- the importer

class WechatImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::make_unique<AreaRegistry>(std::move(areas).value());
    auto surveys = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
    ASSERT_TRUE(surveys.ok()) << surveys.status();
    survey_ = surveys->Find("jiangsu-safety");
    ASSERT_NE(survey_, nullptr);
    auto keyer = RespondentKeyer::Create("test-secret-0123456789");
    ASSERT_TRUE(keyer.ok());
    keyer_ = std::make_unique<RespondentKeyer>(std::move(keyer).value());
  }

  WechatImportOptions Options(std::vector<std::string> grid_workers) {
    WechatImportOptions o;
    o.period = Period{2024, 0};
    o.town_code = kTown;
    o.grid_workers = std::move(grid_workers);
    return o;
  }

  // Imports the fixtures into `reviser`; returns the report.
  WechatReport Import(const std::vector<std::string>& files, WechatImportOptions options,
                      FakeReviser& reviser) {
    std::vector<std::pair<std::string, std::string>> texts;
    for (const std::string& f : files) texts.emplace_back(f, ReadFile(kFixtures + f));
    return ImportTexts(texts, std::move(options), reviser);
  }

  // Imports exports given as (name, bytes) into `reviser`; returns the report.
  WechatReport ImportTexts(const std::vector<std::pair<std::string, std::string>>& files,
                           WechatImportOptions options, FakeReviser& reviser) {
    auto importer = WechatImporter::Create(*survey_, *areas_, *keyer_, std::move(options));
    EXPECT_TRUE(importer.ok()) << importer.status();
    for (const auto& [name, bytes] : files) {
      std::istringstream in(bytes);
      Status added = (*importer)->AddFile(name, in);
      EXPECT_TRUE(added.ok()) << added;
    }
    Status stored = (*importer)->Store(reviser, 1700000000000);
    EXPECT_TRUE(stored.ok()) << stored;
    return (*importer)->report();
  }

  std::string KeyWxid(const std::string& wxid) const { return keyer_->KeyFor("wechat-wxid:" + wxid); }
  std::string KeyName(const std::string& group, const std::string& name) const {
    return keyer_->KeyFor("wechat-name:" + group + "\n" + name);
  }
  static std::string Ref(const std::string& key, const std::string& town = kTown) {
    return TownSlot("wechat:jiangsu-safety:2024:" + key, town);
  }

  // Answers of every current response, by source_ref.
  static std::map<std::string, Answers> AnswersOf(FakeReviser& reviser) {
    std::map<std::string, Answers> out;
    for (const auto& [ref, r] : reviser.Current()) out[ref] = r.answers;
    return out;
  }

  static bool HasIssue(const WechatReport& report, std::size_t line, const std::string& category,
                       const std::string& reason_part) {
    for (const WechatIssue& i : report.issues) {
      if (i.line == line && i.category == category && i.reason.find(reason_part) != std::string::npos)
        return true;
    }
    return false;
  }

  std::unique_ptr<AreaRegistry> areas_;
  std::shared_ptr<const SurveyDefinition> survey_;
  std::unique_ptr<RespondentKeyer> keyer_;
};

// Issue 13: should a member's slot ever hold another town's response (identities that collide), the
// member is listed as refused with the line of its newest answer, the response stays as it was, and
// every other member is stored.
TEST_F(WechatImportTest, AMemberWhoseSlotHoldsAnotherTownsResponseIsRefusedAndTheRestKept) {
  FakeReviser reviser;
  Response elsewhere;
  elsewhere.survey_id = "jiangsu-safety";
  elsewhere.period = {2024, 0};
  elsewhere.town_code = "320803002";
  elsewhere.channel = Channel::kWechat;
  elsewhere.respondent_key = "someone";
  elsewhere.answers = {{"security", {"5"}}};
  elsewhere.source_ref = Ref(KeyName("wechatmsg", "张阿姨"));
  std::vector<ReviseResult> seeded;
  ASSERT_TRUE(reviser.StoreRevisions({elsewhere}, "seed", &seeded).ok());

  const WechatReport report = Import({"wechatmsg.txt"}, Options({"网格员_小王"}), reviser);
  EXPECT_EQ(report.stored, 2u);
  EXPECT_EQ(report.revisions, 0u);
  EXPECT_EQ(report.refused, 1u);
  EXPECT_EQ(report.files[0].refused, 1u);
  const auto refused = std::find_if(report.issues.begin(), report.issues.end(),
                                    [](const WechatIssue& i) { return i.category == "refused"; });
  ASSERT_NE(refused, report.issues.end());
  EXPECT_GT(refused->line, 0u);
  EXPECT_NE(refused->reason.find("stored for another town"), std::string::npos) << refused->reason;
  EXPECT_NE(report.ToJson().find("\"refused\":1"), std::string::npos);
  const Response kept = reviser.Current().at(elsewhere.source_ref);
  EXPECT_EQ(kept.town_code, "320803002");
  EXPECT_EQ(kept.answers.at("security"), std::vector<std::string>{"5"});
}

TEST_F(WechatImportTest, WeChatMsgTxtPromptsRepliesQuotesAndNonAnswers) {
  FakeReviser reviser;
  const WechatReport report = Import({"wechatmsg.txt"}, Options({"网格员_小王"}), reviser);
  EXPECT_EQ(report.messages_read, 15u);
  EXPECT_EQ(report.prompts_found, 1u);
  EXPECT_EQ(report.prompts_ignored, 1u);  // 孙八's marker, not a grid worker
  EXPECT_EQ(report.grid_worker_messages, 2u);
  // Replies in the window: 张阿姨 ×3, 李_建国, Tom_Lee, 赵六 (quote of the prompt), 钱七.
  EXPECT_EQ(report.replies_read, 7u);
  EXPECT_EQ(report.answers_accepted, 5u);
  EXPECT_EQ(report.not_understood, 2u);
  EXPECT_TRUE(HasIssue(report, 11, "not_understood", ""));
  EXPECT_TRUE(HasIssue(report, 15, "ignored", "a quote of another message"));
  EXPECT_TRUE(HasIssue(report, 46, "ignored", "not a known grid worker"));
  EXPECT_TRUE(HasIssue(report, 37, "not_understood", ""));
  bool masked = false;
  for (const WechatIssue& i : report.issues) masked |= i.text.find("138****5678") != std::string::npos;
  EXPECT_TRUE(masked);
  for (const WechatIssue& i : report.issues) EXPECT_EQ(i.text.find("13812345678"), std::string::npos);
  EXPECT_EQ(report.not_answers, 3u);  // the quote of 张阿姨's message, the recall, the image
  EXPECT_EQ(report.respondents, 3u);
  EXPECT_EQ(report.weak_keys, 3u);  // no wxid in this format
  EXPECT_EQ(report.stored, 3u);

  const auto answers = AnswersOf(reviser);
  const std::string group = "wechatmsg";  // the file's stem: the format names no group
  // 张阿姨: "1" (security), "满意" (grid, the question still open), then "应该是安全" replaces security.
  EXPECT_EQ(answers.at(Ref(KeyName(group, "张阿姨"))), (Answers{{"grid", {"1"}}, {"security", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(group, "Tom_Lee"))), (Answers{{"grid", {"2"}}, {"security", {"2"}}}));
  // 赵六 quoted the prompt and answered only the grid question: a partial response.
  EXPECT_EQ(answers.at(Ref(KeyName(group, "赵六"))), (Answers{{"grid", {"1"}}}));
  EXPECT_EQ(reviser.Current().at(Ref(KeyName(group, "赵六"))).completion, Completion::kPartial);
  const Response zhang = reviser.Current().at(Ref(KeyName(group, "张阿姨")));  // Current() returns a copy
  EXPECT_EQ(zhang.channel, Channel::kWechat);
  EXPECT_EQ(zhang.town_code, kTown);
  EXPECT_EQ(zhang.submitted_at_ms, 1715477520000);  // 09:32:00 +08:00
  EXPECT_NE(zhang.raw_payload.find("\"key_basis\":\"group+name\""), std::string::npos);
}

// Issue 16: option words with fillers (reply parser rule 4a) count in chat too, also those in which no
// label or alias stands as written (还算可以 is 还可以), and a negated word (不算满意) is not an answer.
TEST_F(WechatImportTest, OptionWordsWithFillersAreAnswers) {
  FakeReviser reviser;
  const WechatReport report = Import({"wechatmsg-fillers.txt"}, Options({"网格员_小王"}), reviser);
  const auto answers = AnswersOf(reviser);
  const std::string group = "wechatmsg-fillers";
  EXPECT_EQ(answers.at(Ref(KeyName(group, "周大爷"))), (Answers{{"security", {"3"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(group, "吴阿姨"))), (Answers{{"grid", {"1"}}, {"security", {"3"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(group, "冯大姐"))), (Answers{{"security", {"3"}}}));
  EXPECT_EQ(answers.count(Ref(KeyName(group, "郑师傅"))), 0u);
  EXPECT_TRUE(HasIssue(report, 12, "not_understood", "negation"));
  EXPECT_TRUE(HasIssue(report, 18, "not_understood", "no answer found"));  // 我还以为是骗子短信
  EXPECT_EQ(report.replies_read, 5u);
  EXPECT_EQ(report.answers_accepted, 3u);
  EXPECT_EQ(report.not_understood, 2u);
}

// MayHoldAnswer compares the Chinese numerals only where a character that begins one stands (16 places
// at most, else it searches the whole text): a numeral standing alone counts wherever it is, after
// numerals inside words (一下, 一起) and after more than 16 of them.
TEST_F(WechatImportTest, ChineseNumeralsStandingAloneCountWhereverTheyStand) {
  std::string seventeen;
  for (int i = 0; i < 17; ++i) seventeen += "一";
  const std::string text =
      "2024-05-12 09:00:00 网格员_小王\n"
      "#安全感调查 各位居民好！请回复两个问题：\n"
      "1. 您觉得我们这里安全吗？（很安全/安全/基本安全/不太安全/很不安全）\n"
      "2. 您对网格员工作满意吗？（满意/比较满意/一般/不太满意/不满意）\n"
      "\n"
      "2024-05-12 09:01:00 赵大爷\n"
      "二 三\n"
      "\n"
      "2024-05-12 09:02:00 钱阿姨\n"
      "想了一下 二 三\n"
      "\n"
      "2024-05-12 09:03:00 孙师傅\n" +
      seventeen +
      " 二 三\n"
      "\n"
      "2024-05-12 09:04:00 李大姐\n"
      "一起去看看吧\n";
  FakeReviser reviser;
  const WechatReport report = ImportTexts({{"numerals.txt", text}}, Options({"网格员_小王"}), reviser);
  const auto answers = AnswersOf(reviser);
  const Answers expected{{"grid", {"3"}}, {"security", {"2"}}};
  for (const char* name : {"赵大爷", "钱阿姨", "孙师傅"}) {
    ASSERT_EQ(answers.count(Ref(KeyName("numerals", name))), 1u) << name;
    EXPECT_EQ(answers.at(Ref(KeyName("numerals", name))), expected) << name;
  }
  EXPECT_EQ(answers.count(Ref(KeyName("numerals", "李大姐"))), 0u);
  EXPECT_TRUE(HasIssue(report, 15, "not_understood", "no answer found"));
  EXPECT_EQ(report.answers_accepted, 3u);
}

TEST_F(WechatImportTest, WeChatMsgCsvWithQuotesRecallsOptOutAndAppSolitaire) {
  FakeReviser reviser;
  const WechatReport report = Import({"wechatmsg.csv"}, Options({"wxid_grid01"}), reviser);
  EXPECT_EQ(report.prompts_found, 1u);
  EXPECT_EQ(report.solitaire_threads, 1u);
  EXPECT_EQ(report.solitaire_snapshots, 2u);
  EXPECT_EQ(report.solitaire_entries, 2u);
  EXPECT_TRUE(HasIssue(report, 12, "ignored", "opt-out"));
  EXPECT_TRUE(HasIssue(report, 13, "not_understood", ""));
  EXPECT_EQ(report.weak_keys, 0u);
  const auto answers = AnswersOf(reviser);
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_zhang"))), (Answers{{"grid", {"1"}}, {"security", {"1"}}}));
  // A quote of the prompt (type 49/57) answering the grid question only.
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_li"))), (Answers{{"grid", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_wang"))), (Answers{{"grid", {"3"}}, {"security", {"2"}}}));
  // 接龙 entries (participants from solitaire_info), with the building kept as the comment.
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_zhou"))),
            (Answers{{"comment", {"3号楼"}}, {"grid", {"1"}}, {"security", {"1"}}}));
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_wu"))),
            (Answers{{"comment", {"7栋"}}, {"grid", {"3"}}, {"security", {"3"}}}));
  EXPECT_EQ(answers.size(), 5u);
}

// Issue 18: Store reports (responses stored, responses in all) after every batch.
TEST_F(WechatImportTest, StoreReportsItsProgressAfterEveryBatch) {
  WechatImportOptions options = Options({"网格员_小王"});
  options.batch = 2;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  options.progress = [&](std::uint64_t done, std::uint64_t total) { progress.emplace_back(done, total); };
  FakeReviser reviser;
  const WechatReport report = Import({"wechatmsg.txt"}, options, reviser);
  ASSERT_EQ(report.stored, 3u);
  EXPECT_EQ(progress, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{2, 3}, {3, 3}}));
}

// Issue 13: one GBK line in a UTF-8 export lost every answer of the file.
TEST_F(WechatImportTest, GbkLineInUtf8ExportKeepsEveryAnswer) {
  std::string bytes = ReadFile(kFixtures + "wechatmsg.txt");
  const std::string line25 = "安全，比较满意\n";
  const std::size_t at = bytes.find(line25);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, line25.size(), "\xB0\xB2\xC8\xAB\xA3\xAC\xB1\xC8\xBD\xCF\xC2\xFA\xD2\xE2\n");  // in GBK
  FakeReviser reviser;
  auto importer = WechatImporter::Create(*survey_, *areas_, *keyer_, Options({"网格员_小王"}));
  ASSERT_TRUE(importer.ok());
  std::istringstream in(bytes);
  ASSERT_TRUE((*importer)->AddFile("wechatmsg.txt", in).ok());
  ASSERT_TRUE((*importer)->Store(reviser, 1700000000000).ok());
  const WechatReport& report = (*importer)->report();
  EXPECT_EQ(report.files[0].encoding, "UTF-8");
  EXPECT_TRUE(HasIssue(report, 25, "file", "GB18030"));
  EXPECT_EQ(report.stored, 3u);
  const auto answers = AnswersOf(reviser);
  const std::string group = "wechatmsg";
  EXPECT_EQ(answers.at(Ref(KeyName(group, "Tom_Lee"))), (Answers{{"grid", {"2"}}, {"security", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(group, "张阿姨"))), (Answers{{"grid", {"1"}}, {"security", {"2"}}}));
}

TEST_F(WechatImportTest, GbkCsvReadsLikeUtf8) {
  FakeReviser reviser;
  const WechatReport report = Import({"wechatmsg-gbk.csv"}, Options({"网格员老陈"}), reviser);
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_EQ(report.files[0].encoding, "GB18030");
  EXPECT_EQ(report.files[0].messages, 3u);
  const auto answers = AnswersOf(reviser);
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_laoli"))), (Answers{{"grid", {"1"}}, {"security", {"3"}}}));
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_liu"))), (Answers{{"security", {"5"}}}));
}

TEST_F(WechatImportTest, PyWxDumpPagesDedupeOnMsgSvrId) {
  FakeReviser reviser;
  const WechatReport report = Import({"pywxdump_1.csv", "pywxdump_2.csv"}, Options({"wxid_grid02"}), reviser);
  EXPECT_EQ(report.messages_read, 9u);
  EXPECT_EQ(report.duplicate_messages, 1u);  // MsgSvrID …005 is on both pages
  EXPECT_TRUE(HasIssue(report, 5, "ignored", "without its list"));
  const auto answers = AnswersOf(reviser);
  // wxid_a: "1 1", later "２" (fullwidth) replaces security.
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_a"))), (Answers{{"grid", {"1"}}, {"security", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_b"))), (Answers{{"security", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_c"))), (Answers{{"security", {"3"}}}));
  EXPECT_EQ(answers.size(), 3u);
}

// Files read together: each response counts for the file holding its newest answer, so every file
// has its own store figures and they add up to the report's.
TEST_F(WechatImportTest, EachFileCountsTheResponsesWhoseNewestAnswerItHolds) {
  FakeReviser reviser;
  const WechatReport report = Import({"pywxdump_1.csv", "pywxdump_2.csv"}, Options({"wxid_grid02"}), reviser);
  ASSERT_EQ(report.files.size(), 2u);
  // Page 1: wxid_b ("2"; repeated on page 2, a duplicate message). Page 2: wxid_a (its later "２")
  // and wxid_c (a quote reply).
  EXPECT_EQ(report.files[0].stored, 1u);
  EXPECT_EQ(report.files[1].stored, 2u);
  EXPECT_EQ(report.files[0].stored + report.files[1].stored, report.stored);
  EXPECT_EQ(report.files[0].area, kTown);
  EXPECT_EQ(report.files[1].area, kTown);

  // Unreadable lines and answers from a group without a town are counted on their own file.
  std::istringstream csv("group,town\n12345678@chatroom,320812001\n");
  auto map = GroupMap::Parse(csv, *areas_);
  ASSERT_TRUE(map.ok()) << map.status();
  WechatImportOptions options = Options({"wxid_grid01", "wxid_chen"});
  options.town_code.clear();
  options.group_map = &map.value();
  FakeReviser mapped;
  const WechatReport two = Import({"wechatmsg.csv", "chatlog.csv"}, options, mapped);
  ASSERT_EQ(two.files.size(), 2u);
  EXPECT_EQ(two.files[0].stored, 5u);
  EXPECT_EQ(two.files[0].lines_rejected + two.files[0].answers_without_town, 0u);
  EXPECT_EQ(two.files[0].area, "320812001");
  EXPECT_EQ(two.files[1].stored, 0u);
  EXPECT_EQ(two.files[1].lines_rejected, 2u);
  EXPECT_EQ(two.files[1].answers_without_town, 2u);
  EXPECT_EQ(two.files[1].area, "");
}

TEST_F(WechatImportTest, SolitaireRepostedTenTimesWithAFork) {
  FakeReviser reviser;
  const WechatReport report = Import({"wechatexporter.txt"}, Options({"网格员 小王"}), reviser);
  EXPECT_EQ(report.prompts_found, 1u);
  EXPECT_EQ(report.solitaire_threads, 1u);
  EXPECT_EQ(report.solitaire_snapshots, 11u);  // the twelfth post repeats the eleventh exactly
  EXPECT_EQ(report.duplicate_messages, 1u);
  EXPECT_EQ(report.solitaire_entries, 10u);  // 8 participants + the grid worker's + 张阿姨's edit
  const auto answers = AnswersOf(reviser);
  const std::string g = "幸福里一群";
  // 张阿姨 edited her entry: the later text counts.
  EXPECT_EQ(answers.at(Ref(KeyName(g, "张阿姨"))),
            (Answers{{"comment", {"3号楼"}}, {"grid", {"1"}}, {"security", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(g, "Tom Lee"))),
            (Answers{{"comment", {"5号楼"}}, {"grid", {"2"}}, {"security", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(g, "李 建国"))), (Answers{{"grid", {"3"}}, {"security", {"3"}}}));
  // The fork: both entries numbered 5 are kept.
  EXPECT_EQ(answers.at(Ref(KeyName(g, "王五"))),
            (Answers{{"comment", {"6栋"}}, {"grid", {"1"}}, {"security", {"2"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(g, "赵六"))), (Answers{{"grid", {"2"}}, {"security", {"1"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(g, "钱七"))), (Answers{{"grid", {"4"}}, {"security", {"4"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(g, "孙八"))), (Answers{{"grid", {"9"}}, {"security", {"9"}}}));
  EXPECT_EQ(answers.at(Ref(KeyName(g, "周九"))), (Answers{{"grid", {"1"}}, {"security", {"1"}}}));
  // 吴十 quoted the prompt.
  EXPECT_EQ(answers.at(Ref(KeyName(g, "吴十"))), (Answers{{"grid", {"3"}}, {"security", {"3"}}}));
  EXPECT_EQ(answers.size(), 9u);  // the grid worker's own entry is not an answer
}

TEST_F(WechatImportTest, ChatlogRejectedLinesSayWhyAndTheRestIsKept) {
  FakeReviser reviser;
  const WechatReport report = Import({"chatlog.csv"}, Options({"wxid_chen"}), reviser);
  EXPECT_EQ(report.lines_rejected, 2u);
  EXPECT_TRUE(HasIssue(report, 9, "rejected", "has 2 fields"));
  EXPECT_TRUE(HasIssue(report, 10, "rejected", "bad time"));
  EXPECT_TRUE(HasIssue(report, 8, "ignored", "opt-out"));
  const auto answers = AnswersOf(reviser);
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_ming"))), (Answers{{"grid", {"1"}}}));
  EXPECT_EQ(answers.at(Ref(KeyWxid("wxid_hong"))), (Answers{{"grid", {"4"}}}));
  EXPECT_EQ(answers.size(), 2u);
}

TEST_F(WechatImportTest, TruncatedAndBinaryFilesGetAClearError) {
  auto importer = WechatImporter::Create(*survey_, *areas_, *keyer_, Options({"wxid_chen"}));
  ASSERT_TRUE(importer.ok());
  std::ifstream truncated(kFixtures + "truncated.csv", std::ios::binary);
  ASSERT_TRUE((*importer)->AddFile("truncated.csv", truncated).ok());
  std::istringstream binary(std::string("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16));
  Status refused = (*importer)->AddFile("photo.png", binary);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidInput);
  EXPECT_NE(refused.message().find("binary data"), std::string::npos);
  const WechatReport& report = (*importer)->report();
  ASSERT_EQ(report.files.size(), 2u);
  EXPECT_TRUE(report.files[0].truncated);
  EXPECT_EQ(report.files[0].messages, 2u);  // both complete messages before the cut are kept
  EXPECT_TRUE(HasIssue(report, 0, "file", "looks truncated"));
  EXPECT_TRUE(HasIssue(report, 0, "file", "binary data"));
  FakeReviser reviser;
  ASSERT_TRUE((*importer)->Store(reviser, 1).ok());
  EXPECT_EQ(AnswersOf(reviser).at(Ref(KeyWxid("wxid_laoli"))), (Answers{{"security", {"1"}}}));
  const std::string text = report.ToText();
  EXPECT_NE(text.find("truncated.csv: wechatmsg-csv, UTF-8, 2 messages, TRUNCATED"), std::string::npos)
      << text;
}

TEST_F(WechatImportTest, GroupMapGivesTownsAndGridWorkers) {
  std::istringstream csv(
      "group,town,grid_workers\n12345678@chatroom,320812001,wxid_grid01\n幸福里一群,320812007,网格员 "
      "小王|另一位\n");
  auto map = GroupMap::Parse(csv, *areas_);
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->Towns(), (std::set<std::string>{"320812001", "320812007"}));
  WechatImportOptions options = Options({});
  options.town_code.clear();
  options.group_map = &map.value();
  FakeReviser reviser;
  const WechatReport report =
      Import({"wechatmsg.csv", "wechatexporter.txt", "chatlog.csv"}, options, reviser);
  const auto current = reviser.Current();
  EXPECT_EQ(current.at(Ref(KeyWxid("wxid_zhang"), "320812001")).town_code, "320812001");
  EXPECT_EQ(current.at(Ref(KeyName("幸福里一群", "王五"))).town_code, "320812007");
  // chatlog's group is not in the map (and 网格员老陈 is not a known grid worker there): nothing stored.
  EXPECT_TRUE(HasIssue(report, 2, "ignored", "not a known grid worker") || report.prompts_found == 2u);
  EXPECT_EQ(current.count(Ref(KeyWxid("wxid_ming"))), 0u);

  std::istringstream bad("group,town\n一群,999999999\n一群,320812001\n,320812001\n");
  auto refused = GroupMap::Parse(bad, *areas_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("line 2: \"999999999\" is not a known"), std::string::npos);
  EXPECT_NE(refused.status().message().find("line 4: the group is empty"), std::string::npos);
}

TEST_F(WechatImportTest, UnmappedGroupIsReportedOnce) {
  std::istringstream csv("group,town\nsomewhere-else,320812001\n");
  auto map = GroupMap::Parse(csv, *areas_);
  ASSERT_TRUE(map.ok());
  WechatImportOptions options = Options({"wxid_chen"});
  options.town_code.clear();
  options.group_map = &map.value();
  FakeReviser reviser;
  const WechatReport report = Import({"chatlog.csv"}, options, reviser);
  EXPECT_EQ(report.answers_without_town, 2u);
  std::size_t group_issues = 0;
  for (const WechatIssue& i : report.issues)
    if (i.category == "group") ++group_issues;
  EXPECT_EQ(group_issues, 1u);
  EXPECT_TRUE(reviser.Current().empty());
}

TEST_F(WechatImportTest, SurveyWithoutWechatSectionIsRefused) {
  SurveyDefinition plain = *survey_;
  plain.wechat.reset();
  auto importer = WechatImporter::Create(plain, *areas_, *keyer_, Options({}));
  ASSERT_FALSE(importer.ok());
  EXPECT_NE(importer.status().message().find("no \"wechat\" section"), std::string::npos);
  WechatImportOptions no_town = Options({});
  no_town.town_code.clear();
  EXPECT_FALSE(WechatImporter::Create(*survey_, *areas_, *keyer_, no_town).ok());
}

TEST_F(WechatImportTest, FirstMessageTimeOrdersFiles) {
  std::ifstream a(kFixtures + "pywxdump_2.csv", std::ios::binary);
  std::ifstream b(kFixtures + "pywxdump_1.csv", std::ios::binary);
  auto ta = FirstMessageTime(a, 480);
  auto tb = FirstMessageTime(b, 480);
  ASSERT_TRUE(ta && tb);
  EXPECT_LT(*tb, *ta);
  std::istringstream junk("hello\n");
  EXPECT_FALSE(FirstMessageTime(junk, 480).has_value());
}

TEST_F(WechatImportTest, ReportAsJson) {
  FakeReviser reviser;
  const WechatReport report = Import({"chatlog.csv"}, Options({"wxid_chen"}), reviser);
  const std::string json = report.ToJson();
  EXPECT_NE(json.find("\"format\":\"chatlog-csv\""), std::string::npos);
  EXPECT_NE(json.find("\"stored\":2"), std::string::npos);
  EXPECT_NE(json.find("\"category\":\"rejected\""), std::string::npos);
}

// ---- issue 16: notices without a sender

// One export per layout; a line starting with '!' is a notice (a recall, a join, an invitation, a pat, a
// rename, a red packet) that the exporter wrote without a sender header, between and after the answers.
struct NoticeLayout {
  const char* file;
  const char* grid_worker;
  std::string marked;
};

std::vector<NoticeLayout> NoticeLayouts() {
  return {
      {"notices.txt", "网格员_小王",
       "2024-05-12 09:00:00 网格员_小王\n"
       "#安全感调查 各位居民好！请回复两个问题：\n"
       "1. 您觉得我们这里安全吗？（很安全/安全/基本安全/不太安全/很不安全）\n"
       "2. 您对网格员工作满意吗？（满意/比较满意/一般/不太满意/不满意）\n"
       "!\"网格员_小王\"邀请\"5栋刘阿姨\"加入了群聊\n"
       "\n"
       "2024-05-12 09:01:33 张阿姨\n"
       "1 2\n"
       "!\"网格员_小王\"修改群名为\"幸福里3号楼4单元\"\n"
       "\n"
       "2024-05-12 09:02:10 李_建国\n"
       "安全，满意\n"
       "\n"
       "!\"张阿姨\" 拍了拍 \"李_建国\" 说不满意\n"
       "\n"
       "2024-05-12 09:03:00 王五\n"
       "2\n"
       "2\n"
       "!2024-05-12 09:03:30 \"王五\" 撤回了一条消息\n"
       "\n"
       "2024-05-12 09:04:00 Tom_Lee\n"
       "很安全\n"
       "不满意\n"
       "!你领取了Tom_Lee的红包\n"
       "!\"Tom_Lee\" 撤回了一条消息\n"},
      {"notices-exporter.txt", "网格员 小王",
       "幸福里二群 - 微信聊天记录\n"
       "\n"
       "网格员 小王 (2024-05-12 09:00:00):#安全感调查 请大家回复：您觉得安全吗？对网格员工作满意吗？\n"
       "!\"网格员 小王\"邀请\"5栋刘阿姨\"加入了群聊\n"
       "张阿姨 (2024-05-12 09:01:00):1 2\n"
       "!\"网格员 小王\"修改群名为\"幸福里3号楼4单元\"\n"
       "李 建国 (2024-05-12 09:02:00):安全\n"
       "满意\n"
       "!\"张阿姨\" 拍了拍 \"李 建国\" 说不满意\n"
       "吴十 (2024-05-12 09:03:00):「网格员 小王：#安全感调查 请大家回复：您觉得安全吗？」\n"
       "- - - - - - - - - - - - - - -\n"
       "2 2\n"
       "!\"Tom Lee\"通过扫描\"网格员 小王\"分享的二维码加入群聊\n"
       "Tom Lee (2024-05-12 09:04:00):很安全\n"
       "不满意\n"
       "!你领取了Tom Lee的红包\n"
       "!\"Tom Lee\" 撤回了一条消息\n"},
      {"notices.csv", "wxid_grid01",
       "\xEF\xBB\xBFlocalId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,"
       "NickName,Sender\n"
       "1,12345678@chatroom,1,0,1,1715475600,2,#平安建设满意度 请大家回复安全感和网格员满意度,2024-05-12 "
       "09:00:00,网格员小王,小王,wxid_grid01\n"
       "!2,12345678@chatroom,10000,0,0,1715475610,2,\"\"\"网格员小王\"\"邀请\"\"刘阿姨\"\"加入了群聊\",2024-"
       "05-12 "
       "09:00:10,,,\n"
       "3,12345678@chatroom,1,0,0,1715475693,2,1 2,2024-05-12 09:01:33,张阿姨,阿姨,wxid_zhang\n"
       "!4,12345678@chatroom,10000,0,0,1715475700,2,"
       "\"\"\"网格员小王\"\"修改群名为\"\"幸福里3号楼居民群\"\"\","
       "2024-05-12 09:01:40,,,\n"
       "5,12345678@chatroom,1,0,0,1715475720,2,安全，满意,2024-05-12 09:02:00,李建国,,wxid_li\n"
       "!6,12345678@chatroom,10000,4,0,1715475730,2,\"\"\"李建国\"\" 拍了拍 \"\"张阿姨\"\"\",2024-05-12 "
       "09:02:10,,,\n"
       "6,12345678@chatroom,1,0,0,1715475780,2,2 2,2024-05-12 09:03:00,王五,,wxid_wang\n"
       "7,12345678@chatroom,1,0,0,1715475840,2,\"很安全\n不满意\",2024-05-12 09:04:00,,Tom,wxid_tom\n"
       "!8,12345678@chatroom,10000,0,0,1715475850,2,你领取了Tom的红包,2024-05-12 09:04:10,,,\n"
       "!9,12345678@chatroom,10002,0,0,1715475860,2,\"\"\"Tom\"\" 撤回了一条消息\",2024-05-12 09:04:20,,,\n"},
      {"notices_py.csv", "wxid_grid02",
       "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n"
       "1,7100000000000000001,文本,0,wxid_grid02,88888@chatroom,#安全感调查 "
       "大家觉得小区安全吗？对网格员满意吗？,,"
       "2024-05-20 19:00:00\n"
       "!2,7100000000000000002,邀请加群,0,88888@chatroom,88888@chatroom,\"\"\"wxid_"
       "grid02\"\"邀请\"\"刘阿姨\"\"加入了"
       "群聊\",,2024-05-20 19:00:30\n"
       "3,7100000000000000003,文本,0,wxid_a,88888@chatroom,1 2,,2024-05-20 19:01:00\n"
       "!4,7100000000000000004,系统通知,0,,88888@chatroom,\"\"\"wxid_"
       "grid02\"\"修改群名为\"\"幸福里3号楼居民群\"\"\",,"
       "2024-05-20 19:01:30\n"
       "5,7100000000000000005,文本,0,wxid_b,88888@chatroom,安全，满意,,2024-05-20 19:02:00\n"
       "!6,7100000000000000006,拍一拍,0,88888@chatroom,88888@chatroom,\"\"\"wxid_b\"\" 拍了拍 "
       "\"\"wxid_a\"\"\",,"
       "2024-05-20 19:02:30\n"
       "6,7100000000000000009,文本,0,wxid_d,88888@chatroom,2 2,,2024-05-20 19:02:40\n"
       "7,7100000000000000007,文本,0,wxid_c,88888@chatroom,很安全 不满意,,2024-05-20 19:03:00\n"
       "!8,7100000000000000008,消息撤回1,0,,88888@chatroom,\"\"\"wxid_c\"\"撤回了一条消息\",,2024-05-20 "
       "19:03:30\n"},
      {"notices_chatlog.csv", "网格员老陈",
       "Time,SenderName,Sender,TalkerName,Talker,Content\n"
       "2024-07-01 20:00:00,网格员老陈,wxid_chen,和平里居民群,66666@chatroom,#安全感调查 "
       "大家觉得小区安全吗？对网格员"
       "满意吗？\n"
       "!2024-07-01 "
       "20:00:30,,,和平里居民群,66666@chatroom,\"\"\"网格员老陈\"\"邀请\"\"刘阿姨\"\"加入了群聊\"\n"
       "2024-07-01 20:01:00,小明,wxid_ming,和平里居民群,66666@chatroom,1 2\n"
       "!2024-07-01 "
       "20:01:30,,,和平里居民群,66666@chatroom,\"\"\"网格员老陈\"\"修改群名为\"\"和平里3号楼居民群\"\"\"\n"
       "2024-07-01 20:02:00,小红,wxid_hong,和平里居民群,66666@chatroom,安全，满意\n"
       "!2024-07-01 20:02:30,小红,wxid_hong,和平里居民群,66666@chatroom,\"\"\"小红\"\" 拍了拍 \"\"小明\"\" "
       "的3号楼\"\n"
       "2024-07-01 20:02:40,老李,wxid_li,和平里居民群,66666@chatroom,2 2\n"
       "2024-07-01 20:03:00,老王,wxid_wang,和平里居民群,66666@chatroom,\"很安全\n不满意\"\n"
       "!2024-07-01 20:03:30,,,和平里居民群,66666@chatroom,你领取了老王的红包\n"
       "!2024-07-01 20:04:00,,,和平里居民群,66666@chatroom,\"\"\"老王\"\" 撤回了一条消息\"\n"},
  };
}

// The export with its notices (the '!' dropped) and without them; *notices counts them.
std::pair<std::string, std::string> WithAndWithoutNotices(const std::string& marked, std::size_t* notices) {
  std::string with, without;
  *notices = 0;
  std::istringstream in(marked);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '!') {
      ++*notices;
      with += line.substr(1) + "\n";
    } else {
      with += line + "\n";
      without += line + "\n";
    }
  }
  return {with, without};
}

// Issue 16: a notice an exporter writes as a bare line (no sender header) was glued to the message
// above it, which could make an answer "not understood" or change it ("1 2" + a rename naming 3号楼).
// In every layout the answers read with the notices equal those read without them, and each notice is
// counted like any other non-message line after a prompt (messages read, not answers).
TEST_F(WechatImportTest, NoticesWithoutASenderNeverChangeTheAnswersInAnyLayout) {
  for (const NoticeLayout& layout : NoticeLayouts()) {
    SCOPED_TRACE(layout.file);
    std::size_t notices = 0;
    const auto [with, without] = WithAndWithoutNotices(layout.marked, &notices);
    FakeReviser plain, noisy;
    const WechatReport base = ImportTexts({{layout.file, without}}, Options({layout.grid_worker}), plain);
    const WechatReport report = ImportTexts({{layout.file, with}}, Options({layout.grid_worker}), noisy);
    const auto answers = AnswersOf(plain);
    ASSERT_EQ(answers.size(), 4u);
    for (const auto& [ref, a] : answers) EXPECT_EQ(a.size(), 2u) << ref;  // every member answered both
    EXPECT_EQ(AnswersOf(noisy), answers);
    EXPECT_EQ(base.not_understood, 0u);
    EXPECT_EQ(report.answers_accepted, base.answers_accepted);
    EXPECT_EQ(report.not_understood, base.not_understood);
    EXPECT_EQ(report.replies_read, base.replies_read);
    EXPECT_EQ(report.lines_rejected, 0u);
    EXPECT_EQ(report.messages_read, base.messages_read + notices);
    EXPECT_EQ(report.not_answers, base.not_answers + notices);
  }
}

// ---- issue 16: 接龙 forks

// An entry of a 接龙 list: its author and text, and the minute (after 10:00) the author wrote that text.
struct ListEntry {
  std::string author;
  std::string text;
  int minute;
};
// One post of the list: the member who posted it, when, and the whole list as they posted it.
struct ListPost {
  std::string poster;
  int minute;
  std::vector<ListEntry> entries;
};

const std::string kListWorker = "网格员 小王";
const std::string kListTopic =
    "幸福里社区平安建设满意度接龙（安全感：很安全/安全/基本安全/不太安全/很不安全；网格员满意度：满意/"
    "比较满意/"
    "一般/不太满意/不满意）";

std::string ListText(const ListPost& post) {
  std::string text = "#接龙\n" + kListTopic + "\n\n例 3号楼 张三 很安全 满意\n\n";
  for (std::size_t i = 0; i < post.entries.size(); ++i)
    text += std::to_string(i + 1) + ". " + post.entries[i].text + (i + 1 < post.entries.size() ? "\n" : "");
  return text;
}

std::string ListTime(int minute) {
  return "2024-05-12 10:" + std::string(minute < 10 ? "0" : "") + std::to_string(minute) + ":00";
}

// The posts as a WechatExporter TXT export (the text layout: no author per entry).
std::string ListAsExporterTxt(const std::vector<ListPost>& posts) {
  std::string out = "幸福里接龙群 - 微信聊天记录\n\n";
  for (const ListPost& post : posts)
    out += post.poster + " (" + ListTime(post.minute) + "):" + ListText(post) + "\n";
  return out;
}

// The posts as a WeChatMsg CSV export of app messages (type 49/53), solitaire_info naming each entry's
// author and time.
std::string ListAsWeChatMsgCsv(const std::vector<ListPost>& posts) {
  constexpr std::int64_t kTen = 1715479200;  // 2024-05-12 10:00:00 +08:00
  std::string out =
      "\xEF\xBB\xBFlocalId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,"
      "NickName,"
      "Sender\n";
  int id = 0;
  for (const ListPost& post : posts) {
    std::string info = "<au>wxid_" + kListWorker + "</au>";
    for (const ListEntry& e : post.entries)
      info += "<i><u>wxid_" + e.author + "</u><t>" + std::to_string(kTen + e.minute * 60) + "</t></i>";
    out += std::to_string(++id) + ",12345678@chatroom,49,53,0," + std::to_string(kTen + post.minute * 60) +
           ",2,\"<msg><appmsg><title>" + ListText(post) + "</title><type>53</type><extinfo><solitaire_info>" +
           info + "</solitaire_info></extinfo></appmsg></msg>\"," + ListTime(post.minute) + ",," +
           post.poster + ",wxid_" + post.poster + "\n";
  }
  return out;
}

class SolitaireForkTest : public WechatImportTest {
 protected:
  // Imports the posts in both layouts and checks each member's answers (security, grid) in each.
  void ExpectMembers(const std::vector<ListPost>& posts,
                     const std::map<std::string, std::pair<std::string, std::string>>& expected) {
    const WechatImportOptions options = Options({kListWorker, "wxid_" + kListWorker});
    for (const bool app_messages : {false, true}) {
      SCOPED_TRACE(app_messages ? "WeChatMsg CSV, solitaire_info" : "WechatExporter TXT");
      FakeReviser reviser;
      const std::string file = app_messages ? "list.csv" : "list.txt";
      const WechatReport report = ImportTexts(
          {{file, app_messages ? ListAsWeChatMsgCsv(posts) : ListAsExporterTxt(posts)}}, options, reviser);
      EXPECT_EQ(report.solitaire_threads, 1u);
      EXPECT_EQ(report.not_understood, 0u);
      std::map<std::string, Answers> want;
      for (const auto& [author, answers] : expected) {
        const std::string key = app_messages ? KeyWxid("wxid_" + author) : KeyName("幸福里接龙群", author);
        want[Ref(key)] = Answers{{"grid", {answers.second}}, {"security", {answers.first}}};
      }
      EXPECT_EQ(AnswersOf(reviser), want);
      EXPECT_EQ(report.respondents, expected.size());
    }
  }

  // 王五 and 赵六 post entry 4 from 李建国's list; 钱七 goes on from 王五's branch only.
  std::vector<ListPost> ForkAtFour() const {
    return {{kListWorker, 0, {worker_}},
            {"张阿姨", 1, {worker_, zhang_}},
            {"李建国", 2, {worker_, zhang_, li_}},
            {"王五", 3, {worker_, zhang_, li_, wang_}},
            {"赵六", 3, {worker_, zhang_, li_, zhao_}},
            {"钱七", 5, {worker_, zhang_, li_, wang_, qian_}}};
  }

  const ListEntry worker_{kListWorker, "网格员小王 很安全 满意", 0};
  const ListEntry zhang_{"张阿姨", "张阿姨 很安全 满意", 1};
  const ListEntry li_{"李建国", "李建国 安全 比较满意", 2};
  const ListEntry wang_{"王五", "王五 基本安全 一般", 3};
  const ListEntry zhao_{"赵六", "赵六 安全 满意", 3};
  const ListEntry qian_{"钱七", "钱七 很安全 比较满意", 5};
};

// Two members post entry 4 from the same list; the list goes on from one branch only. Both are
// respondents; the branch left behind is not erased.
TEST_F(SolitaireForkTest, TwoBranchesBothCountWhenTheListGoesOnFromOne) {
  std::vector<ListPost> posts = ForkAtFour();
  posts.push_back({"孙八", 6, {worker_, zhang_, li_, wang_, qian_, {"孙八", "孙八 不太安全 不太满意", 6}}});
  ExpectMembers(posts, {{"张阿姨", {"1", "1"}},
                        {"李建国", {"2", "2"}},
                        {"王五", {"3", "3"}},
                        {"赵六", {"2", "1"}},
                        {"钱七", {"1", "2"}},
                        {"孙八", {"4", "4"}}});
}

// Three members post entry 3 from the same list; two of them write the very same words. The list goes
// on from the third branch. In the app-message layout solitaire_info tells the two apart (union by
// person, not by text or position); in the text layout a word-for-word copy cannot be told from a
// re-post of the list, so the second of them is not a respondent there (docs/channels.md §3.6).
TEST_F(SolitaireForkTest, ThreeBranchesAndTwoMembersWithTheSameWords) {
  const ListEntry wang{"王五", "很安全 满意", 3}, zhao{"赵六", "赵六 安全 比较满意", 3};
  const ListEntry qian{"钱七", "很安全 满意", 3}, sun{"孙八", "孙八 基本安全 一般", 4};
  const std::vector<ListPost> posts = {
      {kListWorker, 0, {worker_}},          {"张阿姨", 1, {worker_, zhang_}},
      {"王五", 3, {worker_, zhang_, wang}}, {"赵六", 3, {worker_, zhang_, zhao}},
      {"钱七", 3, {worker_, zhang_, qian}}, {"孙八", 4, {worker_, zhang_, zhao, sun}}};
  std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"张阿姨", {"1", "1"}}, {"王五", {"1", "1"}}, {"赵六", {"2", "2"}}, {"孙八", {"3", "3"}}};
  FakeReviser reviser;
  const WechatImportOptions options = Options({kListWorker, "wxid_" + kListWorker});
  ImportTexts({{"list.csv", ListAsWeChatMsgCsv(posts)}}, options, reviser);
  EXPECT_EQ(AnswersOf(reviser).count(Ref(KeyWxid("wxid_钱七"))), 1u);
  EXPECT_EQ(AnswersOf(reviser).size(), 5u);
  FakeReviser text_reviser;
  ImportTexts({{"list.txt", ListAsExporterTxt(posts)}}, options, text_reviser);
  EXPECT_EQ(AnswersOf(text_reviser).size(), 4u);
  EXPECT_EQ(AnswersOf(text_reviser).count(Ref(KeyName("幸福里接龙群", "钱七"))), 0u);
  // With words of her own, 钱七 counts in both layouts.
  std::vector<ListPost> own_words = posts;
  own_words[4].entries.back().text = "钱七 很安全 满意";
  expected["钱七"] = {"1", "1"};
  ExpectMembers(own_words, expected);
}

// After a fork each member edits their own entry in later posts, on whichever branch they see; one
// edits and then goes back to the words they first wrote. The latest words of each count.
TEST_F(SolitaireForkTest, EditsAfterAForkReviseTheirAuthorsEntry) {
  const ListEntry zhao_edit{"赵六", "赵六 很安全 满意", 7};  // on the branch that lost her entry
  const ListEntry wang_edit{"王五", "王五 不太安全 一般", 8};
  const ListEntry wang_back{"王五", "王五 基本安全 一般", 9};  // back to the first words
  std::vector<ListPost> posts = ForkAtFour();
  posts.push_back({"赵六", 7, {worker_, zhang_, li_, wang_, qian_, zhao_edit}});
  posts.push_back({"王五", 8, {worker_, zhang_, li_, wang_edit, qian_, zhao_edit}});
  posts.push_back({"王五", 9, {worker_, zhang_, li_, wang_back, qian_, zhao_edit}});
  ExpectMembers(posts, {{"张阿姨", {"1", "1"}},
                        {"李建国", {"2", "2"}},
                        {"王五", {"3", "3"}},
                        {"赵六", {"1", "1"}},
                        {"钱七", {"1", "2"}}});
}

// One member adds herself to both branches (the same words, then new words on one branch); a later
// post of the other branch still shows her first words. She is one respondent, her latest words count.
TEST_F(SolitaireForkTest, TheSameMemberInTwoBranchesIsOneRespondent) {
  const ListEntry wang{"王五", "王五 安全 满意", 2}, zhao{"赵六", "赵六 基本安全 一般", 2};
  const ListEntry zhou{"周九", "周九 很安全 满意", 3}, zhou_new{"周九", "周九 安全 比较满意", 6};
  const ListEntry sun{"孙八", "孙八 安全 比较满意", 5}, qian{"钱七", "钱七 很安全 满意", 7};
  ExpectMembers({{kListWorker, 0, {worker_}},
                 {"张阿姨", 1, {worker_, zhang_}},
                 {"王五", 2, {worker_, zhang_, wang}},
                 {"赵六", 2, {worker_, zhang_, zhao}},
                 {"周九", 3, {worker_, zhang_, wang, zhou}},
                 {"周九", 4, {worker_, zhang_, zhao, zhou}},
                 {"孙八", 5, {worker_, zhang_, zhao, zhou, sun}},
                 {"周九", 6, {worker_, zhang_, wang, zhou_new}},
                 {"钱七", 7, {worker_, zhang_, zhao, zhou, sun, qian}}},
                {{"张阿姨", {"1", "1"}},
                 {"王五", {"2", "1"}},
                 {"赵六", {"3", "3"}},
                 {"周九", {"2", "2"}},
                 {"孙八", {"2", "2"}},
                 {"钱七", {"1", "1"}}});
}

// ---- issue 16: quoted replies

// The grid worker's names: WeChat display name, group nickname, the exporting account's remark, wxid.
const std::vector<std::string> kWorkerNames = {"小王", "网格员小王", "网格员 王明", "wxid_grid01"};
const std::vector<std::string> kPromptLines = {
    "#安全感调查 各位居民好！请回复两个问题：",
    "1. 您觉得我们这里安全吗？（很安全/安全/基本安全/不太安全/很不安全）",
    "2. 您对网格员工作满意吗？（满意/比较满意/一般/不太满意/不满意）"};

// What a quote may keep of the prompt: any one line, the whole (lines kept, or joined by spaces), or
// its start cut with an ellipsis.
std::vector<std::string> QuotedParts() {
  const std::string& a = kPromptLines[0];
  const std::string& b = kPromptLines[1];
  const std::string& c = kPromptLines[2];
  return {a, b, c, a + "\n" + b + "\n" + c, a + " " + b + " " + c, "#安全感调查 各位居民好！请回复…"};
}

std::string QuoteXml(const std::string& name, const std::string& quoted) {
  const bool wxid = name.rfind("wxid_", 0) == 0;
  return "<msg><appmsg><title>很安全 满意</title><type>57</type><refermsg><type>1</type>" +
         std::string(wxid ? "<chatusr>" + name + "</chatusr><displayname></displayname>"
                          : "<displayname>" + name + "</displayname>") +
         "<content>" + quoted + "</content></refermsg></appmsg></msg>";
}

// A prompt, then one member per (name, quoted part) answering "很安全 满意" by quoting it, in `layout`.
std::string QuoteExport(const std::string& layout) {
  std::string prompt = kPromptLines[0] + "\n" + kPromptLines[1] + "\n" + kPromptLines[2];
  std::string out;
  if (layout == "wechatmsg-txt") out = "2024-05-12 09:00:00 网格员_王明\n" + prompt + "\n\n";
  if (layout == "wechatexporter-txt")
    out = "幸福里引用群 - 微信聊天记录\n\n网格员小王 (2024-05-12 09:00:00):" + prompt + "\n";
  if (layout == "wechatmsg-csv") {
    out =
        "\xEF\xBB\xBFlocalId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,"
        "NickName,"
        "Sender\n1,12345678@chatroom,1,0,0,1715475600,2,\"" +
        prompt + "\",2024-05-12 09:00:00,网格员 王明,小王,wxid_grid01\n";
  }
  if (layout == "pywxdump-csv") {
    out =
        "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n1,7200000000000000001,文本,0,"
        "wxid_grid01,88888@chatroom,\"" +
        prompt + "\",,2024-05-12 09:00:00\n";
  }
  int n = 0;
  for (const std::string& name : kWorkerNames) {
    for (const std::string& quoted : QuotedParts()) {
      ++n;
      const std::string member = "居民" + std::to_string(n);
      const std::string time = "2024-05-12 09:" + std::string(n < 10 ? "0" : "") + std::to_string(n) + ":00";
      if (layout == "wechatmsg-txt")
        out += time + " " + member + "\n很安全 满意\n引用:" + name + ":" + quoted + "\n\n";
      if (layout == "wechatexporter-txt")
        out += member + " (" + time + "):「" + name + "：" + quoted +
               "」\n- - - - - - - - - - - - - - -\n很安全 满意\n";
      if (layout == "wechatmsg-csv") {
        out += std::to_string(n + 1) + ",12345678@chatroom,49,57,0," + std::to_string(1715475600 + n * 60) +
               ",2,\"" + QuoteXml(name, quoted) + "\"," + time + ",," + member + ",wxid_m" +
               std::to_string(n) + "\n";
      }
      if (layout == "pywxdump-csv") {
        out += std::to_string(n + 1) + ",72000000000000001" + std::to_string(10 + n) + ",引用回复,0,wxid_m" +
               std::to_string(n) + ",88888@chatroom,\"" + QuoteXml(name, quoted) + "\",," + time + "\n";
      }
    }
  }
  return out;
}

// Issue 16: a resident who answers by quoting the survey prompt counts in every layout that keeps the
// reply, whichever of the grid worker's names the quote header uses and whichever part of the prompt
// it keeps.
TEST_F(WechatImportTest, QuotesOfThePromptCountWhicheverNameAndLineTheyKeep) {
  for (const std::string layout : {"wechatmsg-txt", "wechatexporter-txt", "wechatmsg-csv", "pywxdump-csv"}) {
    SCOPED_TRACE(layout);
    FakeReviser reviser;
    const WechatReport report =
        ImportTexts({{"quotes-" + layout, QuoteExport(layout)}}, Options(kWorkerNames), reviser);
    ASSERT_EQ(report.files.at(0).format, layout);
    EXPECT_EQ(report.prompts_found, 1u);
    const std::size_t quotes = kWorkerNames.size() * QuotedParts().size();
    EXPECT_EQ(report.answers_accepted, quotes);
    EXPECT_EQ(report.not_answers, 0u);
    for (const WechatIssue& i : report.issues) ADD_FAILURE() << i.line << " " << i.reason << ": " << i.text;
    const auto answers = AnswersOf(reviser);
    EXPECT_EQ(answers.size(), quotes);
    for (const auto& [ref, a] : answers) EXPECT_EQ(a, (Answers{{"grid", {"1"}}, {"security", {"1"}}})) << ref;
  }
  // The names given for the group in a group map instead.
  GroupMap map;
  map.Add("12345678@chatroom", GroupMap::Entry{kTown, kWorkerNames});
  WechatImportOptions options = Options({});
  options.town_code.clear();
  options.group_map = &map;
  FakeReviser reviser;
  const WechatReport report = ImportTexts({{"quotes.csv", QuoteExport("wechatmsg-csv")}}, options, reviser);
  EXPECT_EQ(report.answers_accepted, kWorkerNames.size() * QuotedParts().size());
}

// ---- golden: whole imports against a reference (issue 16: the speed work must not change a result)

// The report (JSON) and every stored response (slot, canonical content, raw payload) of one import.
std::string ImportDump(const WechatReport& report, FakeReviser& reviser) {
  std::string out = report.ToJson() + "\n";
  for (const auto& [ref, r] : reviser.Current()) {
    out += ref + "\n  " + r.CanonicalContent() + "\n  " + r.raw_payload + "\n";
  }
  return out;
}

// Compares `dump` with tests/fixtures/wechat/golden/<name>.golden; MINYI_UPDATE_GOLDEN=1 rewrites the
// reference (review the diff before committing it).
void ExpectGolden(const std::string& name, const std::string& dump) {
  const std::string path = kFixtures + "golden/" + name + ".golden";
  if (const char* update = std::getenv("MINYI_UPDATE_GOLDEN");
      update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << dump;
  }
  const std::string want = ReadFile(path);
  ASSERT_FALSE(want.empty()) << path << " is missing (MINYI_UPDATE_GOLDEN=1 writes it)";
  EXPECT_TRUE(dump == want) << name << ": the import differs from " << path
                            << " (MINYI_UPDATE_GOLDEN=1 rewrites it; then see git diff)";
}

// The golden imports with the read-ahead thread's batches (read_ahead.h) of `batches` × `messages`
// (batches < 2: one thread); the goldens were written reading on one thread.
class GoldenImportTest : public WechatImportTest {
 protected:
  void ExpectGoldenFixtures(std::size_t batches, std::size_t messages) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> sets = {
        {"wechatmsg-txt", {"wechatmsg.txt", "wechatmsg-fillers.txt"}},
        {"wechatmsg-csv", {"wechatmsg.csv", "wechatmsg-gbk.csv"}},
        {"pywxdump-csv", {"pywxdump_1.csv", "pywxdump_2.csv"}},
        {"wechatexporter-txt", {"wechatexporter.txt"}},
        {"chatlog-csv", {"chatlog.csv"}},
    };
    for (const auto& [name, files] : sets) {
      FakeReviser reviser;
      WechatImportOptions options =
          Options({"网格员小王", "网格员_小王", "网格员 小王", "wxid_grid01", "wxid_grid02", "wxid_chen"});
      options.read_ahead_batches = batches;
      options.read_ahead_messages = messages;
      const WechatReport report = Import(files, options, reviser);
      ExpectGolden(name, ImportDump(report, reviser));
    }
  }
  void ExpectGoldenGenerated(std::size_t batches, std::size_t messages) {
    for (const minyi::testing::ChatLayout layout : minyi::testing::kAllChatLayouts) {
      std::ostringstream out;
      minyi::testing::GenerateChatExport(out, layout, 96 << 10, /*first_prompt_seconds=*/60);
      FakeReviser reviser;
      WechatImportOptions options = Options({"网格员_小王", "wxid_grid"});
      options.group = "幸福里一群";
      options.read_ahead_batches = batches;
      options.read_ahead_messages = messages;
      const WechatReport report =
          ImportTexts({{minyi::testing::ChatLayoutFileName(layout), out.str()}}, options, reviser);
      EXPECT_GT(report.answers_accepted, 30u) << minyi::testing::ChatLayoutFileName(layout);
      ExpectGolden(std::string("generated-") + minyi::testing::ChatLayoutFileName(layout),
                   ImportDump(report, reviser));
    }
  }
};

TEST_F(GoldenImportTest, GoldenFixturesInEveryLayout) {
  const WechatImportOptions defaults;
  ExpectGoldenFixtures(defaults.read_ahead_batches, defaults.read_ahead_messages);
}

TEST_F(GoldenImportTest, GoldenGeneratedChatterInEveryLayout) {
  const WechatImportOptions defaults;
  ExpectGoldenGenerated(defaults.read_ahead_batches, defaults.read_ahead_messages);
}

// Issue 16: read on one thread, and with every message (or every few) in a batch of its own, so that
// each message, its issues (the fixtures' rejected lines) and the end cross the threads' batch edges.
TEST_F(GoldenImportTest, GoldenImportsAreTheSameOnOneThreadAndWithTinyReadAheadBatches) {
  for (const auto& [batches, messages] :
       {std::pair<std::size_t, std::size_t>{0, 0}, {2, 1}, {3, 7}, {4, 512}}) {
    SCOPED_TRACE("read-ahead " + std::to_string(batches) + " x " + std::to_string(messages));
    ExpectGoldenFixtures(batches, messages);
    ExpectGoldenGenerated(batches, messages);
  }
}

// Issue 16: an unreadable line in the middle of a large export is reported with its line, between the
// messages around it, whether the reading runs ahead on its own thread or not.
TEST_F(WechatImportTest, AnUnreadableLineInTheMiddleNamesItsLineWithTheReadAheadThread) {
  std::ostringstream out;
  minyi::testing::GenerateChatExport(out, minyi::testing::ChatLayout::kChatlogCsv, 256 << 10, 60);
  std::string text = out.str();
  const std::size_t at = text.find("\n20", text.size() / 2) + 1;  // where a record (its time) begins
  const std::size_t line = static_cast<std::size_t>(std::count(
                               text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) +
                           1;
  text.insert(at, "这不是一条消息\n");
  std::vector<std::string> dumps;
  for (const auto& [batches, messages] : {std::pair<std::size_t, std::size_t>{0, 0}, {2, 1}, {4, 512}}) {
    FakeReviser reviser;
    WechatImportOptions options = Options({"网格员_小王", "wxid_grid"});
    options.group = "幸福里一群";
    options.read_ahead_batches = batches;
    options.read_ahead_messages = messages;
    options.max_issues = 1000000;  // every "no answer found" of the chatter listed too
    const WechatReport report = ImportTexts({{"middle.csv", text}}, options, reviser);
    EXPECT_EQ(report.lines_rejected, 1u);
    EXPECT_TRUE(HasIssue(report, line, "rejected", "fields")) << "line " << line;
    EXPECT_GT(report.answers_accepted, 100u);
    dumps.push_back(ImportDump(report, reviser));
  }
  EXPECT_TRUE(dumps[0] == dumps[1]);
  EXPECT_TRUE(dumps[0] == dumps[2]);
}

}  // namespace
}  // namespace minyi::collector::wechat
