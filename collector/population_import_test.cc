#include "collector/population_import.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "collector/fake_store_for_test.h"
#include "core/population.h"

namespace minyi::collector {
namespace {

class PopulationImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<AreaRegistry> areas = AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::make_unique<AreaRegistry>(std::move(areas.value()));
    Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    codes_ = DemographicCodesFromCatalog(*catalog);
  }

  Result<PopulationImportReport> Import(const std::string& text, PopulationImportOptions options = {}) {
    std::istringstream in(text);
    return ImportPopulationCsv(in, *areas_, codes_, store_, store_, options);
  }

  double Cell(int year, const std::string& town, const std::string& sex, const std::string& age) const {
    auto it = store_.cells.find({year, town, sex, age});
    return it == store_.cells.end() ? -1 : it->second;
  }

  static std::unique_ptr<AreaRegistry> areas_;
  static DemographicCodes codes_;
  FakeStore store_;
};

std::unique_ptr<AreaRegistry> PopulationImportTest::areas_;
DemographicCodes PopulationImportTest::codes_;

const std::string kHeader = "period,town,sex,age_band,population\n";

TEST_F(PopulationImportTest, CodesComeFromTheReservedQuestions) {
  EXPECT_EQ(codes_.sex, (std::set<std::string>{"1", "2"}));
  EXPECT_EQ(codes_.age_band, (std::set<std::string>{"18-29", "30-39", "40-49", "50-59", "60+"}));
}

TEST_F(PopulationImportTest, DocumentedExampleFileImportsCleanly) {
  std::ifstream in(MINYI_SOURCE_DIR "/conf/examples/population-example.csv", std::ios::binary);
  ASSERT_TRUE(in.good());
  Result<PopulationImportReport> report = ImportPopulationCsv(in, *areas_, codes_, store_, store_, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->towns_stored, 3u) << FormatPopulationImportReport(*report, "population-example.csv");
  EXPECT_EQ(report->cells_stored, 12u);
}

TEST_F(PopulationImportTest, StoresValidTowns) {
  const std::string text = "\xEF\xBB\xBF" + kHeader +
                           "2024,320102002,,,50000\r\n"
                           "2024,320102002,1,,24000\r\n"
                           "2024,320102002,2,,26000\r\n"
                           "2024,320102002,,18-29,10000\r\n"
                           "2024,320102002,,60+,15000\r\n"
                           "2025,320102002,,,51000\r\n"
                           "2024,320116110,,,8000\r\n";
  Result<PopulationImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 7u);
  EXPECT_EQ(report->rejected_lines, 0u);
  EXPECT_EQ(report->towns_stored, 3u);
  EXPECT_EQ(report->towns_rejected, 0u);
  EXPECT_EQ(report->cells_stored, 7u);
  EXPECT_TRUE(report->issues.empty());
  EXPECT_EQ(store_.upsert_calls, 2);  // one per year
  EXPECT_EQ(Cell(2024, "320102002", "", ""), 50000);
  EXPECT_EQ(Cell(2024, "320102002", "", "60+"), 15000);
  EXPECT_EQ(Cell(2025, "320102002", "", ""), 51000);

  // Idempotent.
  Result<PopulationImportReport> again = Import(text);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->towns_stored, 3u);
  EXPECT_EQ(store_.cells.size(), 7u);

  Result<PopulationTable> table = PopulationTable::FromCells(*store_.LoadPopulation(2024));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Find(2024, "320102002")->UnknownAgeBand(), 50000 - 25000);
}

struct BadLine {
  const char* name;
  std::string line;
  std::string reason;
};

class PopulationBadLineTest : public PopulationImportTest, public ::testing::WithParamInterface<BadLine> {};

