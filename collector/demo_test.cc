#include "collector/demo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_store_for_test.h"
#include "collector/response_import.h"
#include "core/population.h"

namespace minyi::collector {
namespace {

class DemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<AreaRegistry> areas = AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::make_unique<AreaRegistry>(std::move(areas.value()));
    Result<SurveyCatalog> catalog = SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    survey_ = catalog->Find("jiangsu-safety");
    ASSERT_NE(survey_, nullptr);
  }

  static std::vector<Response> Generate(const DemoOptions& options) {
    std::vector<Response> out;
    Status status = GenerateDemoResponses(options, *survey_, *areas_, [&out](const Response& r) {
      out.push_back(r);
      return true;
    });
    EXPECT_TRUE(status.ok()) << status;
    return out;
  }

  static std::unique_ptr<AreaRegistry> areas_;
  static std::shared_ptr<const SurveyDefinition> survey_;
};

std::unique_ptr<AreaRegistry> DemoTest::areas_;
std::shared_ptr<const SurveyDefinition> DemoTest::survey_;

DemoOptions Small(std::uint64_t seed = 7) {
  DemoOptions options;
  options.seed = seed;
  options.responses = 20000;
  options.first_year = 2023;
  options.last_year = 2025;
  return options;
}

TEST_F(DemoTest, SameSeedSameContentOtherSeedOtherContent) {
  const std::vector<Response> a = Generate(Small());
  const std::vector<Response> b = Generate(Small());
  const std::vector<Response> c = Generate(Small(8));
  ASSERT_EQ(a.size(), 20000u);
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(c.size(), a.size());
  std::size_t same_as_other_seed = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].ContentHash(), b[i].ContentHash()) << i;
    ASSERT_EQ(a[i].source_ref, b[i].source_ref);
    ASSERT_EQ(a[i].raw_payload, b[i].raw_payload);
    ASSERT_EQ(a[i].received_at_ms, b[i].received_at_ms);
    if (a[i].ContentHash() == c[i].ContentHash()) ++same_as_other_seed;
  }
  EXPECT_EQ(same_as_other_seed, 0u);
  EXPECT_EQ(a.front().source_ref, "demo-7-0");
  EXPECT_EQ(a.back().source_ref, "demo-7-19999");
  EXPECT_NE(a.front().raw_payload.find("\"synthetic\":true"), std::string::npos);

  const auto pa = GenerateDemoPopulation(Small(), *survey_, *areas_);
  const auto pb = GenerateDemoPopulation(Small(), *survey_, *areas_);
  ASSERT_TRUE(pa.ok() && pb.ok());
  ASSERT_EQ(pa->size(), pb->size());
  for (std::size_t i = 0; i < pa->size(); ++i) ASSERT_EQ((*pa)[i].population, (*pb)[i].population);
}

// The respondent keys are the generator's random draws in hex: pinned, so that how they are written out
// (core/hex.h) cannot change what a seed produces.
TEST_F(DemoTest, RespondentKeysOfASeedArePinned) {
  DemoOptions options = Small();
  options.responses = 3;
  const std::vector<Response> rows = Generate(options);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].respondent_key, "946f049e2c4f2bf05b250dd1e97c9db0");
  EXPECT_EQ(rows[1].respondent_key, "5207e82c6c516af525c8d7552b9f7a20");
  EXPECT_EQ(rows[2].respondent_key, "f67cc1c38bb2c96635c2ad9eea869f90");
}

TEST_F(DemoTest, EveryResponseIsValid) {
  std::set<std::string> refs;
  for (const Response& r : Generate(Small())) {
    ASSERT_TRUE(survey_->ValidateAnswers(r.answers).empty()) << r.source_ref;
    ASSERT_TRUE(areas_->IsTown(r.town_code));
    ASSERT_TRUE(r.period.year >= 2023 && r.period.year <= 2025 && r.period.quarter == 0);
    ASSERT_EQ(r.survey_id, "jiangsu-safety");
    ASSERT_EQ(r.respondent_key.size(), 32u);
    ASSERT_FALSE(LooksLikePhoneNumber(r.respondent_key));
    ASSERT_NE(r.channel, Channel::kImport);
    ASSERT_GT(r.submitted_at_ms, 0);
    ASSERT_GE(r.received_at_ms, r.submitted_at_ms);
    ASSERT_EQ(r.weight, 1.0);
    ASSERT_EQ(r.period.year, std::stoi(FormatTimestampUtc(r.submitted_at_ms).substr(0, 4)));
    if (r.answers.count("comment") > 0) {
      const std::string& text = r.answers.at("comment").front();
      ASSERT_EQ(MaskPhoneNumbers(text), text);
    }
    ASSERT_TRUE(refs.insert(r.source_ref).second);
  }
}

