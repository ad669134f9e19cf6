#include "core/survey.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace minyi {
namespace {

const std::string kSurveyDir = std::string(MINYI_SOURCE_DIR) + "/conf/surveys";

// A small valid definition; the bad-definition cases below each change one thing in it.
const char* const kBase = R"({
  "id": "t-1", "title": "T", "version": "1",
  "questions": [
    {"code": "security", "text": "安全吗？", "type": "single", "required": true, "options": [
      {"code": "1", "label": "很安全", "aliases": ["非常安全"]},
      {"code": "2", "label": "安全"},
      {"code": "3", "label": "不安全"},
      {"code": "9", "label": "说不清", "missing": true}]},
    {"code": "grid", "text": "满意吗？", "type": "single", "options": [
      {"code": "1", "label": "满意", "score": 100},
      {"code": "2", "label": "一般", "score": 40},
      {"code": "3", "label": "不满意", "score": 0}]},
    {"code": "topics", "text": "哪些？", "type": "multi", "options": [
      {"code": "a", "label": "盗窃"}, {"code": "b", "label": "诈骗"},
      {"code": "z", "label": "没有", "missing": true}]},
    {"code": "comment", "text": "建议", "type": "text"}],
  "indices": [
    {"id": "security", "name": "安全感", "question": "security", "positive": ["1", "2"]},
    {"id": "combo", "name": "综合", "items": [{"question": "security", "weight": 2}, {"question": "grid"}]}]
})";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: \"" << from << "\" not in the base definition";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(SurveyDefinitionTest, BaseParses) {
  Result<SurveyDefinition> def = ParseSurveyDefinition(kBase);
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->id, "t-1");
  ASSERT_EQ(def->questions.size(), 4u);
  EXPECT_EQ(def->questions[2].type, QuestionType::kMulti);
  EXPECT_EQ(def->questions[3].type, QuestionType::kText);
  EXPECT_TRUE(def->questions[0].required);
  EXPECT_FALSE(def->questions[1].required);
  EXPECT_EQ(def->questions[0].options[0].aliases, std::vector<std::string>{"非常安全"});
  ASSERT_EQ(def->indices.size(), 2u);
  EXPECT_FALSE(def->indices[0].IsComposite());
  EXPECT_EQ(def->indices[0].min_n, 30);
  ASSERT_EQ(def->indices[0].items.size(), 1u);
  EXPECT_EQ(def->indices[0].items[0].question, "security");
  EXPECT_TRUE(def->indices[1].IsComposite());
  ASSERT_EQ(def->indices[1].items.size(), 2u);
  EXPECT_DOUBLE_EQ(def->indices[1].items[0].weight, 2.0);
  EXPECT_DOUBLE_EQ(def->indices[1].items[1].weight, 1.0);
}

