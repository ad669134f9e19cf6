#include "aggregator/weighting.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "aggregator/test_util.h"

namespace minyi::aggregator {
namespace {

using testing::Add;
using testing::AddTown;
using testing::OneIndexPeriod;

double TownSum(const PeriodData& data, const PeriodWeights& w, std::size_t t) {
  double s = 0;
  for (std::uint32_t i = data.towns[t].begin; i < data.towns[t].end; ++i) s += w.w[i];
  return s;
}

double CellSum(const PeriodData& data, const PeriodWeights& w, std::size_t t, bool sex, std::int32_t code) {
  double s = 0;
  for (std::uint32_t i = data.towns[t].begin; i < data.towns[t].end; ++i) {
    if ((sex ? data.sex[i] : data.age[i]) == code) s += w.w[i];
  }
  return s;
}

TEST(WeightingTest, PostStratificationScalesBaseWeightsToTheTownTotal) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 1000);
  Add(&data, 1, 1);
  Add(&data, 3, 0);
  Add(&data, 0, 1);  // zero base weight: stays 0
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->towns[0].method, Weighting::kPostStrat);
  EXPECT_DOUBLE_EQ(w->w[0], 250);
  EXPECT_DOUBLE_EQ(w->w[1], 750);
  EXPECT_EQ(w->w[2], 0);
  EXPECT_EQ(w->towns[0].n, 3);
  EXPECT_EQ(w->towns[0].n_weighted, 2);
  EXPECT_DOUBLE_EQ(w->towns[0].sum_w, 1000);
  EXPECT_DOUBLE_EQ(w->towns[0].n_eff, 1000.0 * 1000 / (250.0 * 250 + 750.0 * 750));
  EXPECT_DOUBLE_EQ(w->towns[0].deff_w, 2 * (250.0 * 250 + 750.0 * 750) / 1e6);
  EXPECT_EQ(w->towns[0].cells1, 1);
  EXPECT_EQ(w->towns[0].cells2, 0);
}

TEST(WeightingTest, TownWithoutTotalKeepsBaseWeightsAndSaysSo) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 0, /*has_total=*/false);
  Add(&data, 2, 1);
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->towns[0].method, Weighting::kNone);
  EXPECT_EQ(w->w[0], 2);
  EXPECT_EQ(w->towns[0].cells1, 0);
  EXPECT_FALSE(w->towns[0].note.empty());
}

// Correlated sex and age in the sample: IPF needs many sweeps; the converged weights meet both margins.
PeriodData CorrelatedTown(double total = 1000) {
  PeriodData data = OneIndexPeriod();
  TownData& town = AddTown(&data, "320812001", total);
  town.population.sex = {{0, 500}, {1, 500}};
  town.population.age = {{0, 300}, {1, 300}, {2, 400}};
  for (int i = 0; i < 40; ++i) Add(&data, 1, i % 2, 0, 0);
  for (int i = 0; i < 2; ++i) Add(&data, 1, 1, 0, 1);
  for (int i = 0; i < 2; ++i) Add(&data, 1, 0, 1, 0);
  for (int i = 0; i < 30; ++i) Add(&data, 1.5, i % 3 == 0, 1, 1);
  for (int i = 0; i < 5; ++i) Add(&data, 1, 1, 0, 2);
  for (int i = 0; i < 25; ++i) Add(&data, 2, 0, 1, 2);
  return data;
}

TEST(WeightingTest, RakingConvergesAndMeetsBothMargins) {
  const PeriodData data = CorrelatedTown();
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_TRUE(w.ok()) << w.status();
  const TownWeighting& tw = w->towns[0];
  EXPECT_EQ(tw.method, Weighting::kRaking) << tw.note;
  EXPECT_GT(tw.sweeps, 5);
  EXPECT_LE(tw.sweeps, 100);
  EXPECT_LT(tw.margin_error, 1e-10);
  EXPECT_NEAR(CellSum(data, *w, 0, true, 0), 500, 500 * 1e-10);
  EXPECT_NEAR(CellSum(data, *w, 0, true, 1), 500, 500 * 1e-10);
  EXPECT_NEAR(CellSum(data, *w, 0, false, 0), 300, 300 * 1e-10);
  EXPECT_NEAR(CellSum(data, *w, 0, false, 1), 300, 300 * 1e-10);
  EXPECT_NEAR(CellSum(data, *w, 0, false, 2), 400, 400 * 1e-10);
  EXPECT_EQ(tw.cells1, 2);
  EXPECT_EQ(tw.cells2, 3);
}

