#include "aggregator/small_area.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace minyi::aggregator {
namespace {

// A deterministic uniform in (0, 1) from mt19937_64's raw output (its sequence is fixed by the standard;
// the std distributions are not).
double Uniform(std::mt19937_64& rng) { return (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0; }

// `count` towns in 5 counties: true shares around 0.9 with a county effect and a town effect, n from
// `first_n` to first_n + count - 1, binomial direct shares with the binomial design variance times `deff`;
// the previous-year share (missing for every fourth town) is the true share moved by 0.02 on the arcsine
// scale.
std::vector<SmallAreaTown> SimulatedTowns(int count, double town_sd, double deff = 1.0, int first_n = 5) {
  std::mt19937_64 rng(14);
  std::vector<SmallAreaTown> towns;
  for (int i = 0; i < count; ++i) {
    SmallAreaTown t;
    t.area_code = "town" + std::to_string(i);
    const double county_theta = 1.2 + 0.05 * (i % 5);
    const double theta = county_theta + town_sd * (Uniform(rng) - 0.5) * 3.46;
    const double p = std::pow(std::sin(theta), 2);
    t.n = first_n + i;
    int positive = 0;
    for (std::int64_t k = 0; k < t.n; ++k) positive += Uniform(rng) < p ? 1 : 0;
    t.n_eff = static_cast<double>(t.n) / deff;
    t.estimate = static_cast<double>(positive) / static_cast<double>(t.n);
    t.se = std::sqrt(deff * t.estimate * (1 - t.estimate) / static_cast<double>(t.n));
    t.county_estimate = std::pow(std::sin(county_theta), 2);
    if (i % 4 != 0) t.prev_estimate = std::pow(std::sin(theta + 0.02), 2);
    towns.push_back(t);
  }
  return towns;
}

TEST(SmallAreaTest, FitsAndShrinksTowardTheSyntheticEstimate) {
  const auto towns = SimulatedTowns(80, 0.08);
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_TRUE(fit->used) << fit->reason;
  EXPECT_EQ(fit->towns, 80);
  EXPECT_EQ(fit->columns, (std::vector<std::string>{"intercept", "county", "prev", "prev_missing"}));
  EXPECT_GT(fit->sigma2u, 0);
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaEstimate& e = fit->towns_out[i];
    EXPECT_EQ(e.method, SmallAreaMethod::kEblup);
    EXPECT_GT(e.shrinkage, 0);
    EXPECT_LT(e.shrinkage, 1);
    // The EBLUP lies between the direct and the synthetic estimate on the transformed scale.
    const double synthetic = e.direct_theta - e.std_residual * std::sqrt(fit->sigma2u + e.psi);
    EXPECT_LE(std::min(e.direct_theta, synthetic) - 1e-12, e.theta);
    EXPECT_GE(std::max(e.direct_theta, synthetic) + 1e-12, e.theta);
    // MSE at least g1 and below the direct variance for every town (shrinkage helps).
    EXPECT_GE(e.mse, fit->sigma2u * e.shrinkage);
    EXPECT_LT(e.mse, e.psi) << towns[i].area_code;
    EXPECT_LE(0, e.ci_low);
    EXPECT_LE(e.ci_low, e.estimate);
    EXPECT_LE(e.estimate, e.ci_high);  // both 1 when x'β̂ and the direct share are at 1
    EXPECT_LT(e.ci_low, e.ci_high);
    EXPECT_LE(e.ci_high, 1);
  }
  // Larger towns are shrunk less.
  EXPECT_GT(fit->towns_out.front().shrinkage, fit->towns_out.back().shrinkage);
}

TEST(SmallAreaTest, VarianceFunctionIsTheRatioToTheBinomialVarianceAtNeff) {
  auto towns = SimulatedTowns(60, 0.15, 2.0);
  for (auto& t : towns) t.prev_estimate = std::numeric_limits<double>::quiet_NaN();  // leave u_i to the model
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->gvf_gamma, 1.0, 1e-12);  // se² = deff p(1−p)/n = p(1−p)/n_eff
  ASSERT_TRUE(fit->used) << fit->reason;
  EXPECT_NEAR(fit->towns_out[0].psi, 1 / (4 * 2.5), 1e-15);  // n = 5, n_eff = 2.5
  for (auto& t : towns) t.se *= std::sqrt(1.5);
  const auto scaled = FitFayHerriot(towns);
  ASSERT_TRUE(scaled.ok());
  EXPECT_NEAR(scaled->gvf_gamma, 1.5, 1e-12);
}

