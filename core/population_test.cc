#include "core/population.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace minyi {
namespace {

PopulationCell Cell(const std::string& town, const std::string& sex, const std::string& age, double population,
                    int year = 2024) {
  return PopulationCell{year, town, sex, age, population};
}

constexpr const char* kTown = "320812007";

TEST(PopulationTableTest, BuildsMarginsAndUnknownCells) {
  const std::vector<PopulationCell> cells = {
      Cell(kTown, "", "", 50000),     Cell(kTown, "1", "", 24000),   Cell(kTown, "2", "", 25000),
      Cell(kTown, "", "1", 10000),    Cell(kTown, "", "2", 30000),   Cell("320812008", "", "", 8000),
      Cell(kTown, "", "", 51000, 2025),
  };
  Result<PopulationTable> table = PopulationTable::FromCells(cells);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 3u);

  const TownMargins* m = table->Find(2024, kTown);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->has_total);
  EXPECT_EQ(m->total, 50000);
  EXPECT_EQ(m->UnknownSex(), 1000);
  EXPECT_EQ(m->UnknownAgeBand(), 10000);
  EXPECT_EQ(m->SexCells(), (std::map<std::string, double>{{"", 1000}, {"1", 24000}, {"2", 25000}}));
  EXPECT_EQ(m->AgeBandCells(), (std::map<std::string, double>{{"", 10000}, {"1", 10000}, {"2", 30000}}));

  const TownMargins* total_only = table->Find(2024, "320812008");
  ASSERT_NE(total_only, nullptr);
  EXPECT_TRUE(total_only->SexCells().empty());
  EXPECT_TRUE(total_only->AgeBandCells().empty());

  EXPECT_EQ(table->Find(2025, kTown)->total, 51000);
  EXPECT_EQ(table->Find(2023, kTown), nullptr);
  EXPECT_EQ(table->Find(2024, "320812009"), nullptr);
}

TEST(PopulationTableTest, ToCellsRoundTripsInSourceOrder) {
  TownMargins m;
  m.year = 2024;
  m.town_code = kTown;
  ASSERT_TRUE(m.Set(Cell(kTown, "2", "", 20)).ok());
  ASSERT_TRUE(m.Set(Cell(kTown, "", "3", 5)).ok());
  ASSERT_TRUE(m.Set(Cell(kTown, "", "", 50)).ok());
  ASSERT_TRUE(m.Set(Cell(kTown, "1", "", 21)).ok());
  const std::vector<PopulationCell> cells = m.ToCells();
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_TRUE(cells[0].sex.empty() && cells[0].age_band.empty());
  EXPECT_EQ(cells[1].age_band, "3");
  EXPECT_EQ(cells[2].sex, "1");
  EXPECT_EQ(cells[3].sex, "2");
  Result<PopulationTable> back = PopulationTable::FromCells(cells);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Find(2024, kTown)->by_sex, m.by_sex);
}

TEST(PopulationTableTest, LaterCellReplacesEarlier) {
  Result<PopulationTable> table =
      PopulationTable::FromCells({Cell(kTown, "", "", 100), Cell(kTown, "1", "", 90), Cell(kTown, "", "", 120)});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Find(2024, kTown)->total, 120);
  EXPECT_EQ(table->Find(2024, kTown)->UnknownSex(), 30);
}

TEST(PopulationTableTest, MarginsAddingExactlyToTotalAreValid) {
  // Populations are whole numbers (issue #13), so sums are exact; cells adding up to the total leave an
  // unknown cell of 0.
  Result<PopulationTable> table =
      PopulationTable::FromCells({Cell(kTown, "", "", 300), Cell(kTown, "1", "", 100), Cell(kTown, "2", "", 200)});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Find(2024, kTown)->UnknownSex(), 0.0);
}

struct BadCase {
  const char* name;
  std::vector<PopulationCell> cells;
  std::string reason;  // substring
};

class PopulationBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(PopulationBadTest, TownIsRejectedWithReason) {
  const BadCase& c = GetParam();
  std::vector<PopulationCell> cells = c.cells;
  cells.push_back(Cell("320812008", "", "", 1000));  // a good town is kept
  std::vector<TownProblem> problems;
  PopulationTable table = PopulationTable::Build(cells, &problems);
  EXPECT_NE(table.Find(2024, "320812008"), nullptr) << c.name;
  EXPECT_EQ(table.Find(2024, kTown), nullptr) << c.name;
  ASSERT_FALSE(problems.empty()) << c.name;
  EXPECT_EQ(problems[0].town_code, kTown);
  EXPECT_EQ(problems[0].year, 2024);
  EXPECT_NE(problems[0].reason.find(c.reason), std::string::npos) << c.name << ": " << problems[0].reason;

  Result<PopulationTable> strict = PopulationTable::FromCells(cells);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find(c.reason), std::string::npos);
}

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