TEST(WeightingTest, RakingThatNeedsMoreSweepsThanAllowedFallsBack) {
  const PeriodData data = CorrelatedTown();
  WeightingOptions options;
  options.max_sweeps = 2;
  Result<PeriodWeights> w = WeightPeriod(data, options);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->towns[0].method, Weighting::kFallback);
  EXPECT_NE(w->towns[0].note.find("did not converge"), std::string::npos) << w->towns[0].note;
  EXPECT_NEAR(TownSum(data, *w, 0), 1000, 1e-9);
  EXPECT_EQ(w->towns[0].cells1, 1);
}

TEST(WeightingTest, BlankAnswersFormTheUnknownCell) {
  PeriodData data = OneIndexPeriod();
  TownData& town = AddTown(&data, "320812001", 100);
  town.population.sex = {{0, 40}, {1, 50}};  // unknown: 10
  Add(&data, 1, 1, 0);
  Add(&data, 1, 1, 1);
  Add(&data, 1, 0, kBlankCode);
  Add(&data, 3, 0, kBlankCode);
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->towns[0].method, Weighting::kRaking) << w->towns[0].note;
  EXPECT_NEAR(w->w[0], 40, 1e-9);
  EXPECT_NEAR(w->w[1], 50, 1e-9);
  EXPECT_NEAR(w->w[2], 2.5, 1e-9);
  EXPECT_NEAR(w->w[3], 7.5, 1e-9);
}

struct FallbackCase {
  const char* name;
  std::vector<MarginCell> sex;
  std::vector<std::int32_t> respondent_sex;
  const char* reason_part;
};

class FallbackTest : public ::testing::TestWithParam<FallbackCase> {};

TEST_P(FallbackTest, FallsBackToPostStratificationWithAReason) {
  const FallbackCase& c = GetParam();
  PeriodData data = OneIndexPeriod();
  data.sex_codes = {"m", "f", "x"};
  TownData& town = AddTown(&data, "320812001", 100);
  town.population.sex = c.sex;
  for (std::int32_t s : c.respondent_sex) Add(&data, 1, 1, s);
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->towns[0].method, Weighting::kFallback);
  EXPECT_NE(w->towns[0].note.find(c.reason_part), std::string::npos) << w->towns[0].note;
  EXPECT_NEAR(TownSum(data, *w, 0), 100, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(
    Decisions, FallbackTest,
    ::testing::Values(
        FallbackCase{"populated_cell_without_respondent", {{0, 50}, {1, 50}}, {0, 0}, "sex 'f' (population 50)"},
        FallbackCase{"unknown_cell_without_respondent", {{0, 50}, {1, 40}}, {0, 1}, "sex unknown"},
        FallbackCase{"respondent_in_zero_cell", {{0, 100}, {1, 0}}, {0, 1}, "population 0"},
        FallbackCase{"respondent_not_listed", {{0, 50}, {1, 50}}, {0, 1, 2}, "not listed"},
        FallbackCase{"blank_with_empty_unknown", {{0, 50}, {1, 50}}, {0, 1, kBlankCode}, "blank sex"}),
    [](const ::testing::TestParamInfo<FallbackCase>& param) { return std::string(param.param.name); });

TEST(WeightingTest, ZeroWeightRespondentCannotCarryACell) {
  PeriodData data = OneIndexPeriod();
  TownData& town = AddTown(&data, "320812001", 100);
  town.population.sex = {{0, 50}, {1, 50}};
  Add(&data, 1, 1, 0);
  Add(&data, 0, 1, 1);
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->towns[0].method, Weighting::kFallback);
  EXPECT_NE(w->towns[0].note.find("nonzero weight"), std::string::npos);
}