TEST(SmallAreaTest, SharesOfOneStayInsideTheUnitIntervalWithAWidthFromNeff) {
  auto towns = SimulatedTowns(60, 0.08);
  towns[3].estimate = 1;  // p̂ = 1: design variance 0
  towns[3].se = 0;
  towns[4].estimate = 0;
  towns[4].se = 0;
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok());
  ASSERT_TRUE(fit->used);
  for (int i : {3, 4}) {
    const SmallAreaEstimate& e = fit->towns_out[static_cast<std::size_t>(i)];
    EXPECT_GT(e.psi, 0);  // from the GVF, not the zero design variance
    EXPECT_GE(e.ci_low, 0);
    EXPECT_LE(e.ci_high, 1);
    EXPECT_LT(e.ci_low, e.ci_high);
  }
  EXPECT_LT(fit->towns_out[3].estimate, 1);  // shrunk toward its county
  EXPECT_GT(fit->towns_out[4].estimate, 0);
}

TEST(SmallAreaTest, TownsWithoutRespondentsGetTheSyntheticEstimate) {
  auto towns = SimulatedTowns(60, 0.08);
  SmallAreaTown empty;
  empty.area_code = "empty";
  empty.county_estimate = 0.9;
  empty.prev_estimate = 0.92;
  towns.push_back(empty);
  SmallAreaTown no_county;  // a county without any respondent: no covariate, no figure
  no_county.area_code = "nowhere";
  towns.push_back(no_county);
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok());
  ASSERT_TRUE(fit->used);
  const SmallAreaEstimate& e = fit->towns_out[60];
  EXPECT_EQ(e.method, SmallAreaMethod::kSynthetic);
  const double x[4] = {1, std::asin(std::sqrt(0.9)), std::asin(std::sqrt(0.92)), 0};
  double synthetic = 0;
  for (int j = 0; j < 4; ++j) synthetic += x[j] * fit->beta[static_cast<std::size_t>(j)];
  EXPECT_NEAR(e.theta, synthetic, 1e-14);
  EXPECT_GT(e.mse, fit->sigma2u);  // σ²ᵤ plus the variance of x'β̂
  EXPECT_EQ(fit->towns_out[61].method, SmallAreaMethod::kNone);
  EXPECT_TRUE(std::isnan(fit->towns_out[61].estimate));
}

TEST(SmallAreaTest, NotUsedWithTooFewTowns) {
  const auto towns = SimulatedTowns(14, 0.08);
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok());
  EXPECT_FALSE(fit->used);
  EXPECT_EQ(fit->reason, "fewer towns than min_towns");
  EXPECT_EQ(fit->towns_out[0].method, SmallAreaMethod::kDirect);
  EXPECT_EQ(fit->towns_out[0].estimate, towns[0].estimate);
  EXPECT_EQ(fit->towns_out[0].se, towns[0].se);
}

TEST(SmallAreaTest, NotUsedWhenRemlPutsTheTownVarianceAtZero) {
  auto towns = SimulatedTowns(60, 0.08);
  for (auto& t : towns) {  // every town exactly at its county's share: nothing left for u_i
    t.estimate = t.county_estimate;
    t.se = std::sqrt(t.estimate * (1 - t.estimate) / static_cast<double>(t.n));
    t.prev_estimate = std::numeric_limits<double>::quiet_NaN();
  }
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok());
  EXPECT_FALSE(fit->used);
  EXPECT_EQ(fit->reason, "REML estimate of sigma2u is 0");
  EXPECT_EQ(fit->sigma2u, 0);
  EXPECT_EQ(fit->columns, (std::vector<std::string>{"intercept", "county"}));
}

