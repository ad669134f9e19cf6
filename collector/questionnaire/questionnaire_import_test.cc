#include "collector/questionnaire/questionnaire_import.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "collector/fake_reviser_for_test.h"

namespace minyi::collector::questionnaire {
namespace {

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/";

class QuestionnaireImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(kDir + "survey.json");
    std::stringstream text;
    text << in.rdbuf();
    auto survey = ParseSurveyDefinition(text.str());
    ASSERT_TRUE(survey.ok()) << survey.status();
    catalog_.Add(std::make_shared<SurveyDefinition>(std::move(survey).value()));
    auto keyer = RespondentKeyer::Create("questionnaire-test-secret-0123456789");
    ASSERT_TRUE(keyer.ok());
    keyer_ = std::make_unique<RespondentKeyer>(std::move(keyer).value());
  }

  static const AreaRegistry& Areas() {
    static const AreaRegistry* areas = [] {
      auto loaded = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
      return new AreaRegistry(std::move(loaded).value());
    }();
    return *areas;
  }

  QuestionnaireImportOptions TownColumnOptions() const {
    QuestionnaireImportOptions o;
    o.survey_id = "quest-test";
    o.period = "2026";
    o.town_column = "4";
    o.county = "320812";
    o.questionnaire_id = "5657754";
    return o;
  }

  Result<QuestionnaireImportReport> Import(const std::string& file, const QuestionnaireImportOptions& o) {
    return ImportQuestionnaireFile(kDir + file, catalog_, Areas(), *keyer_, reviser_, o);
  }

  SurveyCatalog catalog_;
  std::unique_ptr<RespondentKeyer> keyer_;
  FakeReviser reviser_;
};

// Issue 18: the rows read so far after every stored batch (the total is not known before the end).
TEST_F(QuestionnaireImportTest, ReportsTheRowsReadAfterEveryBatch) {
  QuestionnaireImportOptions o = TownColumnOptions();
  o.batch_size = 2;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  o.progress = [&](std::uint64_t done, std::uint64_t total) { progress.emplace_back(done, total); };
  auto report = Import("wjx_text.csv", o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->stored, 4u);
  // Rows 1 and 2 make the first batch, rows 3 and 5 the second (4 and 6 are rejected).
  EXPECT_EQ(progress, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{2, 0}, {5, 0}}));
}

TEST_F(QuestionnaireImportTest, WjxTextExportsInEveryFormatGiveTheSameResponses) {
  for (const char* file : {"wjx_text.xls", "wjx_text.csv", "wjx_text_bom.csv", "wjx_text_gbk.csv"}) {
    FakeReviser reviser;
    auto report =
        ImportQuestionnaireFile(kDir + file, catalog_, Areas(), *keyer_, reviser, TownColumnOptions());
    ASSERT_TRUE(report.ok()) << file << ": " << report.status();
    EXPECT_EQ(report->rows, 6u) << file;
    EXPECT_EQ(report->stored, 4u) << file;
    EXPECT_EQ(report->rejected, 2u) << file;
    ASSERT_EQ(report->issues.size(), 2u) << file;
    EXPECT_EQ(report->issues[0].line, 5u);  // 序号 4: 很好
    EXPECT_EQ(report->issues[0].ref, "wjx:5657754:4");
    EXPECT_NE(report->issues[0].reason.find("'很好' is not an option of security"), std::string::npos);
    EXPECT_EQ(report->issues[1].line, 7u);  // 序号 6: 不存在镇
    EXPECT_NE(report->issues[1].reason.find("不存在镇"), std::string::npos);

    const auto current = reviser.CurrentByAnswer();
    ASSERT_EQ(current.size(), 4u) << file;
    const Response& first = current.at("wjx:5657754:1");
    EXPECT_EQ(first.town_code, "320812001");
    EXPECT_EQ(first.channel, Channel::kWechat);
    EXPECT_EQ(first.answers.at("security"), std::vector<std::string>{"1"});
    EXPECT_EQ(first.answers.at("activities"), (std::vector<std::string>{"sport", "reading"}));
    EXPECT_EQ(first.answers.at("comment"), std::vector<std::string>{"路灯再亮一些"});
    EXPECT_EQ(FormatTimestampUtc(first.submitted_at_ms), "2026-06-16T00:00:00Z");
    EXPECT_EQ(first.respondent_key, keyer_->KeyFor("wjx:5657754:1"));
    EXPECT_EQ(first.raw_payload.find("1.2.3.4"), std::string::npos);  // the IP column is not kept
    EXPECT_NE(first.raw_payload.find("路灯再亮一些"), std::string::npos);

    const Response& second = current.at("wjx:5657754:2");
    EXPECT_EQ(second.answers.count("activities"), 0u);  // -3: not shown
    EXPECT_EQ(second.answers.count("comment"), 0u);     // (跳过)
    EXPECT_EQ(second.town_code, "320812002");
    EXPECT_EQ(current.at("wjx:5657754:3").answers.at("activities"), std::vector<std::string>{"other"});
    EXPECT_EQ(current.at("wjx:5657754:3").town_code, "320812003");  // 浦楼 → 浦楼街道
    const Response& skipped = current.at("wjx:5657754:5");          // -2 on a required question
    EXPECT_EQ(skipped.completion, Completion::kPartial);
    EXPECT_EQ(skipped.answers.count("security"), 0u);
  }
}