INSTANTIATE_TEST_SUITE_P(
    Cases, PopulationBadTest,
    ::testing::Values(
        BadCase{"sex over total", {Cell(kTown, "", "", 100), Cell(kTown, "1", "", 60), Cell(kTown, "2", "", 41)},
                "sex cells add up to 101, which is more than the town total 100"},
        BadCase{"age over total", {Cell(kTown, "", "", 100), Cell(kTown, "", "1", 100), Cell(kTown, "", "2", 1)},
                "age-band cells add up to 101"},
        BadCase{"margins without total", {Cell(kTown, "1", "", 60)}, "without a town total"},
        BadCase{"negative total", {Cell(kTown, "", "", -1)}, "negative"},
        BadCase{"negative cell", {Cell(kTown, "", "", 10), Cell(kTown, "", "1", -1)}, "negative"},
        BadCase{"NaN", {Cell(kTown, "", "", kNan)}, "not a finite number"},
        BadCase{"infinite", {Cell(kTown, "", "", 10), Cell(kTown, "1", "", kInf)}, "not a finite number"},
        BadCase{"both sex and age", {Cell(kTown, "", "", 10), Cell(kTown, "1", "2", 1)}, "not both"},
        // Issue #13: 1e26 and 1e308 were accepted and made the province index 1.0 with SE 1e-21.
        BadCase{"1e26 total",
                {Cell(kTown, "", "", 1e26)},
                "population 1e+26 is more than 5000000, the cap for a town"},
        BadCase{"1e308 cell", {Cell(kTown, "", "", 100), Cell(kTown, "1", "", 1e308)}, "the cap for a town"},
        BadCase{"just over the cap", {Cell(kTown, "", "", 5000001)}, "more than 5000000"},
        BadCase{"fraction", {Cell(kTown, "", "", 100), Cell(kTown, "", "1", 10.5)}, "not a whole number"}));

TEST(PopulationFigureTest, CapsByLevel) {
  EXPECT_TRUE(ValidatePopulationFigure(5'000'000, AreaLevel::kTown).ok());
  EXPECT_FALSE(ValidatePopulationFigure(5'000'001, AreaLevel::kTown).ok());
  EXPECT_TRUE(ValidatePopulationFigure(20'000'000, AreaLevel::kCounty).ok());
  EXPECT_FALSE(ValidatePopulationFigure(20'000'001, AreaLevel::kCounty).ok());
  EXPECT_TRUE(ValidatePopulationFigure(40'000'000, AreaLevel::kCity).ok());
  EXPECT_FALSE(ValidatePopulationFigure(40'000'001, AreaLevel::kCity).ok());
  EXPECT_TRUE(ValidatePopulationFigure(200'000'000, AreaLevel::kProvince).ok());
  EXPECT_FALSE(ValidatePopulationFigure(200'000'001, AreaLevel::kProvince).ok());
  EXPECT_FALSE(ValidatePopulationFigure(-0.5, AreaLevel::kTown).ok());
  EXPECT_FALSE(ValidatePopulationFigure(std::numeric_limits<double>::infinity(), AreaLevel::kProvince).ok());
}

TEST(PopulationFigureTest, AreaSumsOverTheirCapAreListed) {
  Result<AreaRegistry> areas = AreaRegistry::FromAreas({
      {"32", "江苏省", AreaLevel::kProvince, ""},
      {"3201", "南京市", AreaLevel::kCity, "32"},
      {"320102", "玄武区", AreaLevel::kCounty, "3201"},
      {"320104", "秦淮区", AreaLevel::kCounty, "3201"},
      {"320102001", "A", AreaLevel::kTown, "320102"},
      {"320102002", "B", AreaLevel::kTown, "320102"},
      {"320102003", "C", AreaLevel::kTown, "320102"},
      {"320102004", "D", AreaLevel::kTown, "320102"},
      {"320102005", "E", AreaLevel::kTown, "320102"},
      {"320104001", "F", AreaLevel::kTown, "320104"},
  });
  ASSERT_TRUE(areas.ok()) << areas.status();
  std::map<std::string, double> totals = {
      {"320102001", 4e6}, {"320102002", 4e6}, {"320102003", 4e6}, {"320102004", 4e6}, {"320104001", 4e6}};
  EXPECT_TRUE(CheckAreaPopulations(totals, *areas).empty());
  totals["320102005"] = 1;  // 玄武区 now 16000001: still fine
  EXPECT_TRUE(CheckAreaPopulations(totals, *areas).empty());
  totals["320102005"] = 4'000'001;
  std::vector<AreaPopulationProblem> problems = CheckAreaPopulations(totals, *areas);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].area_code, "320102");
  EXPECT_EQ(problems[0].level, AreaLevel::kCounty);
  EXPECT_EQ(problems[0].sum, 20'000'001);
  EXPECT_NE(problems[0].reason.find(
                "county 320102 (玄武区): its town totals add up to 20000001, more than 20000000"),
            std::string::npos)
      << problems[0].reason;
}

TEST(PopulationCellTest, ShapeChecks) {
  EXPECT_TRUE(ValidatePopulationCell(Cell(kTown, "", "", 0)).ok());
  EXPECT_FALSE(ValidatePopulationCell(Cell("3208", "", "", 1)).ok());
  EXPECT_FALSE(ValidatePopulationCell(Cell("32081200x", "", "", 1)).ok());
  EXPECT_FALSE(ValidatePopulationCell(Cell(kTown, "", "", 1, 1989)).ok());
  EXPECT_FALSE(ValidatePopulationCell(Cell(kTown, "", "", 1, 2101)).ok());
}

TEST(TownMarginsTest, ValidateListsEveryProblem) {
  TownMargins m;
  m.has_total = true;
  m.total = 10;
  m.by_sex = {{"1", 6}, {"2", 6}};
  m.by_age_band = {{"1", 11}};
  EXPECT_EQ(ValidateTownMargins(m).size(), 2u);
  m.has_total = false;
  EXPECT_EQ(ValidateTownMargins(m).size(), 1u);
  EXPECT_EQ(m.UnknownSex(), 0.0);
}

}  // namespace
}  // namespace minyi