struct BadCase {
  const char* name;
  std::string from;
  std::string to;
  std::string expected;  // a line of the error message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadDefinitionTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadDefinitionTest, ReportsTheJsonPath) {
  const BadCase& c = GetParam();
  Result<SurveyDefinition> def = ParseSurveyDefinition(Replace(kBase, c.from, c.to));
  ASSERT_FALSE(def.ok());
  EXPECT_EQ(def.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(def.status().message().find(c.expected), std::string::npos)
      << "expected: " << c.expected << "\ngot:\n" << def.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadDefinitionTest,
    ::testing::Values(
        BadCase{"MissingId", R"("id": "t-1", )", "", "$.id: required"},
        BadCase{"BadId", R"("id": "t-1")", R"("id": "T 1")", "$.id: must match [a-z0-9][a-z0-9_-]*"},
        BadCase{"IdNotString", R"("id": "t-1")", R"("id": 7)", "$.id: must be a string, got a number"},
        BadCase{"EmptyTitle", R"("title": "T")", R"("title": "")", "$.title: must not be empty"},
        BadCase{"UnknownTopKey", R"("version": "1",)", R"("version": "1", "indexes": [],)",
                "$.indexes: unknown key"},
        BadCase{"QuestionsNotArray", R"("questions": [)", R"("questions": {"x": 1}, "q": [)",
                "$.questions: must be an array, got an object"},
        BadCase{"UnknownQuestionKey", R"("code": "security", "text")", R"("code": "security", "lable": "x", "text")",
                "$.questions[0].lable: unknown key"},
        BadCase{"MissingQuestionText", R"("text": "满意吗？", )", "", "$.questions[1].text: required"},
        BadCase{"BadType", R"("type": "multi")", R"("type": "multiple")",
                R"($.questions[2].type: must be "single", "multi" or "text", got "multiple")"},
        BadCase{"BadQuestionCode", R"("code": "comment")", R"("code": "Comment")",
                "$.questions[3].code: must match [a-z][a-z0-9_]*"},
        BadCase{"DuplicateQuestionCode", R"("code": "comment")", R"("code": "grid")",
                R"($.questions[3].code: duplicate question code "grid")"},
        BadCase{"OptionsMissing", R"("type": "multi", "options": [)", R"("type": "multi", "opts": [)",
                "$.questions[2].options: required"},
        BadCase{"TextWithOptions", R"("type": "text"})", R"("type": "text", "options": []})",
                "$.questions[3].options: not allowed for a text question"},
        BadCase{"EmptyOptions", R"("type": "multi", "options": [
      {"code": "a", "label": "盗窃"}, {"code": "b", "label": "诈骗"},
      {"code": "z", "label": "没有", "missing": true}])",
                R"("type": "multi", "options": [])", "$.questions[2].options: must not be empty"},
        BadCase{"ScoreOutOfRange", R"("score": 40)", R"("score": 140)",
                "$.questions[1].options[1].score: must be a number between 0 and 100"},
        BadCase{"ScoreNotNumber", R"("score": 40)", R"("score": "40")",
                "$.questions[1].options[1].score: must be a number between 0 and 100"},
        BadCase{"ScoreMixed", R"("label": "一般", "score": 40)", R"("label": "一般")",
                "$.questions[1].options[1].score: required because other options"},
        BadCase{"ScoreOnMissing", R"("label": "说不清", "missing": true)",
                R"("label": "说不清", "missing": true, "score": 0)",
                "$.questions[0].options[3].score: a missing (no answer) option has no score"},
        BadCase{"MissingNotBool", R"("label": "说不清", "missing": true)", R"("label": "说不清", "missing": 1)",
                "$.questions[0].options[3].missing: must be true or false, got a number"},
        BadCase{"DuplicateOptionCode", R"({"code": "2", "label": "安全"})", R"({"code": "1", "label": "安全"})",
                R"($.questions[0].options[1].code: duplicate option code "1" in question "security")"},
        BadCase{"BadOptionCode", R"({"code": "2", "label": "安全"})", R"({"code": "2 ", "label": "安全"})",
                "$.questions[0].options[1].code: must be 1 to 32 of the characters"},
        BadCase{"UnknownOptionKey", R"({"code": "2", "label": "安全"})", R"({"code": "2", "label": "安全", "alias": []})",
                "$.questions[0].options[1].alias: unknown key"},
        BadCase{"AliasCollidesWithLabel", R"(["非常安全"])", R"(["非常安全", "安全"])",
                R"($.questions[0].options[1].label: "安全" is already a label, alias or code of option "1")"},
        BadCase{"LabelCollidesWithAlias", R"({"code": "3", "label": "不安全"})", R"({"code": "3", "label": "非常安全"})",
                R"($.questions[0].options[2].label: "非常安全" is already a label, alias or code of option "1")"},
        BadCase{"AliasIsAnotherCode", R"(["非常安全"])", R"(["非常安全", "2"])",
                R"($.questions[0].options[1].code: "2" is already a label, alias or code of option "1")"},
        BadCase{"AliasNotString", R"(["非常安全"])", R"(["非常安全", 3])",
                "$.questions[0].options[0].aliases[1]: must be a string, got a number"},
        BadCase{"OnlyMissingOptions", R"({"code": "a", "label": "盗窃"}, {"code": "b", "label": "诈骗"},)", "",
                "$.questions[2].options: needs at least one option that is not missing"},
        BadCase{"ReservedSexNotSingle", R"({"code": "topics")", R"({"code": "sex")",
                R"($.questions[2].type: the reserved demographic question "sex" must be "single")"},
        BadCase{"ReservedAgeNotSingle", R"({"code": "topics")", R"({"code": "age_band")",
                R"($.questions[2].type: the reserved demographic question "age_band" must be "single")"},
        BadCase{"ReservedCodeTooLong", R"({"code": "topics", "text": "哪些？", "type": "multi", "options": [
      {"code": "a")",
                R"({"code": "age_band", "text": "哪些？", "type": "single", "options": [
      {"code": "from-18-to-29-years")",
                R"($.questions[2].options[0].code: codes of the reserved question "age_band" are at most 16 characters)"},
        BadCase{"PositiveNotAnOption", R"("positive": ["1", "2"])", R"("positive": ["1", "7"])",
                R"($.indices[0].positive[1]: option "7" is not an option of question "security")"},
        BadCase{"PositiveIsMissing", R"("positive": ["1", "2"])", R"("positive": ["1", "9"])",
                R"($.indices[0].positive[1]: option "9" of question "security" is a missing (no answer) option)"},
        BadCase{"PositiveEmpty", R"("positive": ["1", "2"])", R"("positive": [])",
                "$.indices[0].positive: must not be empty"},
        BadCase{"PositiveMissing", R"(, "positive": ["1", "2"])", "", "$.indices[0].positive: required"},
        BadCase{"PositiveTwice", R"("positive": ["1", "2"])", R"("positive": ["1", "1"])",
                R"($.indices[0].positive[1]: option "1" is listed twice)"},
        BadCase{"IndexUnknownQuestion", R"("question": "security", "positive")", R"("question": "secrity", "positive")",
                R"($.indices[0].question: unknown question "secrity")"},
        BadCase{"IndexOnTextQuestion", R"("question": "security", "positive": ["1", "2"])",
                R"("question": "comment", "positive": ["1"])",
                R"($.indices[0].question: question "comment" is a text question)"},
        BadCase{"IndexOnMultiQuestion", R"({"question": "grid"})", R"({"question": "topics"})",
                R"($.indices[1].items[1].question: question "topics" is a multi-choice question)"},
        BadCase{"IndexBothForms", R"("items": [)", R"("question": "grid", "items": [)",
                R"($.indices[1]: give either "question" (a plain index) or "items" (a composite), not both)"},
        BadCase{"IndexNeitherForm", R"("question": "security", )", "",
                R"($.indices[0]: needs "question" (a plain index) or "items" (a composite))"},
        BadCase{"CompositeWithPositive", R"({"question": "grid"}])", R"({"question": "grid"}], "positive": ["1"])",
                R"($.indices[1].positive: only a plain index (with "question") has a positive set)"},
        BadCase{"ItemWeightZero", R"("weight": 2)", R"("weight": 0)",
                "$.indices[1].items[0].weight: must be a number greater than 0"},
        BadCase{"ItemTwice", R"({"question": "grid"})", R"({"question": "security"})",
                R"($.indices[1].items[1].question: question "security" is already an item of this index)"},
        BadCase{"UnknownItemKey", R"({"question": "grid"})", R"({"question": "grid", "wieght": 1})",
                "$.indices[1].items[1].wieght: unknown key"},
        BadCase{"MinNZero", R"("positive": ["1", "2"])", R"("positive": ["1", "2"], "min_n": 0)",
                "$.indices[0].min_n: must be a whole number between 1 and 1000000"},
        BadCase{"MinNFraction", R"("positive": ["1", "2"])", R"("positive": ["1", "2"], "min_n": 2.5)",
                "$.indices[0].min_n: must be a whole number between 1 and 1000000"},
        BadCase{"MinNBool", R"("positive": ["1", "2"])", R"("positive": ["1", "2"], "min_n": true)",
                "$.indices[0].min_n: must be a whole number between 1 and 1000000"},
        BadCase{"DuplicateIndexId", R"("id": "combo")", R"("id": "security")",
                R"($.indices[1].id: duplicate index id "security")"},
        BadCase{"NotJson", R"("id": "t-1",)", R"("id": "t-1",,)", "$: not valid JSON"},
        BadCase{"NotAnObject", kBase, "[1, 2]", "$: must be an object, got an array"}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) { return std::string(param_info.param.name); });

