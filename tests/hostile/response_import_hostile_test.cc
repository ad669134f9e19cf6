// Hostile input catalogue: the canonical response CSV (`minyi import responses`,
// collector/response_import.h). Each hostile record sits between two valid ones: the valid ones are
// stored and counted, the hostile one is reported with its line (3) and a reason naming the field,
// or, where it is valid after all (formulas, SQL, HTML in a text answer), stored verbatim.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_store_for_test.h"
#include "collector/response_import.h"
#include "tests/hostile/hostile_support.h"

namespace minyi::hostile {
namespace {

using collector::FakeStore;
using collector::ImportReport;

const std::string kHeader =
    "source_ref,survey,period,town,channel,submitted_at,respondent_key,weight,security,grid,sex,age_band,"
    "comment\n";
enum Column {
  kRef,
  kSurvey,
  kPeriod,
  kTown,
  kChannel,
  kAt,
  kKey,
  kWeight,
  kSecurity,
  kGrid,
  kSex,
  kAge,
  kComment
};

// A valid record with `ref`, some columns replaced (raw CSV text: the caller quotes).
std::string Row(const std::string& ref, const std::map<Column, std::string>& changes = {}) {
  std::vector<std::string> fields = {ref,        "jiangsu-safety",
                                     "2025",     "320102002",
                                     "web",      "2025-05-12 09:01:33",
                                     "k-" + ref, "1",
                                     "1",        "2",
                                     "2",        "60+",
                                     "路灯不亮"};
  for (const auto& [column, value] : changes) fields[column] = value;
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) line += (i > 0 ? "," : "") + fields[i];
  return line;
}
std::string Bad(const std::map<Column, std::string>& changes) { return Row("bad", changes); }

std::vector<Case> Cases() {
  std::vector<Case> cases = {
      // Wrong types and values out of range, field by field.
      {"weight NaN", Bad({{kWeight, "NaN"}}), "weight \"NaN\""},
      {"weight nan", Bad({{kWeight, "nan"}}), "weight \"nan\""},
      {"weight Infinity", Bad({{kWeight, "Infinity"}}), "weight \"Infinity\""},
      {"weight -inf", Bad({{kWeight, "-inf"}}), "weight \"-inf\""},
      {"weight 1e400", Bad({{kWeight, "1e400"}}), "weight \"1e400\""},
      {"weight 1e308", Bad({{kWeight, "1e308"}}), "weight \"1e308\""},
      {"weight hex", Bad({{kWeight, "0x10"}}), "weight \"0x10\""},
      {"weight decimal comma", Bad({{kWeight, "\"1,5\""}}), "weight \"1,5\""},
      {"weight over cap", Bad({{kWeight, "5000001"}}), "weight \"5000001\""},
      {"weight negative zero point", Bad({{kWeight, "-0.5"}}), "weight \"-0.5\""},
      {"weight text", Bad({{kWeight, "一"}}), "weight"},
      {"period quarter 5", Bad({{kPeriod, "2025Q5"}}), "period"},
      {"period quarter 0", Bad({{kPeriod, "2025Q0"}}), "period"},
      {"period year 99999", Bad({{kPeriod, "99999"}}), "period"},
      {"period negative", Bad({{kPeriod, "-2025"}}), "period"},
      {"period month", Bad({{kPeriod, "2025-13"}}), "period"},
      {"period exponent", Bad({{kPeriod, "2e3"}}), "period"},
      {"town unknown", Bad({{kTown, "999999999"}}), "not a known town"},
      {"town 10 digits", Bad({{kTown, "3201020020"}}), "not a 9-digit town code"},
      {"town letters", Bad({{kTown, "32010200x"}}), "not a 9-digit town code"},
      {"town full-width digits", Bad({{kTown, "３２０１０２００２"}}), "town"},
      {"town county code", Bad({{kTown, "320102"}}), "not a 9-digit town code"},
      {"town with NUL",
       Bad({{kTown, std::string("320102\0"
                                "002",
                                10)}}),
       "town"},
      {"survey unknown", Bad({{kSurvey, "no-such-survey"}}), "unknown survey \"no-such-survey\""},
      {"survey SQL", Bad({{kSurvey, "x' OR '1'='1"}}), "unknown survey"},
      {"channel unknown", Bad({{kChannel, "fax"}}), "channel \"fax\""},
      {"channel script", Bad({{kChannel, "<script>"}}), "channel"},
      {"date 30 February", Bad({{kAt, "2025-02-30 10:00:00"}}), "submitted_at"},
      {"date hour 25", Bad({{kAt, "2025-05-12 25:00:00"}}), "submitted_at"},
      {"date offset +99:00", Bad({{kAt, "2025-05-12T10:00:00+99:00"}}), "UTC offset out of range"},
      {"date year 99999", Bad({{kAt, "99999-01-01 00:00:00"}}), "submitted_at"},
      {"date epoch number", Bad({{kAt, "1e10"}}), "submitted_at"},
      {"date year 10000", Bad({{kAt, "10000-01-01T00:00:00Z"}}), "submitted_at"},
      {"key overlong", Bad({{kKey, std::string(192, 'k')}}), "respondent_key is longer than 191 bytes"},
      {"key phone", Bad({{kKey, "wjx-13812345678"}}), "respondent_key holds a phone number"},
      {"source_ref overlong", Row(std::string(192, 'r')), "source_ref is longer than 191 bytes"},
      {"source_ref phone E.164", Row("+8613812345678"), "source_ref holds a phone number"},
      // Unknown options and answers of the wrong shape.
      {"option unknown", Bad({{kSecurity, "7"}}), "answers.security"},
      {"option label not code", Bad({{kSecurity, "很安全"}}), "answers.security"},
      {"option leading zero", Bad({{kSecurity, "01"}}), "answers.security"},
      {"option decimal", Bad({{kSecurity, "1.0"}}), "answers.security"},
      {"option negative", Bad({{kSecurity, "-1"}}), "answers.security"},
      {"option given twice", Bad({{kGrid, "2;2"}}), "answers.grid"},
      {"single with two options", Bad({{kSecurity, "1;2"}}), "takes one answer"},
      {"no-answer combined", Bad({{kSecurity, "1;9"}}), "answers.security"},
      {"required missing", Bad({{kGrid, ""}}), "answers.grid"},
      // Text answers: invalid encodings and sizes are refused, hostile text is kept as it was written.
      {"text invalid UTF-8", Bad({{kComment, "ab\xff\xfe"}}), "answers.comment"},
      {"text GBK bytes", Bad({{kComment, "\xc2\xb7\xb5\xc6\xb2\xbb\xc1\xc1"}}), "not valid UTF-8"},
      {"text overlong UTF-8 form", Bad({{kComment, "\xc0\xaf"}}), "not valid UTF-8"},
      {"text UTF-16 surrogate", Bad({{kComment, "\xed\xa0\x80"}}), "not valid UTF-8"},
      {"text too long", Bad({{kComment, Repeat("长", 5000)}}), "answers.comment"},
      {"text NUL", Bad({{kComment, std::string("a\0b", 3)}}), "control character U+0000"},
      {"text escape sequence", Bad({{kComment, "\x1b[2J\x1b]0;pwned\x07"}}), "control character U+001B"},
      {"text only spaces (an empty cell: not answered)", Bad({{kComment, "\"   \""}}), ""},
      // Record structure.
      {"one field more", Bad({}) + ",extra", "has 14 fields, the header has 13"},
      {"one field less", "bad,jiangsu-safety,2025,320102002,web,,k-bad,1,1,2,2,60+", "has 12 fields"},
      {"stray quote", "bad,jiang\"su-safety,2025,320102002,web,,k-bad,1,1,2,2,60+,", "unknown survey"},
      {"text after closing quote", "bad,\"jiangsu-safety\"x,2025,320102002,web,,k-bad,1,1,2,2,60+,", "quote"},
      {"duplicate source_ref other content", Row("good1", {{kSecurity, "5"}}), "good1"},
  };
  for (const auto& [name, text] : VerbatimTexts()) {
    cases.push_back({"text " + name, Bad({{kComment, CsvQuote(text)}}), ""});
  }
  cases.push_back({"text with a CR LF inside quotes", Bad({{kComment, "\"第一行\r\n第二行\""}}), ""});
  cases.push_back({"text at the length limit", Bad({{kComment, Repeat("长", 2000)}}), ""});
  cases.push_back({"weight exponent in range", Bad({{kWeight, "2.5e2"}}), ""});
  return cases;
}

class CanonicalCsvHostile : public ::testing::TestWithParam<Case> {
 protected:
  Result<ImportReport> Import(const std::string& text) {
    std::istringstream in(text);
    return collector::ImportResponsesCsv(in, fuzz::Surveys(), fuzz::Areas(), store_, {});
  }
  FakeStore store_;
};

TEST_P(CanonicalCsvHostile, ReportsTheLineAndKeepsTheValidRows) {
  const Case& c = GetParam();
  const std::string text = kHeader + Row("good1") + "\n" + c.input + "\n" + Row("good2") + "\n";
  Result<ImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_GE(store_.rows.size(), 2u);
  EXPECT_EQ(store_.rows.front().source_ref, "good1");
  EXPECT_EQ(store_.rows.back().source_ref, "good2");
  EXPECT_EQ(report->records, 3u);
  if (c.expect.empty()) {
    EXPECT_EQ(report->stored, 3u);
    EXPECT_TRUE(report->issues.empty()) << report->issues[0].reason;
    ASSERT_EQ(store_.rows.size(), 3u);
    EXPECT_EQ(store_.rows[1].raw_payload, c.input) << "stored verbatim";
    return;
  }
  EXPECT_EQ(report->stored, 2u);
  EXPECT_EQ(report->rejected + report->conflicts, 1u);
  ASSERT_EQ(report->issues.size(), 1u);
  EXPECT_EQ(report->issues[0].line, 3u);
  const bool named = report->issues[0].reason.find(c.expect) != std::string::npos ||
                     report->issues[0].ref.find(c.expect) != std::string::npos;
  EXPECT_TRUE(named) << report->issues[0].reason;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, CanonicalCsvHostile, ::testing::ValuesIn(Cases()), CaseName<Case>);

// Whole files: encodings, line ends, headers, sizes.
struct FileCase {
  std::string name;
  std::string text;
  std::string header_error;  // non-empty: the import stops with this, nothing stored
  std::size_t stored = 0;
  std::size_t rejected = 0;
};

std::vector<FileCase> FileCases() {
  const std::string rows = Row("a") + "\n" + Row("b") + "\n";
  std::string many = kHeader;
  for (int i = 0; i < 20000; ++i) many += Row("m" + std::to_string(i)) + "\n";
  return {
      {"zero bytes", "", "empty file", 0, 0},
      {"only blank lines", "\n\r\n\n", "empty file", 0, 0},
      {"UTF-8 BOM", "\xEF\xBB\xBF" + kHeader + rows, "", 2, 0},
      {"CRLF line ends",
       "source_ref,survey,period,town,channel,submitted_at,respondent_key,weight,security,grid,"
       "sex,age_band,comment\r\n" +
           Row("a") + "\r\n" + Row("b") + "\r\n",
       "", 2, 0},
      {"mixed line ends", kHeader + Row("a") + "\r\n" + Row("b") + "\n" + Row("c") + "\r\n", "", 3, 0},
      {"no final line end", kHeader + Row("a") + "\n" + Row("b"), "", 2, 0},
      {"blank lines between", kHeader + "\n" + Row("a") + "\n\n\n" + Row("b") + "\n", "", 2, 0},
      {"truncated inside a quote", kHeader + Row("a") + "\n" + Row("t", {{kComment, "\"cut off"}}), "", 1, 1},
      {"header duplicated column", "source_ref,survey,period,town,respondent_key,security,security\n" + rows,
       "security", 0, 0},
      {"header unknown question", "source_ref,survey,period,town,respondent_key,securty\n", "securty", 0, 0},
      {"header missing respondent_key", "source_ref,survey,period,town,security\n",
       "missing required column \"respondent_key\"", 0, 0},
      {"header empty column", "source_ref,survey,period,town,respondent_key,,security\n",
       "column 6 has no name", 0, 0},
      {"header UTF-16LE",
       std::string("\xFF\xFE"
                   "s\0o\0u\0r\0c\0e\0_\0r\0e\0f\0\n\0",
                   24),
       "header", 0, 0},
      {"header GBK", "\xd0\xf2\xba\xc5,survey\n", "header", 0, 0},
      {"header formula", "=cmd|' /C calc'!A0,survey\n", "=cmd", 0, 0},
      {"binary garbage", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "header", 0, 0},
      {"20000 rows", many, "", 20000, 0},
  };
}

class CanonicalCsvFileHostile : public ::testing::TestWithParam<FileCase> {};

TEST_P(CanonicalCsvFileHostile, AnswersAsExpected) {
  const FileCase& c = GetParam();
  FakeStore store;
  std::istringstream in(c.text);
  Result<ImportReport> report = collector::ImportResponsesCsv(in, fuzz::Surveys(), fuzz::Areas(), store, {});
  if (!c.header_error.empty()) {
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(report.status().message().find(c.header_error), std::string::npos) << report.status();
    EXPECT_TRUE(store.rows.empty());
    return;
  }
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, c.stored);
  EXPECT_EQ(store.rows.size(), c.stored);
  EXPECT_EQ(report->rejected, c.rejected);
  for (const auto& issue : report->issues) EXPECT_GT(issue.line, 1u) << issue.reason;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, CanonicalCsvFileHostile, ::testing::ValuesIn(FileCases()),
                         CaseName<FileCase>);

}  // namespace
}  // namespace minyi::hostile
