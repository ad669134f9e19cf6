#include "collector/response_import.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collector/demo.h"
#include "collector/fake_store_for_test.h"

namespace minyi::collector {
namespace {

class ResponseImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<AreaRegistry> areas = AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::make_unique<AreaRegistry>(std::move(areas.value()));
    Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = std::make_unique<SurveyCatalog>(std::move(catalog.value()));
    ASSERT_NE(catalog_->Find("jiangsu-safety"), nullptr);
  }

  Result<ImportReport> Import(const std::string& text, ImportOptions options = {}) {
    std::istringstream in(text);
    return ImportResponsesCsv(in, *catalog_, *areas_, store_, options);
  }

  static std::unique_ptr<AreaRegistry> areas_;
  static std::unique_ptr<SurveyCatalog> catalog_;
  FakeStore store_;
};

std::unique_ptr<AreaRegistry> ResponseImportTest::areas_;
std::unique_ptr<SurveyCatalog> ResponseImportTest::catalog_;

const std::string kHeader =
    "source_ref,survey,period,town,channel,submitted_at,respondent_key,weight,security,grid,sex,age_band,comment\n";

std::string Row(const std::string& ref, const std::string& rest =
                                             "jiangsu-safety,2024,320102002,web,2024-05-12 09:01:33,k-a1b2,1,1,2,2,60+,") {
  return ref + "," + rest + "\n";
}

TEST_F(ResponseImportTest, StoresAGoodFile) {
  const std::string text = kHeader + Row("r1") +
                           "r2,jiangsu-safety,2024Q2,320803001,sms,,k-2,2.5,9,1,1,18-29,\"夜间照明不够，3号楼后面很黑\"\n" +
                           "r3,jiangsu-safety,2025,320116110,,2025-01-02T08:00:00+08:00,k-3,,3,4,,,\n";
  Result<ImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 3u);
  EXPECT_EQ(report->stored, 3u);
  EXPECT_EQ(report->rejected, 0u);
  EXPECT_TRUE(report->issues.empty());
  EXPECT_EQ(report->bytes, text.size());
  ASSERT_EQ(store_.rows.size(), 3u);

  const Response& r1 = store_.rows[0];
  EXPECT_EQ(r1.source_ref, "r1");
  EXPECT_EQ(r1.survey_id, "jiangsu-safety");
  EXPECT_EQ(r1.period, (Period{2024, 0}));
  EXPECT_EQ(r1.town_code, "320102002");
  EXPECT_EQ(r1.channel, Channel::kWeb);
  EXPECT_EQ(r1.submitted_at_ms, *ParseTimestamp("2024-05-12T01:01:33Z"));
  EXPECT_GT(r1.received_at_ms, 0);
  EXPECT_EQ(r1.respondent_key, "k-a1b2");
  EXPECT_EQ(r1.weight, 1.0);
  EXPECT_EQ(r1.answers, (Answers{{"security", {"1"}}, {"grid", {"2"}}, {"sex", {"2"}}, {"age_band", {"60+"}}}));
  EXPECT_EQ(r1.raw_payload, "r1,jiangsu-safety,2024,320102002,web,2024-05-12 09:01:33,k-a1b2,1,1,2,2,60+,");

  const Response& r2 = store_.rows[1];
  EXPECT_EQ(r2.period, (Period{2024, 2}));
  EXPECT_EQ(r2.channel, Channel::kSms);
  EXPECT_EQ(r2.submitted_at_ms, 0);
  EXPECT_EQ(r2.weight, 2.5);
  EXPECT_EQ(r2.answers.at("comment"), std::vector<std::string>{"夜间照明不够，3号楼后面很黑"});

  const Response& r3 = store_.rows[2];
  EXPECT_EQ(r3.channel, Channel::kImport);
  EXPECT_EQ(r3.weight, 1.0);
  EXPECT_EQ(r3.answers.count("sex"), 0u);
}

struct BadRow {
  const char* name;
  std::string row;     // without a trailing newline
  std::string reason;  // substring expected in the issue
};

class ResponseImportBadRowTest : public ResponseImportTest, public ::testing::WithParamInterface<BadRow> {};

