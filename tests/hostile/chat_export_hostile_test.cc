// Hostile input catalogue: WeChat chat exports (collector/wechat/wechat_import.h), every exporter
// layout. Each export holds a grid worker's prompt, member A's answer, the hostile message or line, and
// member B's answer: A and B are stored, the hostile item is reported with its line (an unreadable
// line, a reply that is not understood) or taken where it is a valid answer after all, and the
// report never carries a plaintext phone number.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_reviser_for_test.h"
#include "collector/wechat/wechat_import.h"
#include "tests/hostile/hostile_support.h"

namespace minyi::hostile {
namespace {

namespace wechat = collector::wechat;

struct ChatMsg {
  std::string time;  // "2024-05-12 09:01:00"
  std::string name;
  std::string wxid;
  std::string text;
};

std::int64_t Epoch(const std::string& local) { return ParseTimestamp(local).value() / 1000; }

// An exporter layout: the file's head and one message as the exporter writes it.
struct Layout {
  std::string name;
  std::string head;
  std::function<std::string(const ChatMsg&, int)> message;  // int: a running message number
};

const std::vector<Layout>& Layouts() {
  static const std::vector<Layout> layouts = {
      {"chatlog-csv", "Time,SenderName,Sender,TalkerName,Talker,Content\n",
       [](const ChatMsg& m, int) {
         return m.time + "," + CsvQuote(m.name) + "," + m.wxid + ",和平里居民群,66666@chatroom," +
                CsvQuote(m.text) + "\n";
       }},
      {"wechatmsg-txt", "",
       [](const ChatMsg& m, int) { return m.time + " " + m.name + "\n" + m.text + "\n\n"; }},
      {"wechatmsg-csv",
       "\xEF\xBB\xBFlocalId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,"
       "NickName,Sender\n",
       [](const ChatMsg& m, int n) {
         return std::to_string(n) + ",12345678@chatroom,1,0,0," + std::to_string(Epoch(m.time)) + ",2," +
                CsvQuote(m.text) + "," + m.time + "," + CsvQuote(m.name) + "," + CsvQuote(m.name) + "," +
                m.wxid + "\n";
       }},
      {"pywxdump-csv", "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n",
       [](const ChatMsg& m, int n) {
         return std::to_string(n) + ",70000000000000000" + std::to_string(10 + n) + ",文本,0," + m.wxid +
                ",88888@chatroom," + CsvQuote(m.text) + ",," + m.time + "\n";
       }},
      {"wechatexporter-txt", "幸福里一群 - 微信聊天记录\n\n",
       [](const ChatMsg& m, int) { return m.name + " (" + m.time + "):" + m.text + "\n"; }},
  };
  return layouts;
}

const ChatMsg kPrompt{"2024-05-12 09:00:00", "网格员小王", "wxid_grid",
                      "#安全感调查 请回复：您觉得安全吗？对网格员工作满意吗？"};
const ChatMsg kA{"2024-05-12 09:01:00", "张阿姨", "wxid_a", "很安全 满意"};
const ChatMsg kB{"2024-05-12 09:03:00", "李四", "wxid_b", "安全 比较满意"};

struct ChatCase {
  std::string layout;
  std::string name;
  std::string hostile;  // the hostile message or raw lines, in the layout's form
  // "": a valid answer after all (3 responses, the third 基本安全 一般); "+": read as some answer (3
  // responses); "-": not an answer, nothing to report (2 responses); "!": the file is refused as a
  // whole with a reason naming it; else a substring of the issue reported for it (category or reason).
  std::string expect;
};

std::string CaseLabel(const ::testing::TestParamInfo<ChatCase>& info) {
  return std::to_string(info.index) + "_" + TestName(info.param.layout + "_" + info.param.name);
}

std::vector<ChatCase> Cases() {
  std::vector<ChatCase> cases;
  // Hostile replies by member C, written by every layout.
  const std::vector<std::pair<std::string, std::string>> replies = {
      {"formula @", "@SUM(A1:A9)"},
      {"SQL", "'; DROP TABLE responses; --"},
      {"script", "<script>alert(document.cookie)</script>"},
      {"NaN", "NaN"},
      {"Infinity", "Infinity"},
      {"exponent", "1e400"},
      {"out of range", "999"},
      {"phone number", "有事打13812345678"},
      {"emoji only", "\xF0\x9F\x91\x8D\xF0\x9F\x91\x8D"},
      {"bidi override",
       "\xE2\x80\xAE"
       "意满"},
  };
  for (const Layout& layout : Layouts()) {
    for (const auto& [name, text] : replies) {
      cases.push_back({layout.name, "reply " + name,
                       layout.message({"2024-05-12 09:02:00", "钱七", "wxid_c", text}, 3), "not_understood"});
    }
    cases.push_back({layout.name, "reply formula with digits (read as the answer 1)",
                     layout.message({"2024-05-12 09:02:00", "钱七", "wxid_c", "=1+1"}, 3), "+"});
    cases.push_back({layout.name, "reply escape sequence (no text left: not an answer)",
                     layout.message({"2024-05-12 09:02:00", "钱七", "wxid_c", "\x1b[2J\x1b]0;pwned\x07"}, 3),
                     "-"});
    cases.push_back({layout.name, "valid third answer",
                     layout.message({"2024-05-12 09:02:00", "钱七", "wxid_c", "基本安全 一般"}, 3), ""});
    cases.push_back({layout.name, "opt-out word",
                     layout.message({"2024-05-12 09:02:00", "钱七", "wxid_c", "退订"}, 3), "ignored"});
    cases.push_back(
        {layout.name, "sender name with script",
         layout.message({"2024-05-12 09:02:00", "<img src=x onerror=alert(1)>", "wxid_c", "基本安全 一般"},
                        3),
         ""});
    cases.push_back({layout.name, "reply 20000 characters",
                     layout.message({"2024-05-12 09:02:00", "钱七", "wxid_c", Repeat("很", 20000)}, 3),
                     "not_understood"});
  }
  // Lines an exporter never writes, per layout.
  const auto add = [&](const std::string& layout, const std::string& name, const std::string& raw,
                       const std::string& expect) {
    cases.push_back({layout, name, raw, expect});
  };
  add("chatlog-csv", "time 30 February", "2024-02-30 09:02:00,钱七,wxid_c,和平里居民群,66666@chatroom,1\n",
      "rejected");
  add("chatlog-csv", "time year 99999", "99999-05-12 09:02:00,钱七,wxid_c,和平里居民群,66666@chatroom,1\n",
      "rejected");
  add("chatlog-csv", "time text", "昨天晚上,钱七,wxid_c,和平里居民群,66666@chatroom,1\n", "rejected");
  add("chatlog-csv", "too few fields", "2024-05-12 09:02:00,钱七\n", "rejected");
  // Columns a newer exporter adds are ignored.
  add("chatlog-csv", "too many fields",
      "2024-05-12 09:02:00,钱七,wxid_c,和平里居民群,66666@chatroom,基本安全 一般,x,y\n", "");
  add("chatlog-csv", "text after closing quote", "2024-05-12 09:02:00,钱七,wxid_c,群,66666@chatroom,\"1\"x\n",
      "rejected");
  // A NUL byte makes the file binary: refused as a whole, named (with the offset).
  add("chatlog-csv", "NUL bytes", std::string("2024-05-12 09:02:00,\0\0\0,wxid_c,群,66666@chatroom,\0\n", 52),
      "!");
  add("chatlog-csv", "invalid UTF-8 line", "2024-05-12 09:02:00,\xff\xfe,wxid_c,群,66666@chatroom,\xc0\xaf\n",
      "-");
  // GBK bytes in a line that also holds UTF-8 (the group name): replaced, reported with the line.
  add("chatlog-csv", "GBK line",
      "2024-05-12 09:02:00,\xc7\xae\xc6\xdf,wxid_c,群,66666@chatroom,\xbb\xf9\xb1\xbe\xb0\xb2\xc8\xab\n",
      "not UTF-8");
  add("chatlog-csv", "CRLF line",
      "2024-05-12 09:02:00,钱七,wxid_c,和平里居民群,66666@chatroom,基本安全 一般\r\n", "");
  add("chatlog-csv", "blank lines", "\n\n\n", "-");
  add("wechatmsg-txt", "header with bad time", "2024-13-12 09:02:00 钱七\n1\n\n", "-");
  add("wechatmsg-txt", "CRLF message", "2024-05-12 09:02:00 钱七\r\n基本安全 一般\r\n\r\n", "");
  add("wechatmsg-txt", "NUL in text", std::string("2024-05-12 09:02:00 钱七\n") + std::string(2, '\0') + "\n\n", "!");
  // A line wholly in GBK is decoded on its own as GB18030 and read.
  add("wechatmsg-txt", "GBK message",
      "2024-05-12 09:02:00 \xc7\xae\xc6\xdf\n\xbb\xf9\xb1\xbe\xb0\xb2\xc8\xab \xd2\xbb\xb0\xe3\n\n", "");
  add("wechatmsg-txt", "recall notice", "2024-05-12 09:02:00 钱七 撤回了一条消息\n\n", "-");
  // A CreateTime that is not epoch seconds: the StrTime beside it is read instead.
  add("wechatmsg-csv", "CreateTime NaN",
      "9,12345678@chatroom,1,0,0,NaN,2,基本安全 一般,2024-05-12 09:02:00,钱七,钱七,wxid_c\n", "");
  add("wechatmsg-csv", "CreateTime negative",
      "9,12345678@chatroom,1,0,0,-5,2,基本安全 一般,2024-05-12 09:02:00,钱七,钱七,wxid_c\n", "");
  add("wechatmsg-csv", "CreateTime 1e400",
      "9,12345678@chatroom,1,0,0,1e400,2,基本安全 一般,2024-05-12 09:02:00,钱七,钱七,wxid_c\n", "");
  add("wechatmsg-csv", "CreateTime and StrTime bad",
      "9,12345678@chatroom,1,0,0,NaN,2,1,2024-02-30 09:02:00,钱七,钱七,wxid_c\n", "rejected");
  add("wechatmsg-csv", "Type of text",
      "9,12345678@chatroom,text,0,0,1715475720,2,1,2024-05-12 09:02:00,钱七,钱七,wxid_c\n", "rejected");
  add("wechatmsg-csv", "too few fields", "9,12345678@chatroom,1\n", "rejected");
  add("wechatmsg-csv", "XML bomb in app message",
      "9,12345678@chatroom,49,57,0,1715475720,2,\"<!DOCTYPE x [<!ENTITY a \"\"aaaaaaaaaa\"\"><!ENTITY b "
      "\"\"&a;&a;&a;&a;&a;\"\">]>"
      "<msg><appmsg><title>&b;</title></appmsg></msg>\",2024-05-12 09:02:00,钱七,钱七,wxid_c\n",
      "-");
  add("pywxdump-csv", "time invalid",
      "9,7000000000000000099,文本,0,wxid_c,88888@chatroom,1,,2024-05-12 25:02:00\n", "rejected");
  add("pywxdump-csv", "too few fields", "9,7000000000000000099,文本\n", "rejected");
  add("pywxdump-csv", "MsgSvrID overlong",
      "9," + std::string(500, '7') + ",文本,0,wxid_c,88888@chatroom,基本安全 一般,,2024-05-12 09:02:00\n",
      "");
  add("pywxdump-csv", "unknown type name",
      "9,7000000000000000099,炸弹,0,wxid_c,88888@chatroom,1,,2024-05-12 09:02:00\n", "-");
  add("wechatexporter-txt", "time invalid", "钱七 (2024-05-12 09:61:00):1\n", "-");
  add("wechatexporter-txt", "name with parentheses", "钱(七) (2024-05-12 09:02:00):基本安全 一般\n", "");
  add("wechatexporter-txt", "CRLF message", "钱七 (2024-05-12 09:02:00):基本安全 一般\r\n", "");
  return cases;
}

// An importer for the default survey into one town, with the prompt's author as grid worker.
Result<std::unique_ptr<wechat::WechatImporter>> MakeImporter() {
  wechat::WechatImportOptions o;
  o.survey_id = "jiangsu-safety";
  o.period = Period{2024, 0};
  o.town_code = "320812007";
  o.grid_workers = {"网格员小王", "wxid_grid"};
  o.group = "幸福里一群";
  static const auto keyer = collector::RespondentKeyer::Create("hostile-chat-secret-0123456").value();
  return wechat::WechatImporter::Create(fuzz::DefaultSurvey(), fuzz::Areas(), keyer, o);
}

class ChatExportHostile : public ::testing::TestWithParam<ChatCase> {};

TEST_P(ChatExportHostile, ReportsTheLineAndKeepsTheValidAnswers) {
  const ChatCase& c = GetParam();
  const Layout* layout = nullptr;
  for (const Layout& l : Layouts()) {
    if (l.name == c.layout) layout = &l;
  }
  ASSERT_NE(layout, nullptr);
  const std::string text = layout->head + layout->message(kPrompt, 1) + layout->message(kA, 2) + c.hostile +
                           layout->message(kB, 4);
  auto importer = MakeImporter();
  ASSERT_TRUE(importer.ok()) << importer.status();
  std::istringstream in(text);
  const Status added = (*importer)->AddFile("export", in);
  const std::vector<Response> responses = (*importer)->BuildResponses(1700000000000);
  const wechat::WechatReport& report = (*importer)->report();
  const std::string summary = report.ToText();
  if (c.expect == "!") {
    EXPECT_EQ(added.code(), StatusCode::kInvalidInput) << summary;
    EXPECT_NE(summary.find("export [file]"), std::string::npos) << summary;
    EXPECT_TRUE(responses.empty());
    return;
  }
  EXPECT_TRUE(added.ok()) << added << "\n" << summary;
  EXPECT_EQ(report.files.at(0).format, c.layout) << summary;
  const auto answered = [&](const std::string& security, const std::string& grid) {
    for (const Response& r : responses) {
      if (r.answers.count("security") && r.answers.at("security") == std::vector<std::string>{security} &&
          r.answers.count("grid") && r.answers.at("grid") == std::vector<std::string>{grid}) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(answered("1", "1")) << "member A kept\n" << summary;
  EXPECT_TRUE(answered("2", "2")) << "member B kept\n" << summary;
  EXPECT_EQ(summary.find("13812345678"), std::string::npos) << "phone numbers masked in the report";
  if (c.expect.empty() || c.expect == "+") {
    EXPECT_EQ(responses.size(), 3u) << summary;
    if (c.expect.empty()) EXPECT_TRUE(answered("3", "3")) << summary;
    return;
  }
  EXPECT_EQ(responses.size(), 2u) << summary;
  if (c.expect == "-") return;
  bool named = false;
  for (const wechat::WechatIssue& issue : report.issues) {
    named = named || (issue.line > 0 &&
                      (issue.category == c.expect || issue.reason.find(c.expect) != std::string::npos));
  }
  EXPECT_TRUE(named) << summary;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, ChatExportHostile, ::testing::ValuesIn(Cases()), CaseLabel);

// Whole files.
struct FileCase {
  std::string name;
  std::string text;
  bool refused = false;  // AddFile fails (named in the report)
};

class ChatFileHostile : public ::testing::TestWithParam<FileCase> {};

TEST_P(ChatFileHostile, AnswersAsExpected) {
  const FileCase& c = GetParam();
  auto importer = MakeImporter();
  ASSERT_TRUE(importer.ok());
  std::istringstream in(c.text);
  const Status added = (*importer)->AddFile("upload.bin", in);
  EXPECT_EQ(!added.ok(), c.refused) << added;
  if (c.refused) {
    EXPECT_EQ(added.code(), StatusCode::kInvalidInput);
    bool named = false;
    for (const auto& issue : (*importer)->report().issues) named = named || issue.file == "upload.bin";
    EXPECT_TRUE(named) << (*importer)->report().ToText();
  }
}

std::vector<FileCase> FileCases() {
  const Layout& csv = Layouts()[0];
  std::string many = csv.head + csv.message(kPrompt, 1);
  for (int i = 0; i < 20000; ++i)
    many += csv.message({"2024-05-12 09:01:00", "m" + std::to_string(i), "wxid_m", "1"}, 2);
  return {
      {"zero bytes", "", true},
      {"binary", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0", 18), true},
      {"UTF-16LE",
       std::string("\xFF\xFE"
                   "2\0000\0002\0004\0",
                   10),
       true},
      {"only a header", csv.head, false},
      {"not a chat", "hello world\nthis is not an export\n", true},
      {"20000 messages", many, false},
  };
}

INSTANTIATE_TEST_SUITE_P(Catalogue, ChatFileHostile, ::testing::ValuesIn(FileCases()), CaseName<FileCase>);

}  // namespace
}  // namespace minyi::hostile
