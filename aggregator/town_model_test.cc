// The model-based town figures stored with the index rows (town_model.h): which rows get them, where the
// previous-year covariate comes from, and the cost of a period's refit over the registry's 1,487 towns.
#include "aggregator/town_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace minyi::aggregator {
namespace {

// Index rows of one year: a county row per county and, per town, a "security" row (a share between 0.45
// and 0.95 that varies from town to town) and a "composite" row (a score index: no share).
IndexRow Row(int year, const std::string& level, const std::string& area, std::int64_t n, double estimate) {
  IndexRow r;
  r.period = Period{year, 0};
  r.level = level;
  r.area_code = area;
  r.index_id = "security";
  r.n = n;
  r.n_eff = 0.8 * static_cast<double>(n);
  r.estimate = estimate;
  r.se = std::sqrt(estimate * (1 - estimate) / r.n_eff);
  return r;
}

std::vector<IndexRow> YearRows(int year, const std::vector<const Area*>& towns) {
  std::vector<IndexRow> rows;
  std::set<std::string> counties;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    rows.push_back(
        Row(year, "town", towns[i]->code, 8 + static_cast<std::int64_t>((i * 13) % 60),
            0.45 + 0.5 * static_cast<double>((i * 29 + static_cast<std::size_t>(year) * 7) % 97) / 97));
    IndexRow composite = rows.back();
    composite.index_id = "composite";
    composite.estimate = std::numeric_limits<double>::quiet_NaN();
    rows.push_back(composite);
    counties.insert(towns[i]->parent_code);
  }
  int c = 0;
  for (const std::string& code : counties)
    rows.push_back(Row(year, "county", code, 900, 0.7 + 0.02 * (c++ % 7)));
  return rows;
}

AreaRegistry Registry() {
  auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  EXPECT_TRUE(areas.ok()) << areas.status();
  return std::move(areas).value();
}

std::vector<const Area*> FirstTowns(const AreaRegistry& areas, std::size_t count) {
  std::vector<const Area*> towns;
  for (const Area* a : areas.Towns()) {
    if (towns.size() < count) towns.push_back(a);
  }
  return towns;
}

TEST(TownModelTest, TownRowsWithAShareGetTheFigures) {
  const AreaRegistry areas = Registry();
  std::vector<IndexRow> rows = YearRows(2025, FirstTowns(areas, 60));
  ASSERT_TRUE(ApplySmallAreaModel({}, &rows, areas).ok());
  int eblup = 0;
  for (const IndexRow& r : rows) {
    if (r.level == "town" && r.index_id == "security" && r.n == 0) continue;  // TownsWithoutRespondents...
    if (r.level == "town" && r.index_id == "security") {
      EXPECT_EQ(r.model_method, "eblup") << r.area_code;
      eblup += r.model_method == "eblup";
      EXPECT_LE(r.model_ci_low, r.model_estimate);
      EXPECT_LE(r.model_estimate, r.model_ci_high);
      EXPECT_GT(r.model_se, 0);
      EXPECT_LE(0, r.model_ci_low);
      EXPECT_LE(r.model_ci_high, 1);
    } else {
      EXPECT_EQ(r.model_method, "") << r.level << " " << r.index_id;  // counties, the composite
      EXPECT_TRUE(std::isnan(r.model_estimate));
      EXPECT_TRUE(std::isnan(r.model_se));
      EXPECT_TRUE(std::isnan(r.model_ci_low));
    }
  }
  EXPECT_EQ(eblup, 60);

  // Too few towns for the model: "direct", the direct share and SE repeated, no interval.
  std::vector<IndexRow> few = YearRows(2025, FirstTowns(areas, 10));
  ASSERT_TRUE(ApplySmallAreaModel({}, &few, areas).ok());
  for (const IndexRow& r : few) {
    if (r.level != "town" || r.index_id != "security") continue;
    if (r.n == 0) {  // a town without respondents: no figure when the model is not used
      EXPECT_EQ(r.model_method, "none") << r.area_code;
      EXPECT_TRUE(std::isnan(r.model_estimate));
      continue;
    }
    EXPECT_EQ(r.model_method, "direct");
    EXPECT_EQ(r.model_estimate, r.estimate);
    EXPECT_EQ(r.model_se, r.se);
    EXPECT_TRUE(std::isnan(r.model_ci_low));
    EXPECT_TRUE(std::isnan(r.model_ci_high));
  }
}