TEST_F(DemoTest, CanonicalCsvOfTheDemoImportsWithTheSameContent) {
  const std::vector<Response> generated = Generate(Small());
  std::string text = CanonicalCsvHeader(*survey_);
  for (const Response& r : generated) text += CanonicalCsvRow(r, *survey_);
  SurveyCatalog catalog;
  catalog.Add(survey_);
  FakeStore store;
  std::istringstream in(text);
  Result<ImportReport> report = ImportResponsesCsv(in, catalog, *areas_, store, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, generated.size()) << FormatImportReport(*report, "demo.csv");
  ASSERT_EQ(store.rows.size(), generated.size());
  for (std::size_t i = 0; i < generated.size(); ++i) {
    ASSERT_EQ(store.rows[i].ContentHash(), generated[i].ContentHash()) << i;
  }
}

TEST_F(DemoTest, PopulationMarginsAreValidAndPlausible) {
  DemoOptions options;  // the default years
  Result<std::vector<PopulationCell>> cells = GenerateDemoPopulation(options, *survey_, *areas_);
  ASSERT_TRUE(cells.ok()) << cells.status();
  Result<PopulationTable> table = PopulationTable::FromCells(*cells);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), areas_->Towns().size() * 7);

  double first = 0, last = 0, smallest = 1e12, largest = 0;
  for (const Area* town : areas_->Towns()) {
    const TownMargins* m2019 = table->Find(2019, town->code);
    const TownMargins* m2025 = table->Find(2025, town->code);
    ASSERT_NE(m2019, nullptr);
    ASSERT_NE(m2025, nullptr);
    first += m2019->total;
    last += m2025->total;
    smallest = std::min(smallest, m2019->total);
    largest = std::max(largest, m2019->total);
    EXPECT_EQ(m2019->by_sex.size(), 2u);
    EXPECT_EQ(m2019->by_age_band.size(), 5u);
    EXPECT_EQ(m2019->UnknownSex(), 0.0);
    EXPECT_EQ(m2019->UnknownAgeBand(), 0.0);
    EXPECT_LT(std::abs(m2025->total / m2019->total - 1.0), 0.25);  // slow drift
  }
  EXPECT_NEAR(first, 85e6, 85e6 * 0.08);
  EXPECT_GE(smallest, 8000);
  EXPECT_LE(largest, 250000);
  EXPECT_NE(first, last);
}

