// WeChat export import throughput and memory (bench/RESULTS.md "WeChat import", issue 16): for each exporter
// layout, generates a chat export of the given size (tests/support/chat_export_generator.h: one group, 2,000
// members, a grid worker's survey prompt every day, about 5% of messages answers, the rest chatter,
// multi-line messages, quotes, media and recalls) into a temporary directory, then RUNS times: `wc -l` on
// the file (the page-cache limit, measured in the same run) and an import (decode, parse, prompts,
// replies, responses; the revision store is a counter, so the figure is the importer's own, as with
// --dry-run). Prints the medians, their ratio, the answers and the peak RSS (of the process so far),
// with `uptime` before and after (the machine is shared); deletes the files. Also the CPU time of each
// (the import's own, `wc -l`'s as a child) and their rates per CPU-second, which a loaded machine moves
// far less than the wall times.
//
// Usage: [READ_AHEAD=BATCHES] wechat_import_bench [MEGABYTES=256] [RUNS=3] [LAYOUT...]   LAYOUT:
// wechatmsg.txt,
//        wechatmsg.csv, pywxdump.csv, wechatexporter.txt, chatlog.csv (default: all five). READ_AHEAD=4 reads
//        on a thread of its own with 4 batches between it and recognition (default:
//        WechatImportOptions', one thread since the quiet A/B); CPU times are of every thread of this
//        process.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "collector/wechat/wechat_import.h"
#include "core/areas.h"
#include "core/survey.h"
#include "tests/support/chat_export_generator.h"