TEST(WeightingTest, ListedCellsAboveTheTotalAreInvalidInput) {
  PeriodData data = OneIndexPeriod();
  TownData& town = AddTown(&data, "320812001", 100);
  town.population.sex = {{0, 60}, {1, 50}};
  Add(&data, 1, 1, 0);
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(w.status().message().find("more than the town total"), std::string::npos);
}

TEST(WeightingTest, RakingDisabledPostStratifies) {
  const PeriodData data = CorrelatedTown();
  WeightingOptions options;
  options.rake = false;
  Result<PeriodWeights> w = WeightPeriod(data, options);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->towns[0].method, Weighting::kPostStrat);
}

TEST(WeightingTest, TrimmingCapsAtKTimesTheMedianAndKeepsTheTotal) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 1000);
  for (double d : {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 8.0}) Add(&data, d, 1);
  WeightingOptions options;
  options.trim_factor = 3;
  Result<PeriodWeights> w = WeightPeriod(data, options);
  ASSERT_TRUE(w.ok());
  const double unit = 1000.0 / 20.0;
  const double cap = 3 * unit;  // median base weight 1
  double total = 0;
  for (double x : w->w) {
    EXPECT_LE(x, cap * (1 + 1e-12));
    total += x;
  }
  EXPECT_NEAR(total, 1000, 1e-9);
  EXPECT_EQ(w->towns[0].trimmed, 2);
  EXPECT_NEAR(w->w[0], 2 * unit, 1e-9);  // excess 7 units over 7 units: factor 2
}

TEST(WeightingTest, InfeasibleCapEqualisesTheWeightsAndSaysSo) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 1000);
  for (double d : {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 20.0, 30.0}) Add(&data, d, 1);
  WeightingOptions options;
  options.trim_factor = 3;  // 9 · 3 · median < total: no cap keeps the total
  Result<PeriodWeights> w = WeightPeriod(data, options);
  ASSERT_TRUE(w.ok());
  for (double x : w->w) EXPECT_NEAR(x, 1000.0 / 9, 1e-9);
  EXPECT_NE(w->towns[0].note.find("trimming"), std::string::npos);
}

TEST(WeightingTest, TrimmingRedistributesInProportion) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 100);
  for (double d : {1.0, 1.0, 2.0, 2.0, 2.0, 20.0}) Add(&data, d, 1);
  WeightingOptions options;
  options.trim_factor = 4;
  Result<PeriodWeights> w = WeightPeriod(data, options);
  ASSERT_TRUE(w.ok());
  // Post-stratified weights are 100/28 · d; median 2 · 100/28, cap 8 · 100/28.
  const double unit = 100.0 / 28.0;
  EXPECT_NEAR(w->w[5], 8 * unit, 1e-9);
  // The excess 12 units goes to the other five (8 units) in proportion: factor 2.5.
  EXPECT_NEAR(w->w[0], 2.5 * unit, 1e-9);
  EXPECT_NEAR(w->w[2], 5 * unit, 1e-9);
  EXPECT_EQ(w->towns[0].trimmed, 1);
}

TEST(WeightingTest, OptionsAreValidated) {
  WeightingOptions options;
  options.trim_factor = 0.5;
  EXPECT_FALSE(options.Validate().ok());
  options.trim_factor = 0;
  options.max_sweeps = 0;
  EXPECT_FALSE(options.Validate().ok());
}

// Regression: the town sums came from Boost.Accumulators' sum_kahan, which loses an addend larger than
// the sum so far and drops its final correction: Σ {1, 1e16, 1} gave 1e16 (as plain summation does)
// where the compensated sum gives the exact 1e16 + 2.
TEST(WeightingTest, TownSumsKeepTheCompensation) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 0, /*has_total=*/false);
  Add(&data, 1, 1);
  Add(&data, 1e16, 0);
  Add(&data, 1, 1);
  Result<PeriodWeights> w = WeightPeriod(data, {});
  ASSERT_TRUE(w.ok()) << w.status();
  double naive = 0;
  for (double x : {1.0, 1e16, 1.0}) naive += x;
  ASSERT_NE(naive, 1e16 + 2);  // the case is one where plain summation is wrong
  EXPECT_EQ(w->towns[0].sum_w, 1e16 + 2);
  EXPECT_EQ(w->towns[0].n_weighted, 3);
}

}  // namespace
}  // namespace minyi::aggregator
