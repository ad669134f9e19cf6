#include "aggregator/estimate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "aggregator/aggregate.h"
#include "aggregator/test_util.h"

namespace minyi::aggregator {
namespace {

using testing::Add;
using testing::AddTown;
using testing::OneIndexPeriod;

struct Computed {
  PeriodWeights weights;
  std::vector<AreaState> towns;
};

Computed Compute(const PeriodData& data, const WeightingOptions& options = {}) {
  Computed c;
  Result<PeriodWeights> w = WeightPeriod(data, options);
  EXPECT_TRUE(w.ok()) << w.status();
  c.weights = std::move(w).value();
  for (std::size_t t = 0; t < data.towns.size(); ++t) c.towns.push_back(TownUpdate(data, c.weights, t));
  return c;
}

AreaState CombineAll(const std::vector<AreaState>& states) {
  AreaState all;
  for (const AreaState& s : states) all.Combine(s);
  return all;
}

// The variance of docs/methodology.md §4.4 computed literally, respondent by respondent, for post-stratified
// towns: z_i = w_i (u_i − ū_t), V = Σ_h n_h/(n_h−1) Σ (z − z̄_h)² (lonely: Σ z²). `in_area` selects towns.
double NaiveShareVariance(const PeriodData& data, const PeriodWeights& w, const std::vector<bool>& in_area,
                          bool score) {
  double sw = 0;
  double swy = 0;
  auto y_of = [&](std::uint32_t i) { return score ? data.score[i] : static_cast<double>(data.positive[i]); };
  for (std::size_t t = 0; t < data.towns.size(); ++t) {
    if (!in_area[t]) continue;
    for (std::uint32_t i = data.towns[t].begin; i < data.towns[t].end; ++i) {
      if (data.positive[i] == kOutOfDomain || !(w.w[i] > 0)) continue;
      sw += w.w[i];
      swy += w.w[i] * y_of(i);
    }
  }
  const double est = swy / sw;
  double v = 0;
  for (std::size_t t = 0; t < data.towns.size(); ++t) {
    const TownData& town = data.towns[t];
    std::vector<double> u;
    double du = 0;
    double dd = 0;
    for (std::uint32_t i = town.begin; i < town.end; ++i) {
      const bool in_d = in_area[t] && data.positive[i] != kOutOfDomain && w.w[i] > 0;
      u.push_back(in_d ? (y_of(i) - est) / sw : 0.0);
      du += data.base_weight[i] * u.back();
      dd += data.base_weight[i];
    }
    const double ubar = dd > 0 ? du / dd : 0;
    std::vector<double> z;
    for (std::uint32_t i = town.begin; i < town.end; ++i) z.push_back(w.w[i] * (u[i - town.begin] - ubar));
    const double nh = static_cast<double>(z.size());
    if (z.size() == 1) {
      v += z[0] * z[0];
      continue;
    }
    double mean = 0;
    for (double x : z) mean += x / nh;
    double ss = 0;
    for (double x : z) ss += (x - mean) * (x - mean);
    v += nh / (nh - 1) * ss;
  }
  return v;
}

PeriodData RandomPeriod(unsigned seed, int towns, int max_per_town) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> size(1, max_per_town);
  std::uniform_real_distribution<double> unit(0, 1);
  PeriodData data = OneIndexPeriod();
  for (int t = 0; t < towns; ++t) {
    char code[16];
    std::snprintf(code, sizeof code, "3208%02d%03d", t % 3 + 1, t);
    AddTown(&data, code, 1000 + 100 * t);
    const int n = size(rng);
    for (int i = 0; i < n; ++i) {
      const double r = unit(rng);
      const int answer = r < 0.1 ? -1 : static_cast<int>(unit(rng) * 5);  // 0..4, -1 missing
      const double d = unit(rng) < 0.05 ? 0.0 : 0.5 + 2 * unit(rng);
      Add(&data, d, answer < 0 ? -1 : (answer <= 2 ? 1 : 0), kBlankCode, kBlankCode,
          answer < 0 ? 0 : 100 - 25 * answer);
    }
  }
  return data;
}

TEST(EstimateTest, RollUpVarianceMatchesTheLiteralFormula) {
  const PeriodData data = RandomPeriod(7, 12, 15);
  const Computed c = Compute(data);
  const IndexSpec spec = data.indices[0];
  // The whole province and a county-like subset (every third town).
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<bool> in_area(data.towns.size());
    std::vector<AreaState> selected;
    for (std::size_t t = 0; t < data.towns.size(); ++t) {
      in_area[t] = variant == 0 || t % 3 == 1;
      if (in_area[t]) selected.push_back(c.towns[t]);
    }
    const Estimate e = Finalize(CombineAll(selected), 0, spec);
    const double v_share = NaiveShareVariance(data, c.weights, in_area, false);
    const double v_score = NaiveShareVariance(data, c.weights, in_area, true);
    EXPECT_NEAR(e.se, std::sqrt(v_share), 1e-12 * std::sqrt(v_share));
    EXPECT_NEAR(e.score_se, std::sqrt(v_score), 1e-12 * std::sqrt(v_score));
  }
}

