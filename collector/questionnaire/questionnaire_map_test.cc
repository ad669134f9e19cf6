#include "collector/questionnaire/questionnaire_map.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace minyi::collector::questionnaire {
namespace {

SurveyDefinition TestSurvey() {
  std::ifstream in(std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/survey.json");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseSurveyDefinition(text.str());
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.value();
}

const AreaRegistry& Areas() {
  static const AreaRegistry* areas = [] {
    auto loaded = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new AreaRegistry(std::move(loaded).value());
  }();
  return *areas;
}

TEST(NormalizeTextTest, FoldsWidthCaseSpaceAndPunctuation) {
  EXPECT_EQ(NormalizeText("总体来说，您觉得您所在的乡镇（街道）安全吗？  "), NormalizeText("总体来说,您觉得您所在的乡镇(街道)安全吗?"));
  EXPECT_EQ(NormalizeText(" Ａｂｃ　１ "), "abc1");
  EXPECT_EQ(NormalizeText("很 安 全！"), "很安全");
}

TEST(IsNoAnswerTest, SkippedAndNotShown) {
  for (const char* v : {"", "  ", "-2", "-3", "(跳过)", "（跳过）", "(空)", "-"}) EXPECT_TRUE(IsNoAnswer(v)) << v;
  for (const char* v : {"0", "1", "很安全", "-1"}) EXPECT_FALSE(IsNoAnswer(v)) << v;
}

TEST(ResolveAnswerTest, TextNumberAliasMultiAndErrors) {
  const SurveyDefinition s = TestSurvey();
  const Question& security = *s.FindQuestion("security");
  const Question& activities = *s.FindQuestion("activities");
  const Question& comment = *s.FindQuestion("comment");
  struct Case {
    const Question* q;
    std::string cell;
    std::vector<std::string> want;  // empty + ok = no answer
    bool ok;
  };
  const std::vector<Case> cases = {
      {&security, "很安全", {"1"}, true},
      {&security, " 很安全 ", {"1"}, true},
      {&security, "比较安全", {"2"}, true},  // alias
      {&security, "3", {"3"}, true},         // option number
      {&security, "６", {"9"}, true},        // fullwidth number → the 6th option (说不清)
      {&security, "-2", {}, true},
      {&security, "-3", {}, true},
      {&security, "7", {}, false},
      {&security, "很好", {}, false},
      {&activities, "运动┋读书", {"sport", "reading"}, true},
      {&activities, "读书|其他", {"reading", "other"}, true},
      {&activities, "其他〖下棋〗", {"other"}, true},
      {&activities, "1┋3", {"sport", "dance"}, true},
      {&activities, "运动┋运动", {"sport"}, true},
      {&activities, "运动┋游泳", {}, false},
      {&comment, " 路灯再亮一些 ", {"路灯再亮一些"}, true},
      {&comment, "(跳过)", {}, true},
  };
  for (const Case& c : cases) {
    auto got = ResolveAnswer(*c.q, c.cell);
    EXPECT_EQ(got.ok(), c.ok) << c.cell << ": " << got.status();
    if (got.ok()) {
      EXPECT_EQ(got.value(), c.want) << c.cell;
    }
  }
  const std::map<std::string, std::string> overrides = {{"好", "1"}};
  EXPECT_EQ(ResolveAnswer(security, "好", &overrides).value(), std::vector<std::string>{"1"});
}

TEST(ResolveTownTest, CodeNameSuffixAmbiguity) {
  EXPECT_EQ(ResolveTown(Areas(), "城南街道", "320812").value(), "320812001");
  EXPECT_EQ(ResolveTown(Areas(), "浦楼", "320812").value(), "320812003");
  EXPECT_EQ(ResolveTown(Areas(), "清江街道（清江浦区）", "320812").value(), "320812002");
  EXPECT_EQ(ResolveTown(Areas(), "320812004", "").value(), "320812004");
  const auto ambiguous = ResolveTown(Areas(), "城南街道", "");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find("ambiguous"), std::string::npos);
  EXPECT_FALSE(ResolveTown(Areas(), "不存在镇", "320812").ok());
  EXPECT_FALSE(ResolveTown(Areas(), "320102002", "320812").ok());  // a town in another county
  EXPECT_FALSE(ResolveTown(Areas(), "-2", "320812").ok());
}

TEST(ParseSubmitTimeTest, WjxFormatsAndExcelSerials) {
  const std::int64_t t = ParseSubmitTime("2026-06-16 08:00:00", 480).value();
  EXPECT_EQ(FormatTimestampUtc(t), "2026-06-16T00:00:00Z");
  EXPECT_EQ(ParseSubmitTime("2026/06/16 08:00:00", 480).value(), t);
  EXPECT_EQ(ParseSubmitTime("2026/6/16 8:00", 480).value(), t);
  EXPECT_EQ(ParseSubmitTime("2026-06-16T08:00:00+08:00", 0).value(), t);
  EXPECT_EQ(ParseSubmitTime("2026-06-16 00:00:00", 0).value(), t);
  EXPECT_EQ(ParseSubmitTime("46189.3333333333", 480).value() / 1000, t / 1000);  // Excel serial, local
  EXPECT_FALSE(ParseSubmitTime("昨天", 480).ok());
  EXPECT_FALSE(ParseSubmitTime("", 480).ok());
}

TEST(AnalyzeHeaderTest, WjxTextHeaderByTitles) {
  const SurveyDefinition s = TestSurvey();
  const std::vector<std::string> header = {"序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP",
                                           "1、总体来说，您觉得您所在的乡镇（街道）安全吗？  ",
                                           "2、您对所在网格的网格员工作满意吗？ ", "3、您经常参加社区的哪些活动？",
                                           "4、您所在的镇街是？", "5、您对平安建设还有什么意见建议？", "6、您的职业是？"};
  HeaderOptions options;
  options.town_column = "4";
  auto layout = AnalyzeHeader(header, s, options);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->provider, Provider::kWjx);
  EXPECT_EQ(layout->id_column, 0u);
  EXPECT_EQ(layout->time_column, std::optional<std::size_t>(1));
  EXPECT_EQ(layout->town_column, std::optional<std::size_t>(9));
  EXPECT_EQ(layout->columns[6].question, "security");
  EXPECT_EQ(layout->columns[7].question, "grid");
  EXPECT_EQ(layout->columns[8].question, "activities");
  EXPECT_EQ(layout->columns[10].question, "comment");
  ASSERT_EQ(layout->warnings.size(), 1u);  // 6、您的职业是？
  EXPECT_NE(layout->warnings[0].find("6、您的职业是？"), std::string::npos);