TEST_P(ResponseImportBadRowTest, IsReportedWithLineAndReasonAndGoodRowsAreKept) {
  const BadRow& c = GetParam();
  const std::string text = kHeader + Row("good1") + c.row + "\n" + Row("good2");
  Result<ImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, 2u) << c.name;
  EXPECT_EQ(report->rejected, 1u) << c.name;
  ASSERT_EQ(report->issues.size(), 1u) << c.name;
  EXPECT_EQ(report->issues[0].line, 3u) << c.name;
  EXPECT_NE(report->issues[0].reason.find(c.reason), std::string::npos) << c.name << ": " << report->issues[0].reason;
  ASSERT_EQ(store_.rows.size(), 2u);
  EXPECT_EQ(store_.rows[0].source_ref, "good1");
  EXPECT_EQ(store_.rows[1].source_ref, "good2");
  // The reason never echoes a phone number back into logs.
  EXPECT_EQ(report->issues[0].reason.find("13812345678"), std::string::npos);
}

const std::string kRest = ",2024,320102002,web,,k-1,1,1,2,1,30-39,";

INSTANTIATE_TEST_SUITE_P(
    Cases, ResponseImportBadRowTest,
    ::testing::Values(
        BadRow{"unknown survey", "b,nosuch" + kRest, "unknown survey \"nosuch\""},
        BadRow{"empty survey", "b," + kRest, "survey is empty"},
        BadRow{"bad period", "b,jiangsu-safety,24,320102002,web,,k-1,1,1,2,1,30-39,", "period"},
        BadRow{"short town", "b,jiangsu-safety,2024,3201020,web,,k-1,1,1,2,1,30-39,", "not a 9-digit town code"},
        BadRow{"unknown town", "b,jiangsu-safety,2024,320102999,web,,k-1,1,1,2,1,30-39,", "not a known town"},
        BadRow{"bad channel", "b,jiangsu-safety,2024,320102002,fax,,k-1,1,1,2,1,30-39,", "channel \"fax\""},
        BadRow{"bad timestamp", "b,jiangsu-safety,2024,320102002,web,yesterday,k-1,1,1,2,1,30-39,", "submitted_at"},
        BadRow{"empty key", "b,jiangsu-safety,2024,320102002,web,,,1,1,2,1,30-39,", "respondent_key is empty"},
        BadRow{"phone key", "b,jiangsu-safety,2024,320102002,web,,13812345678,1,1,2,1,30-39,", "phone number"},
        BadRow{"+86 phone key", "b,jiangsu-safety,2024,320102002,web,,+86 138-1234-5678,1,1,2,1,30-39,",
               "phone number"},
        BadRow{"0086 phone key", "b,jiangsu-safety,2024,320102002,web,,008613812345678,1,1,2,1,30-39,",
               "phone number"},
        BadRow{"phone in source_ref", "wjx-13812345678,jiangsu-safety" + kRest, "source_ref holds a phone number"},
        BadRow{"empty source_ref", ",jiangsu-safety" + kRest, "source_ref is empty"},
        BadRow{"negative weight", "b,jiangsu-safety,2024,320102002,web,,k-1,-1,1,2,1,30-39,", "weight \"-1\""},
        BadRow{"text weight", "b,jiangsu-safety,2024,320102002,web,,k-1,one,1,2,1,30-39,", "weight \"one\""},
        // Issue #13: an implausible base weight would make the aggregator refuse the whole period.
        BadRow{"huge weight", "b,jiangsu-safety,2024,320102002,web,,k-1,1e26,1,2,1,30-39,", "is more than 5000000"},
        BadRow{"unknown option", "b,jiangsu-safety,2024,320102002,web,,k-1,1,7,2,1,30-39,", "answers.security"},
        BadRow{"two options for single", "b,jiangsu-safety,2024,320102002,web,,k-1,1,1;2,2,1,30-39,",
               "takes one answer"},
        BadRow{"required missing", "b,jiangsu-safety,2024,320102002,web,,k-1,1,,2,1,30-39,", "answers.security"},
        BadRow{"too few fields", "b,jiangsu-safety,2024", "has 3 fields, the header has 13"},
        BadRow{"stray quote", "b,\"jiangsu-safety\"x,2024,320102002,web,,k-1,1,1,2,1,30-39,", "closing quote"}));

