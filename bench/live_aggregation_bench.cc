// Live aggregation with one large town (issue 13): the cost of a poll of `LiveAggregator`
// (aggregator/live.h) when a few responses arrive in a town that already holds N responses.
//
// Writes N responses (default 1,000,000) of the default survey (conf/surveys) into ONE town of a
// SQLite file store (synchronous NORMAL, under $TMPDIR), with the town's population margins (total,
// sex, age band: the town is raked), then:
//  1. the initial pass (PollOnce on a fresh aggregator): wall time and the rise of peak RSS;
//  2. `--polls` rounds of: append `--arrivals` new responses to the town, PollOnce; per poll the wall
//     time and the rise of peak RSS over the RSS before the poll (peak reset through
//     /proc/self/clear_refs before each poll, Linux ≥ 4.0).
// Prints medians and maxima. The store is deleted at exit unless --keep.
//
//   live_aggregation_bench [--responses N] [--polls P] [--arrivals A] [--keep]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "aggregator/live.h"
#include "core/areas.h"
#include "core/survey.h"
#include "sql/store.h"

namespace {

using minyi::Response;

constexpr const char* kTown = "320812002";

// VmRSS / VmHWM of this process in MiB (/proc/self/status).
double StatusMiB(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atof(line.c_str() + key.size() + 1) / 1024.0;
  }
  return 0;
}

// Resets VmHWM to the current RSS (proc(5): clear_refs "5").
void ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

Response Make(std::int64_t i) {
  static const char* const kAge[] = {"18-29", "30-39", "40-49", "50-59", "60+", ""};
  Response r;
  r.survey_id = "jiangsu-safety";
  r.period = {2025, 0};
  r.town_code = kTown;
  r.channel = minyi::Channel::kWeb;
  r.source_ref = "live-bench-" + std::to_string(i);
  r.respondent_key = "k:" + std::to_string(i);
  r.weight = 1.0 + static_cast<double>(i % 3) * 0.5;
  // Deterministic spread over the options (a multiplicative hash of i).
  const std::uint64_t h = static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL;
  r.answers = {{"security", {std::to_string(1 + (h >> 13) % 5)}},
               {"grid", {(h >> 23) % 10 == 0 ? "9" : std::to_string(1 + (h >> 29) % 5)}},
               {"sex", {std::to_string(1 + (h >> 37) % 2)}}};
  const char* age = kAge[(h >> 41) % 6];
  if (*age != '\0') r.answers["age_band"] = {age};
  r.submitted_at_ms = 1735689600000 + i;
  r.received_at_ms = r.submitted_at_ms + 1000;
  return r;
}

minyi::Status AppendRange(minyi::sql::Store& store, std::int64_t from, std::int64_t to) {
  std::vector<Response> batch;
  std::vector<minyi::AppendResult> results;
  for (std::int64_t i = from; i < to;) {
    batch.clear();
    for (; i < to && batch.size() < 10000; ++i) batch.push_back(Make(i));
    MINYI_RETURN_IF_ERROR(store.Append(batch, &results));
  }
  return minyi::Status::Ok();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

int Fail(const minyi::Status& s) {
  std::cerr << "live_aggregation_bench: " << s.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t responses = 1000000;
  int polls = 10;
  std::int64_t arrivals = 100;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--responses" && i + 1 < argc) {
      responses = std::atoll(argv[++i]);
    } else if (a == "--polls" && i + 1 < argc) {
      polls = std::atoi(argv[++i]);
    } else if (a == "--arrivals" && i + 1 < argc) {
      arrivals = std::atoll(argv[++i]);
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::cerr << "usage: live_aggregation_bench [--responses N] [--polls P] [--arrivals A] [--keep]\n";
      return 2;
    }
  }
  auto catalog = minyi::SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
  if (!catalog.ok()) return Fail(catalog.status());
  auto areas = minyi::AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
  if (!areas.ok()) return Fail(areas.status());

  std::string dir = (std::filesystem::temp_directory_path() / "minyi-live-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return Fail(minyi::Status::Internal("mkdtemp failed"));
  minyi::sql::StoreOptions options;
  options.backend = "sqlite";
  options.sqlite.path = dir + "/live.db";
  options.sqlite.synchronous = "NORMAL";
  int rc = 0;
  {
    auto opened = minyi::sql::OpenStore(options);
    if (!opened.ok()) return Fail(opened.status());
    minyi::sql::Store& store = **opened;
    if (auto m = store.Migrate(); !m.ok()) return Fail(m.status());
    std::vector<minyi::PopulationCell> cells = {
        {2025, kTown, "", "", 90000},      {2025, kTown, "1", "", 45500},
        {2025, kTown, "2", "", 44000},     {2025, kTown, "", "18-29", 15000},
        {2025, kTown, "", "30-39", 17000}, {2025, kTown, "", "40-49", 18000},
        {2025, kTown, "", "50-59", 16000}, {2025, kTown, "", "60+", 20000}};
    if (auto s = store.UpsertPopulation(cells); !s.ok()) return Fail(s);
    const auto load_start = std::chrono::steady_clock::now();
    if (auto s = AppendRange(store, 0, responses); !s.ok()) return Fail(s);
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    std::printf("stored %lld responses in town %s in %.1f s\n", static_cast<long long>(responses), kTown,
                load_s);

    minyi::aggregator::LiveOptions live_options;
    live_options.interval_ms = 1000;
    live_options.reconcile_ms = 3600 * 1000;  // no reconciliation during the measured polls
    live_options.code_version = "bench";
    minyi::aggregator::LiveAggregator live(live_options, store, store, *catalog, *areas, store);

    const double rss_before = StatusMiB("VmRSS");
    ResetPeak();
    auto start = std::chrono::steady_clock::now();
    auto first = live.PollOnce();
    if (!first.ok()) return Fail(first.status());
    const double initial_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "initial pass: %.3f s, peak RSS %.1f MiB (+%.1f MiB over %.1f MiB before); after it RSS %.1f MiB "
        "of which anonymous %.1f MiB, file-backed (SQLite's memory map) %.1f MiB\n",
        initial_s, StatusMiB("VmHWM"), StatusMiB("VmHWM") - rss_before, rss_before, StatusMiB("VmRSS"),
        StatusMiB("RssAnon"), StatusMiB("RssFile"));

    std::vector<double> times;
    std::vector<double> rises;
    double peak = 0;
    std::int64_t next = responses;
    for (int p = 0; p < polls; ++p) {
      if (auto s = AppendRange(store, next, next + arrivals); !s.ok()) return Fail(s);
      next += arrivals;
      const double rss = StatusMiB("VmRSS");
      ResetPeak();
      start = std::chrono::steady_clock::now();
      auto polled = live.PollOnce();
      if (!polled.ok()) return Fail(polled.status());
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1000);
      const double hwm = StatusMiB("VmHWM");
      rises.push_back(hwm - rss);
      peak = std::max(peak, hwm);
    }
    std::printf(
        "%d polls of %lld arrivals each: poll time median %.1f ms (max %.1f ms); peak RSS rise per poll "
        "median %.1f MiB (max %.1f MiB); peak RSS %.1f MiB; RSS after %.1f MiB\n",
        polls, static_cast<long long>(arrivals), Median(times), *std::max_element(times.begin(), times.end()),
        Median(rises), *std::max_element(rises.begin(), rises.end()), peak, StatusMiB("VmRSS"));
    if (live.stats().last_error.size()) rc = 1;
  }
  if (!keep) std::filesystem::remove_all(dir);
  return rc;
}
