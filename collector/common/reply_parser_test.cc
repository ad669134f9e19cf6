// The reply parser against the ways residents really answer (docs/channels.md §2.4): one row per reply,
// with the question the conversation is waiting for and the expected reading.
#include "collector/common/reply_parser.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace minyi::collector {
namespace {

const SurveyDefinition& DefaultSurvey() {
  static const SurveyDefinition survey = [] {
    std::ifstream in(std::string(MINYI_SOURCE_DIR) + "/conf/surveys/jiangsu-safety.json");
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseSurveyDefinition(text.str());
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? std::move(parsed).value() : SurveyDefinition{};
  }();
  return survey;
}

// The pending questions of the default survey from `first` to the end (security, grid, sex,
// age_band, comment).
std::vector<const Question*> PendingFrom(const std::string& first) {
  std::vector<const Question*> out;
  bool on = false;
  for (const Question& q : DefaultSurvey().questions) {
    if (q.code == first) on = true;
    if (on) out.push_back(&q);
  }
  return out;
}

struct Case {
  const char* pending;  // the first pending question
  const char* reply;
  const char* expected;  // ParsedReply::Describe()
};

// Options as the SMS lists them: security 1很安全 2安全 3基本安全 4不太安全 5很不安全 6说不清(code 9);
// grid 1满意 2比较满意 3一般 4不太满意 5不满意 6不了解(code 9); sex 1男 2女; age_band 1 18-29 ... 5 60+.
const Case kCases[] = {
    // Plain digits, fullwidth, circled, dingbat, Chinese numerals, letters.
    {"security", "1", "security=1"},
    {"security", "１", "security=1"},
    {"security", "①", "security=1"},
    {"security", "❷", "security=2"},
    {"security", "⑵", "security=2"},
    {"security", "一", "security=1"},
    {"security", "壹", "security=1"},
    {"security", "A", "security=1"},
    {"security", "a", "security=1"},
    {"security", "Ａ", "security=1"},
    {"security", "b", "security=2"},
    {"security", "B", "security=2"},
    {"security", "c.", "security=3"},
    {"security", "6", "security=9"},
    {"security", "⑥", "security=9"},
    {"security", " 3 ", "security=3"},
    // Words: labels and aliases, longest first.
    {"security", "很安全", "security=1"},
    {"security", "非常安全", "security=1"},
    {"security", "安全", "security=2"},
    {"security", "比较安全", "security=2"},
    {"security", "挺安全的，网格员很负责", "security=2"},
    {"security", "基本安全", "security=3"},
    {"security", "一般", "security=3"},
    {"security", "还行吧", "security=3"},
    {"security", "还可以", "security=3"},
    {"security", "不太安全", "security=4"},
    {"security", "不安全", "security=4"},
    {"security", "很不安全", "security=5"},
    {"security", "非常不安全", "security=5"},
    {"security", "说不清", "security=9"},
    {"security", "不知道", "security=9"},
    {"security", "很安全！", "security=1"},
    {"security", "很安全。", "security=1"},
    // Prefixes and suffixes around a number.
    {"security", "选2", "security=2"},
    {"security", "2号", "security=2"},
    {"security", "1号", "security=1"},
    {"security", "3号", "security=3"},
    {"security", "我选二", "security=2"},
    {"security", "第三项", "security=3"},
    {"security", "回复1", "security=1"},
    {"security", "选A", "security=1"},
    {"security", "我选择B", "security=2"},
    // Several answers in one message.
    {"security", "1 2", "grid=2 security=1"},
    {"security", "1,2", "grid=2 security=1"},
    {"security", "1，2", "grid=2 security=1"},
    {"security", "1、2", "grid=2 security=1"},
    {"security", "1.2", "grid=2 security=1"},
    {"security", "1/2", "grid=2 security=1"},
    {"security", "1；2", "grid=2 security=1"},
    {"security", "1,,,2", "grid=2 security=1"},
    {"security", "12", "grid=2 security=1"},
    {"security", "①②", "grid=2 security=1"},
    {"security", "5 5", "grid=5 security=5"},
    {"security", "1 2 1 3", "age_band=40-49 grid=2 security=1 sex=1"},
    {"security", "1213", "age_band=40-49 grid=2 security=1 sex=1"},
    {"security", "1.2.1.3", "age_band=40-49 grid=2 security=1 sex=1"},
    {"security", "1 2 1 3 很好", "age_band=40-49 grid=2 security=1 sex=1"},
    {"security", "很安全 满意", "grid=1 security=1"},
    {"security", "很安全，比较满意", "grid=2 security=1"},
    {"security", "安全 不满意", "grid=5 security=2"},
    {"security", "安全，不太满意", "grid=4 security=2"},
    {"security", "不安全 不满意", "grid=5 security=4"},
    // Chatter around the answer: addresses, ages, years, phone numbers are not answers.
    {"security", "3号楼 张三 1", "security=1"},
    {"security", "3号楼张三 1", "security=1"},
    {"security", "三号楼 1", "security=1"},
    {"security", "二楼王阿姨 选1", "security=1"},
    {"security", "住5栋2单元 选1", "security=1"},
    {"security", "我今年65岁，感觉很安全", "security=1"},
    {"security", "13812345678 1", "security=1"},
    {"security", "2024年挺安全的", "security=2"},
    // Opt-out first; a message with an opt-out is never an answer.
    {"security", "TD", "optout"},
    {"security", "td", "optout"},
    {"security", "ｔｄ", "optout"},
    {"security", "T", "optout"},
    {"security", "R", "optout"},
    {"security", "退订", "optout"},
    {"security", "拒收", "optout"},
    {"security", "1 TD", "optout"},
    {"security", "退订谢谢", "optout"},
    {"security", "请不要再发了，拒收", "optout"},
    {"comment", "TD", "optout"},
    // Unparseable: never guessed.
    {"security", "", "unparseable"},
    {"security", "   ", "unparseable"},
    {"security", "谢谢", "unparseable"},
    {"security", "好的", "unparseable"},
    {"security", "好", "unparseable"},
    {"security", "？", "unparseable"},
    {"security", "ok", "unparseable"},
    {"security", "7", "unparseable"},
    {"security", "0", "unparseable"},
    {"security", "十", "unparseable"},
    {"security", "302", "unparseable"},
    {"security", "我家在302室", "unparseable"},
    {"security", "1号楼", "unparseable"},
    {"security", "123", "unparseable"},           // 3 is not an option of sex
    {"security", "1 2 3", "unparseable"},         // the same, spaced
    {"security", "1 2 1 3 5", "unparseable"},     // a fifth reading for four choice questions
    {"security", "满意", "unparseable"},          // a grid word for the security question
    // Later questions on their own.
    {"grid", "满意", "grid=1"},
    {"grid", "非常满意", "grid=1"},
    {"grid", "很满意", "grid=1"},
    {"grid", "不满意", "grid=5"},
    {"grid", "很不满意", "grid=5"},
    {"grid", "不太满意", "grid=4"},
    {"grid", "比较满意", "grid=2"},
    {"grid", "一般", "grid=3"},
    {"grid", "一般般", "grid=3"},
    {"grid", "马马虎虎", "grid=3"},
    {"grid", "不了解", "grid=9"},
    {"grid", "没接触过网格员", "grid=9"},
    {"grid", "3", "grid=3"},
    {"grid", "三", "grid=3"},
    {"grid", "叁", "grid=3"},
    {"grid", "2 1 2", "age_band=30-39 grid=2 sex=1"},
    {"sex", "男", "sex=1"},
    {"sex", "女的", "sex=2"},
    {"sex", "女 40-49岁", "age_band=40-49 sex=2"},
    {"sex", "2 5", "age_band=60+ sex=2"},
    {"sex", "女，60岁以上", "age_band=60+ sex=2"},
    {"age_band", "60岁及以上", "age_band=60+"},
    {"age_band", "3", "age_band=40-49"},
    {"comment", "1", "comment=1"},
};

TEST(ReplyParserTest, RealLookingReplies) {
  ASSERT_FALSE(DefaultSurvey().questions.empty());
  int checked = 0;
  for (const Case& c : kCases) {
    const ParsedReply parsed = ParseReply(c.reply, PendingFrom(c.pending));
    EXPECT_EQ(parsed.Describe(), c.expected) << "reply '" << c.reply << "' (pending " << c.pending
                                             << "): " << parsed.reason;
    if (parsed.kind == ReplyKind::kUnparseable) {
      EXPECT_FALSE(parsed.reason.empty()) << c.reply;
    }
    ++checked;
  }
  EXPECT_GE(checked, 80);
}

// The table of testdata/replies_by_question.tsv: at least 100 replies for every question of the default
// survey, each with its expected reading (fillers, negations, punctuation, remarks, digits, numerals).
TEST(ReplyParserTest, RepliesByQuestionTable) {
  ASSERT_FALSE(DefaultSurvey().questions.empty());
  const std::string path =
      std::string(MINYI_SOURCE_DIR) + "/collector/common/testdata/replies_by_question.tsv";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::map<std::string, int> rows_per_question;
  int failed = 0;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    const auto tab1 = line.find('\t');
    const auto tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    ASSERT_NE(tab2, std::string::npos)
        << path << ":" << line_number << ": expected three tab-separated fields";
    const std::string pending = line.substr(0, tab1);
    const std::string reply = line.substr(tab1 + 1, tab2 - tab1 - 1);
    const std::string expected = line.substr(tab2 + 1);
    ASSERT_NE(DefaultSurvey().FindQuestion(pending), nullptr)
        << path << ":" << line_number << ": " << pending;
    ++rows_per_question[pending];
    const ParsedReply parsed = ParseReply(reply, PendingFrom(pending));
    EXPECT_EQ(parsed.Describe(), expected) << path << ":" << line_number << ": reply '" << reply
                                           << "' (pending " << pending << "): " << parsed.reason;
    if (parsed.Describe() != expected) ++failed;
    if (parsed.kind == ReplyKind::kUnparseable) {
      EXPECT_FALSE(parsed.reason.empty()) << reply;
    }
  }
  for (const Question& q : DefaultSurvey().questions) {
    EXPECT_GE(rows_per_question[q.code], 100) << "too few rows for question " << q.code;
  }
  EXPECT_EQ(failed, 0) << failed << " rows of " << path << " read differently";
}