TEST(SurveyDefinitionTest, ReportsEveryProblemOnItsOwnLine) {
  std::string text = Replace(kBase, R"("score": 40)", R"("score": -1)");
  text = Replace(text, R"("code": "comment", "text")", R"("code": "comment", "txt")");
  text = Replace(text, R"("positive": ["1", "2"])", R"("positive": ["1", "8"])");
  Result<SurveyDefinition> def = ParseSurveyDefinition(text);
  ASSERT_FALSE(def.ok());
  EXPECT_EQ(def.status().message(),
            "$.questions[1].options[1].score: must be a number between 0 and 100\n"
            "$.questions[3].txt: unknown key\n"
            "$.questions[3].text: required\n"
            "$.indices[0].positive[1]: option \"8\" is not an option of question \"security\"");
}

TEST(SurveyDefinitionTest, DefaultScoresAreLinearOverNonMissingOptions) {
  Result<SurveyDefinition> def = ParseSurveyDefinition(kBase);
  ASSERT_TRUE(def.ok()) << def.status();
  const Question& security = *def->FindQuestion("security");
  EXPECT_EQ(def->Score(security, "1"), 100.0);
  EXPECT_EQ(def->Score(security, "2"), 50.0);
  EXPECT_EQ(def->Score(security, "3"), 0.0);
  EXPECT_EQ(def->Score(security, "9"), std::nullopt);
  EXPECT_EQ(def->Score(security, "4"), std::nullopt);
  EXPECT_EQ(security.options[1].score, 50.0);  // filled in at parse time
  EXPECT_EQ(security.options[3].score, std::nullopt);
  const Question& grid = *def->FindQuestion("grid");
  EXPECT_EQ(def->Score(grid, "2"), 40.0);  // configured
}