TEST_F(ResponseImportTest, UnterminatedQuoteCostsOneLine) {
  const std::string text =
      kHeader + Row("good1") + "b,jiangsu-safety,2024,320102002,web,,k-1,1,1,2,1,30-39,\"open comment\n" +
      Row("good2") + Row("good3", "jiangsu-safety,2024,320102002,web,,k-3,1,1,2,1,30-39,\"a, quoted \"\"one\"\"\"");
  Result<ImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, 3u);
  EXPECT_EQ(report->rejected, 1u);
  ASSERT_EQ(report->issues.size(), 1u);
  EXPECT_EQ(report->issues[0].line, 3u);
  EXPECT_EQ(report->issues[0].ref, "b");
  EXPECT_EQ(store_.rows.back().answers.at("comment"), std::vector<std::string>{"a, quoted \"one\""});
}

TEST_F(ResponseImportTest, BomAndCrlfAndMultiChoiceAndBlankLines) {
  SurveyDefinition multi;
  multi.id = "multi-test";
  multi.version = "1";
  Question q;
  q.code = "topics";
  q.type = QuestionType::kMulti;
  for (const char* code : {"a", "b", "c"}) q.options.push_back(Option{code, code, {}, std::nullopt, false});
  multi.questions.push_back(q);
  catalog_->Add(std::make_shared<const SurveyDefinition>(multi));

  const std::string text =
      "\xEF\xBB\xBF Source_Ref ,survey,period,town,respondent_key,topics,security\r\n"
      "m1,multi-test,2024,320102002,k1,a; c,\r\n"
      "\r\n"
      "m2,multi-test,2024,320102002,k2,b,\r\n"
      "m3,multi-test,2024,320102002,k3,,1\r\n";
  Result<ImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 3u);
  EXPECT_EQ(report->stored, 2u);
  ASSERT_EQ(report->issues.size(), 1u);
  EXPECT_EQ(report->issues[0].line, 5u);
  EXPECT_NE(report->issues[0].reason.find("column security is not a question of survey multi-test"),
            std::string::npos)
      << report->issues[0].reason;
  ASSERT_EQ(store_.rows.size(), 2u);
  EXPECT_EQ(store_.rows[0].answers.at("topics"), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(store_.rows[0].raw_payload, "m1,multi-test,2024,320102002,k1,a; c,");
  EXPECT_EQ(store_.rows[0].channel, Channel::kImport);
}

TEST_F(ResponseImportTest, ReimportIsAllDuplicatesAndChangedRowIsAConflict) {
  const std::string text = kHeader + Row("r1") + Row("r2") + Row("r3");
  ASSERT_TRUE(Import(text).ok());
  Result<ImportReport> again = Import(text);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->stored, 0u);
  EXPECT_EQ(again->duplicates, 3u);
  EXPECT_TRUE(again->issues.empty());

  const std::string changed =
      kHeader + Row("r1") + Row("r2", "jiangsu-safety,2024,320102002,web,2024-05-12 09:01:33,k-a1b2,1,5,5,2,60+,");
  Result<ImportReport> conflict = Import(changed);
  ASSERT_TRUE(conflict.ok());
  EXPECT_EQ(conflict->duplicates, 1u);
  EXPECT_EQ(conflict->conflicts, 1u);
  ASSERT_EQ(conflict->issues.size(), 1u);
  EXPECT_EQ(conflict->issues[0].line, 3u);
  EXPECT_EQ(conflict->issues[0].ref, "r2");
  EXPECT_NE(conflict->issues[0].reason.find("conflict"), std::string::npos);
  EXPECT_EQ(store_.rows.size(), 3u);
}

TEST_F(ResponseImportTest, SameRefOnAnotherChannelIsANewResponse) {
  ASSERT_TRUE(Import(kHeader + Row("r1")).ok());
  Result<ImportReport> report =
      Import(kHeader + Row("r1", "jiangsu-safety,2024,320102002,sms,2024-05-12 09:01:33,k-a1b2,1,1,2,2,60+,"));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->stored, 1u);
}

TEST_F(ResponseImportTest, BatchBoundaries) {
  std::string text = kHeader;
  for (int i = 0; i < 10; ++i) text += Row("r" + std::to_string(i));
  ImportOptions options;
  options.batch_size = 4;
  std::vector<std::size_t> progress;
  options.progress = [&progress](const ImportReport& r) { progress.push_back(r.stored); };
  Result<ImportReport> report = Import(text, options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->stored, 10u);
  EXPECT_EQ(store_.batch_sizes, (std::vector<std::size_t>{4, 4, 2}));
  EXPECT_EQ(progress, (std::vector<std::size_t>{4, 8, 10}));

  FakeStore exact;
  std::string eight = kHeader;
  for (int i = 0; i < 8; ++i) eight += Row("e" + std::to_string(i));
  std::istringstream in(eight);
  ASSERT_TRUE(ImportResponsesCsv(in, *catalog_, *areas_, exact, options).ok());
  EXPECT_EQ(exact.batch_sizes, (std::vector<std::size_t>{4, 4}));
}