TEST(EstimateTest, CombineIsAssociativeAndOrderFree) {
  const PeriodData data = RandomPeriod(11, 40, 30);
  const Computed c = Compute(data);
  const Estimate forward = Finalize(CombineAll(c.towns), 0, data.indices[0]);
  std::vector<AreaState> shuffled = c.towns;
  std::mt19937 rng(3);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    // Tree-shaped combination: pairs, then pairs of pairs.
    std::vector<AreaState> level = shuffled;
    while (level.size() > 1) {
      std::vector<AreaState> next;
      for (std::size_t i = 0; i < level.size(); i += 2) {
        AreaState s = level[i];
        if (i + 1 < level.size()) s.Combine(level[i + 1]);
        next.push_back(s);
      }
      level = next;
    }
    const Estimate e = Finalize(level[0], 0, data.indices[0]);
    EXPECT_NEAR(e.estimate, forward.estimate, 1e-12 * forward.estimate);
    EXPECT_NEAR(e.se, forward.se, 1e-12 * forward.se);
    EXPECT_NEAR(e.score, forward.score, 1e-12 * forward.score);
    EXPECT_NEAR(e.score_se, forward.score_se, 1e-12 * forward.score_se);
    EXPECT_NEAR(e.deff, forward.deff, 1e-12 * forward.deff);
    EXPECT_NEAR(e.ci_low, forward.ci_low, 1e-12);
    EXPECT_EQ(e.n, forward.n);
    EXPECT_EQ(e.df, forward.df);
    EXPECT_EQ(level[0].response_hash, CombineAll(c.towns).response_hash);
  }
}

TEST(EstimateTest, AllPositiveIsExactlyOneWithTheExactNeffInterval) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 100);
  Add(&data, 1, 1);
  Add(&data, 2, 1);
  Add(&data, 1, -1);  // missing: outside D, inside df
  const Computed c = Compute(data);
  const Estimate e = Finalize(c.towns[0], 0, data.indices[0]);
  EXPECT_EQ(e.estimate, 1.0);
  EXPECT_EQ(e.se, 0.0);
  EXPECT_EQ(e.ci_method, CiMethod::kExactNeff);
  const double neff = 9.0 / 5.0;  // weights ∝ 1, 2
  EXPECT_NEAR(e.n_eff, neff, 1e-14);
  EXPECT_NEAR(e.ci_low, std::pow(0.025, 1 / neff), 1e-15);
  EXPECT_EQ(e.ci_high, 1.0);
  EXPECT_EQ(e.n, 2);
  EXPECT_EQ(e.df, 2);
}

TEST(EstimateTest, NonePositiveIsExactlyZero) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 100);
  for (int i = 0; i < 4; ++i) Add(&data, 1, 0);
  const Estimate e = Finalize(Compute(data).towns[0], 0, data.indices[0]);
  EXPECT_EQ(e.estimate, 0.0);
  EXPECT_EQ(e.ci_low, 0.0);
  EXPECT_NEAR(e.ci_high, 1 - std::pow(0.025, 0.25), 1e-15);
  EXPECT_EQ(e.ci_method, CiMethod::kExactNeff);
}