TEST_P(PopulationBadLineTest, IsReportedAndItsTownIsNotStored) {
  const BadLine& c = GetParam();
  // Line 2: a good town; line 3 and 4: the town of the bad line (when it has one); line 5: the bad line.
  const std::string text = kHeader + "2024,320116110,,,8000\n2024,320102002,,,50000\n2024,320102002,1,,20000\n" +
                           c.line + "\n";
  Result<PopulationImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rejected_lines, 1u) << c.name;
  ASSERT_FALSE(report->issues.empty());
  bool found = false;
  for (const ImportIssue& issue : report->issues) {
    if (issue.line == 5 && issue.reason.find(c.reason) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << c.name << ": " << FormatPopulationImportReport(*report, "p.csv");
  EXPECT_EQ(Cell(2024, "320116110", "", ""), 8000) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PopulationBadLineTest,
    ::testing::Values(BadLine{"bad year", "20x4,320102002,,,1", "period"},
                      BadLine{"quarter", "2024Q1,320102002,,,1", "per year"},
                      BadLine{"short town", "2024,3201020,,,1", "9-digit"},
                      BadLine{"unknown town", "2024,320102999,,,1", "not a known town"},
                      BadLine{"bad sex code", "2024,320102002,M,,1", "sex \"M\" is not a sex code (1, 2)"},
                      BadLine{"bad age code", "2024,320102002,,70+,1", "age_band \"70+\""},
                      BadLine{"both", "2024,320102002,2,60+,1", "both set"},
                      BadLine{"negative", "2024,320102002,2,,-5", "negative"},
                      BadLine{"not a number", "2024,320102002,2,,many", "not a number"},
                      BadLine{"nan", "2024,320102002,2,,nan", "not a number"},
                      // Issue #13: 1e26 and 1e308 were stored and made the province index 1.0 (SE 1e-21).
                      BadLine{"1e26", "2024,320102002,2,,1e26",
                              "population 1e+26 is more than 5000000, the cap for a town (written \"1e26\")"},
                      BadLine{"1e308", "2024,320102002,2,,1e308", "the cap for a town"},
                      BadLine{"overflow", "2024,320102002,2,,1e999", "population \"1e999\" is not a number"},
                      BadLine{"infinite", "2024,320102002,2,,inf", "not a finite number"},
                      BadLine{"one over the cap", "2024,320102002,2,,5000001", "more than 5000000"},
                      BadLine{"fraction", "2024,320102002,2,,20000.5", "not a whole number of people"},
                      BadLine{"duplicate", "2024,320102002,1,,20000", "already given on line 4"},
                      BadLine{"field count", "2024,320102002,2", "has 3 fields"}));

TEST_F(PopulationImportTest, BadLineRejectsItsWholeTownYear) {
  const std::string text = kHeader + "2024,320102002,,,50000\n2024,320102002,1,,20000\n2024,320102002,2,,bad\n";
  Result<PopulationImportReport> report = Import(text);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->towns_rejected, 1u);
  EXPECT_EQ(report->towns_stored, 0u);
  EXPECT_TRUE(store_.cells.empty());
  ASSERT_EQ(report->issues.size(), 2u);
  EXPECT_EQ(report->issues[0].line, 2u);
  EXPECT_EQ(report->issues[0].ref, "2024 320102002");
  EXPECT_NE(report->issues[0].reason.find("line(s) 4 are invalid"), std::string::npos) << report->issues[0].reason;
  EXPECT_EQ(report->issues[1].line, 4u);
}

TEST_F(PopulationImportTest, MarginChecksAcrossTheFile) {
  const std::string text = kHeader +
                           "2024,320102002,1,,30000\n"     // sex cells over the total
                           "2024,320102002,2,,30000\n"
                           "2024,320102002,,,50000\n"
                           "2024,320102003,,18-29,100\n"   // no total
                           "2024,320102005,,,100\n";       // fine
  Result<PopulationImportReport> report = Import(text);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->rejected_lines, 0u);
  EXPECT_EQ(report->towns_stored, 1u);
  EXPECT_EQ(report->towns_rejected, 2u);
  ASSERT_EQ(report->issues.size(), 2u);
  EXPECT_EQ(report->issues[0].line, 2u);
  EXPECT_NE(report->issues[0].reason.find("sex cells add up to 60000, which is more than the town total 50000"),
            std::string::npos)
      << report->issues[0].reason;
  EXPECT_EQ(report->issues[1].line, 5u);
  EXPECT_NE(report->issues[1].reason.find("without a town total"), std::string::npos);
  EXPECT_EQ(store_.cells.size(), 1u);
}

