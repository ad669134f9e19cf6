// Golden tests: every data set in this folder (responses.csv, population.csv) is aggregated in memory
// and every figure is compared with expected.csv, written by make_expected.R with R's survey package
// (docs/methodology.md §7.2). Tolerance: 1e-8 relative, or 1e-10 absolute when either value is below 1e-10 in
// magnitude (docs/methodology.md §7.1).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "aggregator/aggregate.h"
#include "aggregator/period_data.h"
#include "core/csv.h"
#include "tests/golden/golden_csv.h"

namespace minyi::aggregator {
namespace {

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/golden/aggregator/";

using golden::ReadCsv;
using golden::Table;

// The two indices of the data sets: answer code 6 is "no answer"; scores 100/75/50/25/0 for 1..5.
struct GoldenIndex {
  std::string id;
  std::set<int> positive;
};
const std::vector<GoldenIndex> kIndices = {{"security", {1, 2, 3}}, {"grid", {1, 2}}};

std::int32_t CodeId(std::vector<std::string>* dictionary, const std::string& code) {
  if (code.empty()) return kBlankCode;
  for (std::size_t i = 0; i < dictionary->size(); ++i) {
    if ((*dictionary)[i] == code) return static_cast<std::int32_t>(i);
  }
  dictionary->push_back(code);
  return static_cast<std::int32_t>(dictionary->size() - 1);
}

PeriodData Load(const std::string& set) {
  const Table responses = ReadCsv(kDir + set + "/responses.csv");
  const Table population = ReadCsv(kDir + set + "/population.csv");
  PeriodData data;
  data.period = Period{2024, 0};
  for (const GoldenIndex& index : kIndices) data.indices.push_back(IndexSpec{index.id, 30, true});
  std::map<std::string, TownPopulation> pop;
  for (const auto& row : population) {
    TownPopulation& p = pop[row.at("town")];
    const double n = std::stod(row.at("N"));
    if (!row.at("sex").empty()) {
      p.sex.push_back(MarginCell{CodeId(&data.sex_codes, row.at("sex")), n});
    } else if (!row.at("age_band").empty()) {
      p.age.push_back(MarginCell{CodeId(&data.age_codes, row.at("age_band")), n});
    } else {
      p.has_total = true;
      p.total = n;
    }
  }
  // Responses are grouped by town in the files.
  for (const auto& row : responses) {
    const std::string& town = row.at("town");
    if (data.towns.empty() || data.towns.back().code != town) {
      TownData t;
      t.code = town;
      t.county = row.at("county");
      t.city = row.at("city");
      t.province = town.substr(0, 2);
      t.population = pop[town];
      t.begin = static_cast<std::uint32_t>(data.base_weight.size());
      t.end = t.begin;
      data.towns.push_back(t);
    }
    std::vector<std::uint8_t> positive;
    std::vector<double> score;
    for (const GoldenIndex& index : kIndices) {
      const int code = std::stoi(row.at(index.id));
      positive.push_back(code == 6 ? kOutOfDomain : static_cast<std::uint8_t>(index.positive.count(code)));
      score.push_back(code == 6 ? 0.0 : 25.0 * (5 - code));
    }
    data.AddRespondent(std::stod(row.at("d0")), CodeId(&data.sex_codes, row.at("sex")),
                       CodeId(&data.age_codes, row.at("age_band")), positive, score);
  }
  return data;
}

double Field(const IndexRow& row, const std::string& name) {
  if (name == "n_eff") return row.n_eff;
  if (name == "estimate") return row.estimate;
  if (name == "se") return row.se;
  if (name == "ci_low") return row.ci_low;
  if (name == "ci_high") return row.ci_high;
  if (name == "score") return row.score;
  if (name == "score_se") return row.score_se;
  if (name == "score_ci_low") return row.score_ci_low;
  if (name == "score_ci_high") return row.score_ci_high;
  if (name == "deff") return row.deff;
  ADD_FAILURE() << "unknown field " << name;
  return 0;
}

bool Close(double actual, double expected) {
  if (std::fabs(actual) < 1e-10 || std::fabs(expected) < 1e-10) return std::fabs(actual - expected) <= 1e-10;
  return std::fabs(actual - expected) <= 1e-8 * std::fabs(expected);
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesRSurvey) {
  const PeriodData data = Load(GetParam());
  PeriodOptions options;
  options.threads = 2;
  const Result<PeriodResult> result = AggregatePeriod(data, options);
  ASSERT_TRUE(result.ok()) << result.status();
  std::map<std::string, const IndexRow*> actual;
  for (const IndexRow& row : result->rows) actual[row.level + "/" + row.area_code + "/" + row.index_id] = &row;

  const Table expected = ReadCsv(kDir + GetParam() + "/expected.csv");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(expected.size(), result->rows.size());
  int compared = 0;
  for (const auto& e : expected) {
    const std::string key = e.at("level") + "/" + e.at("area") + "/" + e.at("index");
    const auto it = actual.find(key);
    ASSERT_NE(it, actual.end()) << key;
    const IndexRow& row = *it->second;
    EXPECT_EQ(row.n, std::stoll(e.at("n"))) << key;
    EXPECT_EQ(row.ci_method, e.at("ci_method")) << key;
    EXPECT_EQ(row.weighting, e.at("weighting")) << key;
    for (const char* name : {"n_eff", "estimate", "se", "ci_low", "ci_high", "score", "score_se", "score_ci_low",
                             "score_ci_high", "deff"}) {
      const std::string& text = e.at(name);
      const double value = Field(row, name);
      if (text.empty()) {
        EXPECT_TRUE(std::isnan(value)) << key << " " << name << " = " << value << ", R: NA";
        continue;
      }
      const double want = std::stod(text);
      EXPECT_TRUE(Close(value, want)) << key << " " << name << ": " << value << " vs R " << want
                                      << " (rel " << (value - want) / want << ")";
      ++compared;
    }
  }
  EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(Sets, GoldenTest, ::testing::Values("poststrat", "raking", "single"));

TEST(GoldenDataTest, RakingSetHasTheIntendedTowns) {
  const PeriodData data = Load("raking");
  const Result<PeriodResult> result = AggregatePeriod(data, {});
  ASSERT_TRUE(result.ok());
  std::map<std::string, const TownWeighting*> by_code;
  for (std::size_t t = 0; t < data.towns.size(); ++t) by_code[data.towns[t].code] = &result->towns[t];
  EXPECT_GT(by_code.at("320812002")->sweeps, 20);  // strongly associated sex and age: many sweeps
  EXPECT_EQ(by_code.at("320813001")->method, Weighting::kFallback);
  EXPECT_EQ(by_code.at("320813005")->method, Weighting::kFallback);
  EXPECT_EQ(by_code.at("320813003")->n, 1);
  EXPECT_EQ(result->fallback_towns, 2);
  EXPECT_EQ(result->lonely_strata, 1);
}

}  // namespace
}  // namespace minyi::aggregator