// The SMS service and the WeChat importer read replies through a PreparedSurvey (the survey's words folded
// once): every reply of kCases and of the table reads as expected that way too.
TEST(ReplyParserTest, PreparedSurveyReadsEveryReplyAsExpected) {
  const PreparedSurvey words(DefaultSurvey());
  std::vector<std::array<std::string, 3>> rows;  // first pending question, reply, expected reading
  for (const Case& c : kCases) rows.push_back({c.pending, c.reply, c.expected});
  std::ifstream in(std::string(MINYI_SOURCE_DIR) + "/collector/common/testdata/replies_by_question.tsv");
  for (std::string line; std::getline(in, line);) {
    std::array<std::string, 3> row;
    std::istringstream fields(line);
    if (line.empty() || line[0] == '#') continue;
    for (std::string& field : row) std::getline(fields, field, '\t');
    rows.push_back(std::move(row));
  }
  ASSERT_GE(rows.size(), 600u);
  for (const auto& [pending, reply, expected] : rows) {
    const ParsedReply parsed = words.Parse(PrepareReply(reply), PendingFrom(pending));
    EXPECT_EQ(parsed.Describe(), expected) << "reply '" << reply << "' (pending " << pending << ")";
    EXPECT_EQ(parsed.reason, ParseReply(reply, PendingFrom(pending)).reason) << reply;
  }
}

