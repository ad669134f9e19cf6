#include "collector/web_pages.h"

#include <gtest/gtest.h>

namespace minyi::collector {
namespace {

bool Has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

const AreaRegistry& Areas() {
  static const AreaRegistry areas = [] {
    auto a = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    EXPECT_TRUE(a.ok()) << a.status();
    return std::move(a).value();
  }();
  return areas;
}

SurveyDefinition Survey() {
  SurveyDefinition s;
  s.id = "demo";
  s.title = "调查 <b>标题</b>";
  Question q;
  q.code = "security";
  q.text = "安全吗？";
  q.required = true;
  q.options = {{"1", "很安全", {}, 100, false}, {"2", "不安全\"><script>", {}, 0, false}};
  s.questions.push_back(q);
  Question t;
  t.code = "comment";
  t.text = "建议";
  t.type = QuestionType::kText;
  s.questions.push_back(t);
  return s;
}

TEST(WebPagesTest, FormKeepsChoicesEscapesAndHasNoInlineScript) {
  SurveyDefinition survey = Survey();
  FormView v;
  v.survey = &survey;
  v.period = {2025, 0};
  v.county = "320812";
  v.town = "320812007";
  v.town_choices = Areas().TownsWithin("320812");
  v.answers = {{"security", {"1"}}, {"comment", {"</textarea><script>alert(1)</script>"}}};
  v.errors["comment"] = "内容太长了";
  v.idempotency_key = "idem";
  v.rendered_at = "1";
  v.csrf = "c";
  const std::string html = RenderSurveyForm(v, Areas(), {"某单位", "了解情况", "3 年"});
  EXPECT_TRUE(Has(html, "lang=\"zh-CN\""));
  EXPECT_TRUE(Has(html, "name=\"viewport\""));
  EXPECT_TRUE(Has(html, "调查 &lt;b&gt;标题&lt;/b&gt;"));
  EXPECT_TRUE(Has(html, "value=\"1\" checked"));
  EXPECT_FALSE(Has(html, "value=\"2\" checked"));
  EXPECT_TRUE(Has(html, "不安全&quot;&gt;&lt;script&gt;"));
  EXPECT_TRUE(Has(html, "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_FALSE(Has(html, "<script>")) << "no inline script, no injected markup";
  EXPECT_TRUE(Has(html, "<script src=\"/static/web.js\" defer></script>"));
  EXPECT_TRUE(Has(html, "value=\"320812007\" selected"));
  EXPECT_TRUE(Has(html, "收集单位：</b>某单位"));
  EXPECT_TRUE(Has(html, "保存期限：</b>3 年"));
  EXPECT_TRUE(Has(html, "内容太长了"));
  EXPECT_TRUE(Has(html, "name=\"k\" value=\"idem\""));
  EXPECT_TRUE(Has(html, "name=\"csrf\" value=\"c\""));
}

TEST(WebPagesTest, FixedTownIsShownNotAsked) {
  SurveyDefinition survey = Survey();
  FormView v;
  v.survey = &survey;
  v.token = "tok";
  v.fixed_town = "320812007";
  const std::string html = RenderSurveyForm(v, Areas(), {});
  EXPECT_TRUE(Has(html, Areas().FullName("320812007")));
  EXPECT_FALSE(Has(html, "name=\"county\""));
  EXPECT_TRUE(Has(html, "name=\"t\" value=\"tok\""));
}

TEST(WebPagesTest, ChineseMessages) {
  EXPECT_EQ(ChineseFieldMessage({"town", "is required"}), "请选择您所在的乡镇（街道）。");
  EXPECT_EQ(ChineseFieldMessage({"answers.grid", "required question grid is not answered"}),
            "这一题必须回答，请选择一项。");
  EXPECT_TRUE(Has(RenderMessagePage("t", "谢谢 <x>", "m"), "谢谢 &lt;x&gt;"));
}

}  // namespace
}  // namespace minyi::collector