// The importer reads each row into a response of the previous batch (NextSlot keeps their strings and
// answer maps): nothing of an earlier row, stored or rejected, may show in a later one.
TEST_F(ResponseImportTest, EachRowReadsAsIfItWereAlone) {
  const std::string header = kHeader.substr(0, kHeader.size() - 1) + ",completion\n";
  // Each row after a stored or rejected one in the same slot: a1 → a3 → a4 and a2 → a5 (batches of 2);
  // a3 is rejected (unknown town).
  const std::vector<std::string> rows = {
      "a1,jiangsu-safety,2024Q2,320803001,sms,2024-05-12 09:01:33,k-1,2.5,1,2,2,60+,路灯坏了,partial\n",
      "a2,jiangsu-safety,2024,320102002,sms,2024-05-13 10:00:00,k-2,3,3,,,,,partial\n",
      "a3,jiangsu-safety,2024,999999999,web,2024-05-14 10:00:00,k-3,4,1,2,2,60+,备注,partial\n",
      "a4,jiangsu-safety,2025,320116110,web,,k-4,,4,1,1,18-29,,\n",
      "a5,jiangsu-safety,2024,320102002,,,k-5,,,2,,,,partial\n",
  };
  ImportOptions options;
  options.batch_size = 2;
  std::string text = header;
  for (const std::string& row : rows) text += row;
  Result<ImportReport> report = Import(text, options);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rejected, 1u) << FormatImportReport(*report, "");
  ASSERT_EQ(store_.rows.size(), rows.size() - 1);
  std::size_t stored = 0;
  for (const std::string& row : rows) {
    FakeStore alone;
    std::istringstream in(header + row);
    ASSERT_TRUE(ImportResponsesCsv(in, *catalog_, *areas_, alone, options).ok());
    if (alone.rows.empty()) continue;
    SCOPED_TRACE(row);
    const Response& expected = alone.rows[0];
    const Response& got = store_.rows[stored++];
    EXPECT_EQ(got.CanonicalContent(), expected.CanonicalContent());
    EXPECT_EQ(got.answers, expected.answers);
    EXPECT_EQ(got.source_ref, expected.source_ref);
    EXPECT_EQ(got.raw_payload, expected.raw_payload);
  }
  EXPECT_EQ(stored, store_.rows.size());
  const Response& a4 = store_.rows[2];
  EXPECT_EQ(a4.weight, 1.0);
  EXPECT_EQ(a4.submitted_at_ms, 0);
  EXPECT_EQ(a4.completion, Completion::kComplete);
  EXPECT_EQ(a4.answers.count("comment"), 0u);
  const Response& a5 = store_.rows[3];
  EXPECT_EQ(a5.answers, (Answers{{"grid", {"2"}}}));
  EXPECT_EQ(a5.channel, Channel::kImport);
  EXPECT_EQ(a5.weight, 1.0);
  EXPECT_EQ(a5.submitted_at_ms, 0);
}

