#include "core/analysis.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace minyi {
namespace {

TEST(AnalysisCodesTest, FirstValueOfEveryAnsweredQuestionInCodeOrder) {
  const Answers answers = {{"sex", {"2"}},
                           {"age_band", {"60+"}},
                           {"multi", {"a", "b"}},
                           {"comment", {"路灯 坏了"}},
                           {"empty", {}},
                           {"long", {std::string(33, 'x')}},
                           {"grid", {"9"}}};
  EXPECT_EQ(AnalysisCodes(answers), "age_band=60+ comment=? grid=9 long=? multi=a sex=2");
  EXPECT_EQ(AnalysisCodes({}), "");
}

TEST(AnalysisCodesTest, OptionCodeForm) {
  EXPECT_TRUE(IsOptionCodeForm("18-29"));
  EXPECT_TRUE(IsOptionCodeForm("A_b+9"));
  EXPECT_TRUE(IsOptionCodeForm(std::string(32, 'x')));
  EXPECT_FALSE(IsOptionCodeForm(std::string(33, 'x')));
  EXPECT_FALSE(IsOptionCodeForm(""));
  EXPECT_FALSE(IsOptionCodeForm("a b"));
  EXPECT_FALSE(IsOptionCodeForm("a=b"));
  EXPECT_FALSE(IsOptionCodeForm("满意"));
}

TEST(AnalysisCodesTest, ForEachSplitsTokensAndSkipsMalformedOnes) {
  std::vector<std::pair<std::string, std::string>> seen;
  ForEachAnalysisCode("age_band=60+ junk grid=? sex=", [&](std::string_view q, std::string_view v) {
    seen.emplace_back(std::string(q), std::string(v));
  });
  const std::vector<std::pair<std::string, std::string>> want = {{"age_band", "60+"}, {"grid", "?"}, {"sex", ""}};
  EXPECT_EQ(seen, want);
  seen.clear();
  ForEachAnalysisCode("", [&](std::string_view q, std::string_view v) { seen.emplace_back(q, v); });
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace minyi
