#include "collector/questionnaire/file_upload.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "collector/fake_counters_for_test.h"
#include "collector/fake_reviser_for_test.h"

namespace minyi::collector::questionnaire {
namespace {

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

QuestionnaireMap MapOf(const std::string& id, const std::string& survey) {
  QuestionnaireMap m;
  m.provider = Provider::kWjx;
  m.id = id;
  m.survey = survey;
  return m;
}

class FileUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto survey = ParseSurveyDefinition(ReadFile(kDir + "survey.json"));
    ASSERT_TRUE(survey.ok()) << survey.status();
    catalog_.Add(std::make_shared<SurveyDefinition>(std::move(survey).value()));
    auto keyer = RespondentKeyer::Create("questionnaire-test-secret-0123456789");
    ASSERT_TRUE(keyer.ok());
    keyer_ = std::make_unique<RespondentKeyer>(std::move(keyer).value());
    auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::make_unique<AreaRegistry>(std::move(areas).value());
  }

  FileUpload Upload(std::vector<QuestionnaireMap> maps) {
    return FileUpload(catalog_, *areas_, reviser_, counters_, std::move(maps), 480);
  }

  static UploadRequest Request() {
    UploadRequest r;
    r.survey_id = "quest-test";
    r.period = "2026";
    r.file_name = "答卷.csv";
    r.actor = "grid-worker";
    return r;
  }

  SurveyCatalog catalog_;
  std::unique_ptr<RespondentKeyer> keyer_;
  std::unique_ptr<AreaRegistry> areas_;
  FakeReviser reviser_;
  FakeCounters counters_;
};

TEST_F(FileUploadTest, SeveralMapsThatFitAreAnErrorNamingTheirIds) {
  const std::vector<QuestionnaireMap> maps = {MapOf("111", "quest-test"), MapOf("999", "other"),
                                              MapOf("222", "quest-test")};
  auto chosen = ChooseMap(maps, kDir + "wjx_text.csv", Request());
  ASSERT_EQ(chosen.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(chosen.status().message().find("several questionnaire maps of survey 'quest-test' fit this file "
                                           "(ids 111, 222): give the questionnaire id"),
            std::string::npos)
      << chosen.status();

  UploadRequest by_id = Request();
  by_id.questionnaire_id = "222";
  chosen = ChooseMap(maps, kDir + "wjx_text.csv", by_id);
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  ASSERT_NE(chosen.value(), nullptr);
  EXPECT_EQ(chosen.value()->id, "222");
  // A 腾讯问卷 map does not fit a 问卷星 header.
  QuestionnaireMap txwj = MapOf("333", "quest-test");
  txwj.provider = Provider::kTxwj;
  const std::vector<QuestionnaireMap> by_provider = {MapOf("111", "quest-test"), txwj};
  chosen = ChooseMap(by_provider, kDir + "wjx_text.csv", Request());
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  ASSERT_NE(chosen.value(), nullptr);
  EXPECT_EQ(chosen.value()->id, "111");
}

TEST_F(FileUploadTest, AnAreaUploadWithoutATownColumnIsRefusedAndStoresNothing) {
  UploadRequest request = Request();
  request.area = "320812";
  const std::string body = ReadFile(kDir + "wjx_text.csv");
  auto no_map = Upload({}).Import(body, *keyer_, request);
  ASSERT_EQ(no_map.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(
      no_map.status().message().find(
          "area 320812: a county- or city-wide upload takes each row's town from the town column named "
          "by the questionnaire map's \"town_question\", and no map in questionnaire.map_dir names survey "
          "'quest-test': upload into one town"),
      std::string::npos)
      << no_map.status();

  request.questionnaire_id = "111";
  auto townless_map = Upload({MapOf("111", "quest-test")}).Import(body, *keyer_, request);
  ASSERT_EQ(townless_map.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(townless_map.status().message().find("the map of survey 'quest-test' with id 111 names none"),
            std::string::npos)
      << townless_map.status();
  EXPECT_TRUE(reviser_.CurrentByAnswer().empty());
  EXPECT_TRUE(counters_.runs().empty());
}

TEST_F(FileUploadTest, ErrorsNameTheUploadNotTheTemporaryFile) {
  const std::string temp = "/tmp/minyi-upload-AbC123";
  const Status error = UploadError(Status::InvalidInput("cannot open " + temp + ": bad zip; " + temp), temp,
                                   nullptr, Request());
  EXPECT_EQ(error.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(error.message(), "cannot open 答卷.csv: bad zip; 答卷.csv");
  EXPECT_EQ(UploadError(Status::ResourceExhausted("over " + temp), temp, nullptr, Request()).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(UploadError(Status::Unavailable("store down"), temp, nullptr, Request()).code(),
            StatusCode::kUnavailable);
  const QuestionnaireMap map = MapOf("111", "quest-test");
  EXPECT_EQ(
      UploadError(Status::InvalidInput("header: no survey question"), temp, nullptr, Request()).message(),
      "header: no survey question (no questionnaire map in questionnaire.map_dir names survey "
      "'quest-test': ask an administrator to add one)");
  EXPECT_EQ(UploadError(Status::InvalidInput("header: no survey question"), temp, &map, Request()).message(),
            "header: no survey question");
}

TEST_F(FileUploadTest, ATownUploadStoresTheRowsAndRecordsTheRun) {
  UploadRequest request = Request();
  request.town = "320812001";
  auto json = Upload({}).Import(ReadFile(kDir + "wjx_text.csv"), *keyer_, request);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("答卷.csv"), std::string::npos) << *json;
  EXPECT_FALSE(reviser_.CurrentByAnswer().empty());
  ASSERT_EQ(counters_.runs().size(), 1u);
  const ImportRun run = counters_.runs()[0];
  EXPECT_EQ(run.command, "upload questionnaire");
  EXPECT_EQ(run.file_name, "答卷.csv");
  EXPECT_EQ(run.actor, "grid-worker");
  EXPECT_EQ(run.survey_id, "quest-test");
  EXPECT_EQ(run.area_code, "320812001");
  EXPECT_EQ(run.rows_read, 6);
  EXPECT_EQ(run.rows_stored, 5);
  EXPECT_EQ(run.rows_rejected, 1);
}

TEST(ImportRunOfTest, RevisionsCountAsStoredAndStaleVersionsAsDuplicates) {
  QuestionnaireImportReport report;
  report.rows = 10;
  report.stored = 3;
  report.revised = 2;
  report.duplicates = 1;
  report.stale = 1;
  report.rejected = 3;
  const ImportRun run = ImportRunOf(report, "import questionnaire", "a.csv", 42);
  EXPECT_EQ(run.command, "import questionnaire");
  EXPECT_EQ(run.file_name, "a.csv");
  EXPECT_EQ(run.started_at_ms, 42);
  EXPECT_EQ(run.rows_read, 10);
  EXPECT_EQ(run.rows_stored, 5);
  EXPECT_EQ(run.rows_duplicate, 2);
  EXPECT_EQ(run.rows_rejected, 3);
}

}  // namespace
}  // namespace minyi::collector::questionnaire
