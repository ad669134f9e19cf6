// Questionnaire map files (collector/questionnaire/questionnaire_map.h ParseQuestionnaireMap), checked
// against the survey catalog; a parsed map then reads the 问卷星 header and first row of the
// questionnaire fixtures with its overrides.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/questionnaire/questionnaire_map.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace q = minyi::collector::questionnaire;
  auto map = q::ParseQuestionnaireMap(minyi::fuzz::AsText(data, size), &minyi::fuzz::Surveys());
  if (!map.ok()) return 0;
  const auto survey = minyi::fuzz::Surveys().Find(map->survey.empty() ? "quest-test" : map->survey);
  if (survey == nullptr) return 0;
  // The header and first row of tests/fixtures/questionnaire/wjx_text.csv.
  const std::vector<std::string> header = {"序号",
                                           "提交答卷时间",
                                           "所用时间",
                                           "来源",
                                           "1、总体来说，您觉得您所在的乡镇（街道）安全吗？",
                                           "2、您对所在网格的网格员工作满意吗？",
                                           "3、您经常参加社区的哪些活动？",
                                           "4、您所在的镇街是？",
                                           "5、您对平安建设还有什么意见建议？"};
  q::HeaderOptions options;
  options.map = &map.value();
  options.town_column = map->town_question;
  auto layout = q::AnalyzeHeader(header, *survey, options);
  if (!layout.ok()) return 0;
  const std::vector<std::string> row = {"1",    "2026-06-16 08:00:00", "35秒",     "微信",        "很安全",
                                        "满意", "运动┋读书",           "城南街道", "路灯再亮一些"};
  (void)q::ConvertRow(*layout, *survey, row, 480, &map.value());
  return 0;
}
