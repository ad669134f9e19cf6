#include "dashboards/status_page.h"

#include <gtest/gtest.h>

#include <memory>

namespace minyi::dashboards {
namespace {

StatusSnapshot Sample() {
  StatusSnapshot s;
  s.backend = "sqlite";
  s.schema_version = 1;
  s.taken_at_ms = 1715475693000;
  s.counts = {{"jiangsu-safety", {2024, 0}, Channel::kSms, 1234567},
              {"jiangsu-safety", {2024, 0}, Channel::kWeb, 10},
              {"jiangsu-safety", {2025, 1}, Channel::kWeb, 5},
              {"jiangsu-safety", {2025, 2}, Channel::kWeb, 7},
              {"<script>x</script>", {2025, 0}, Channel::kWechat, 3}};
  return s;
}

SurveyCatalog Catalog() {
  SurveyCatalog catalog;
  auto def = std::make_shared<SurveyDefinition>();
  def->id = "jiangsu-safety";
  def->title = "安全感 & <满意度>";
  catalog.Add(def);
  return catalog;
}

TEST(StatusPageTest, CountsPerYearAndChannelWithTotals) {
  std::string html = RenderStatusPage(Sample(), Catalog());
  EXPECT_NE(html.find("1,234,567"), std::string::npos);
  EXPECT_NE(html.find("1,234,577"), std::string::npos);  // 2024 row total
  EXPECT_NE(html.find("<td>12</td>"), std::string::npos); // 2025 web: quarters summed into the year
  EXPECT_NE(html.find("短信"), std::string::npos);
}

TEST(StatusPageTest, EscapesEverythingItDidNotWrite) {
  std::string html = RenderStatusPage(Sample(), Catalog());
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("安全感 &amp; &lt;满意度&gt;"), std::string::npos);
}

TEST(StatusPageTest, ShowsWhichServerHoldsWhichJobEscaped) {
  StatusSnapshot s = Sample();
  s.leases = {{"live_aggregation", "node-<b>\"1\"", 3, 1715475690000, 1715475693000, 1715475708000, true},
              {"sms_sender", "node-2", 1, 1715475600000, 1715475600000, 1715475615000, false}};
  const std::string html = RenderStatusPage(s, Catalog());
  EXPECT_EQ(html.find("node-<b>"), std::string::npos);
  EXPECT_NE(html.find("<td>live_aggregation</td><td>node-&lt;b&gt;&quot;1&quot;</td>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("<td>sms_sender</td><td>（无）</td>"), std::string::npos)
      << "an expired lease has no holder";
  const std::string json = RenderStatusJson(s);
  EXPECT_EQ(json.find("<b>"), std::string::npos);
  EXPECT_NE(json.find("\"leases\":[{\"job\":\"live_aggregation\",\"holder\":\"node-"
                      "\\u003cb\\u003e\\\"1\\\"\",\"last_holder\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"fencing_token\":3,\"since\":\"2024-05-12T01:01:30Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("{\"job\":\"sms_sender\",\"holder\":\"\",\"last_holder\":\"node-2\""),
            std::string::npos)
      << json;
}

TEST(StatusPageTest, EmptyStoreExplainsHowToGetData) {
  StatusSnapshot s;
  s.backend = "mysql";
  std::string html = RenderStatusPage(s, Catalog());
  EXPECT_NE(html.find("minyi demo seed"), std::string::npos);
}

TEST(StatusPageTest, JsonListsEveryCount) {
  std::string json = RenderStatusJson(Sample());
  EXPECT_NE(json.find("\"period\":\"2025Q2\",\"channel\":\"web\",\"responses\":7"), std::string::npos);
  EXPECT_NE(json.find("\\u003cscript\\u003e"), std::string::npos);
}

}  // namespace
}  // namespace minyi::dashboards
