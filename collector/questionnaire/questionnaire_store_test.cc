// The questionnaire importer and the 腾讯问卷 webhook against the real revision stores (core/revisions.h)
// on every backend: SQLite in memory, SQLite in a file and a private MariaDB (started once for this
// binary).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "collector/questionnaire/questionnaire_endpoints.h"
#include "collector/questionnaire/questionnaire_import.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::collector::questionnaire {
namespace {

using testsupport::StoreBackend;

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/";

class QuestionnaireStoreTest : public testsupport::FreshStoreTest {
 protected:
  void SetUp() override {
    std::ifstream in(kDir + "survey.json");
    std::stringstream text;
    text << in.rdbuf();
    auto survey = ParseSurveyDefinition(text.str());
    ASSERT_TRUE(survey.ok()) << survey.status();
    catalog_.Add(std::make_shared<SurveyDefinition>(std::move(survey).value()));
    auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::make_unique<AreaRegistry>(std::move(areas).value());
    auto keyer = RespondentKeyer::Create("questionnaire-test-secret-0123456789");
    ASSERT_TRUE(keyer.ok());
    keyer_ = std::make_unique<RespondentKeyer>(std::move(keyer).value());
    FreshStoreTest::SetUp();
  }

  QuestionnaireImportReport Import(const std::string& file, const QuestionnaireImportOptions& options) {
    auto report = ImportQuestionnaireFile(kDir + file, catalog_, *areas_, *keyer_, *store_, options);
    EXPECT_TRUE(report.ok()) << file << ": " << report.status();
    return report.ok() ? report.value() : QuestionnaireImportReport{};
  }

  // The current responses of the test survey, by answer reference (the slot without its town).
  std::map<std::string, Response> Stored() {
    std::map<std::string, Response> out;
    for (auto& [slot, r] : testsupport::StoredBySourceRef(*store_, "quest-test"))
      out[std::string(AnswerRefOf(slot))] = r;
    return out;
  }

  SurveyCatalog catalog_;
  std::unique_ptr<AreaRegistry> areas_;
  std::unique_ptr<RespondentKeyer> keyer_;
};

// 问卷星: the .xls stored, the GBK CSV of the same answers adds nothing, the edited export revises one
// slot (the earlier version logged) and adds one row; the store holds one current response per answer.
TEST_P(QuestionnaireStoreTest, ImportTwiceAddsNothingAndAnEditedAnswerIsARevision) {
  QuestionnaireImportOptions o;
  o.survey_id = "quest-test";
  o.period = "2026";
  o.town_column = "4";
  o.county = "320812";
  o.questionnaire_id = "5657754";
  const QuestionnaireImportReport first = Import("wjx_text.xls", o);
  EXPECT_EQ(first.stored, 4u);
  EXPECT_EQ(first.rejected, 2u);
  const QuestionnaireImportReport again = Import("wjx_text_gbk.csv", o);
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 4u);
  const QuestionnaireImportReport edited = Import("wjx_text_edited.csv", o);
  EXPECT_EQ(edited.revised, 1u);
  EXPECT_EQ(edited.stored, 1u);
  EXPECT_EQ(edited.duplicates, 3u);
  EXPECT_EQ(Import("wjx_text_edited.csv", o).duplicates, 5u);

  const auto stored = Stored();
  EXPECT_EQ(stored.size(), 5u);
  EXPECT_EQ(stored.at("wjx:5657754:1").answers.at("security"), std::vector<std::string>{"3"});
  EXPECT_EQ(stored.at("wjx:5657754:1").town_code, "320812001");
  EXPECT_EQ(stored.at("wjx:5657754:1").channel, Channel::kWechat);
  EXPECT_EQ(stored.at("wjx:5657754:5").completion, Completion::kPartial);
  auto log = store_->RevisionLog(Channel::kWechat, "wjx:5657754:1@320812001");
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->front().action, "revised");
  EXPECT_EQ(log->front().reason, "questionnaire file import");
}

// 腾讯问卷 .xlsx with a fixed town, twice.
TEST_P(QuestionnaireStoreTest, TxwjXlsxWithAFixedTownTwice) {
  QuestionnaireImportOptions o;
  o.survey_id = "quest-test";
  o.period = "2026Q2";
  o.town = "320812004";
  o.questionnaire_id = "5356056";
  const QuestionnaireImportReport first = Import("txwj.xlsx", o);
  EXPECT_EQ(first.stored, 3u);
  EXPECT_EQ(first.rejected, 0u);
  const QuestionnaireImportReport again = Import("txwj.csv", o);  // the same answers as CSV
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 3u);
  const auto stored = Stored();
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored.at("txwj:5356056:102").answers.at("activities"),
            (std::vector<std::string>{"reading", "other"}));
  EXPECT_EQ(stored.at("txwj:5356056:101").period.ToString(), "2026Q2");
  EXPECT_EQ(stored.at("txwj:5356056:101").town_code, "320812004");
}

// The webhook's create, update and delete through the store: stored, revised, withdrawn (both earlier
// versions in the log, nothing current).
TEST_P(QuestionnaireStoreTest, TxwjWebhookCreateUpdateDelete) {
  EndpointOptions options;
  options.txwj_token = "txwj-path-token-0123456789";
  options.maps.push_back(
      ParseQuestionnaireMap(R"({"provider":"txwj","id":"5356056","survey":"quest-test","period":"2026",
                                "town":"320812004"})")
          .value());
  const QuestionnaireEndpoints endpoints(catalog_, *areas_, *keyer_, *store_, std::move(options));
  auto body = [](const std::string& action, const std::string& security) {
    return R"({"id":"u1","object":"Answer","action":")" + action +
           R"(","payload":{"survey_id":5356056,"answer_id":7,"ended_at":"2026-06-20 11:58:39","answer":[{"id":"p1",
           "questions":[{"id":"q1","title":"总体来说，您觉得您所在的乡镇（街道）安全吗？","type":"radio",
           "options":[{"id":"o1","text":")" +
           security + R"("}]}]}]}})";
  };
  const std::string token = "txwj-path-token-0123456789";
  EXPECT_NE(endpoints.HandleTxwjWebhook(token, body("answer.create", "很安全")).json.find("\"stored\""),
            std::string::npos);
  EXPECT_NE(endpoints.HandleTxwjWebhook(token, body("answer.create", "很安全")).json.find("\"duplicate\""),
            std::string::npos);
  EXPECT_NE(endpoints.HandleTxwjWebhook(token, body("answer.update", "基本安全")).json.find("\"revised\""),
            std::string::npos);
  ASSERT_EQ(Stored().size(), 1u);
  EXPECT_EQ(Stored().at("txwj:5356056:7").answers.at("security"), std::vector<std::string>{"3"});
  EXPECT_NE(endpoints.HandleTxwjWebhook(token, body("answer.delete", "")).json.find("\"withdrawn\""),
            std::string::npos);
  EXPECT_NE(endpoints.HandleTxwjWebhook(token, body("answer.delete", "")).json.find("\"already_gone\""),
            std::string::npos);
  EXPECT_TRUE(Stored().empty());
  auto log = store_->RevisionLog(Channel::kWechat, "txwj:5356056:7@320812004");
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].action, "revised");
  EXPECT_EQ((*log)[1].action, "withdrawn");
}

INSTANTIATE_TEST_SUITE_P(Backends, QuestionnaireStoreTest,
                         ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::collector::questionnaire