TEST_F(QuestionnaireImportTest, ReimportAddsNothingAndAnEditedAnswerIsARevision) {
  auto first = Import("wjx_text.csv", TownColumnOptions());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->stored, 4u);
  auto again = Import("wjx_text.xls", TownColumnOptions());  // the same answers, other format
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->stored, 0u);
  EXPECT_EQ(again->duplicates, 4u);
  auto edited = Import("wjx_text_edited.csv", TownColumnOptions());
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_EQ(edited->revised, 1u);
  EXPECT_EQ(edited->stored, 1u);
  EXPECT_EQ(edited->duplicates, 3u);
  EXPECT_EQ(reviser_.CurrentByAnswer().at("wjx:5657754:1").answers.at("security"),
            std::vector<std::string>{"3"});
  auto log = reviser_.RevisionLog(Channel::kWechat, "wjx:5657754:1@320812001");
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->front().action, "revised");
}

TEST_F(QuestionnaireImportTest, WithoutAQuestionnaireIdTheHeaderFingerprintKeepsReimportsIdempotent) {
  QuestionnaireImportOptions o = TownColumnOptions();
  o.questionnaire_id.clear();
  auto first = Import("wjx_text.csv", o);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->questionnaire_id.rfind("fp-", 0), 0u);
  auto edited = Import("wjx_text_edited.csv", o);  // same header, more rows
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_EQ(edited->questionnaire_id, first->questionnaire_id);
  EXPECT_EQ(edited->duplicates, 3u);
}

TEST_F(QuestionnaireImportTest, NumericExportWithOptionColumnsAndSkipCodes) {
  auto report = Import("wjx_numbers.csv", TownColumnOptions());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows, 5u);
  EXPECT_EQ(report->stored, 3u);
  ASSERT_EQ(report->rejected, 2u);
  EXPECT_NE(report->issues[0].reason.find("'7' is not an option of security"), std::string::npos);
  EXPECT_NE(report->issues[1].reason.find("expected 0 or 1"), std::string::npos);
  const auto current = reviser_.CurrentByAnswer();
  EXPECT_EQ(current.at("wjx:5657754:1").answers.at("activities"),
            (std::vector<std::string>{"sport", "reading"}));
  EXPECT_EQ(current.at("wjx:5657754:1").answers.at("comment"), std::vector<std::string>{"很好"});
  EXPECT_EQ(current.at("wjx:5657754:2").answers.count("activities"), 0u);
  EXPECT_EQ(current.at("wjx:5657754:2").answers.count("comment"), 0u);
  EXPECT_EQ(current.at("wjx:5657754:3").answers.at("security"), std::vector<std::string>{"9"});
  EXPECT_EQ(current.at("wjx:5657754:3").answers.at("activities"), std::vector<std::string>{"dance"});
  EXPECT_EQ(FormatTimestampLocal(current.at("wjx:5657754:3").submitted_at_ms), "2026-09-03 12:20:00");
}