  // Trailing spaces and full/half-width punctuation do not change the fingerprint's meaning, but the
  // header text does.
  std::vector<std::string> other = header;
  other.pop_back();
  EXPECT_NE(AnalyzeHeader(other, s, options)->fingerprint, layout->fingerprint);
}

TEST(AnalyzeHeaderTest, NumericExportWithOptionColumns) {
  const SurveyDefinition s = TestSurvey();
  const std::vector<std::string> header = {"序号", "提交答卷时间", "1、总体来说，您觉得您所在的乡镇（街道）安全吗？",
                                           "2、您对所在网格的网格员工作满意吗？", "第3题(运动)", "第3题(读书)",
                                           "第3题（广场舞）", "第3题(其他)", "第3题(游泳)"};
  auto layout = AnalyzeHeader(header, s, {});
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->columns[4].role, Column::Role::kOptionFlag);
  EXPECT_EQ(layout->columns[4].question, "activities");
  EXPECT_EQ(layout->columns[4].option, 0u);
  EXPECT_EQ(layout->columns[6].option, 2u);
  EXPECT_EQ(layout->columns[8].option, std::string::npos);  // 游泳 is no option: a warning

  auto row = ConvertRow(*layout, s, {"9", "2026-06-16 08:00:00", "1", "2", "1", "0", "1", "-3", "0"}, 480);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->answer_id, "9");
  EXPECT_EQ(row->answers.at("security"), std::vector<std::string>{"1"});
  EXPECT_EQ(row->answers.at("grid"), std::vector<std::string>{"2"});
  EXPECT_EQ(row->answers.at("activities"), (std::vector<std::string>{"sport", "dance"}));

  auto skipped = ConvertRow(*layout, s, {"10", "2026-06-16 08:00:00", "-2", "1", "-3", "-3", "-3", "-3", "-3"}, 480);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(skipped->answers.count("security"), 0u);
  EXPECT_EQ(skipped->answers.count("activities"), 0u);

  auto bad = ConvertRow(*layout, s, {"11", "2026-06-16 08:00:00", "1", "1", "2", "0", "0", "0", "1"}, 480);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected 0 or 1"), std::string::npos);
  EXPECT_NE(bad.status().message().find("游泳"), std::string::npos);  // both problems listed
}