TEST_F(DemoTest, ShapeOfTheData) {
  const DemoOptions options;  // the default: 1,000,000 responses over 2019..2025
  Result<std::vector<PopulationCell>> cells = GenerateDemoPopulation(options, *survey_, *areas_);
  ASSERT_TRUE(cells.ok());
  double pop_female = 0, pop_total = 0, pop_old = 0;
  for (const PopulationCell& c : *cells) {
    if (c.year != 2025) continue;
    if (c.sex.empty() && c.age_band.empty()) pop_total += c.population;
    if (c.sex == "2") pop_female += c.population;
    if (c.age_band == "60+") pop_old += c.population;
  }

  std::map<int, std::map<std::string, int>> per_year_town;
  std::map<int, std::array<double, 2>> security;  // year -> (positive, answered)
  std::map<int, std::array<double, 2>> grid;
  std::map<int, std::array<double, 2>> web;
  double female = 0, old = 0, n2025 = 0, missing = 0, comments = 0, total = 0;
  Status status = GenerateDemoResponses(options, *survey_, *areas_, [&](const Response& r) {
    ++total;
    const int y = r.period.year;
    ++per_year_town[y][r.town_code];
    const std::string& s = r.answers.at("security").front();
    const std::string& g = r.answers.at("grid").front();
    if (s == "9") ++missing;
    if (g == "9") ++missing;
    if (s != "9") security[y] = {security[y][0] + (s <= "3" ? 1 : 0), security[y][1] + 1};
    if (g != "9") grid[y] = {grid[y][0] + (g <= "2" ? 1 : 0), grid[y][1] + 1};
    web[y] = {web[y][0] + (r.channel == Channel::kWeb ? 1 : 0), web[y][1] + 1};
    if (r.answers.count("comment") > 0) ++comments;
    if (y == 2025) {
      ++n2025;
      if (r.answers.at("sex").front() == "2") ++female;
      if (r.answers.at("age_band").front() == "60+") ++old;
    }
    return true;
  });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(total, 1000000.0);
  // Every town answers every year at this volume, and some town-years are small (low_n).
  std::size_t low_n = 0;
  for (const auto& [year, towns] : per_year_town) {
    EXPECT_EQ(towns.size(), areas_->Towns().size()) << year;
    for (const auto& [town, n] : towns) low_n += n < 30 ? 1 : 0;
  }
  EXPECT_GT(low_n, 20u);

  // Respondents are more female and older than the population.
  EXPECT_GT(female / n2025, pop_female / pop_total + 0.04);
  EXPECT_GT(old / n2025, pop_old / pop_total + 0.05);

  const double sec2019 = security[2019][0] / security[2019][1];
  const double sec2025 = security[2025][0] / security[2025][1];
  const double grid2019 = grid[2019][0] / grid[2019][1];
  const double grid2025 = grid[2025][0] / grid[2025][1];
  EXPECT_GT(sec2019, 0.93);
  EXPECT_LT(sec2025, 0.997);
  EXPECT_GT(sec2025, sec2019);
  EXPECT_GT(grid2025, grid2019);
  EXPECT_LT(grid2025, sec2025);
  EXPECT_GT(web[2025][0] / web[2025][1], web[2019][0] / web[2019][1] + 0.2);
  const double missing_rate = missing / (2.0 * total);
  EXPECT_GT(missing_rate, 0.01);
  EXPECT_LT(missing_rate, 0.02);
  const double comment_rate = comments / total;
  EXPECT_GT(comment_rate, 0.02);
  EXPECT_LT(comment_rate, 0.08);
}

TEST_F(DemoTest, SeedStoresEverythingAndReseedingIsIdempotent) {
  FakeStore store;
  DemoOptions options = Small();
  options.batch_size = 3000;
  std::vector<std::size_t> progress;
  Result<DemoSummary> summary =
      SeedDemo(options, *survey_, *areas_, store, store, [&](std::size_t done, std::size_t total) {
        EXPECT_EQ(total, 20000u);
        progress.push_back(done);
      });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->responses_stored, 20000u);
  EXPECT_EQ(summary->towns, areas_->Towns().size());
  EXPECT_EQ(summary->years, 3);
  EXPECT_EQ(summary->population_cells, areas_->Towns().size() * 3 * 8);
  EXPECT_EQ(store.cells.size(), summary->population_cells);
  EXPECT_EQ(store.upsert_calls, 3);
  EXPECT_EQ(store.rows.size(), 20000u);
  EXPECT_EQ(store.batch_sizes.front(), 3000u);
  EXPECT_EQ(progress.back(), 20000u);

  Result<DemoSummary> again = SeedDemo(options, *survey_, *areas_, store, store);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->responses_stored, 0u);
  EXPECT_EQ(again->duplicates, 20000u);
  EXPECT_EQ(store.rows.size(), 20000u);
}

TEST_F(DemoTest, StoreFailureIsReturned) {
  FakeStore store;
  store.fail_append_call = 2;
  DemoOptions options = Small();
  options.batch_size = 1000;
  Result<DemoSummary> summary = SeedDemo(options, *survey_, *areas_, store, store);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(summary.status().message().find("after 2000"), std::string::npos) << summary.status();
  EXPECT_EQ(store.rows.size(), 2000u);
}

TEST_F(DemoTest, RejectsBadOptionsAndDefinitions) {
  DemoOptions options = Small();
  options.first_year = 2026;
  FakeStore store;
  EXPECT_EQ(SeedDemo(options, *survey_, *areas_, store, store).status().code(), StatusCode::kInvalidInput);

  SurveyDefinition no_sex = *survey_;
  no_sex.questions.erase(std::remove_if(no_sex.questions.begin(), no_sex.questions.end(),
                                        [](const Question& q) { return q.code == "sex"; }),
                         no_sex.questions.end());
  EXPECT_EQ(SeedDemo(Small(), no_sex, *areas_, store, store).status().code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(store.rows.empty());
}

}  // namespace
}  // namespace minyi::collector