// Issue 14: registry towns without respondents, in counties with respondents, get an n = 0 row with the
// synthetic estimate x'β̂ (no direct figures, suppressed as low_n); towns of counties without respondents and
// the composite (no share) get none. The rows are merged into the town rows in code order.
TEST(TownModelTest, TownsWithoutRespondentsGetTheSyntheticFigure) {
  const AreaRegistry areas = Registry();
  const auto towns = FirstTowns(areas, 60);
  std::set<std::string> sampled, counties;
  for (const Area* t : towns) {
    sampled.insert(t->code);
    counties.insert(t->parent_code);
  }
  std::set<std::string> expected;  // the unsampled towns of the sampled counties
  for (const Area* t : areas.Towns()) {
    if (counties.count(t->parent_code) != 0 && sampled.count(t->code) == 0) expected.insert(t->code);
  }
  ASSERT_FALSE(expected.empty());
  std::vector<IndexRow> rows = YearRows(2025, towns);
  for (IndexRow& r : rows) {
    r.survey_id = "s";
    r.definition_version = "d1";
    r.population_version = "p1";
    r.code_version = "c1";
    r.computed_at_ms = 42;
  }
  const std::size_t before = rows.size();
  ASSERT_TRUE(ApplySmallAreaModel({}, &rows, areas).ok());
  ASSERT_EQ(rows.size(), before + expected.size()) << "one n = 0 row per unsampled town, security only";

  // The fit's β̂, to compute x'β̂ for each n = 0 town independently of the stored figure.
  std::vector<IndexRow> direct = YearRows(2025, towns);
  std::vector<std::string> codes, county_of;
  for (const Area* t : areas.Towns()) {
    codes.push_back(t->code);
    county_of.push_back(t->parent_code);
  }
  std::vector<IndexRow> security;
  for (const IndexRow& r : direct) {
    if (r.index_id == "security") security.push_back(r);
  }
  auto fit = FitFayHerriot(SmallAreaTownsFromRows(security, {}, codes, county_of));
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_TRUE(fit->used) << fit->reason;
  ASSERT_EQ(fit->columns, (std::vector<std::string>{"intercept", "county"}));
  std::map<std::string, double> county_share;
  for (const IndexRow& r : direct) {
    if (r.level == "county") county_share[r.area_code] = r.estimate;
  }

  std::set<std::string> seen;
  std::string last_town;
  for (const IndexRow& r : rows) {
    if (r.level == "town") {
      EXPECT_LE(last_town, r.area_code) << "town rows stay in code order";
      last_town = r.area_code;
    }
    if (r.n != 0) continue;
    ASSERT_EQ(r.level, "town");
    EXPECT_EQ(r.index_id, "security") << r.area_code;
    seen.insert(r.area_code);
    EXPECT_TRUE(std::isnan(r.estimate) && std::isnan(r.se) && std::isnan(r.ci_low) && std::isnan(r.ci_high));
    EXPECT_TRUE(std::isnan(r.score) && std::isnan(r.change));
    EXPECT_EQ(r.ci_method, "none");
    EXPECT_TRUE(r.low_n);
    EXPECT_EQ(r.response_count, 0);
    EXPECT_EQ(r.survey_id, "s");
    EXPECT_EQ(r.population_version, "p1");
    EXPECT_EQ(r.computed_at_ms, 42);
    EXPECT_EQ(r.model_method, "synthetic") << r.area_code;
    const Area* area = areas.Find(r.area_code);
    ASSERT_NE(area, nullptr);
    const double theta =
        fit->beta[0] + fit->beta[1] * std::asin(std::sqrt(county_share.at(area->parent_code)));
    EXPECT_NEAR(r.model_estimate, std::pow(std::sin(theta), 2), 1e-12) << r.area_code;
    EXPECT_GT(r.model_se, 0);
    EXPECT_LT(r.model_ci_low, r.model_estimate);
    EXPECT_GT(r.model_ci_high, r.model_estimate);
  }
  EXPECT_EQ(seen, expected);

  // As the previous year, an n = 0 row is a missing previous-year figure: the same fit as without it.
  std::vector<IndexRow> earlier = YearRows(2024, towns);
  std::vector<IndexRow> earlier_with_empty = earlier;
  AddTownsWithoutRespondents(areas, &earlier_with_empty);
  ASSERT_GT(earlier_with_empty.size(), earlier.size());
  std::vector<IndexRow> plain = YearRows(2025, towns), with_empty = plain;
  ASSERT_TRUE(ApplySmallAreaModel(earlier, &plain, areas).ok());
  ASSERT_TRUE(ApplySmallAreaModel(earlier_with_empty, &with_empty, areas).ok());
  ASSERT_EQ(plain.size(), with_empty.size());
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_TRUE(SameModelFigures(plain[i], with_empty[i]));
}