TEST(EstimateTest, SingleRespondentTownsGiveNoIntervalWhenMixed) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 100);
  Add(&data, 1, 1);
  AddTown(&data, "320812002", 100);
  Add(&data, 1, 0);
  const Computed c = Compute(data);
  const Estimate e = Finalize(CombineAll(c.towns), 0, data.indices[0]);
  EXPECT_EQ(e.df, 0);
  EXPECT_DOUBLE_EQ(e.estimate, 0.5);
  EXPECT_EQ(e.ci_method, CiMethod::kNone);
  EXPECT_TRUE(std::isnan(e.ci_low));
  // Under town calibration a lonely town's z is 0.
  EXPECT_EQ(e.se, 0.0);
}

TEST(EstimateTest, ZeroWeightsCountInTheStratumButNotInTheDomain) {
  PeriodData with_zero = OneIndexPeriod();
  AddTown(&with_zero, "320812001", 100);
  Add(&with_zero, 1, 1);
  Add(&with_zero, 2, 0);
  Add(&with_zero, 1, 1);
  Add(&with_zero, 0, 0);
  AddTown(&with_zero, "320812002", 50);
  Add(&with_zero, 1, 1);
  Add(&with_zero, 1, 0);
  const Computed c = Compute(with_zero);
  const Estimate e = Finalize(CombineAll(c.towns), 0, with_zero.indices[0]);
  EXPECT_EQ(e.n, 5);
  EXPECT_EQ(e.df, 3);
  std::vector<bool> all(2, true);
  EXPECT_NEAR(e.se, std::sqrt(NaiveShareVariance(with_zero, c.weights, all, false)), 1e-14);
}

TEST(EstimateTest, EmptyDomainHasNoFigures) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 100);
  Add(&data, 1, -1);
  const Estimate e = Finalize(Compute(data).towns[0], 0, data.indices[0]);
  EXPECT_EQ(e.n, 0);
  EXPECT_TRUE(std::isnan(e.estimate));
  EXPECT_TRUE(std::isnan(e.score));
  EXPECT_EQ(e.ci_method, CiMethod::kNone);
  EXPECT_TRUE(e.low_n);
}

TEST(EstimateTest, TQuantilesMatchR) {
  // qt(0.975, df) from R 4.2 printed with %.17g.
  const std::vector<std::pair<double, double>> cases = {
      {1, 12.706204736174694},    {2, 4.3026527297494619},      {3, 3.1824463052837078},
      {5, 2.5705818356363137},    {6, 2.4469118511449688},      {10, 2.2281388519862739},
      {29, 2.0452296421327034},   {30, 2.0422724563012378},     {100, 1.9839715185235516},
      {1000, 1.9623390808264076}, {100000, 1.9599877075346088}, {1e7, 1.9599642217672049}};
  for (const auto& [df, expected] : cases) {
    EXPECT_NEAR(StudentT975(df), expected, 1e-12 * expected) << "df " << df;
  }
  EXPECT_TRUE(std::isnan(StudentT975(0)));
}

TEST(EstimateTest, LogitIntervalIsSymmetricOnTheLogitScale) {
  double low = 0;
  double high = 0;
  LogitInterval(0.9, 0.02, 10, &low, &high);
  const double half = StudentT975(10) * 0.02 / (0.9 * 0.1);
  EXPECT_NEAR(std::log(low / (1 - low)), std::log(9.0) - half, 1e-13);
  EXPECT_NEAR(std::log(high / (1 - high)), std::log(9.0) + half, 1e-13);
}

TEST(EstimateTest, ConstantScoreHasZeroSeAndNoDeff) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 100);
  Add(&data, 1, 1, kBlankCode, kBlankCode, 75);
  Add(&data, 3, 1, kBlankCode, kBlankCode, 75);
  const Estimate e = Finalize(Compute(data).towns[0], 0, data.indices[0]);
  EXPECT_EQ(e.score, 75.0);
  EXPECT_EQ(e.score_se, 0.0);
  EXPECT_TRUE(std::isnan(e.deff));
}