// The restricted log likelihood of y = Xβ + u + e at σ²ᵤ = a for X = (1, x), written out independently of
// small_area.cc: −½ Σ log(a + ψ_i) − ½ log det(XᵀV⁻¹X) − ½ yᵀPy (yᵀPy = Σ w r² at the GLS β̂).
double RestrictedLoglik(const std::vector<double>& x, const std::vector<double>& y,
                        const std::vector<double>& psi, double a) {
  double s0 = 0, s1 = 0, s2 = 0, t0 = 0, t1 = 0, logdet_v = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double w = 1 / (a + psi[i]);
    s0 += w, s1 += w * x[i], s2 += w * x[i] * x[i], t0 += w * y[i], t1 += w * x[i] * y[i];
    logdet_v += std::log(a + psi[i]);
  }
  const double det = s0 * s2 - s1 * s1;
  const double b0 = (s2 * t0 - s1 * t1) / det;
  const double b1 = (s0 * t1 - s1 * t0) / det;
  double rwr = 0;
  for (std::size_t i = 0; i < y.size(); ++i) rwr += std::pow(y[i] - b0 - b1 * x[i], 2) / (a + psi[i]);
  return -0.5 * logdet_v - 0.5 * std::log(det) - 0.5 * rwr;
}

// Fits 60 towns with n = first_n, first_n + 1, ... at their county's share moved by step · (i mod 7 − 3) on
// the arcsine scale (less spread than their sampling error: REML gives 0), with and without the adjusted
// fallback, checks σ̂²ᵤ and the MSE against values computed here, and returns how many towns got Li & Lahiri's
// corrected MSE (rather than the Prasad–Rao terms alone).
int CheckAdjustedFit(int first_n, double step) {
  auto towns = SimulatedTowns(60, 0.08, 1.0, first_n);
  std::vector<double> x, y, psi;
  for (std::size_t i = 0; i < towns.size(); ++i) {  // towns scattered far less than their sampling error
    auto& t = towns[i];
    const double theta = std::asin(std::sqrt(t.county_estimate)) + step * (static_cast<double>(i % 7) - 3);
    t.estimate = std::pow(std::sin(theta), 2);
    t.se = std::sqrt(t.estimate * (1 - t.estimate) / static_cast<double>(t.n));  // GVF γ̂ = 1
    t.prev_estimate = std::numeric_limits<double>::quiet_NaN();
    x.push_back(std::asin(std::sqrt(t.county_estimate)));
    y.push_back(theta);
    psi.push_back(1 / (4 * t.n_eff));
  }
  SmallAreaOptions options;
  options.bootstrap_replicates = 0;
  const auto reml = FitFayHerriot(towns, options);
  EXPECT_TRUE(reml.ok());
  if (!reml.ok()) return -1;
  EXPECT_FALSE(reml->used);
  EXPECT_EQ(reml->sigma2u, 0);

  options.adjusted_reml_fallback = true;
  const auto fit = FitFayHerriot(towns, options);
  EXPECT_TRUE(fit.ok() && fit->used);
  if (!fit.ok() || !fit->used) return -1;
  EXPECT_EQ(fit->sigma2u_method, "adjr");
  // The maximiser of log a + ℓ_R(a): a grid of step 1e-6 over (0, 0.01], then of step 1e-10 around its best.
  auto adjusted = [&](double a) { return std::log(a) + RestrictedLoglik(x, y, psi, a); };
  double best = 1e-6;
  for (double a = 1e-6; a <= 0.01; a += 1e-6) best = adjusted(a) > adjusted(best) ? a : best;
  const double coarse = best;
  for (double a = coarse - 1e-6; a <= coarse + 1e-6; a += 1e-10)
    best = adjusted(a) > adjusted(best) ? a : best;
  EXPECT_GT(best, 1e-5);  // interior, not the grid's edge
  EXPECT_LT(best, 0.01 - 1e-5);
  EXPECT_NEAR(fit->sigma2u, best, 1e-9);
  // Li & Lahiri's MSE: the Prasad–Rao terms at σ̂²ᵤ minus B_i² (1/σ̂²ᵤ) · 2 / Σ (σ̂²ᵤ + ψ_j)⁻², or the
  // Prasad–Rao terms alone where that is not positive.
  const double a = fit->sigma2u;
  double sum_w = 0, sum_wx = 0, sum_wxx = 0, sum_w2 = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double w = 1 / (a + psi[i]);
    sum_w += w, sum_wx += w * x[i], sum_wxx += w * x[i] * x[i], sum_w2 += w * w;
  }
  const double det = sum_w * sum_wxx - sum_wx * sum_wx;
  const double var_a = 2 / sum_w2;
  int corrected_towns = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double b = psi[i] / (a + psi[i]);
    const double leverage = (sum_wxx - 2 * sum_wx * x[i] + sum_w * x[i] * x[i]) / det;
    const double prasad_rao =
        a * b + b * b * leverage + 2 * psi[i] * psi[i] / std::pow(a + psi[i], 3) * var_a;
    const double corrected = prasad_rao - b * b * var_a / a;
    corrected_towns += corrected > 0 ? 1 : 0;
    EXPECT_NEAR(fit->towns_out[i].mse, corrected > 0 ? corrected : prasad_rao, 1e-12) << i;
  }
  return corrected_towns;
}