TEST(SurveyDefinitionTest, ScoreOfHandBuiltQuestionUsesLinearDefault) {
  SurveyDefinition def;
  Question q;
  q.code = "q";
  for (const char* code : {"1", "2", "3", "4", "5"}) q.options.push_back({code, code, {}, std::nullopt, false});
  q.options.insert(q.options.begin() + 2, Option{"9", "说不清", {}, std::nullopt, true});
  const std::vector<std::pair<std::string, double>> expected = {
      {"1", 100}, {"2", 75}, {"3", 50}, {"4", 25}, {"5", 0}};
  for (const auto& [code, score] : expected) EXPECT_EQ(def.Score(q, code), score) << code;
  EXPECT_EQ(def.Score(q, "9"), std::nullopt);

  Question single;
  single.options = {{"1", "是", {}, std::nullopt, false}, {"9", "不知道", {}, std::nullopt, true}};
  EXPECT_EQ(def.Score(single, "1"), 100.0);
}

TEST(SurveyDefinitionTest, FindOptionQuestionIndex) {
  Result<SurveyDefinition> def = ParseSurveyDefinition(kBase);
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->FindQuestion("nope"), nullptr);
  EXPECT_EQ(def->FindIndex("combo")->name, "综合");
  EXPECT_EQ(def->FindIndex("grid"), nullptr);
  EXPECT_EQ(def->FindQuestion("security")->FindOption("9")->label, "说不清");
  EXPECT_EQ(def->FindQuestion("security")->FindOption("7"), nullptr);
  EXPECT_EQ(QuestionTypeName(QuestionType::kMulti), "multi");
}

// ---------------------------------------------------------------- ValidateAnswers

struct AnswersCase {
  const char* name;
  Answers answers;
  Completion completion;
  std::vector<std::pair<std::string, std::string>> expected;  // (field, reason substring)
};

void PrintTo(const AnswersCase& c, std::ostream* os) { *os << c.name; }