TEST_F(ResponseImportTest, StoreFailureStopsAndSaysWhatWasCommitted) {
  std::string text = kHeader;
  for (int i = 0; i < 10; ++i) text += Row("r" + std::to_string(i));
  ImportOptions options;
  options.batch_size = 3;
  store_.fail_append_call = 1;
  Result<ImportReport> report = Import(text, options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(report.status().message().find("line 5"), std::string::npos) << report.status();
  EXPECT_NE(report.status().message().find("3 rows were committed"), std::string::npos) << report.status();
  EXPECT_NE(report.status().message().find("disk full"), std::string::npos);
  EXPECT_EQ(store_.rows.size(), 3u);

  store_.fail_append_call = -1;  // re-running is safe
  Result<ImportReport> rerun = Import(text, options);
  ASSERT_TRUE(rerun.ok());
  EXPECT_EQ(rerun->duplicates, 3u);
  EXPECT_EQ(rerun->stored, 7u);
}

TEST_F(ResponseImportTest, IssuesAreCappedAndCounted) {
  std::string text = kHeader;
  for (int i = 0; i < 12; ++i) text += "x" + std::to_string(i) + ",nosuch" + kRest + "\n";
  ImportOptions options;
  options.max_issues = 5;
  Result<ImportReport> report = Import(text, options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->rejected, 12u);
  EXPECT_EQ(report->issues.size(), 5u);
  EXPECT_EQ(report->issues_dropped, 7u);
  const std::string formatted = FormatImportReport(*report, "f.csv");
  EXPECT_NE(formatted.find("f.csv: 12 records: 0 stored, 0 duplicates, 0 conflicts, 12 rejected"), std::string::npos)
      << formatted;
  EXPECT_NE(formatted.find("line 2 [x0]: unknown survey"), std::string::npos) << formatted;
  EXPECT_NE(formatted.find("7 more issues"), std::string::npos);
}

struct HeaderCase {
  const char* name;
  std::string header;
  std::string reason;
};

class ResponseImportHeaderTest : public ResponseImportTest, public ::testing::WithParamInterface<HeaderCase> {};

TEST_P(ResponseImportHeaderTest, StopsTheImport) {
  const HeaderCase& c = GetParam();
  Result<ImportReport> report = Import(c.header + "\n" + Row("r1"));
  ASSERT_FALSE(report.ok()) << c.name;
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(report.status().message().find(c.reason), std::string::npos) << c.name << ": " << report.status();
  EXPECT_TRUE(store_.rows.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ResponseImportHeaderTest,
    ::testing::Values(
        HeaderCase{"missing town", "source_ref,survey,period,respondent_key,security", "missing required column \"town\""},
        HeaderCase{"typo question", "source_ref,survey,period,town,respondent_key,securty", "column \"securty\""},
        HeaderCase{"duplicate column", "source_ref,survey,period,town,respondent_key,town", "more than once"},
        HeaderCase{"empty column", "source_ref,survey,period,town,respondent_key,,security", "has no name"}));

TEST_F(ResponseImportTest, DocumentedExampleFileImportsCleanly) {
  std::ifstream in(MINYI_SOURCE_DIR "/conf/examples/responses-example.csv", std::ios::binary);
  ASSERT_TRUE(in.good());
  Result<ImportReport> report = ImportResponsesCsv(in, *catalog_, *areas_, store_, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 5u);
  EXPECT_EQ(report->stored, 5u) << FormatImportReport(*report, "responses-example.csv");
}

TEST_F(ResponseImportTest, EmptyFileHasNoHeader) {
  for (const std::string& text : {std::string(""), std::string("\xEF\xBB\xBF"), std::string("\n\r\n")}) {
    Result<ImportReport> report = Import(text);
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("no header"), std::string::npos) << report.status();
  }
}

TEST_F(ResponseImportTest, HashLikeKeysHoldingElevenDigitsAreNotPhoneNumbers) {
  Result<ImportReport> report =
      Import(kHeader + Row("h1", "jiangsu-safety,2024,320102002,web,,a13812345678b0c1d2,1,1,2,1,30-39,") +
             Row("h2", "jiangsu-safety,2024,320102002,web,,user-13812345678,1,1,2,1,30-39,"));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->stored, 1u);
  ASSERT_EQ(report->issues.size(), 1u);
  EXPECT_EQ(report->issues[0].ref, "h2");
  EXPECT_NE(report->issues[0].reason.find("phone number"), std::string::npos);
}

TEST_F(ResponseImportTest, CanonicalCsvRoundTrip) {
  const auto survey = catalog_->Find("jiangsu-safety");
  Response r;
  r.survey_id = "jiangsu-safety";
  r.period = {2024, 3};
  r.town_code = "320102002";
  r.channel = Channel::kWechat;
  r.respondent_key = "k\"quoted,key";
  r.weight = 0.1;
  r.completion = Completion::kPartial;
  r.submitted_at_ms = 1715475693123;
  r.source_ref = "rt-1";
  r.answers = {{"grid", {"2"}}, {"comment", {"多行\n\"评论\", 含逗号"}}};
  const std::string text = CanonicalCsvHeader(*survey) + CanonicalCsvRow(r, *survey);
  Result<ImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->stored, 1u) << FormatImportReport(*report, "");
  EXPECT_EQ(store_.rows[0].ContentHash(), r.ContentHash());
  EXPECT_EQ(store_.rows[0].submitted_at_ms, 1715475693123);
  EXPECT_EQ(store_.rows[0].answers, r.answers);
}

