#include "aggregator/small_area_binomial.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace minyi::aggregator {
namespace {

double Expit(double x) { return 1 / (1 + std::exp(-x)); }
double Phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); }

// ∫_{-12}^{12} f by adaptive Gauss–Kronrod (Boost), the brute-force reference for the adaptive
// Gauss–Hermite rules of the implementation.
template <typename F>
double Integral(F f, double upper = 12.0) {
  if (upper <= -12.0) return 0.0;
  return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(f, -12.0, std::min(upper, 12.0), 15,
                                                                       1e-13);
}

double TownLikelihood(const BinomialTown& t, double eta) {
  const double p = Expit(eta);
  return std::pow(p, t.successes) * std::pow(1 - p, t.trials - t.successes);
}

// Three counties, trials non-integer, shares of 1 and 0 and in between, one county with a large town.
std::vector<BinomialTown> SmallData() {
  return {{3.4, 3.4, 0}, {7.0, 6.0, 0}, {1.2, 1.2, 0},   {12.5, 11.0, 0}, {5.0, 5.0, 1},
          {2.0, 0.0, 1}, {9.3, 8.1, 1}, {40.0, 37.5, 2}, {0, 0, 2},       {6.6, 6.6, 2}};
}

TEST(SmallAreaBinomialTest, MarginalLikelihoodMatchesNestedGaussKronrod) {
  const auto towns = SmallData();
  for (const BinomialParameters th : {BinomialParameters{2.0, 0.4, 0.6}, BinomialParameters{3.0, 0.05, 1.2},
                                      BinomialParameters{1.5, 0.8, 0.0}, BinomialParameters{2.5, 0.0, 0.3}}) {
    double expected = 0;
    for (int c = 0; c < 3; ++c) {
      expected += std::log(Integral([&](double v) {
        double product = Phi(v);
        for (const BinomialTown& t : towns) {
          if (t.county != c || t.trials == 0) continue;
          product *= th.sigma_u == 0 ? TownLikelihood(t, th.beta + th.sigma_v * v) : Integral([&](double u) {
            return Phi(u) * TownLikelihood(t, th.beta + th.sigma_v * v + th.sigma_u * u);
          });
        }
        return product;
      }));
    }
    // 12 nodes per level are accurate to 2e-8 at σ ≤ 0.8 (measured: 1.9e-8 at σ_v = 0.8, 6e-10 at σ_u = 0.6);
    // a town effect as large as 1.2 with towns whose shares are 1 makes the inner integrand skewed enough to
    // need 20 (12 nodes: 4.5e-6 off, 20 nodes: 1.7e-8).
    const int nodes = th.sigma_u > 1 ? 20 : 12;
    EXPECT_NEAR(BinomialMarginalLogLik(towns, 3, th, nodes), expected, 5e-8)
        << th.beta << " " << th.sigma_v << " " << th.sigma_u;
  }
}

TEST(SmallAreaBinomialTest, PosteriorMatchesNestedGaussKronrod) {
  const auto towns = SmallData();
  const BinomialParameters th{2.2, 0.5, 0.7};
  const auto out = BinomialPosteriors(towns, 3, th);
  ASSERT_EQ(out.size(), towns.size());
  // Town 7 (county 2, 40 trials) and town 8 (county 2, no respondents): the posterior of p by brute force,
  // E[g(p)] = ∫∫ φ(v) φ(u) g(p) L(v, u) / ∫∫ φ(v) φ(u) L(v, u), L the county's likelihood.
  for (const std::size_t target : {std::size_t{7}, std::size_t{8}, std::size_t{2}}) {
    const int c = towns[target].county;
    // `cut`: only logit p ≤ cut (the inner integral's upper end), for the posterior CDF.
    auto moment = [&](auto g, double cut = INFINITY) {
      return Integral([&](double v) {
        double others = Phi(v);
        for (std::size_t i = 0; i < towns.size(); ++i) {
          if (i == target || towns[i].county != c || towns[i].trials == 0) continue;
          others *= Integral([&](double u) {
            return Phi(u) * TownLikelihood(towns[i], th.beta + th.sigma_v * v + th.sigma_u * u);
          });
        }
        return others * Integral(
                            [&](double u) {
                              const double eta = th.beta + th.sigma_v * v + th.sigma_u * u;
                              return Phi(u) * TownLikelihood(towns[target], eta) * g(eta);
                            },
                            (cut - th.beta - th.sigma_v * v) / th.sigma_u);
      });
    };
    const double mass = moment([](double) { return 1.0; });
    const double mean = moment([](double eta) { return Expit(eta); }) / mass;
    const double second = moment([](double eta) { return Expit(eta) * Expit(eta); }) / mass;
    EXPECT_EQ(out[target].method, SmallAreaMethod::kBinomialEb);
    EXPECT_EQ(out[target].interval, SmallAreaInterval::kPosterior);
    EXPECT_NEAR(out[target].estimate, mean, 1e-7) << target;
    EXPECT_NEAR(out[target].se, std::sqrt(second - mean * mean), 1e-7) << target;
    // The interval's ends are the 2.5% and 97.5% posterior quantiles: the posterior mass below each.
    for (const auto& [end, level] :
         {std::pair{out[target].ci_low, 0.025}, std::pair{out[target].ci_high, 0.975}}) {
      const double cut = std::log(end / (1 - end));
      const double below = moment([](double) { return 1.0; }, cut) / mass;
      EXPECT_NEAR(below, level, 2e-4) << target << " " << level;
    }
  }
}