class ValidateAnswersTest : public ::testing::TestWithParam<AnswersCase> {};

TEST_P(ValidateAnswersTest, FindsTheProblems) {
  const AnswersCase& c = GetParam();
  static const SurveyDefinition def = ParseSurveyDefinition(kBase).value();
  const std::vector<FieldError> errors = def.ValidateAnswers(c.answers, c.completion);
  ASSERT_EQ(errors.size(), c.expected.size());
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i].field, c.expected[i].first);
    EXPECT_NE(errors[i].reason.find(c.expected[i].second), std::string::npos)
        << "expected: " << c.expected[i].second << "\ngot: " << errors[i].reason;
  }
}

std::string Repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateAnswersTest,
    ::testing::Values(
        AnswersCase{"Valid", {{"security", {"1"}}, {"grid", {"3"}}, {"topics", {"a", "b"}}, {"comment", {"路灯不亮"}}},
                    Completion::kComplete, {}},
        AnswersCase{"MissingOptionIsValid", {{"security", {"9"}}}, Completion::kComplete, {}},
        AnswersCase{"UnknownOption", {{"security", {"7"}}}, Completion::kComplete,
                    {{"answers.security", "option \"7\" is not an option of question security (valid: 1, 2, 3, 9)"}}},
        AnswersCase{"UnknownQuestion", {{"security", {"1"}}, {"secrity", {"1"}}}, Completion::kComplete,
                    {{"answers.secrity", "unknown question \"secrity\""}}},
        AnswersCase{"TwoAnswersToSingle", {{"security", {"1", "2"}}}, Completion::kComplete,
                    {{"answers.security", "takes one answer, got 2"}}},
        AnswersCase{"RequiredMissing", {{"grid", {"1"}}}, Completion::kComplete,
                    {{"answers.security", "required question security is not answered"}}},
        AnswersCase{"RequiredMissingButPartial", {{"grid", {"1"}}}, Completion::kPartial, {}},
        AnswersCase{"NoValues", {{"security", {}}}, Completion::kComplete, {{"answers.security", "no value given"}}},
        AnswersCase{"EmptyValue", {{"security", {""}}}, Completion::kComplete, {{"answers.security", "empty value"}}},
        AnswersCase{"MultiDuplicate", {{"security", {"1"}}, {"topics", {"a", "b", "a"}}}, Completion::kComplete,
                    {{"answers.topics", "option \"a\" is given more than once"}}},
        AnswersCase{"MultiNoAnswerCombined", {{"security", {"1"}}, {"topics", {"a", "z"}}}, Completion::kComplete,
                    {{"answers.topics", "a no-answer option cannot be combined with other options"}}},
        AnswersCase{"MultiUnknown", {{"security", {"1"}}, {"topics", {"a", "q"}}}, Completion::kComplete,
                    {{"answers.topics", "option \"q\" is not an option of question topics (valid: a, b, z)"}}},
        AnswersCase{"EmptyText", {{"security", {"1"}}, {"comment", {"  "}}}, Completion::kComplete,
                    {{"answers.comment", "empty text"}}},
        AnswersCase{"TwoTexts", {{"security", {"1"}}, {"comment", {"a", "b"}}}, Completion::kComplete,
                    {{"answers.comment", "takes one text, got 2"}}},
        AnswersCase{"TextAtLimit", {{"security", {"1"}}, {"comment", {Repeat("安", 2000)}}}, Completion::kComplete, {}},
        AnswersCase{"TextOverLimit", {{"security", {"1"}}, {"comment", {Repeat("安", 2001)}}}, Completion::kComplete,
                    {{"answers.comment", "text is 2001 characters long; at most 2000 are accepted"}}},
        AnswersCase{"TextNotUtf8", {{"security", {"1"}}, {"comment", {"ab\xC3"}}}, Completion::kComplete,
                    {{"answers.comment", "not valid UTF-8"}}},
        AnswersCase{"TextOverlongUtf8", {{"security", {"1"}}, {"comment", {"\xC0\xAF"}}}, Completion::kComplete,
                    {{"answers.comment", "not valid UTF-8"}}},
        AnswersCase{"SeveralProblems", {{"grid", {"4"}}, {"topics", {"b", "b"}}}, Completion::kComplete,
                    {{"answers.grid", "not an option"},
                     {"answers.topics", "given more than once"},
                     {"answers.security", "not answered"}}}),
    [](const ::testing::TestParamInfo<AnswersCase>& param_info) { return std::string(param_info.param.name); });