TEST(SmallAreaTest, AdjustedLikelihoodGivesAPositiveTownVarianceWhereRemlGivesZero) {
  EXPECT_EQ(CheckAdjustedFit(200, 0.016), 60);  // σ̂²ᵤ large enough for the correction everywhere
  EXPECT_EQ(CheckAdjustedFit(5, 0.004), 0);  // σ̂²ᵤ tiny beside ψ_i: the correction would be negative
}

TEST(SmallAreaTest, CollinearCovariatesAreDropped) {
  auto towns = SimulatedTowns(60, 0.08);
  for (auto& t : towns) t.county_estimate = 0.9;  // one county: the county column is the intercept's multiple
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok());
  ASSERT_TRUE(fit->used) << fit->reason;
  EXPECT_EQ(fit->columns.size(), 3u);
  EXPECT_EQ(fit->beta.size(), 3u);
}

TEST(SmallAreaTest, BootstrapIsDeterministicAndSeededByTheInputs) {
  auto towns = SimulatedTowns(80, 0.08);
  const auto first = FitFayHerriot(towns);
  const auto second = FitFayHerriot(towns);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(first->used) << first->reason;
  EXPECT_EQ(first->bootstrap_replicates, 200);
  EXPECT_EQ(first->bootstrap_seed, second->bootstrap_seed);
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaEstimate& a = first->towns_out[i];
    const SmallAreaEstimate& b = second->towns_out[i];
    EXPECT_EQ(a.interval, SmallAreaInterval::kBootstrap);
    EXPECT_EQ(a.mse_bootstrap, b.mse_bootstrap);  // bit for bit
    EXPECT_EQ(a.ci_low, b.ci_low);
    EXPECT_EQ(a.ci_high, b.ci_high);
    EXPECT_EQ(a.se, b.se);
  }
  ASSERT_GT(towns[79].se, 0);
  towns[79].se *= 1.001;  // any input changes the seed (here γ̂ hardly moves)
  const auto changed = FitFayHerriot(towns);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->bootstrap_seed, first->bootstrap_seed);
  EXPECT_NE(changed->towns_out[40].ci_low, first->towns_out[40].ci_low);
}

