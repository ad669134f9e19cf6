// Hostile input catalogue: population files (`minyi import population`, collector/population_import.h).
// The hostile line (line 3) is about a third town; the two valid towns around it (lines 2, 4 and 5)
// are stored and counted, and the report names line 3 with the field at fault. A town-year with a bad
// line is not stored at all (documented: a partial margin would move people into the unknown cell),
// so the hostile line never names a valid neighbour's town.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_store_for_test.h"
#include "collector/population_import.h"
#include "tests/hostile/hostile_support.h"

namespace minyi::hostile {
namespace {

using collector::FakeStore;
using collector::PopulationImportReport;

const std::string kHeader = "period,town,sex,age_band,population\n";
const std::string kTownC = "320116110";
std::string C(const std::string& rest) { return "2025," + kTownC + "," + rest; }

std::vector<Case> Cases() {
  return {
      {"population NaN", C(",,NaN"), "population"},
      {"population nan", C(",,nan"), "population"},
      {"population Infinity", C(",,Infinity"), "population"},
      {"population -inf", C(",,-inf"), "population"},
      {"population 1e26", C(",,1e26"), "is more than 5000000"},
      {"population 1e308", C(",,1e308"), "is more than 5000000"},
      {"population 1e400", C(",,1e400"), "population"},
      {"population negative", C(",,-1"), "is negative"},
      {"population fraction", C(",,12.5"), "not a whole number"},
      {"population tiny fraction", C(",,1e-300"), "not a whole number"},
      {"population hex", C(",,0x100"), "population \"0x100\""},
      {"population thousands comma", C(",,\"1,000\""), "population \"1,000\""},
      {"population text", C(",,many"), "population \"many\" is not a number"},
      {"population Chinese numeral", C(",,一千"), "population"},
      {"population empty", C(",,"), "population"},
      {"population over cap by one", C(",,5000001"), "is more than 5000000"},
      {"population formula", C(",,=1000*1000"), "population"},
      {"population with NUL",
       C(std::string(",,10\0"
                     "00",
                     6)),
       "population"},
      {"population full-width digits", C(",,１０００"), "population"},
      {"population trailing text", C(",,1000 people"), "population"},
      {"period quarter", "2025Q2," + kTownC + ",,,1000", "margins are per year"},
      {"period text", "this year," + kTownC + ",,,1000", "period"},
      {"period 99999", "99999," + kTownC + ",,,1000", "period"},
      {"period negative", "-2025," + kTownC + ",,,1000", "period"},
      {"period empty", "," + kTownC + ",,,1000", "period"},
      {"period exponent", "2.025e3," + kTownC + ",,,1000", "period"},
      {"town unknown", "2025,320116999,,,1000", "320116999 is not a known town"},
      {"town county code", "2025,320116,,,1000", "not a 9-digit town code"},
      {"town 10 digits", "2025,3201161100,,,1000", "not a 9-digit town code"},
      {"town letters", "2025,32011611O,,,1000", "not a 9-digit town code"},
      {"town SQL", "2025,320116110' OR '1'='1,,,1000", "town"},
      {"town script", "2025,<script>alert(1)</script>,,,1000", "town"},
      {"town overlong", "2025," + std::string(5000, '3') + ",,,1000", "town"},
      {"town invalid UTF-8", "2025,\xff\xfe\xfd,,,1000", "town"},
      {"town empty", "2025,,,,1000", "town"},
      {"sex unknown code", C("3,,1000"), "sex \"3\" is not a sex code"},
      {"sex label not code", C("男,,1000"), "sex"},
      {"sex and age both set", C("1,18-29,1000"), "both set"},
      {"age band unknown", C(",17-,1000"), "age_band \"17-\""},
      {"age band formula", C(",@SUM(A1),1000"), "age_band"},
      {"age band escape sequence", C(",\x1b[31m,1000"), "age_band"},
      {"one field more", C(",,1000,extra"), "has 6 fields, the header has 5"},
      {"one field less", C(",1000"), "has 4 fields, the header has 5"},
      {"only commas", ",,,,", "period"},
      {"unterminated quote", C(",,\"1000"), "quote"},
      {"text after closing quote", C(",,\"1000\"x"), "quote"},
      {"duplicate cell in the file", "2025,320102002,1,,400", "already given on line 5"},
      {"cell above the town total", C("1,,999999"), "town not stored"},
      {"cells without a total", C("2,,10"), "without a town total"},
      // Valid after all: stored as written.
      {"population zero", C(",,0"), ""},
      {"population with spaces", C(",, 1000 "), ""},
      {"population 1.0", C(",,1000.0"), ""},
      {"population exponent whole", C(",,1e3"), ""},
  };
}

class PopulationHostile : public ::testing::TestWithParam<Case> {};

TEST_P(PopulationHostile, ReportsTheLineAndKeepsTheValidTowns) {
  const Case& c = GetParam();
  std::string hostile = c.input;
  std::string tail = "2025,320803001,,,2000\n2025,320102002,1,,400\n";
  if (c.name == "duplicate cell in the file") {
    // The duplicate comes after the first copy: line 5 holds the original, line 6 the copy.
    hostile = "2025,320116110,,,1";
    tail = "2025,320803001,,,2000\n2025,320102002,1,,400\n2025,320102002,1,,401\n";
  }
  if (c.name == "cell above the town total") {
    tail += C(",,1000") + "\n";  // the town total comes later in the file
  }
  const std::string text = kHeader + "2025,320102002,,,1000\n" + hostile + "\n" + tail;
  FakeStore store;
  std::istringstream in(text);
  Result<PopulationImportReport> report = collector::ImportPopulationCsv(
      in, fuzz::Areas(), collector::DemographicCodesFromCatalog(fuzz::Surveys()), store, store, {});
  ASSERT_TRUE(report.ok()) << report.status();
  const auto stored = [&](const std::string& town, const std::string& sex) {
    auto it = store.cells.find({2025, town, sex, ""});
    return it == store.cells.end() ? -1.0 : it->second;
  };
  if (c.name == "duplicate cell in the file") {
    // Town A's cell given twice: A is not stored (which copy is meant is unknown), B and C are.
    EXPECT_EQ(stored("320803001", ""), 2000);
    EXPECT_EQ(stored(kTownC, ""), 1);
    EXPECT_EQ(stored("320102002", ""), -1);
    bool named = false;
    for (const auto& issue : report->issues)
      named = named || (issue.line == 6 && issue.reason.find(c.expect) != std::string::npos);
    EXPECT_TRUE(named) << collector::FormatPopulationImportReport(*report, "p.csv");
    return;
  }
  EXPECT_EQ(stored("320102002", ""), 1000) << c.name;
  EXPECT_EQ(stored("320102002", "1"), 400);
  EXPECT_EQ(stored("320803001", ""), 2000);
  EXPECT_EQ(report->records, c.name == "cell above the town total" ? 5u : 4u);
  if (c.expect.empty()) {
    EXPECT_TRUE(report->issues.empty()) << collector::FormatPopulationImportReport(*report, "p.csv");
    EXPECT_EQ(report->towns_stored, 3u);
    EXPECT_EQ(report->cells_stored, 4u);
    return;
  }
  EXPECT_EQ(report->towns_stored, 2u);
  EXPECT_EQ(report->cells_stored, 3u);
  ASSERT_FALSE(report->issues.empty());
  bool named = false;
  for (const auto& issue : report->issues) {
    named = named || (issue.line == 3 && (issue.reason.find(c.expect) != std::string::npos ||
                                          issue.ref.find(c.expect) != std::string::npos));
  }
  EXPECT_TRUE(named) << collector::FormatPopulationImportReport(*report, "p.csv");
}

INSTANTIATE_TEST_SUITE_P(Catalogue, PopulationHostile, ::testing::ValuesIn(Cases()), CaseName<Case>);

struct FileCase {
  std::string name;
  std::string text;
  std::string header_error;  // non-empty: nothing stored, this in the message
  std::size_t towns_stored = 0;
};

std::vector<FileCase> FileCases() {
  const std::string rows = "2025,320102002,,,1000\n2025,320803001,,,2000\n";
  return {
      {"zero bytes", "", "empty file", 0},
      {"UTF-8 BOM", "\xEF\xBB\xBF" + kHeader + rows, "", 2},
      {"CRLF", "period,town,sex,age_band,population\r\n2025,320102002,,,1000\r\n2025,320803001,,,2000\r\n",
       "", 2},
      {"mixed line ends", kHeader + "2025,320102002,,,1000\r\n2025,320803001,,,2000\n", "", 2},
      {"header in other case and spaces", " Period , TOWN ,Sex,Age_Band,Population\n" + rows, "", 2},
      {"header duplicated column", "period,town,sex,age_band,population,town\n" + rows, "more than once", 0},
      {"header missing population", "period,town,sex,age_band\n", "missing required column \"population\"",
       0},
      {"header unknown column", "period,town,sex,age_band,population,note\n", "\"note\"", 0},
      {"header GBK", "\xc4\xea,town,sex,age_band,population\n", "header", 0},
      {"binary", std::string("PK\x03\x04\0\0\0\0", 8), "header", 0},
      {"truncated last line", kHeader + rows + "2025,3201161", "", 2},
  };
}

class PopulationFileHostile : public ::testing::TestWithParam<FileCase> {};

TEST_P(PopulationFileHostile, AnswersAsExpected) {
  const FileCase& c = GetParam();
  FakeStore store;
  std::istringstream in(c.text);
  Result<PopulationImportReport> report = collector::ImportPopulationCsv(
      in, fuzz::Areas(), collector::DemographicCodesFromCatalog(fuzz::Surveys()), store, store, {});
  if (!c.header_error.empty()) {
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find(c.header_error), std::string::npos) << report.status();
    EXPECT_TRUE(store.cells.empty());
    return;
  }
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->towns_stored, c.towns_stored)
      << collector::FormatPopulationImportReport(*report, "p.csv");
}

INSTANTIATE_TEST_SUITE_P(Catalogue, PopulationFileHostile, ::testing::ValuesIn(FileCases()),
                         CaseName<FileCase>);

}  // namespace
}  // namespace minyi::hostile