namespace {

using minyi::collector::wechat::WechatImporter;
using minyi::testing::ChatLayout;

class CountingReviser final : public minyi::ResponseReviser {
 public:
  using minyi::ResponseReviser::StoreRevisions;
  minyi::Status StoreRevisions(const std::vector<minyi::Response>& batch, std::string_view,
                               const minyi::RevisePolicy&,
                               std::vector<minyi::ReviseResult>* results) override {
    results->assign(batch.size(), minyi::ReviseResult{});
    stored += batch.size();
    return minyi::Status::Ok();
  }
  minyi::Result<minyi::WithdrawOutcome> Withdraw(minyi::Channel, std::string_view,
                                                 std::string_view) override {
    return minyi::WithdrawOutcome::kNotFound;
  }
  minyi::Result<std::vector<minyi::RevisionRecord>> RevisionLog(minyi::Channel, std::string_view) override {
    return std::vector<minyi::RevisionRecord>{};
  }
  minyi::Result<std::vector<minyi::RevisionActivity>> RevisionActivitySince(std::int64_t) override {
    return std::vector<minyi::RevisionActivity>{};
  }
  std::size_t stored = 0;
};

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// CPU seconds of this process (every thread: the import's and its read-ahead thread) and of its
// waited-for children.
double CpuSeconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The first line a shell command prints (`uptime`, `wc -l`).
std::string CommandLine(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char line[512];
    if (std::fgets(line, sizeof line, p) != nullptr) out = line;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t megabytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  std::vector<ChatLayout> layouts;
  for (int i = 3; i < argc; ++i) {
    for (ChatLayout l : minyi::testing::kAllChatLayouts) {
      if (std::string(argv[i]) == minyi::testing::ChatLayoutFileName(l)) layouts.push_back(l);
    }
  }
  if (layouts.empty())
    layouts.assign(std::begin(minyi::testing::kAllChatLayouts), std::end(minyi::testing::kAllChatLayouts));

  auto areas = minyi::AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  auto surveys = minyi::SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
  auto keyer = minyi::collector::RespondentKeyer::Create("bench-secret-0123456789");
  if (!areas.ok() || !surveys.ok() || !keyer.ok()) {
    std::cerr << "setup failed\n";
    return 1;
  }
  minyi::collector::wechat::WechatImportOptions options;
  options.period = minyi::Period{2024, 0};
  options.town_code = "320812007";
  options.grid_workers = {"网格员_小王", "wxid_grid"};
  options.group = "幸福里一群";
  // READ_AHEAD=N: N batches read ahead on a thread of its own (WechatImportOptions::read_ahead_batches; 0 or
  // 1: one thread, the default), to compare.
  if (const char* read_ahead = std::getenv("READ_AHEAD")) {
    options.read_ahead_batches = std::strtoull(read_ahead, nullptr, 10);
  }

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("minyi-wechat-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::printf("uptime before: %s\n", CommandLine("uptime").c_str());
  std::printf(
      "%d runs per layout, medians; wc -l = `wc -l FILE` on the same file (page cache) in the same run\n",
      runs);
  std::printf(
      "| layout | MB | messages | wc -l MB/s | import s | import MB/s | ratio to wc -l | answers | peak RSS "
      "MB | import CPU s | import MB/CPU-s | wc -l MB/CPU-s | CPU ratio |\n");
  std::printf(
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (ChatLayout layout : layouts) {
    const std::string path = (dir / minyi::testing::ChatLayoutFileName(layout)).string();
    std::size_t generated = 0;
    {
      std::ofstream out(path, std::ios::binary);
      generated = minyi::testing::GenerateChatExport(out, layout, megabytes << 20);
    }
    const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
    std::vector<double> wc_s, import_s, wc_cpu, import_cpu;
    std::size_t answers = 0;
    for (int run = 0; run < runs; ++run) {
      auto w0 = std::chrono::steady_clock::now();
      const double wc_cpu0 = CpuSeconds(RUSAGE_CHILDREN);
      const std::string lines = CommandLine("wc -l '" + path + "'");
      wc_s.push_back(Seconds(w0));
      wc_cpu.push_back(CpuSeconds(RUSAGE_CHILDREN) - wc_cpu0);
      if (lines.empty()) std::cerr << "wc -l failed\n";
      auto importer = WechatImporter::Create(*surveys->Find("jiangsu-safety"), *areas, *keyer, options);
      if (!importer.ok()) {
        std::cerr << importer.status().ToString() << "\n";
        return 1;
      }
      CountingReviser reviser;
      const auto t0 = std::chrono::steady_clock::now();
      const double cpu0 = CpuSeconds(RUSAGE_SELF);
      {
        std::ifstream in(path, std::ios::binary);
        const minyi::Status added = (*importer)->AddFile(path, in);
        if (!added.ok()) std::cerr << added.ToString() << "\n";
      }
      const minyi::Status stored = (*importer)->Store(reviser, 0);
      import_s.push_back(Seconds(t0));
      import_cpu.push_back(CpuSeconds(RUSAGE_SELF) - cpu0);
      if (!stored.ok()) std::cerr << stored.ToString() << "\n";
      const auto& report = (*importer)->report();
      answers = report.answers_accepted;
      if (report.messages_read != generated) {
        std::cerr << minyi::testing::ChatLayoutFileName(layout) << ": read " << report.messages_read << " of "
                  << generated << " messages\n";
      }
    }
    std::filesystem::remove(path);
    const double wc = mb / Median(wc_s), imp = mb / Median(import_s);
    const double imp_cpu = mb / Median(import_cpu), wc_per_cpu = mb / Median(wc_cpu);
    std::printf(
        "| %s | %.1f | %zu | %.0f | %.2f | %.1f | %.1f%% | %zu | %.1f | %.2f | %.1f | %.0f | %.1f%% |\n",
        minyi::testing::ChatLayoutFileName(layout), mb, generated, wc, Median(import_s), imp,
        100.0 * imp / wc, answers, static_cast<double>(PeakRssKb()) / 1024.0, Median(import_cpu), imp_cpu,
        wc_per_cpu, 100.0 * imp_cpu / wc_per_cpu);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  std::printf("uptime after: %s\n", CommandLine("uptime").c_str());
  return 0;
}