TEST(SmallAreaTest, WithoutReplicatesThePrasadRaoIntervalIsPublished) {
  const auto towns = SimulatedTowns(80, 0.08);
  SmallAreaOptions options;
  options.bootstrap_replicates = 0;
  const auto fit = FitFayHerriot(towns, options);
  ASSERT_TRUE(fit.ok());
  ASSERT_TRUE(fit->used) << fit->reason;
  EXPECT_EQ(fit->bootstrap_replicates, 0);
  for (const SmallAreaEstimate& e : fit->towns_out) {
    EXPECT_EQ(e.interval, SmallAreaInterval::kPrasadRao);
    EXPECT_TRUE(std::isnan(e.mse_bootstrap));
    EXPECT_DOUBLE_EQ(e.se, std::sqrt(e.mse) * std::sin(2 * e.theta));
    EXPECT_DOUBLE_EQ(e.ci_low, std::pow(std::sin(e.theta - 1.959963984540054 * std::sqrt(e.mse)), 2));
  }
}

// Large towns: the binomial sampling errors are close to normal on the arcsine scale and σ²ᵤ is well
// estimated, so the bootstrap MSE is close to the Prasad–Rao MSE (to its Monte Carlo error with B = 400).
TEST(SmallAreaTest, BootstrapMseIsCloseToPrasadRaoWhenTheModelHolds) {
  const auto towns = SimulatedTowns(150, 0.08, 1.0, 300);
  SmallAreaOptions options;
  options.bootstrap_replicates = 400;
  const auto fit = FitFayHerriot(towns, options);
  ASSERT_TRUE(fit.ok());
  ASSERT_TRUE(fit->used) << fit->reason;
  double ratio = 0;
  for (const SmallAreaEstimate& e : fit->towns_out) {
    ASSERT_EQ(e.interval, SmallAreaInterval::kBootstrap);
    EXPECT_GT(e.mse_bootstrap, 0);
    EXPECT_GT(e.mse_bootstrap / e.mse, 0.75);
    EXPECT_LT(e.mse_bootstrap / e.mse, 1.33);
    ratio += e.mse_bootstrap / e.mse / static_cast<double>(towns.size());
  }
  EXPECT_NEAR(ratio, 1.0, 0.05);
}

// Small towns near 1 (n from 5, shares around 0.9, some at exactly 1): every interval inside [0, 1] and
// not empty, also for a town without respondents.
TEST(SmallAreaTest, BootstrapIntervalsStayInsideTheUnitInterval) {
  auto towns = SimulatedTowns(60, 0.08);
  towns[3].estimate = 1;
  towns[3].se = 0;
  SmallAreaTown empty;
  empty.area_code = "empty";
  empty.county_estimate = 0.97;
  empty.prev_estimate = 0.99;
  towns.push_back(empty);
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok());
  ASSERT_TRUE(fit->used) << fit->reason;
  for (const SmallAreaEstimate& e : fit->towns_out) {
    EXPECT_EQ(e.interval, SmallAreaInterval::kBootstrap);
    EXPECT_GE(e.mse_bootstrap, 0);
    EXPECT_LE(0, e.ci_low);
    EXPECT_LT(e.ci_low, e.ci_high);
    EXPECT_LE(e.ci_high, 1);
    EXPECT_GE(e.se, 0);
  }
  EXPECT_EQ(fit->towns_out.back().method, SmallAreaMethod::kSynthetic);
}

