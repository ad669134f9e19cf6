// The binomial logit-normal small-area model against R (make_expected.R: nested integrate() and nlminb) on
// the fixed data set data.csv: the GVF factor, β̂, σ̂_v, σ̂_u, the maximised log-likelihood, and the posterior
// mean and SD of p for towns with and without respondents and in a county without any.
// Tolerances: the log-likelihood and the posterior moments 1e-6 (R's integrals are accurate to about 1e-10
// relative, our 12-node adaptive Gauss–Hermite rules to about 1e-8 per county: aggregator/
// small_area_binomial_test.cc; measured here 2.7e-7 on the log-likelihood); the parameters 1e-5 (measured:
// β̂ 4e-8, σ̂_v 1.2e-7, σ̂_u 3.8e-6 apart — the likelihood of 16 towns is flat in σ_u, and R's nlminb, on a
// central-difference gradient, stops with "singular convergence" there).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "aggregator/small_area_binomial.h"
#include "tests/golden/golden_csv.h"
#include "tests/golden/small_area_towns.h"

namespace minyi::aggregator {
namespace {

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/golden/small_area_binomial/";

using golden::Number;
using golden::ReadCsv;

TEST(SmallAreaBinomialGoldenTest, MatchesR) {
  std::vector<std::string> county_of;
  const std::vector<SmallAreaTown> towns = golden::ReadSmallAreaTowns(kDir + "data.csv", &county_of);
  BinomialOptions options;
  options.tolerance = 1e-12;
  const auto fit = FitBinomialEb(towns, county_of, options);
  ASSERT_TRUE(fit.ok()) << fit.status().message();
  ASSERT_TRUE(fit->used) << fit->reason;
  const auto r = ReadCsv(kDir + "fit.csv").at(0);
  EXPECT_NEAR(fit->gvf_gamma, Number(r.at("gamma")), 1e-12);
  EXPECT_NEAR(fit->loglik, Number(r.at("loglik")), 1e-6);
  EXPECT_NEAR(fit->parameters.beta, Number(r.at("beta")), 1e-5);
  EXPECT_NEAR(fit->parameters.sigma_v, Number(r.at("sigma_v")), 1e-5);
  EXPECT_NEAR(fit->parameters.sigma_u, Number(r.at("sigma_u")), 1e-5);
  // The posterior moments at R's parameters (so that they test the prediction, not the optimiser again).
  std::map<std::string, int> county_index;
  std::vector<BinomialTown> data;
  for (std::size_t i = 0; i < towns.size(); ++i) {
    const double k = towns[i].n > 0 ? towns[i].n_eff / fit->gvf_gamma : 0;
    data.push_back({k, k > 0 ? towns[i].estimate * k : 0,
                    county_index.emplace(county_of[i], static_cast<int>(county_index.size())).first->second});
  }
  const BinomialParameters at_r{Number(r.at("beta")), Number(r.at("sigma_v")), Number(r.at("sigma_u"))};
  EXPECT_NEAR(BinomialMarginalLogLik(data, static_cast<int>(county_index.size()), at_r, 12),
              Number(r.at("loglik")), 1e-6);
  const auto posterior = BinomialPosteriors(data, static_cast<int>(county_index.size()), at_r);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < towns.size(); ++i) index[towns[i].area_code] = i;
  const auto expected = ReadCsv(kDir + "expected.csv");
  ASSERT_GE(expected.size(), 5u);
  for (const auto& row : expected) {
    const SmallAreaEstimate& e = posterior.at(index.at(row.at("town")));
    EXPECT_NEAR(e.estimate, Number(row.at("estimate")), 1e-6) << row.at("town");
    EXPECT_NEAR(e.se, Number(row.at("se")), 1e-6) << row.at("town");
  }
}

}  // namespace
}  // namespace minyi::aggregator