TEST(EstimateTest, RakingResidualsDoNotDependOnWhichCellIsDropped) {
  // Sex and age indicators are collinear (both sum to the town). Relabelling the cells changes which
  // column the pivoted solver drops, never the variance.
  auto build = [](bool swap_codes) {
    PeriodData data = OneIndexPeriod();
    TownData& town = AddTown(&data, "320812001", 1000);
    town.population.sex = {{0, 480}, {1, 520}};
    town.population.age = {{0, 300}, {1, 350}, {2, 350}};
    std::mt19937 rng(5);
    for (int i = 0; i < 60; ++i) {
      const std::int32_t sex = static_cast<std::int32_t>(rng() % 2);
      const std::int32_t age = static_cast<std::int32_t>(rng() % 3);
      Add(&data, static_cast<double>(1 + rng() % 3), static_cast<int>(rng() % 3 == 0 ? 0 : 1),
          swap_codes ? 1 - sex : sex, swap_codes ? 2 - age : age, static_cast<double>(25 * (rng() % 5)));
    }
    if (swap_codes) {
      data.towns[0].population.sex = {{1, 480}, {0, 520}};
      data.towns[0].population.age = {{2, 300}, {1, 350}, {0, 350}};
    }
    return data;
  };
  const PeriodData a = build(false);
  const PeriodData b = build(true);
  const Computed ca = Compute(a);
  const Computed cb = Compute(b);
  ASSERT_EQ(ca.weights.towns[0].method, Weighting::kRaking);
  ASSERT_EQ(cb.weights.towns[0].method, Weighting::kRaking);
  const Estimate ea = Finalize(ca.towns[0], 0, a.indices[0]);
  const Estimate eb = Finalize(cb.towns[0], 0, b.indices[0]);
  EXPECT_NEAR(ea.estimate, eb.estimate, 1e-12);
  EXPECT_NEAR(ea.se, eb.se, 1e-10 * ea.se);
  EXPECT_NEAR(ea.score_se, eb.score_se, 1e-10 * ea.score_se);
  // Calibration on more cells than the town lowers the SE of this sample compared with the town alone.
  WeightingOptions no_rake;
  no_rake.rake = false;
  const Estimate post = Finalize(Compute(a, no_rake).towns[0], 0, a.indices[0]);
  EXPECT_NE(post.se, ea.se);
}

// Issue 13: a town reduced to its cell sums (town_sums.h) gives the state the respondents give, for
// raked, post-stratified, fallback and unweighted towns, zero base weights and missing answers.
TEST(EstimateTest, CellSumsGiveTheStateOfTheRespondents) {
  PeriodData data = OneIndexPeriod();
  std::mt19937 rng(13);
  std::uniform_real_distribution<double> weight(0.5, 3.0);
  std::uniform_int_distribution<int> pick(0, 9);
  auto fill = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const int r = pick(rng);
      const double d = r == 0 ? 0.0 : weight(rng);
      const int y = r == 1 ? -1 : (pick(rng) < 6 ? 1 : 0);
      Add(&data, d, y, pick(rng) < 5 ? 0 : (pick(rng) < 9 ? 1 : kBlankCode), pick(rng) % 3,
          y < 0 ? -1 : 10.0 * pick(rng));
    }
  };
  TownData& raked = AddTown(&data, "320812001", 1000);
  raked.population.sex = {{0, 480}, {1, 500}};
  raked.population.age = {{0, 300}, {1, 300}, {2, 400}};
  fill(400);
  AddTown(&data, "320812002", 700);  // post-stratified
  fill(300);
  TownData& fallback = AddTown(&data, "320812003", 500);
  fallback.population.sex = {{0, 250}, {1, 250}};  // blank sexes, but no unknown cell: falls back
  fill(200);
  AddTown(&data, "320812004", 0, false);  // no population
  fill(100);
  ASSERT_TRUE(data.Validate().ok());

  const Computed by_respondent = Compute(data);
  Result<std::vector<TownResult>> by_cells = ComputeTowns(data, PeriodOptions{});
  ASSERT_TRUE(by_cells.ok()) << by_cells.status();
  ASSERT_EQ(by_cells->size(), 4u);
  auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-11 * std::max(1.0, std::fabs(b)); };
  for (std::size_t t = 0; t < 4; ++t) {
    const AreaState& want = by_respondent.towns[t];
    const AreaState& got = (*by_cells)[t].state;
    const TownWeighting& tw = (*by_cells)[t].weighting;
    EXPECT_EQ(tw.method, by_respondent.weights.towns[t].method) << t;
    EXPECT_EQ(tw.note, by_respondent.weights.towns[t].note) << t;
    EXPECT_EQ(tw.n_weighted, by_respondent.weights.towns[t].n_weighted) << t;
    EXPECT_TRUE(close(tw.sum_w2, by_respondent.weights.towns[t].sum_w2)) << t;
    EXPECT_EQ(got.respondents, want.respondents);
    EXPECT_EQ(got.weighted_respondents, want.weighted_respondents);
    EXPECT_EQ(got.response_hash, want.response_hash);
    const DomainState& a = got.indices[0];
    const DomainState& b = want.indices[0];
    EXPECT_EQ(a.n, b.n);
    EXPECT_EQ(a.n_positive, b.n_positive);
    EXPECT_TRUE(close(a.sum_w.value(), b.sum_w.value())) << t;
    EXPECT_TRUE(close(a.sum_w_score2.value(), b.sum_w_score2.value())) << t;
    for (double theta : {0.0, 0.3, 0.7, 55.0}) {
      EXPECT_TRUE(close(a.share_variance.At(theta), b.share_variance.At(theta))) << t << " " << theta;
      EXPECT_TRUE(close(a.score_variance.At(theta), b.score_variance.At(theta))) << t << " " << theta;
    }
  }
  EXPECT_EQ((*by_cells)[0].weighting.method, Weighting::kRaking);
  EXPECT_EQ((*by_cells)[2].weighting.method, Weighting::kFallback);
}