TEST_F(PopulationImportTest, MarginsAreCheckedAgainstWhatIsStored) {
  ASSERT_TRUE(Import(kHeader + "2024,320102002,,,50000\n2024,320102002,1,,24000\n").ok());
  // Adding the other sex is fine; lowering the total under the stored cells is not.
  Result<PopulationImportReport> ok = Import(kHeader + "2024,320102002,2,,26000\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->towns_stored, 1u);
  Result<PopulationImportReport> bad = Import(kHeader + "2024,320102002,,,40000\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->towns_rejected, 1u);
  ASSERT_EQ(bad->issues.size(), 1u);
  EXPECT_NE(bad->issues[0].reason.find("already stored"), std::string::npos) << bad->issues[0].reason;
  EXPECT_EQ(Cell(2024, "320102002", "", ""), 50000);
  // Cells of a town with no total, neither stored nor in the file, are rejected.
  Result<PopulationImportReport> margins_only = Import(kHeader + "2024,320102003,1,,10\n");
  ASSERT_TRUE(margins_only.ok());
  EXPECT_EQ(margins_only->towns_rejected, 1u);
}

// Issue #13: town figures under the town cap could still add up to an implausible county.
TEST_F(PopulationImportTest, AreaTotalsOverTheirCapKeepTheAreasTownsOut) {
  ASSERT_TRUE(Import(kHeader + "2024,320102002,,,4900000\n2024,320102003,,,4900000\n").ok());
  const std::string text = kHeader +
                           "2024,320102005,,,4900000\n"
                           "2024,320102007,,,4900000\n"  // 玄武区 would reach 19,600,000: fine so far
                           "2024,320102008,,,500000\n"   // ... and now 20,100,000: over the county cap
                           "2024,320116110,,,18450\n";   // another county: kept
  Result<PopulationImportReport> report = Import(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rejected_lines, 0u);
  EXPECT_EQ(report->towns_stored, 1u) << FormatPopulationImportReport(*report, "p.csv");
  EXPECT_EQ(report->towns_rejected, 3u);
  ASSERT_EQ(report->issues.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(report->issues[i].line, i + 2);
    EXPECT_NE(
        report->issues[i].reason.find("county 320102 (玄武区): its town totals add up to 20100000, more than "
                                      "20000000, the cap for a county"),
        std::string::npos)
        << report->issues[i].reason;
  }
  EXPECT_EQ(Cell(2024, "320116110", "", ""), 18450);
  EXPECT_EQ(Cell(2024, "320102005", "", ""), -1);
  EXPECT_EQ(Cell(2024, "320102002", "", ""), 4900000);  // stored cells are left as they were

  // Lowering a stored town in the same file brings the county under its cap again.
  Result<PopulationImportReport> fixed = Import(text + "2024,320102002,,,400000\n");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->towns_rejected, 0u) << FormatPopulationImportReport(*fixed, "p.csv");
  EXPECT_EQ(Cell(2024, "320102008", "", ""), 500000);
}

TEST_F(PopulationImportTest, HeaderProblemsStopTheImport) {
  for (const std::string& header :
       {std::string("period,town,sex,population"), std::string("period,town,sex,age_band,population,extra"),
        std::string("period,town,sex,age_band,population,town"), std::string("")}) {
    Result<PopulationImportReport> report = Import(header + "\n2024,320102002,,,1\n");
    EXPECT_FALSE(report.ok()) << header;
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidInput);
  }
  EXPECT_TRUE(store_.cells.empty());
}

TEST_F(PopulationImportTest, StoreFailuresAreReturned) {
  store_.fail_load = true;
  Result<PopulationImportReport> report = Import(kHeader + "2024,320102002,,,1\n");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kUnavailable);

  store_.fail_load = false;
  store_.fail_upsert_call = 1;  // the second year fails
  report = Import(kHeader + "2024,320102002,,,1\n2025,320102002,,,1\n");
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("2025"), std::string::npos) << report.status();
  EXPECT_NE(report.status().message().find("years already stored: 2024"), std::string::npos) << report.status();
}

}  // namespace
}  // namespace minyi::collector