// The variants measured in the simulation study and not adopted (docs/small_area.md, "Simulation study"),
// each off by default. Anscombe's input: y_i and ψ_i are asin √((k p̂ + 3/8) / (k + 3/4)) and 1 / (4k + 2), k
// = n_eff / γ̂. The calibrated bootstrap: the same fit (β̂, σ̂²ᵤ, EBLUPs, Prasad–Rao MSE), other intervals (its
// world's β moved so that the replicates' β̂* average β̂), inside [0, 1]. Random rounding of the binomial
// trials: deterministic and inside [0, 1].
TEST(SmallAreaTest, MeasuredVariantsAreOffByDefaultAndDoWhatTheySay) {
  const auto towns = SimulatedTowns(80, 0.08);
  const auto plain = FitFayHerriot(towns);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(plain->used) << plain->reason;

  // (Larger towns and spread: with Anscombe's input REML puts σ̂²ᵤ at 0 for the small ones, as in the bench.)
  const auto spread = SimulatedTowns(80, 0.15, 1.0, 20);
  SmallAreaOptions anscombe;
  anscombe.anscombe_input = true;
  const auto fit_a = FitFayHerriot(spread, anscombe);
  const auto plain_a = FitFayHerriot(spread);
  ASSERT_TRUE(fit_a.ok() && plain_a.ok());
  ASSERT_TRUE(fit_a->used && plain_a->used) << fit_a->reason << plain_a->reason;
  for (std::size_t i = 0; i < spread.size(); ++i) {
    const double k = spread[i].n_eff / fit_a->gvf_gamma;
    EXPECT_NEAR(fit_a->towns_out[i].direct_theta,
                std::asin(std::sqrt((k * spread[i].estimate + 0.375) / (k + 0.75))), 1e-15);
    EXPECT_NEAR(fit_a->towns_out[i].psi, 1 / (4 * k + 2), 1e-15);
    EXPECT_NEAR(plain_a->towns_out[i].direct_theta, std::asin(std::sqrt(spread[i].estimate)), 1e-15);
  }

  SmallAreaOptions calibrated;
  calibrated.bootstrap_calibration = 3;
  const auto fit_c = FitFayHerriot(towns, calibrated);
  ASSERT_TRUE(fit_c.ok());
  ASSERT_TRUE(fit_c->used) << fit_c->reason;
  EXPECT_EQ(fit_c->beta, plain->beta);
  EXPECT_EQ(fit_c->sigma2u, plain->sigma2u);
  int moved = 0;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaEstimate& e = fit_c->towns_out[i];
    EXPECT_EQ(e.theta, plain->towns_out[i].theta);
    EXPECT_EQ(e.mse, plain->towns_out[i].mse);
    EXPECT_EQ(e.interval, SmallAreaInterval::kBootstrap);
    EXPECT_LE(0, e.ci_low);
    EXPECT_LT(e.ci_low, e.ci_high);
    EXPECT_LE(e.ci_high, 1);
    moved += e.ci_low != plain->towns_out[i].ci_low ? 1 : 0;
  }
  EXPECT_GT(moved, 40) << "the calibrated world's intervals differ from the plain bootstrap's";

  // The county share's error: off, a known county n_eff changes nothing; on, it enters the linking variance.
  auto with_county = towns;
  for (SmallAreaTown& t : with_county) t.county_n_eff = 40;
  SmallAreaOptions county_me;
  county_me.county_measurement_error = true;
  const auto off = FitFayHerriot(with_county);
  const auto on = FitFayHerriot(with_county, county_me);
  ASSERT_TRUE(off.ok() && on.ok());
  ASSERT_TRUE(on->used) << on->reason;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    EXPECT_EQ(off->towns_out[i].ci_low, plain->towns_out[i].ci_low);
    EXPECT_EQ(off->towns_out[i].theta, plain->towns_out[i].theta);
    const double linking_plain =
        plain->towns_out[i].psi / plain->towns_out[i].shrinkage - plain->towns_out[i].psi;
    const double linking_on = on->towns_out[i].psi / on->towns_out[i].shrinkage - on->towns_out[i].psi;
    EXPECT_NEAR(linking_on - on->sigma2u - (linking_plain - plain->sigma2u),
                on->beta[1] * on->beta[1] * on->gvf_gamma / 160, 1e-9);
  }

  SmallAreaOptions rounded;
  rounded.bootstrap_random_rounding = true;
  const auto first = FitFayHerriot(towns, rounded);
  const auto second = FitFayHerriot(towns, rounded);
  ASSERT_TRUE(first.ok() && second.ok());
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const SmallAreaEstimate& e = first->towns_out[i];
    EXPECT_EQ(e.interval, SmallAreaInterval::kBootstrap);
    EXPECT_EQ(e.ci_low, second->towns_out[i].ci_low);
    EXPECT_EQ(e.ci_high, second->towns_out[i].ci_high);
    EXPECT_LE(0, e.ci_low);
    EXPECT_LT(e.ci_low, e.ci_high);
    EXPECT_LE(e.ci_high, 1);
  }
}