// The year-earlier town rows are the previous-year covariate whether they come with the rows (a batch run
// over every period) or separately (a run or live write of one period, a release freeze).
TEST(TownModelTest, PreviousYearRowsFromEitherSourceGiveTheSameFit) {
  const AreaRegistry areas = Registry();
  const auto towns = FirstTowns(areas, 60);
  const std::vector<IndexRow> earlier = YearRows(2024, towns);
  std::vector<IndexRow> later = YearRows(2025, towns);
  std::vector<IndexRow> both = earlier;
  both.insert(both.end(), later.begin(), later.end());
  ASSERT_TRUE(ApplySmallAreaModel({}, &both, areas).ok());
  std::vector<IndexRow> separate = later;
  ASSERT_TRUE(ApplySmallAreaModel(earlier, &separate, areas).ok());
  std::vector<IndexRow> without = later;
  ASSERT_TRUE(ApplySmallAreaModel({}, &without, areas).ok());
  // Both periods got their n = 0 rows: the 2025 rows are the last ones, as `separate`.
  ASSERT_EQ(separate.size(), without.size());
  ASSERT_GT(both.size(), separate.size());
  const std::size_t offset = both.size() - separate.size();
  int moved = 0;
  for (std::size_t i = 0; i < separate.size(); ++i) {
    const IndexRow& joint = both[offset + i];
    ASSERT_EQ(joint.period.year, 2025);
    ASSERT_EQ(joint.area_code, separate[i].area_code);
    EXPECT_TRUE(SameModelFigures(separate[i], joint)) << separate[i].area_code << " " << separate[i].index_id;
    moved += SameModelFigures(without[i], joint) ? 0 : 1;
  }
  EXPECT_GT(moved, 30) << "without the previous year the fit differs";
  // Rows of another quarter are not the year-earlier period.
  std::vector<IndexRow> quarter = earlier;
  for (IndexRow& r : quarter) r.period.quarter = 2;
  std::vector<IndexRow> unrelated = later;
  ASSERT_TRUE(ApplySmallAreaModel(quarter, &unrelated, areas).ok());
  ASSERT_EQ(unrelated.size(), without.size());
  for (std::size_t i = 0; i < without.size(); ++i) EXPECT_TRUE(SameModelFigures(unrelated[i], without[i]));
}

// The live aggregator refits a period whenever one of its towns changes: over the registry's 1,487 towns
// with two indices (one modelled) the fit must stay cheap beside the period's roll-up. Prints the time.
TEST(TownModelTest, ARefitOverEveryRegistryTown) {
  const AreaRegistry areas = Registry();
  const auto towns = FirstTowns(areas, areas.Towns().size());
  ASSERT_EQ(towns.size(), 1487u);
  const std::vector<IndexRow> earlier = YearRows(2024, towns);
  const std::vector<IndexRow> later = YearRows(2025, towns);
  constexpr int kRounds = 5;
  double best = 1e9;
  std::vector<IndexRow> rows;
  for (int round = 0; round < kRounds; ++round) {
    rows = later;
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(ApplySmallAreaModel(earlier, &rows, areas).ok());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("refit of one period (1,487 towns, %zu rows): %.2f ms (best of %d)\n", rows.size(), best * 1e3,
              kRounds);
  int eblup = 0;
  for (const IndexRow& r : rows) eblup += r.model_method == "eblup";
  EXPECT_EQ(eblup, 1487);
}

}  // namespace
}  // namespace minyi::aggregator