// `per_county` towns in each of `counties` counties from the model with known parameters.
std::vector<SmallAreaTown> Simulated(int counties, int per_county, double beta, double sigma_v,
                                     double sigma_u, int size, std::vector<std::string>* county_of,
                                     std::vector<double>* truth) {
  std::mt19937_64 rng(26);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  std::vector<SmallAreaTown> towns;
  for (int c = 0; c < counties; ++c) {
    const double v = sigma_v * normal(rng);
    for (int i = 0; i < per_county; ++i) {
      const double p = Expit(beta + v + sigma_u * normal(rng));
      SmallAreaTown t;
      t.area_code = "t" + std::to_string(c) + "_" + std::to_string(i);
      t.n = i == 0 ? 0 : size;  // the first town of each county without respondents
      const double n = static_cast<double>(t.n);
      int yes = 0;
      for (int r = 0; r < t.n; ++r) yes += uniform(rng) < p ? 1 : 0;
      t.n_eff = static_cast<double>(t.n);
      t.estimate = t.n > 0 ? static_cast<double>(yes) / n : NAN;
      t.se = t.n > 0 ? std::sqrt(t.estimate * (1 - t.estimate) / n) : NAN;
      towns.push_back(t);
      county_of->push_back("c" + std::to_string(c));
      truth->push_back(p);
    }
  }
  return towns;
}

TEST(SmallAreaBinomialTest, FitRecoversTheParametersAndIsAMaximum) {
  std::vector<std::string> county_of;
  std::vector<double> truth;
  const auto towns = Simulated(40, 12, 2.0, 0.4, 0.5, 40, &county_of, &truth);
  const auto fit = FitBinomialEb(towns, county_of);
  ASSERT_TRUE(fit.ok()) << fit.status().message();
  ASSERT_TRUE(fit->used) << fit->reason;
  EXPECT_NEAR(fit->gvf_gamma, 1.0, 1e-12);  // simple random sampling: se² = p̂ (1 − p̂) / n
  EXPECT_NEAR(fit->parameters.beta, 2.0, 0.15);
  EXPECT_NEAR(fit->parameters.sigma_v, 0.4, 0.15);
  EXPECT_NEAR(fit->parameters.sigma_u, 0.5, 0.12);
  // A maximum: every parameter moved by ±1e-3 lowers the log-likelihood.
  std::vector<BinomialTown> data;
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const double k = static_cast<double>(towns[i].n);
    data.push_back(
        {k, k > 0 ? towns[i].estimate * k : 0, index.emplace(county_of[i], index.size()).first->second});
  }
  EXPECT_NEAR(BinomialMarginalLogLik(data, 40, fit->parameters, 12), fit->loglik, 1e-12);
  for (int j = 0; j < 3; ++j) {
    for (double d : {-1e-3, 1e-3}) {
      BinomialParameters moved = fit->parameters;
      (j == 0 ? moved.beta : j == 1 ? moved.sigma_v : moved.sigma_u) += d;
      EXPECT_LT(BinomialMarginalLogLik(data, 40, moved, 12), fit->loglik) << j << " " << d;
    }
  }
  // Shrinkage pays: the posterior means are closer to the truth than the direct shares, and the towns
  // without respondents get a figure inside [0, 1].
  double sq_direct = 0, sq_model = 0;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const auto& e = fit->towns_out[i];
    EXPECT_EQ(e.method, SmallAreaMethod::kBinomialEb);
    EXPECT_TRUE(e.ci_low >= 0 && e.ci_low <= e.estimate && e.estimate <= e.ci_high && e.ci_high <= 1) << i;
    if (towns[i].n == 0) continue;
    sq_direct += std::pow(towns[i].estimate - truth[i], 2);
    sq_model += std::pow(e.estimate - truth[i], 2);
  }
  EXPECT_LT(sq_model, 0.7 * sq_direct);
}

TEST(SmallAreaBinomialTest, NotUsedWithFewTownsAndBadInputNamed) {
  std::vector<std::string> county_of;
  std::vector<double> truth;
  auto towns = Simulated(2, 5, 2.0, 0.4, 0.5, 20, &county_of, &truth);
  auto fit = FitBinomialEb(towns, county_of);
  ASSERT_TRUE(fit.ok());
  EXPECT_FALSE(fit->used);
  EXPECT_EQ(fit->towns_out[1].method, SmallAreaMethod::kDirect);
  EXPECT_EQ(fit->towns_out[1].estimate, towns[1].estimate);
  EXPECT_EQ(fit->towns_out[0].method, SmallAreaMethod::kNone);

  towns[3].estimate = 1.5;
  fit = FitBinomialEb(towns, county_of);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("town t0_3"), std::string::npos) << fit.status().message();
  county_of.pop_back();
  EXPECT_FALSE(FitBinomialEb(towns, county_of).ok());
}

}  // namespace
}  // namespace minyi::aggregator