// The previous-year covariate's measurement error (Ybarra & Lohr 2008): a town whose previous-year figure
// comes from few respondents gets the larger linking variance σ̂²ᵤ + β̂²_prev C_i, so its EBLUP leans less on
// the synthetic part (smaller shrinkage), and its synthetic MSE grows. Without a previous-year effective size
// the fit is the plain one, bit for bit (the metafor golden test keeps its figures).
TEST(SmallAreaTest, MeasurementErrorOfThePreviousYearWidensTheLinkingVariance) {
  auto towns = SimulatedTowns(80, 0.08);
  SmallAreaOptions adjusted;  // the default
  adjusted.bootstrap_replicates = 50;
  ASSERT_TRUE(adjusted.measurement_error);
  SmallAreaOptions plain = adjusted;
  plain.measurement_error = false;
  const auto base = FitFayHerriot(towns, plain);
  const auto unknown = FitFayHerriot(towns, adjusted);  // no prev_n_eff: nothing to adjust
  ASSERT_TRUE(base.ok() && unknown.ok());
  ASSERT_TRUE(base->used);
  EXPECT_EQ(unknown->sigma2u, base->sigma2u);
  for (std::size_t i = 0; i < towns.size(); ++i) {
    EXPECT_EQ(unknown->towns_out[i].estimate, base->towns_out[i].estimate);
    EXPECT_EQ(unknown->towns_out[i].ci_low, base->towns_out[i].ci_low);
    EXPECT_EQ(unknown->towns_out[i].ci_high, base->towns_out[i].ci_high);
  }
  for (std::size_t i = 0; i < towns.size(); ++i) towns[i].prev_n_eff = i % 2 ? 3.0 : 3000.0;
  towns[1].n = 0;  // a town without respondents, with a noisy previous-year figure
  const auto noisy_base = FitFayHerriot(towns, plain);
  const auto me = FitFayHerriot(towns, adjusted);
  ASSERT_TRUE(noisy_base.ok() && me.ok());
  ASSERT_TRUE(me->used) << me->reason;
  int less_shrunk = 0;
  for (std::size_t i = 2; i < towns.size(); ++i) {
    if (std::isnan(towns[i].prev_estimate) || i % 2 == 0) continue;
    const SmallAreaEstimate& e = me->towns_out[i];
    ASSERT_EQ(e.method, SmallAreaMethod::kEblup);
    // B_i = ψ_i / (σ̂²ᵤ + β̂²_prev C_i + ψ_i) with C_i = γ̂ / (4 · 3).
    const double prev_slope = me->beta[2];
    const double linking = me->sigma2u + prev_slope * prev_slope * me->gvf_gamma / 12;
    EXPECT_NEAR(e.shrinkage, e.psi / (linking + e.psi), 1e-12) << i;
    less_shrunk += e.shrinkage < e.psi / (me->sigma2u + e.psi) ? 1 : 0;
  }
  EXPECT_GT(less_shrunk, 20);
  EXPECT_EQ(me->towns_out[1].method, SmallAreaMethod::kSynthetic);
  EXPECT_GT(me->towns_out[1].mse, noisy_base->towns_out[1].mse) << "the synthetic MSE carries β̂² C_i";
  EXPECT_LE(0, me->towns_out[1].ci_low);
  EXPECT_LE(me->towns_out[1].ci_high, 1);
}

TEST(SmallAreaTest, BadInputNamesTheTown) {
  auto towns = SimulatedTowns(60, 0.08);
  towns[7].estimate = 1.5;
  auto fit = FitFayHerriot(towns);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("town7: estimate"), std::string::npos) << fit.status();
  towns[7].estimate = 0.5;
  towns[8].n_eff = static_cast<double>(towns[8].n) + 1;
  fit = FitFayHerriot(towns);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("town8: n_eff"), std::string::npos) << fit.status();
}