// Issue 13: residuals that are all zero (every cell answers alike) give a variance of 0 to rounding
// squared, as R does, not to rounding (a naive expansion of Σ d²(s − f)² gave se ≈ 1e-7).
TEST(EstimateTest, CellSumsKeepZeroResidualsZero) {
  PeriodData data = OneIndexPeriod();
  TownData& town = AddTown(&data, "320812001", 1000);
  town.population.sex = {{0, 500}, {1, 500}};
  for (int i = 0; i < 500; ++i) {
    Add(&data, 1.0 + 0.37 * (i % 7), 1, 0, kBlankCode, 83.1);
    Add(&data, 0.9 + 0.11 * (i % 5), 0, 1, kBlankCode, 17.3);
  }
  Result<std::vector<TownResult>> towns = ComputeTowns(data, PeriodOptions{});
  ASSERT_TRUE(towns.ok()) << towns.status();
  const DomainState& ds = (*towns)[0].state.indices[0];
  const double w2 = ds.sum_w.value() * ds.sum_w.value();
  const double p = ds.sum_w_positive.value() / ds.sum_w.value();
  const double m = ds.sum_w_score.value() / ds.sum_w.value();
  EXPECT_LT(std::sqrt(std::fabs(ds.share_variance.At(p)) / w2), 1e-10);
  EXPECT_LT(std::sqrt(std::fabs(ds.score_variance.At(m)) / w2), 1e-10);
}

// Regression: a town state's domain sums were Boost.Accumulators' sum_kahan results, which lose an
// addend larger than the sum so far and drop the correction a roll-up needs. Town A {1, 1e16} and town B
// {1}: Σw of the union is exactly 1e16 + 2; plain summation, and the Kahan states, gave 1e16.
TEST(EstimateTest, RollUpSumsKeepEachTownsCompensation) {
  PeriodData data = OneIndexPeriod();
  AddTown(&data, "320812001", 0, /*has_total=*/false);
  Add(&data, 1, 1);
  Add(&data, 1e16, 0);
  AddTown(&data, "320812002", 0, /*has_total=*/false);
  Add(&data, 1, 1);
  const Computed c = Compute(data);
  double naive = 0;
  for (double x : {1.0, 1e16, 1.0}) naive += x;
  ASSERT_NE(naive, 1e16 + 2);  // the case is one where plain summation is wrong
  const AreaState all = CombineAll(c.towns);
  EXPECT_EQ(all.indices[0].sum_w.value(), 1e16 + 2);
  EXPECT_EQ(all.indices[0].sum_w_positive.value(), 2);
  EXPECT_EQ(Finalize(all, 0, data.indices[0]).sum_w, 1e16 + 2);
}

}  // namespace
}  // namespace minyi::aggregator
