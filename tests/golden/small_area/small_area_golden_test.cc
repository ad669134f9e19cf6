// The small-area model against R (make_expected.R, metafor 4.x): the GVF factor, σ̂²ᵤ, β̂ and, per town,
// the EBLUP or synthetic estimate on the arcsine scale, its MSE, the shrinkage factor and the
// back-transformed estimate, and the Prasad–Rao SE and interval (published with bootstrap_replicates = 0),
// on the fixed data set data.csv. Tolerance 1e-6 (absolute, or relative above 1).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "aggregator/small_area.h"
#include "core/csv.h"
#include "tests/golden/golden_csv.h"
#include "tests/golden/small_area_towns.h"

namespace minyi::aggregator {
namespace {

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/golden/small_area/";
constexpr double kTolerance = 1e-6;

using golden::Number;
using golden::ReadCsv;
using golden::Table;

void ExpectClose(double expected, double actual, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual;
    return;
  }
  EXPECT_LE(std::abs(actual - expected), kTolerance * std::max(1.0, std::abs(expected)))
      << what << ": R " << expected << ", minyi " << actual;
}

std::vector<SmallAreaTown> ReadTowns() { return golden::ReadSmallAreaTowns(kDir + "data.csv"); }

// The fit, the EBLUPs and the Prasad–Rao MSE against R. The published SE and interval are R's when they
// are the Prasad–Rao ones (B = 0); with the bootstrap they are only checked to be sensible intervals.
void ExpectMatchesR(const std::vector<SmallAreaTown>& towns, const SmallAreaFit& fit) {
  ASSERT_TRUE(fit.used) << fit.reason;
  std::map<std::string, double> r_fit;
  for (const auto& row : ReadCsv(kDir + "fit.csv")) r_fit[row.at("name")] = Number(row.at("value"));
  ExpectClose(r_fit.at("gvf_gamma"), fit.gvf_gamma, "gvf_gamma");
  ExpectClose(r_fit.at("sigma2u"), fit.sigma2u, "sigma2u");
  ASSERT_EQ(fit.columns, (std::vector<std::string>{"intercept", "county", "prev", "prev_missing"}));
  for (std::size_t j = 0; j < fit.columns.size(); ++j) {
    ExpectClose(r_fit.at(fit.columns[j]), fit.beta[j], "beta " + fit.columns[j]);
  }

  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < towns.size(); ++i) index[towns[i].area_code] = i;
  const Table expected = ReadCsv(kDir + "expected.csv");
  ASSERT_EQ(expected.size(), towns.size());
  for (const auto& row : expected) {
    const std::string town = row.at("town");
    const SmallAreaEstimate& e = fit.towns_out.at(index.at(town));
    EXPECT_EQ(SmallAreaMethodName(e.method), row.at("method")) << town;
    ExpectClose(Number(row.at("theta")), e.theta, town + " theta");
    ExpectClose(Number(row.at("mse")), e.mse, town + " mse");
    ExpectClose(Number(row.at("shrinkage")), e.shrinkage, town + " shrinkage");
    ExpectClose(Number(row.at("estimate")), e.estimate, town + " estimate");
    if (fit.bootstrap_replicates == 0) {
      ExpectClose(Number(row.at("se")), e.se, town + " se");
      ExpectClose(Number(row.at("ci_low")), e.ci_low, town + " ci_low");
      ExpectClose(Number(row.at("ci_high")), e.ci_high, town + " ci_high");
      EXPECT_EQ(e.interval, SmallAreaInterval::kPrasadRao) << town;
    } else if (e.method == SmallAreaMethod::kEblup || e.method == SmallAreaMethod::kSynthetic) {
      EXPECT_EQ(e.interval, SmallAreaInterval::kBootstrap) << town;
      EXPECT_GT(e.mse_bootstrap, 0) << town;
      EXPECT_LE(0, e.ci_low) << town;
      EXPECT_LT(e.ci_low, e.ci_high) << town;
      EXPECT_LE(e.ci_high, 1) << town;
    }
  }
}

// With B = 0 the published SE and interval are the Prasad–Rao ones, all of them written out in R.
TEST(SmallAreaGoldenTest, MatchesMetaforRemlAndThePrasadRaoMse) {
  const std::vector<SmallAreaTown> towns = ReadTowns();
  ASSERT_EQ(towns.size(), 70u);
  SmallAreaOptions options;
  options.bootstrap_replicates = 0;
  const auto fit = FitFayHerriot(towns, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectMatchesR(towns, *fit);
}

// With the default bootstrap the fit, the EBLUPs and the Prasad–Rao MSE are still R's; only the published
// SE and interval are the bootstrap's.
TEST(SmallAreaGoldenTest, BootstrapKeepsTheFitTheEblupAndThePrasadRaoMse) {
  const std::vector<SmallAreaTown> towns = ReadTowns();
  const auto fit = FitFayHerriot(towns);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->bootstrap_replicates, SmallAreaOptions{}.bootstrap_replicates);
  ExpectMatchesR(towns, *fit);
}

}  // namespace
}  // namespace minyi::aggregator