TEST_F(QuestionnaireImportTest, TxwjCsvAndXlsxWithAFixedTown) {
  for (const char* file : {"txwj.csv", "txwj.xlsx"}) {
    FakeReviser reviser;
    QuestionnaireImportOptions o;
    o.survey_id = "quest-test";
    o.period = "2026Q2";
    o.town = "320812004";
    o.questionnaire_id = "5356056";
    auto report = ImportQuestionnaireFile(kDir + file, catalog_, Areas(), *keyer_, reviser, o);
    ASSERT_TRUE(report.ok()) << file << ": " << report.status();
    EXPECT_EQ(report->provider, Provider::kTxwj);
    EXPECT_EQ(report->stored, 3u) << file;
    EXPECT_EQ(report->rejected, 0u) << FormatQuestionnaireReport(report.value(), file);
    const auto current = reviser.CurrentByAnswer();
    const Response& r = current.at("txwj:5356056:101");
    EXPECT_EQ(r.town_code, "320812004");
    EXPECT_EQ(r.period.ToString(), "2026Q2");
    EXPECT_EQ(r.answers.at("activities"), (std::vector<std::string>{"sport", "dance"}));
    EXPECT_EQ(FormatTimestampLocal(r.submitted_at_ms), "2026-06-20 10:02:00");
    EXPECT_EQ(current.at("txwj:5356056:102").answers.at("activities"),
              (std::vector<std::string>{"reading", "other"}));
    EXPECT_EQ(current.at("txwj:5356056:103").answers.at("security"),
              std::vector<std::string>{"4"});  // 不安全 alias
  }
}

TEST_F(QuestionnaireImportTest, FileLevelErrorsStoreNothing) {
  struct Case {
    const char* file;
    QuestionnaireImportOptions options;
    const char* says;
  };
  QuestionnaireImportOptions no_town = TownColumnOptions();
  no_town.town_column.clear();
  QuestionnaireImportOptions bad_survey = TownColumnOptions();
  bad_survey.survey_id = "nope";
  QuestionnaireImportOptions no_period = TownColumnOptions();
  no_period.period.clear();
  for (const Case& c :
       {Case{"wjx_truncated.xls", TownColumnOptions(), ".xls"},
        Case{"txwj_truncated.xlsx", TownColumnOptions(), ".xlsx"},
        Case{"binary.dat", TownColumnOptions(), "binary"}, Case{"wjx_text.csv", no_town, "no town"},
        Case{"wjx_text.csv", bad_survey, "nope"}, Case{"wjx_text.csv", no_period, "period"},
        Case{"survey.json", TownColumnOptions(), "header"}}) {
    auto report = Import(c.file, c.options);
    ASSERT_FALSE(report.ok()) << c.file;
    EXPECT_NE(report.status().message().find(c.says), std::string::npos) << c.file << ": " << report.status();
  }
  EXPECT_TRUE(reviser_.CurrentByAnswer().empty());
}

TEST_F(QuestionnaireImportTest, StoreFailureIsUnavailable) {
  reviser_.SetFailing(true);
  auto report = Import("wjx_text.csv", TownColumnOptions());
  EXPECT_EQ(report.status().code(), StatusCode::kUnavailable);
}