// Everything an import produces — the report with its issues, and each stored response (its canonical
// CSV row and the masked raw line) — for 500 demo rows and rows that probe the phone-number checks,
// masking and validation, against a copy made before the importer was made faster (issue 16):
// tests/golden/import/oracle.txt. MINYI_UPDATE_GOLDEN=1 rewrites it.
TEST_F(ResponseImportTest, EverythingAnImportProducesEqualsTheGoldenCopy) {
  auto survey = catalog_->Find("jiangsu-safety");
  std::string text = CanonicalCsvHeader(*survey);
  DemoOptions demo;
  demo.responses = 500;
  ASSERT_TRUE(GenerateDemoResponses(demo, *survey, *areas_, [&](const Response& r) {
                text += CanonicalCsvRow(r, *survey);
                return true;
              }).ok());
  const std::string rest = "jiangsu-safety,2024,320102002,web,2024-05-12 09:01:33,";
  const std::vector<std::string> keys = {"13812345678",
                                         " 138-1234-5678 ",
                                         "k-138 1234 5678",
                                         "+86 25 8888 7777",
                                         "(010) 1234-5678",
                                         "0086123456789012",
                                         "abc13812345678def",
                                         "wjx+8613912345678",
                                         "a.b-1381234567",
                                         "1234567",
                                         "+123456",
                                         "0086 1381234567",
                                         "8e40a1b2c3d4e5f60718293a4b5c6d7e",
                                         "k\t13812345678",
                                         "k-20240512-090133"};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    text += "key-" + std::to_string(i) + "," + rest + "\"" + keys[i] + "\",1,complete,1,2,1,60+,\n";
    text += "\"ref " + keys[i] + "\"," + rest + "k-ok-" + std::to_string(i) + ",1,complete,1,2,1,60+,\n";
  }
  const std::vector<std::string> comments = {"联系 139 1234 5678",
                                             "0086 13812345678 谢谢",
                                             "8613812345678",
                                             "12345678901234567",
                                             "电话13812345678，13912345678",
                                             "138 1234 5678 9",
                                             "2024-05-12 09:01:33",
                                             "138-1234-5678",
                                             "+8613812345678",
                                             "1 3 8 1 2 3 4 5 6 7 8"};
  for (std::size_t i = 0; i < comments.size(); ++i) {
    text += "comment-" + std::to_string(i) + "," + rest + "k-c" + std::to_string(i) +
            ",1,complete,1,2,1,60+,\"" + comments[i] + "\"\n";
  }
  const std::vector<std::string> answers = {"1;2,2,1,60+", "9,9,1,60+", "7,2,1,60+", ";,2,1,60+",
                                            "1,2,3,60+",   "1,2,1,61+", "1,,1,60+",  " 2 , 3 ,2,18-29"};
  for (std::size_t i = 0; i < answers.size(); ++i) {
    text += "answers-" + std::to_string(i) + "," + rest + "k-a,1,complete," + answers[i] + ",\n";
  }
  ImportOptions options;
  options.max_issues = 1000;
  Result<ImportReport> report = Import(text, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->stored, 500u);
  EXPECT_GT(report->rejected, 10u);
  std::string got = FormatImportReport(*report, "oracle.csv");
  for (const Response& r : store_.rows) got += CanonicalCsvRow(r, *survey) + r.raw_payload + "\n";
  const std::string path = MINYI_SOURCE_DIR "/tests/golden/import/oracle.txt";
  if (std::getenv("MINYI_UPDATE_GOLDEN") != nullptr) std::ofstream(path, std::ios::binary) << got;
  std::ifstream in(path, std::ios::binary);
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_GT(expected.str().size(), 1000u) << path;
  EXPECT_TRUE(got == expected.str()) << "the import's output differs from " << path;
}

TEST_F(ResponseImportTest, PhoneNumberInACommentIsMaskedInAnswerAndRawPayload) {
  Result<ImportReport> report =
      Import(kHeader + Row("c1", "jiangsu-safety,2024,320102002,web,,k-1,1,1,2,1,30-39,有事打13812345678"));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(store_.rows.size(), 1u);
  EXPECT_EQ(store_.rows[0].answers.at("comment"), std::vector<std::string>{"有事打138****5678"});
  EXPECT_EQ(store_.rows[0].raw_payload.find("13812345678"), std::string::npos);
  EXPECT_NE(store_.rows[0].raw_payload.find("138****5678"), std::string::npos);
}

}  // namespace
}  // namespace minyi::collector