TEST(SmallAreaTest, InputsFromIndexRows) {
  auto row = [](std::string level, std::string code, std::int64_t n, double estimate) {
    IndexRow r;
    r.level = std::move(level);
    r.area_code = std::move(code);
    r.n = n;
    r.n_eff = static_cast<double>(n) / 2;
    r.estimate = estimate;
    r.se = 0.01;
    return r;
  };
  const std::vector<IndexRow> rows = {row("county", "c1", 30, 0.9), row("town", "t1", 10, 0.8),
                                      row("town", "t2", 20, 0.95)};
  const std::vector<IndexRow> previous = {row("town", "t1", 12, 0.85), row("town", "t3", 5, 0.7)};
  const auto towns =
      SmallAreaTownsFromRows(rows, previous, {"t1", "t2", "t3", "t4"}, {"c1", "c1", "c1", "c2"});
  ASSERT_EQ(towns.size(), 4u);
  EXPECT_EQ(towns[0].n, 10);
  EXPECT_EQ(towns[0].n_eff, 5);
  EXPECT_EQ(towns[0].estimate, 0.8);
  EXPECT_EQ(towns[0].county_estimate, 0.9);
  EXPECT_EQ(towns[0].prev_estimate, 0.85);
  EXPECT_TRUE(std::isnan(towns[1].prev_estimate));
  EXPECT_EQ(towns[2].n, 0);  // no row this year
  EXPECT_EQ(towns[2].prev_estimate, 0.7);
  EXPECT_TRUE(std::isnan(towns[3].county_estimate));
}

}  // namespace
}  // namespace minyi::aggregator

namespace minyi::aggregator {
namespace {

// Rows of two years over 40 towns of 2 counties: the model fills town rows of the index with a share and
// leaves county rows and the composite (no share) empty; the second year uses the first as its
// previous-year covariate.
TEST(SmallAreaTest, ModelTownRowsFitsEachPeriodAndIndex) {
  std::vector<Area> areas = {{"32", "省", AreaLevel::kProvince, ""},
                             {"3201", "市", AreaLevel::kCity, "32"},
                             {"320101", "甲区", AreaLevel::kCounty, "3201"},
                             {"320102", "乙区", AreaLevel::kCounty, "3201"}};
  const auto towns = SimulatedTowns(40, 0.15);
  std::vector<IndexRow> rows;
  for (int year : {2024, 2025}) {
    for (const std::string county : {"320101", "320102"}) {
      IndexRow c;
      c.period = Period{year, 0};
      c.level = "county";
      c.area_code = county;
      c.index_id = "security";
      c.n = 400;
      c.estimate = county == "320101" ? 0.9 : 0.93;
      rows.push_back(c);
    }
    for (std::size_t i = 0; i < towns.size(); ++i) {
      IndexRow t;
      t.period = Period{year, 0};
      t.level = "town";
      t.area_code = (i % 2 ? "320102" : "320101") + std::string(i < 10 ? "00" : "0") + std::to_string(i);
      if (year == 2024)
        areas.push_back({t.area_code, "镇" + std::to_string(i), AreaLevel::kTown, t.area_code.substr(0, 6)});
      t.index_id = "security";
      t.n = towns[i].n;
      t.n_eff = towns[i].n_eff;
      t.estimate = year == 2024 ? towns[i].estimate : towns[(i + 7) % towns.size()].estimate;
      t.se = year == 2024 ? towns[i].se : towns[(i + 7) % towns.size()].se;
      rows.push_back(t);
      t.index_id = "composite";  // a score-only index: no share
      t.estimate = std::numeric_limits<double>::quiet_NaN();
      rows.push_back(t);
    }
  }
  auto registry = AreaRegistry::FromAreas(areas);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const auto model = ModelTownRows(rows, *registry);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ(model->size(), rows.size());
  int eblup = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SmallAreaEstimate& e = (*model)[i];
    if (rows[i].level == "county" || rows[i].index_id == "composite") {
      EXPECT_EQ(e.method, SmallAreaMethod::kNone) << rows[i].area_code;
      continue;
    }
    EXPECT_EQ(e.method, SmallAreaMethod::kEblup) << rows[i].area_code;
    eblup += e.method == SmallAreaMethod::kEblup;
  }
  EXPECT_EQ(eblup, 80);
}

}  // namespace
}  // namespace minyi::aggregator