TEST(AnalyzeHeaderTest, TxwjHeaderAndExplicitMap) {
  const SurveyDefinition s = TestSurvey();
  const std::vector<std::string> header = {"编号", "开始答题时间", "结束答题时间", "Q1:安全感", "Q2:网格员"};
  EXPECT_FALSE(AnalyzeHeader(header, s, {}).ok());  // titles too short to match anything
  auto map = ParseQuestionnaireMap(R"({"provider":"txwj","questions":{"1":"security","网格员":"grid"}})");
  ASSERT_TRUE(map.ok()) << map.status();
  HeaderOptions options;
  options.map = &map.value();
  auto layout = AnalyzeHeader(header, s, options);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->provider, Provider::kTxwj);
  EXPECT_EQ(layout->time_column, std::optional<std::size_t>(2));
  EXPECT_EQ(layout->columns[3].question, "security");
  EXPECT_EQ(layout->columns[4].question, "grid");
}

TEST(AnalyzeHeaderTest, HeaderErrors) {
  const SurveyDefinition s = TestSurvey();
  EXPECT_NE(AnalyzeHeader({"a", "b"}, s, {}).status().message().find("neither"), std::string::npos);
  EXPECT_NE(AnalyzeHeader({"提交答卷时间", "1、总体来说，您觉得您所在的乡镇（街道）安全吗？"}, s, {})
                .status().message().find("answer id"),
            std::string::npos);
  HeaderOptions town;
  town.town_column = "所在镇街";
  EXPECT_NE(AnalyzeHeader({"序号", "提交答卷时间", "1、总体来说，您觉得您所在的乡镇（街道）安全吗？"}, s, town)
                .status().message().find("所在镇街"),
            std::string::npos);
}

TEST(QuestionnaireMapTest, ParsesAndChecksAgainstTheCatalog) {
  SurveyCatalog catalog;
  catalog.Add(std::make_shared<SurveyDefinition>(TestSurvey()));
  auto ok = ParseQuestionnaireMap(R"({"provider":"wjx","id":5657754,"survey":"quest-test","period":"2026",
      "town_question":"4","county":"320812","questions":{"1":"security","2":"grid"},
      "options":{"security":{"好":"1"}},"town_options":{"1":"320812001"}})",
                                  &catalog);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->id, "5657754");
  EXPECT_EQ(ok->provider, Provider::kWjx);
  EXPECT_EQ(ok->options.at("security").at("好"), "1");
  struct Bad {
    const char* json;
    const char* says;
  };
  for (const Bad& b : {Bad{R"({"provder":"wjx"})", "$.provder"}, Bad{R"({"provider":"x"})", "$.provider"},
                       Bad{R"({"survey":"nope"})", "$.survey"},
                       Bad{R"({"survey":"quest-test","questions":{"1":"nope"}})", "$.questions.1"},
                       Bad{R"({"survey":"quest-test","options":{"security":{"好":"77"}}})", "$.options.security"},
                       Bad{R"({"period":"20x6"})", "$.period"}, Bad{"[1]", "$"}, Bad{"{", "JSON"}}) {
    auto got = ParseQuestionnaireMap(b.json, &catalog);
    ASSERT_FALSE(got.ok()) << b.json;
    EXPECT_NE(got.status().message().find(b.says), std::string::npos) << got.status();
  }
}

}  // namespace
}  // namespace minyi::collector::questionnaire