// ---------------------------------------------------------------- shipped definitions

TEST(SurveyCatalogTest, ShippedSurveysLoad) {
  Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(kSurveyDir);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::vector<std::string> ids;
  for (const auto& def : catalog->All()) ids.push_back(def->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"jiangsu-safety"}));
  EXPECT_EQ(catalog->Find("nope"), nullptr);
}

TEST(SurveyCatalogTest, DefaultSurveyIsTheJiangsuSafetySurvey) {
  Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(kSurveyDir);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::shared_ptr<const SurveyDefinition> def = catalog->Find("jiangsu-safety");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->version, "2025.2");
  EXPECT_EQ(def->title, "江苏省群众安全感和网格工作满意度调查");

  const Question* security = def->FindQuestion("security");
  ASSERT_NE(security, nullptr);
  EXPECT_EQ(security->text, "总体来说，您觉得您所在的乡镇（街道）安全吗？");
  std::vector<std::string> labels;
  for (const Option& o : security->options) labels.push_back(o.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"很安全", "安全", "基本安全", "不太安全", "很不安全", "说不清"}));
  EXPECT_TRUE(security->FindOption("9")->missing);
  const std::vector<std::pair<std::string, double>> scores = {
      {"1", 100}, {"2", 75}, {"3", 50}, {"4", 25}, {"5", 0}};
  for (const auto& [code, score] : scores) {
    EXPECT_EQ(def->Score(*security, code), score) << code;
    EXPECT_EQ(security->FindOption(code)->score, score) << code;
  }
  EXPECT_EQ(def->Score(*security, "9"), std::nullopt);

  const Question* grid = def->FindQuestion("grid");
  ASSERT_NE(grid, nullptr);
  labels.clear();
  for (const Option& o : grid->options) labels.push_back(o.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"满意", "比较满意", "一般", "不太满意", "不满意", "不了解"}));
  EXPECT_TRUE(grid->FindOption("9")->missing);

  const Question* sex = def->FindQuestion(kSexQuestion);
  ASSERT_NE(sex, nullptr);
  EXPECT_EQ(sex->type, QuestionType::kSingle);
  EXPECT_EQ(sex->FindOption("1")->label, "男");
  EXPECT_EQ(sex->FindOption("2")->label, "女");
  const Question* age = def->FindQuestion(kAgeBandQuestion);
  ASSERT_NE(age, nullptr);
  std::vector<std::string> age_codes;
  for (const Option& o : age->options) age_codes.push_back(o.code);
  EXPECT_EQ(age_codes, (std::vector<std::string>{"18-29", "30-39", "40-49", "50-59", "60+"}));
  EXPECT_EQ(def->FindQuestion("comment")->type, QuestionType::kText);

  const IndexDefinition* security_index = def->FindIndex("security");
  ASSERT_NE(security_index, nullptr);
  EXPECT_EQ(security_index->name, "群众安全感");
  EXPECT_EQ(security_index->positive, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(security_index->min_n, 30);
  const IndexDefinition* grid_index = def->FindIndex("grid");
  ASSERT_NE(grid_index, nullptr);
  EXPECT_EQ(grid_index->name, "网格工作满意率");
  EXPECT_EQ(grid_index->positive, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(grid_index->min_n, 30);
}

TEST(SurveyCatalogTest, ExampleCompositeExercisesItems) {
  Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/examples/surveys");
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::shared_ptr<const SurveyDefinition> def = catalog->Find("example-composite");
  ASSERT_NE(def, nullptr);
  const IndexDefinition* composite = def->FindIndex("safety_composite");
  ASSERT_NE(composite, nullptr);
  EXPECT_TRUE(composite->IsComposite());
  ASSERT_EQ(composite->items.size(), 3u);
  EXPECT_EQ(composite->items[0].question, "public_order");
  EXPECT_DOUBLE_EQ(composite->items[0].weight, 2.0);
  EXPECT_EQ(composite->min_n, 50);
  EXPECT_EQ(def->Score(*def->FindQuestion("public_order"), "4"), 30.0);
  EXPECT_EQ(def->Score(*def->FindQuestion("traffic"), "2"), 50.0);
}

// The SMS and WeChat parsers match labels and aliases as substrings, longest first (docs/channels.md §2.4).
// These replies pin down that the default survey's words resolve as a resident means them.
std::string MatchLongestFirst(const Question& q, const std::string& reply) {
  std::size_t best_length = 0;
  std::string best;
  for (const Option& o : q.options) {
    std::vector<std::string> words = o.aliases;
    words.push_back(o.label);
    for (const std::string& w : words) {
      if (w.size() > best_length && reply.find(w) != std::string::npos) {
        best_length = w.size();
        best = o.code;
      }
    }
  }
  return best;
}

TEST(SurveyCatalogTest, DefaultSurveyWordsResolveLongestFirst) {
  Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(kSurveyDir);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::shared_ptr<const SurveyDefinition> def = catalog->Find("jiangsu-safety");
  ASSERT_NE(def, nullptr);
  const std::vector<std::pair<std::string, std::string>> security = {
      {"很安全", "1"},   {"非常安全", "1"}, {"安全", "2"},       {"比较安全", "2"},   {"基本安全", "3"},
      {"还行吧", "3"},   {"不太安全", "4"}, {"不安全", "4"},     {"不是很安全", "4"}, {"很不安全", "5"},
      {"非常不安全", "5"}, {"说不清", "9"}, {"我也不知道", "9"}};
  for (const auto& [reply, code] : security) {
    EXPECT_EQ(MatchLongestFirst(*def->FindQuestion("security"), reply), code) << reply;
  }
  const std::vector<std::pair<std::string, std::string>> grid = {
      {"满意", "1"},     {"非常满意", "1"}, {"很满意", "1"},       {"比较满意", "2"},   {"基本满意", "2"},
      {"一般", "3"},     {"还可以", "3"},   {"不太满意", "4"},     {"不是很满意", "4"}, {"不满意", "5"},
      {"很不满意", "5"}, {"非常不满意", "5"}, {"不了解", "9"},     {"不认识网格员", "9"}};
  for (const auto& [reply, code] : grid) {
    EXPECT_EQ(MatchLongestFirst(*def->FindQuestion("grid"), reply), code) << reply;
  }
}

// ---------------------------------------------------------------- catalog directory handling

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("minyi-survey-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(SurveyCatalogTest, ErrorsNameTheFile) {
  TempDir dir;
  dir.Write("a.json", kBase);
  dir.Write("b.json", Replace(kBase, R"("score": 40)", R"("score": 400)"));
  dir.Write("notes.txt", "not a definition");
  Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(dir.path());
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().message(),
            "b.json: $.questions[1].options[1].score: must be a number between 0 and 100");
}

