// An area against its parent (VsParentJson, issue 14's map): the z test with the part–whole covariance.
#include "dashboards/dashboard_json.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace minyi::dashboards::json {
namespace {

IndexRow Row(const std::string& code, double p, double se, double sum_w) {
  IndexRow r;
  r.area_code = code;
  r.estimate = p;
  r.se = se;
  r.sum_w = sum_w;
  return r;
}

// The member VsParentJson returns (",\"vs_parent\":{...}"), parsed.
Poco::JSON::Object::Ptr Parsed(const std::string& member) {
  EXPECT_EQ(member.rfind(",\"vs_parent\":", 0), 0u) << member;
  Poco::JSON::Parser parser;
  return parser.parse("{" + member.substr(1) + "}")
      .extract<Poco::JSON::Object::Ptr>()
      ->getObject("vs_parent");
}

TEST(VsParentJson, TheCovarianceOfAPartAndItsWholeDecides) {
  // The county holds half of its city's weight: cov ≈ 0.5·se_c², so var(diff) = 0.03² + 0.005² − 0.03²
  // = 0.005²: z = 0.05 / 0.005 = 10. Without the covariance z would be 0.05 / sqrt(0.000925) = 1.64,
  // not significant.
  const IndexRow county = Row("320812", 0.90, 0.03, 500);
  const IndexRow city = Row("3208", 0.85, 0.005, 1000);
  auto v = Parsed(VsParentJson(&county, &city, false));
  EXPECT_EQ(v->getValue<std::string>("parent"), "3208");
  EXPECT_NEAR(v->getValue<double>("diff"), 0.05, 1e-12);
  EXPECT_NEAR(v->getValue<double>("se"), 0.005, 1e-9);
  EXPECT_NEAR(v->getValue<double>("z"), 10.0, 1e-6);
  EXPECT_EQ(v->getValue<std::string>("significant"), "above");
}

TEST(VsParentJson, BelowAndNotSignificant) {
  const IndexRow city = Row("32", 0.85, 0.01, 10000);
  // w = 0.1: var = 0.02² + 0.01² − 2·0.1·0.02² = 0.00042; z = −0.05 / 0.020494 = −2.44.
  const IndexRow lower = Row("3201", 0.80, 0.02, 1000);
  auto below = Parsed(VsParentJson(&lower, &city, false));
  EXPECT_NEAR(below->getValue<double>("z"), -0.05 / std::sqrt(0.00042), 1e-6);
  EXPECT_EQ(below->getValue<std::string>("significant"), "below");
  // −0.03 / 0.020494 = −1.46: no mark, the member says null.
  const IndexRow close = Row("3202", 0.82, 0.02, 1000);
  auto same = Parsed(VsParentJson(&close, &city, false));
  EXPECT_TRUE(same->isNull("significant"));
}

TEST(VsParentJson, NothingWhenSuppressedForTheViewerOrWithoutAFigure) {
  IndexRow child = Row("320812", 0.9, 0.03, 500);
  IndexRow parent = Row("3208", 0.85, 0.005, 1000);
  child.low_n = true;
  EXPECT_EQ(VsParentJson(&child, &parent, false), "");
  EXPECT_NE(VsParentJson(&child, &parent, true), "");  // a statistician sees low-n figures
  child.low_n = false;
  parent.low_n = true;
  EXPECT_EQ(VsParentJson(&child, &parent, false), "");
  parent.low_n = false;
  EXPECT_EQ(VsParentJson(&child, nullptr, false), "");
  EXPECT_EQ(VsParentJson(nullptr, &parent, false), "");
  child.se = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(VsParentJson(&child, &parent, false), "");
}

TEST(VsParentJson, ScoresWhenTheIndexHasNoShare) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  IndexRow child = Row("3201", nan, nan, 100);
  IndexRow parent = Row("32", nan, nan, 1000);
  child.score = 80;
  child.score_se = 1;
  parent.score = 85;
  parent.score_se = 0.5;
  auto v = Parsed(VsParentJson(&child, &parent, false));
  EXPECT_NEAR(v->getValue<double>("diff"), -5, 1e-12);
  EXPECT_EQ(v->getValue<std::string>("significant"), "below");
}

}  // namespace
}  // namespace minyi::dashboards::json
