// SMS reply parser throughput (replies/s) on a mix of real-looking replies; see bench/RESULTS.md.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collector/common/reply_parser.h"
#include "core/survey.h"

namespace {

using minyi::collector::PreparedSurvey;
using minyi::collector::PrepareReply;

const minyi::SurveyDefinition& Survey() {
  static const minyi::SurveyDefinition survey = [] {
    std::ifstream in(std::string(MINYI_SOURCE_DIR) + "/conf/surveys/jiangsu-safety.json");
    std::stringstream text;
    text << in.rdbuf();
    return std::move(minyi::ParseSurveyDefinition(text.str())).value();
  }();
  return survey;
}

// Parses `replies` in turn against the default survey's five pending questions, as the SMS service does:
// the survey's words prepared once, each reply folded (PrepareReply) and parsed.
void ParseInTurn(benchmark::State& state, const std::vector<std::string>& replies) {
  const PreparedSurvey words(Survey());
  std::vector<const minyi::Question*> pending;
  for (const auto& q : Survey().questions) pending.push_back(&q);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(words.Parse(PrepareReply(replies[i]), pending));
    i = (i + 1) % replies.size();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseReplyMix(benchmark::State& state) {
  ParseInTurn(state, {"1", "１", "①", "很安全", "不太安全", "1 2 1 3", "3号楼 张三 1", "一般", "TD", "谢谢",
                      "很安全，比较满意", "选2", "我今年65岁，感觉很安全"});
}
BENCHMARK(BM_ParseReplyMix);

// The common path: a plain exact answer (a digit or an option label as listed), nothing else.
void BM_ParseReplyExact(benchmark::State& state) {
  ParseInTurn(state, {"1", "2", "3", "很安全", "安全", "基本安全", "不太安全", "6"});
}
BENCHMARK(BM_ParseReplyExact);

}  // namespace

BENCHMARK_MAIN();