TEST(SurveyCatalogTest, DuplicateIdNamesBothFiles) {
  TempDir dir;
  dir.Write("first.json", kBase);
  dir.Write("second.json", kBase);
  Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(dir.path());
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(catalog.status().message(), "second.json: survey id \"t-1\" is already defined in first.json");
}

TEST(SurveyCatalogTest, MissingDirectoryIsNotFound) {
  Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(kSurveyDir + "/no-such-dir");
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kNotFound);
}

TEST(SurveyCatalogTest, AddReplacesById) {
  SurveyCatalog catalog;
  auto first = std::make_shared<SurveyDefinition>();
  first->id = "x";
  first->version = "1";
  auto second = std::make_shared<SurveyDefinition>();
  second->id = "x";
  second->version = "2";
  catalog.Add(first);
  catalog.Add(second);
  catalog.Add(nullptr);
  ASSERT_EQ(catalog.All().size(), 1u);
  EXPECT_EQ(catalog.Find("x")->version, "2");
}

// The optional `wechat` section (collector/wechat/): prompts, reply window, location question.
std::string WithWechat(const std::string& section) {
  return Replace(kBase, R"("indices": [)", R"("wechat": )" + section + R"(, "indices": [)");
}

TEST(SurveyWechatTest, AbsentByDefault) {
  Result<SurveyDefinition> def = ParseSurveyDefinition(kBase);
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_FALSE(def->wechat.has_value());
}

