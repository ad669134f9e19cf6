// WeChat export import throughput and memory (bench/RESULTS.md "WeChat import"): generates a chat
// export of the given size (WeChatMsg TXT, one group, 2,000 members, a grid worker's survey prompt
// every day, about 5% of messages answers, the rest chatter, multi-line messages, quotes, media and
// recalls) into a temporary directory, imports it (decode, parse, prompts, replies, responses; the
// revision store is a counter, so the figure is the importer's own), prints messages/s, MB/s and the
// peak RSS, and deletes the file.
//
// Usage: wechat_import_bench [MEGABYTES=1024]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "collector/wechat/wechat_import.h"
#include "core/areas.h"
#include "core/survey.h"

namespace {

using minyi::collector::wechat::WechatImporter;

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

std::string Two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

// Writes about `bytes` of export; returns the number of messages.
std::size_t Generate(const std::string& path, std::uint64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::mt19937_64 rng(20250101);
  static const char* kChatter[] = {"今天小区门口的快递柜又满了",
                                   "有人知道物业电话吗",
                                   "好的收到",
                                   "晚上广场舞几点开始？",
                                   "我家楼下的路灯坏了\n麻烦物业看一下",
                                   "谢谢网格员！",
                                   "周末社区有义诊活动，大家可以去看看",
                                   "[图片]",
                                   "[语音]"};
  static const char* kAnswers[] = {"1", "很安全 满意", "2 2",    "安全，比较满意", "基本安全", "一般",
                                   "3", "非常满意",    "还行吧", "不太安全",       "①",        "选2"};
  std::int64_t t = 0;  // seconds since 2024-01-01 00:00:00 local
  std::size_t messages = 0;
  std::uint64_t written = 0;
  std::int64_t next_prompt = 8 * 3600;
  std::string buf;
  while (written < bytes) {
    buf.clear();
    t += 1 + static_cast<std::int64_t>(rng() % 9);
    const std::int64_t day = t / 86400, sec = t % 86400;
    // Civil date from day count (2024-01-01 + day), good enough with 30-day months for a benchmark.
    const int year = 2024 + static_cast<int>(day / 360), month = 1 + static_cast<int>((day % 360) / 30),
              dom = 1 + static_cast<int>(day % 30);
    const std::string stamp = std::to_string(year) + "-" + Two(month) + "-" + Two(dom) + " " +
                              Two(static_cast<int>(sec / 3600)) + ":" +
                              Two(static_cast<int>(sec % 3600 / 60)) + ":" + Two(static_cast<int>(sec % 60));
    const int member = static_cast<int>(rng() % 2000);
    const std::string name = "居民_" + std::to_string(member);
    if (t >= next_prompt) {
      buf = stamp + " 网格员_小王\n#安全感调查 各位居民好，请回复：您觉得安全吗？对网格员工作满意吗？\n\n";
      next_prompt += 86400;
    } else {
      const unsigned r = static_cast<unsigned>(rng() % 100);
      if (r < 5) {
        buf = stamp + " " + name + "\n" + kAnswers[rng() % 12] + "\n\n";
      } else if (r < 6) {
        buf = stamp + " " + name + "\n同意\n引用:居民_" + std::to_string(rng() % 2000) + ":1\n\n";
      } else if (r < 7) {
        buf = stamp + " " + name + " 撤回了一条消息\n\n";
      } else {
        buf = stamp + " " + name + "\n" + kChatter[rng() % 9] + "\n\n";
      }
    }
    out << buf;
    written += buf.size();
    ++messages;
  }
  return messages;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t megabytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("minyi-wechat-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "export.txt").string();
  const auto g0 = std::chrono::steady_clock::now();
  const std::size_t generated = Generate(path, megabytes << 20);
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
  const std::uint64_t size = std::filesystem::file_size(path);
  const long rss_before = PeakRssKb();

  auto areas = minyi::AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  auto surveys = minyi::SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
  auto keyer = minyi::collector::sms::RespondentKeyer::Create("bench-secret-0123456789");
  if (!areas.ok() || !surveys.ok() || !keyer.ok()) {
    std::cerr << "setup failed\n";
    return 1;
  }
  minyi::collector::wechat::WechatImportOptions options;
  options.period = minyi::Period{2024, 0};
  options.town_code = "320812007";
  options.grid_workers = {"网格员_小王"};
  auto importer = WechatImporter::Create(*surveys->Find("jiangsu-safety"), *areas, *keyer, options);
  if (!importer.ok()) {
    std::cerr << importer.status().ToString() << "\n";
    return 1;
  }
  CountingReviser reviser;
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::ifstream in(path, std::ios::binary);
    const minyi::Status added = (*importer)->AddFile(path, in);
    if (!added.ok()) std::cerr << added.ToString() << "\n";
  }
  const minyi::Status stored = (*importer)->Store(reviser, 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& report = (*importer)->report();
  std::filesystem::remove_all(dir);
  if (!stored.ok()) std::cerr << stored.ToString() << "\n";
  std::printf("file: %.1f MB, %zu messages (generated in %.1f s)\n", static_cast<double>(size) / 1e6,
              generated, gen_s);
  std::printf("import: %.2f s, %.0f messages/s, %.1f MB/s\n", secs,
              static_cast<double>(report.messages_read) / secs, static_cast<double>(size) / 1e6 / secs);
  std::printf(
      "read %zu messages, %zu prompts, %zu replies, %zu answers, %zu not understood, %zu respondents, %zu "
      "responses\n",
      report.messages_read, report.prompts_found, report.replies_read, report.answers_accepted,
      report.not_understood, report.respondents, reviser.stored);
  std::printf("peak RSS: %.1f MB before the import, %.1f MB after\n",
              static_cast<double>(rss_before) / 1024.0, static_cast<double>(PeakRssKb()) / 1024.0);
  return 0;
}