// The words are folded when the PreparedSurvey is built, not at each reply: a label changed afterwards (which
// the contract forbids) is not seen. A question of another survey is folded on the spot and read all the
// same.
TEST(ReplyParserTest, PreparedSurveyFoldsTheWordsOnceWhenBuilt) {
  SurveyDefinition survey = DefaultSurvey();
  const PreparedSurvey words(survey);
  Question* security = &survey.questions.front();
  ASSERT_EQ(security->code, "security");
  ASSERT_EQ(security->options.front().label, "很安全");
  security->options.front().label = "极其安全";
  EXPECT_EQ(words.Parse(PrepareReply("很安全"), {security}).Describe(), "security=1");
  EXPECT_EQ(words.Parse(PrepareReply("极其安全"), {security}).Describe(), "security=2");  // 安全 only
  EXPECT_EQ(ParseReply("极其安全", {security}).Describe(), "security=1");  // folded at the call

  const Question* elsewhere = DefaultSurvey().FindQuestion("grid");
  EXPECT_EQ(words.Parse(PrepareReply("比较的满意 2"), {elsewhere, security}).Describe(), "grid=2 security=2");
}

// Rule 4c: when fillers let two options match overlapping words, the reply is not understood. The
// default survey has no such pair, so a question of its own: 很好 read through 还 is 很[还]好, which
// overlaps the exact 还好.
TEST(ReplyParserTest, FillersNeverMakeTwoOptionsAmbiguous) {
  Question mood;
  mood.code = "mood";
  mood.type = QuestionType::kSingle;
  for (const char* label : {"很好", "还好", "不好"}) {
    Option o;
    o.code = std::to_string(mood.options.size() + 1);
    o.label = label;
    mood.options.push_back(o);
  }
  const std::vector<const Question*> pending = {&mood};
  EXPECT_EQ(ParseReply("很是好", pending).Describe(), "mood=1");
  EXPECT_EQ(ParseReply("还好", pending).Describe(), "mood=2");
  const ParsedReply both = ParseReply("很还好", pending);
  EXPECT_EQ(both.Describe(), "unparseable");
  EXPECT_NE(both.reason.find("overlap"), std::string::npos) << both.reason;
}