TEST(SurveyWechatTest, Parses) {
  Result<SurveyDefinition> def = ParseSurveyDefinition(WithWechat(
      R"({"prompts": [{"markers": ["#安全感调查", "安全吗"], "questions": ["security", "grid"]},
                      {"markers": ["满意吗"], "questions": ["grid"]}],
          "reply_window_minutes": 60, "location_question": "comment"})"));
  ASSERT_TRUE(def.ok()) << def.status();
  ASSERT_TRUE(def->wechat.has_value());
  ASSERT_EQ(def->wechat->prompts.size(), 2u);
  EXPECT_EQ(def->wechat->prompts[0].markers, (std::vector<std::string>{"#安全感调查", "安全吗"}));
  EXPECT_EQ(def->wechat->prompts[0].questions, (std::vector<std::string>{"security", "grid"}));
  EXPECT_EQ(def->wechat->reply_window_minutes, 60);
  EXPECT_EQ(def->wechat->location_question, "comment");
  Result<SurveyDefinition> defaults =
      ParseSurveyDefinition(WithWechat(R"({"prompts": [{"markers": ["x"], "questions": ["security"]}]})"));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->wechat->reply_window_minutes, 4320);
  EXPECT_EQ(defaults->wechat->location_question, "");
}

TEST(SurveyWechatTest, ReportsTheJsonPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([])", "$.wechat: must be an object"},
      {R"({"prompts": []})", "$.wechat.prompts: must not be empty"},
      {R"({"prompt": [{"markers": ["x"], "questions": ["security"]}]})", "$.wechat.prompt: unknown key"},
      {R"({"prompts": [{"markers": [], "questions": ["security"]}]})", "$.wechat.prompts[0].markers: must not be empty"},
      {R"({"prompts": [{"markers": [""], "questions": ["security"]}]})",
       "$.wechat.prompts[0].markers[0]: must be a non-empty string"},
      {R"({"prompts": [{"markers": ["x"], "questions": ["nope"]}]})",
       R"($.wechat.prompts[0].questions[0]: no question "nope")"},
      {R"({"prompts": [{"markers": ["x"], "questions": ["comment"]}]})",
       R"($.wechat.prompts[0].questions[0]: question "comment" is a text question)"},
      {R"({"prompts": [{"markers": ["x"], "questions": ["security"]}], "reply_window_minutes": 0})",
       "$.wechat.reply_window_minutes: must be a whole number"},
      {R"({"prompts": [{"markers": ["x"], "questions": ["security"]}], "location_question": "grid"})",
       R"($.wechat.location_question: must name a text question, got "grid")"},
  };
  for (const auto& [section, expected] : cases) {
    Result<SurveyDefinition> def = ParseSurveyDefinition(WithWechat(section));
    ASSERT_FALSE(def.ok()) << section;
    EXPECT_NE(def.status().message().find(expected), std::string::npos)
        << "expected: " << expected << "\ngot:\n" << def.status().message();
  }
}

TEST(SurveyWechatTest, DefaultSurveyHasAWechatSection) {
  auto catalog = SurveyCatalog::LoadDirectory(kSurveyDir);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto def = catalog->Find("jiangsu-safety");
  ASSERT_NE(def, nullptr);
  ASSERT_TRUE(def->wechat.has_value());
  EXPECT_FALSE(def->wechat->prompts.empty());
  EXPECT_EQ(def->wechat->prompts[0].questions, (std::vector<std::string>{"security", "grid"}));
}

}  // namespace
}  // namespace minyi