TEST_F(QuestionnaireImportTest, ReportText) {
  auto report = Import("wjx_text.xls", TownColumnOptions());
  ASSERT_TRUE(report.ok());
  const std::string text = FormatQuestionnaireReport(report.value(), "wjx_text.xls");
  EXPECT_NE(text.find("wjx_text.xls (xls, 问卷星 5657754): 6 rows, 4 stored, 0 duplicates, 0 revised, 0 "
                      "stale, 2 rejected"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("row 5 [wjx:5657754:4]: column '1、总体来说"), std::string::npos) << text;
}

TEST_F(QuestionnaireImportTest, AFixedTownWinsOverTheMapsTownQuestion) {
  QuestionnaireMap map;
  map.provider = Provider::kTxwj;
  map.id = "5356056";
  map.survey = "quest-test";
  map.town_question = "9";  // no such column in the download
  QuestionnaireImportOptions o;
  o.period = "2026";
  o.town = "320812004";
  o.map = &map;
  auto report = Import("txwj.csv", o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, 3u);
  EXPECT_EQ(reviser_.CurrentByAnswer().at("txwj:5356056:101").town_code, "320812004");
}

// The upload of a county-wide export refuses rows the uploader may not place; every other row is kept.
TEST_F(QuestionnaireImportTest, ARefusedTownRejectsOnlyItsRowWithTheReason) {
  QuestionnaireImportOptions o = TownColumnOptions();
  o.refuse_town = [](const std::string& town) {
    return town == "320812002" ? "town 320812002 is not yours" : std::string();
  };
  auto report = Import("wjx_text.csv", o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, 3u);    // 城南街道, 浦楼, 闸口街道
  EXPECT_EQ(report->rejected, 3u);  // 很好, 不存在镇 and the refused 清江街道
  ASSERT_EQ(report->issues.size(), 3u);
  EXPECT_EQ(report->issues[0].line, 3u);  // 序号 2: 清江街道
  EXPECT_EQ(report->issues[0].ref, "wjx:5657754:2");
  EXPECT_EQ(report->issues[0].reason, "town 320812002 is not yours");
  EXPECT_EQ(reviser_.CurrentByAnswer().count("wjx:5657754:2"), 0u);
}

// Issue 13: should a slot ever hold another town's response (identities that collide), the row is
// rejected with its row number and the reason, the response stays as it was, every other row is kept.
TEST_F(QuestionnaireImportTest, ARowWhoseSlotHoldsAnotherTownsResponseIsRejectedAndTheRestKept) {
  Response elsewhere;
  elsewhere.survey_id = "quest-test";
  elsewhere.period = {2026, 0};
  elsewhere.town_code = "320803002";  // 淮安区, not the row's 城南街道
  elsewhere.channel = Channel::kWechat;
  elsewhere.respondent_key = "someone";
  elsewhere.answers = {{"security", {"5"}}};
  elsewhere.source_ref = "wjx:5657754:1@320812001";
  std::vector<ReviseResult> seeded;
  ASSERT_TRUE(reviser_.StoreRevisions({elsewhere}, "seed", &seeded).ok());

  auto report = Import("wjx_text.csv", TownColumnOptions());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, 3u);
  EXPECT_EQ(report->revised, 0u);
  EXPECT_EQ(report->rejected, 3u);  // 很好, 不存在镇 and 序号 1
  ASSERT_FALSE(report->issues.empty());
  EXPECT_EQ(report->issues.back().line, 2u);
  EXPECT_EQ(report->issues.back().ref, "wjx:5657754:1");
  EXPECT_NE(report->issues.back().reason.find("stored for another town"), std::string::npos)
      << report->issues.back().reason;
  const Response kept = reviser_.Current().at("wjx:5657754:1@320812001");
  EXPECT_EQ(kept.town_code, "320803002");
  EXPECT_EQ(kept.answers.at("security"), std::vector<std::string>{"5"});
}

TEST_F(QuestionnaireImportTest, SniffTellsQuestionnaireExportsFromChatExports) {
  auto sniff = [](const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return SniffQuestionnaireExport(bytes.str());
  };
  ASSERT_TRUE(sniff(kDir + "wjx_text.csv"));
  EXPECT_EQ(sniff(kDir + "wjx_text.csv")->provider, Provider::kWjx);
  EXPECT_EQ(sniff(kDir + "wjx_text_gbk.csv")->provider, Provider::kWjx);
  EXPECT_EQ(sniff(kDir + "txwj.csv")->provider, Provider::kTxwj);  // with a BOM
  EXPECT_EQ(sniff(kDir + "wjx_text.xls")->format, FileFormat::kXls);
  EXPECT_EQ(sniff(kDir + "txwj.xlsx")->format, FileFormat::kXlsx);
  EXPECT_FALSE(sniff(kDir + "binary.dat"));
  EXPECT_FALSE(SniffQuestionnaireExport(""));
  const std::string wechat = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/";
  for (const char* chat : {"wechatmsg.csv", "wechatmsg.txt", "wechatmsg-gbk.csv", "pywxdump_1.csv",
                           "chatlog.csv", "wechatexporter.txt"}) {
    EXPECT_FALSE(sniff(wechat + chat)) << chat;
  }
}

TEST_F(QuestionnaireImportTest, ReportAsJson) {
  auto report = Import("wjx_text.csv", TownColumnOptions());
  ASSERT_TRUE(report.ok());
  const std::string json = QuestionnaireReportJson(report.value(), "安全感\"调查\".csv");
  EXPECT_NE(
      json.find("{\"kind\":\"questionnaire\",\"file\":\"安全感\\\"调查\\\".csv\",\"format\":\"csv\","
                "\"encoding\":\"utf-8\",\"provider\":\"wjx\",\"questionnaire_id\":\"5657754\",\"rows\":6,"
                "\"stored\":4,\"duplicates\":0,\"revisions\":0,\"stale\":0,\"rejected\":2,"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"row\":5,\"ref\":\"wjx:5657754:4\",\"reason\":\"column '1、"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"issues_dropped\":0}"), std::string::npos) << json;
}

}  // namespace
}  // namespace minyi::collector::questionnaire