TEST(ReplyParserTest, NegationReasonNamesTheWords) {
  const ParsedReply parsed = ParseReply("不算满意", PendingFrom("grid"));
  ASSERT_EQ(parsed.kind, ReplyKind::kUnparseable);
  EXPECT_NE(parsed.reason.find("'满意' follows the negation '不算'"), std::string::npos) << parsed.reason;
}

// The cheap test before parsing chat (WeChat's MayHoldAnswer) finds words with fillers too, or the
// parser would never see 还算可以.
TEST(ReplyParserTest, MentionsOptionWordSeesFillers) {
  const std::vector<const Question*> pending = PendingFrom("security");
  EXPECT_TRUE(MentionsOptionWord("很安全", pending));
  EXPECT_TRUE(MentionsOptionWord("还算可以", pending));
  EXPECT_TRUE(MentionsOptionWord("基本上算是安全吧", pending));
  EXPECT_TRUE(MentionsOptionWord("马马 虎虎", pending));
  EXPECT_FALSE(MentionsOptionWord("我还以为是骗子短信", pending));
  EXPECT_FALSE(MentionsOptionWord("今天天气不错", pending));
  EXPECT_FALSE(MentionsOptionWord("", pending));
}

TEST(ReplyParserTest, TextAnswerKeepsTheResidentsCharacters) {
  const ParsedReply parsed = ParseReply("  网格员很负责，希望多巡逻  ", PendingFrom("comment"));
  ASSERT_EQ(parsed.kind, ReplyKind::kAnswers);
  EXPECT_EQ(parsed.answers.at("comment"), std::vector<std::string>{"网格员很负责，希望多巡逻"});
  EXPECT_EQ(parsed.answered, 1u);
}

TEST(ReplyParserTest, AnsweredCountsConsecutivePendingQuestions) {
  EXPECT_EQ(ParseReply("1", PendingFrom("security")).answered, 1u);
  EXPECT_EQ(ParseReply("1 2", PendingFrom("security")).answered, 2u);
  EXPECT_EQ(ParseReply("1 2 1 3", PendingFrom("security")).answered, 4u);
}

TEST(ReplyParserTest, ReasonsNameTheProblem) {
  EXPECT_NE(ParseReply("7", PendingFrom("security")).reason.find("1-6"), std::string::npos);
  EXPECT_NE(ParseReply("满意", PendingFrom("security")).reason.find("security"), std::string::npos);
  EXPECT_EQ(ParseReply("", PendingFrom("security")).reason, "empty message");
  EXPECT_EQ(ParseReply("退订", PendingFrom("security")).reason, "退订");
  EXPECT_NE(ParseReply("302", PendingFrom("security")).reason.find("addresses"), std::string::npos);
}

TEST(ReplyParserTest, MultiChoiceQuestionTakesSeveralOptions) {
  Question services;
  services.code = "services";
  services.type = QuestionType::kMulti;
  for (const char* label : {"治安巡逻", "矛盾调解", "消防检查", "走访慰问"}) {
    Option o;
    o.code = std::string("s") + std::to_string(services.options.size() + 1);
    o.label = label;
    services.options.push_back(o);
  }
  Question sex = *DefaultSurvey().FindQuestion("sex");
  const std::vector<const Question*> pending = {&services, &sex};
  EXPECT_EQ(ParseReply("1 3 4", pending).Describe(), "services=s1,s3,s4");
  EXPECT_EQ(ParseReply("134", pending).Describe(), "services=s1,s3,s4");
  EXPECT_EQ(ParseReply("治安巡逻、走访慰问", pending).Describe(), "services=s1,s4");
  EXPECT_EQ(ParseReply("1 1 3", pending).Describe(), "services=s1,s3");
  EXPECT_EQ(ParseReply("1 3 女", pending).Describe(), "services=s1,s3 sex=2");
  EXPECT_EQ(ParseReply("1 9", pending).Describe(), "unparseable");
  EXPECT_EQ(ParseReply("139", pending).Describe(), "unparseable");
}

TEST(ReplyParserTest, OptOutDetection) {
  EXPECT_TRUE(IsOptOut("TD"));
  EXPECT_TRUE(IsOptOut("回复TD退订"));
  EXPECT_TRUE(IsOptOut("ｒ"));
  EXPECT_FALSE(IsOptOut("1"));
  EXPECT_FALSE(IsOptOut("ttd"));
  EXPECT_FALSE(IsOptOut("很安全"));
}

TEST(ReplyParserTest, NoPendingQuestionIsUnparseable) {
  EXPECT_EQ(ParseReply("1", {}).kind, ReplyKind::kUnparseable);
  EXPECT_EQ(ParseReply("TD", {}).kind, ReplyKind::kOptOut);
}

}  // namespace
}  // namespace minyi::collector
