// Import throughput: `ImportResponsesCsv` (collector/response_import.h) reading a canonical response CSV
// into a fresh SQLite file store, end to end (CSV parsing, validation against the survey definition and
// the area registry, batched appends of 1,000 rows per committed transaction).
//
// The input is the synthetic demo data set (collector/demo.h, default 1,000,000 responses) written out
// once as canonical CSV. Each run imports it into a new database file in its own forked process, so the
// peak RSS reported (wait4 ru_maxrss) is that of one import alone. Reports every run and the median.
//
//   import_bench [--responses N] [--runs R] [--synchronous FULL|NORMAL|none] [--dir DIR]
//
// --synchronous none imports into a sink that stores nothing: the cost of parsing and validation alone.
//
// DIR (default $TMPDIR or /tmp) holds the CSV and the database files; they are removed at the end.
//
// The limits, measured in the same run (issue 16 quotes each figure as a ratio to one):
// - the page-cache read rate of the CSV: reading the file in 1 MiB blocks and counting its lines, as
//   `wc -l` does (median of 3, after the imports); the parse + validate rate is a fraction of it;
// - with a store: the store's own batched append rate, the same demo responses appended with
//   Store::Append in batches of 1,000 into a new database (only the Append calls timed, in a child
//   process like the imports; median of R runs); the import's records/s is a fraction of it.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "collector/demo.h"
#include "collector/response_import.h"
#include "core/areas.h"
#include "core/survey.h"
#include "sql/store.h"

namespace {

using minyi::Response;

// Accepts everything without storing it: measures parsing and validation alone.
class NullSink : public minyi::ResponseSink {
 public:
  minyi::Status Append(const std::vector<Response>& batch, std::vector<minyi::AppendResult>* results) override {
    results->assign(batch.size(), minyi::AppendResult{minyi::AppendOutcome::kStored, 0});
    return minyi::Status::Ok();
  }
};

struct RunResult {
  double seconds = 0;
  std::size_t records = 0;
  std::size_t stored = 0;
  std::size_t bytes = 0;
  long max_rss_kb = 0;
  double cpu_seconds =
      0;  // the child's user + system time (wait4): steadier than wall time on a shared machine
  bool ok = false;
};

// Child process body: one import into a new database; prints "seconds records stored bytes".
int ImportOnce(const std::string& csv, const std::string& db, const std::string& synchronous) {
  auto areas = minyi::AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
  auto catalog = minyi::SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
  if (!areas.ok() || !catalog.ok()) {
    std::cerr << areas.status() << " / " << catalog.status() << "\n";
    return 1;
  }
  NullSink null_sink;
  std::unique_ptr<minyi::sql::Store> store;
  if (synchronous != "none") {
    minyi::sql::StoreOptions options;
    options.backend = "sqlite";
    options.sqlite.path = db;
    options.sqlite.synchronous = synchronous;
    auto opened = minyi::sql::OpenStore(options);
    if (!opened.ok()) {
      std::cerr << opened.status() << "\n";
      return 1;
    }
    store = std::move(opened.value());
    if (auto migrated = store->Migrate(); !migrated.ok()) {
      std::cerr << migrated.status() << "\n";
      return 1;
    }
  }
  minyi::ResponseSink& sink = store ? static_cast<minyi::ResponseSink&>(*store) : null_sink;
  std::ifstream in(csv, std::ios::binary);
  const auto start = std::chrono::steady_clock::now();
  auto report = minyi::collector::ImportResponsesCsv(in, *catalog, *areas, sink, {});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) {
    std::cerr << report.status() << "\n";
    return 1;
  }
  std::printf("%.6f %zu %zu %zu\n", seconds, report->records, report->stored, report->bytes);
  std::fflush(stdout);
  if (report->rejected != 0) {
    std::cerr << minyi::collector::FormatImportReport(*report, csv);
    return 2;
  }
  return 0;
}

// Child process body: the demo responses appended with Store::Append in batches of 1,000 into a new
// database; prints "seconds records" (the Append calls only, not the generation).
int AppendOnce(std::size_t responses, const std::string& db, const std::string& synchronous) {
  auto areas = minyi::AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
  auto catalog = minyi::SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
  if (!areas.ok() || !catalog.ok()) return 1;
  minyi::sql::StoreOptions options;
  options.backend = "sqlite";
  options.sqlite.path = db;
  options.sqlite.synchronous = synchronous;
  auto opened = minyi::sql::OpenStore(options);
  if (!opened.ok() || !(*opened)->Migrate().ok()) return 1;
  minyi::sql::Store& store = **opened;
  minyi::collector::DemoOptions demo;
  demo.responses = responses;
  std::vector<Response> batch;
  std::vector<minyi::AppendResult> results;
  double seconds = 0;
  std::size_t stored = 0;
  minyi::Status failed;
  auto append = [&]() {
    const auto start = std::chrono::steady_clock::now();
    failed = store.Append(batch, &results);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stored += batch.size();
    batch.clear();
    return failed.ok();
  };
  minyi::Status status = minyi::collector::GenerateDemoResponses(demo, *catalog->Find("jiangsu-safety"),
                                                                 *areas, [&](const Response& r) {
                                                                   batch.push_back(r);
                                                                   return batch.size() < 1000 || append();
                                                                 });
  if (status.ok() && failed.ok() && !batch.empty()) append();
  if (!status.ok() || !failed.ok()) {
    std::cerr << status << " / " << failed << "\n";
    return 1;
  }
  std::printf("%.6f %zu 0 0\n", seconds, stored);
  std::fflush(stdout);  // the child ends with _exit
  return 0;
}

// The page-cache read rate of `path` in MB/s: read in 1 MiB blocks, newlines counted (as `wc -l`).
double ReadRate(const std::string& path) {
  std::vector<char> buffer(1 << 20);
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  std::size_t bytes = 0, lines = 0;
  const auto start = std::chrono::steady_clock::now();
  ssize_t got;
  while ((got = read(fd, buffer.data(), buffer.size())) > 0) {
    bytes += static_cast<std::size_t>(got);
    lines += static_cast<std::size_t>(std::count(buffer.data(), buffer.data() + got, '\n'));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  return lines > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
}

// Runs `body` in a forked child that prints "seconds records stored bytes"; its peak RSS is the child's.
RunResult RunInChild(const std::function<int()>& body) {
  RunResult result;
  int fds[2];
  if (pipe(fds) != 0) return result;
  std::fflush(stdout);  // or the child inherits (and writes into the pipe) what is still buffered
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDOUT_FILENO);
    _exit(body());
  }
  close(fds[1]);
  std::string output;
  char buf[256];
  ssize_t got;
  while ((got = read(fds[0], buf, sizeof buf)) > 0) output.append(buf, static_cast<std::size_t>(got));
  close(fds[0]);
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  result.max_rss_kb = usage.ru_maxrss;
  result.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
              std::sscanf(output.c_str(), "%lf %zu %zu %zu", &result.seconds, &result.records, &result.stored,
                          &result.bytes) == 4;
  return result;
}

// `body` once per run, each in its own child on a new database file (`prefix` + run + ".db", removed
// afterwards); empty when a run failed.
std::vector<RunResult> RunEach(int runs, const std::string& prefix,
                               const std::function<int(const std::string&)>& body) {
  std::vector<RunResult> results;
  for (int run = 0; run < runs; ++run) {
    const std::string db = prefix + std::to_string(run) + ".db";
    RunResult r = RunInChild([&] { return body(db); });
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    if (!r.ok) {
      std::cerr << prefix << " run " << run << " failed\n";
      return {};
    }
    results.push_back(r);
  }
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t responses = 1000000;
  int runs = 3;
  std::string synchronous = "FULL";
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp != nullptr ? tmp : "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--responses") {
      responses = std::stoul(value);
    } else if (flag == "--runs") {
      runs = std::stoi(value);
    } else if (flag == "--synchronous") {
      synchronous = value;
    } else if (flag == "--dir") {
      dir = value;
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  const std::string work = dir + "/minyi-import-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(work);
  const std::string csv = work + "/responses.csv";

  {
    auto areas = minyi::AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
    auto catalog = minyi::SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
    if (!areas.ok() || !catalog.ok()) {
      std::cerr << areas.status() << " / " << catalog.status() << "\n";
      return 1;
    }
    std::ofstream out(csv, std::ios::binary);
    const auto survey = catalog->Find("jiangsu-safety");
    out << minyi::collector::CanonicalCsvHeader(*survey);
    minyi::collector::DemoOptions demo;
    demo.responses = responses;
    const auto start = std::chrono::steady_clock::now();
    minyi::Status status = minyi::collector::GenerateDemoResponses(
        demo, *survey, *areas, [&out, &survey](const Response& r) {
          out << minyi::collector::CanonicalCsvRow(r, *survey);
          return true;
        });
    if (!status.ok()) {
      std::cerr << status << "\n";
      return 1;
    }
    out.close();
    std::printf("generated %zu responses as CSV (%.1f MB) in %.2f s\n", responses,
                static_cast<double>(std::filesystem::file_size(csv)) / 1e6,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  std::vector<RunResult> results =
      RunEach(runs, work + "/run", [&](const std::string& db) { return ImportOnce(csv, db, synchronous); });
  if (results.empty()) return 1;
  for (std::size_t run = 0; run < results.size(); ++run) {
    const RunResult& r = results[run];
    std::printf(
        "run %zu: %zu records (%zu stored) in %.2f s: %.0f records/s, %.1f MB/s, peak RSS %.1f MB; child "
        "CPU %.2f s\n",
        run + 1, r.records, r.stored, r.seconds, static_cast<double>(r.records) / r.seconds,
        static_cast<double>(r.bytes) / 1e6 / r.seconds, static_cast<double>(r.max_rss_kb) / 1024.0,
        r.cpu_seconds);
  }
  std::sort(results.begin(), results.end(), [](const RunResult& a, const RunResult& b) { return a.seconds < b.seconds; });
  const RunResult& median = results[results.size() / 2];
  const double records_per_s = static_cast<double>(median.records) / median.seconds;
  const double mb_per_s = static_cast<double>(median.bytes) / 1e6 / median.seconds;
  std::printf("median of %d (synchronous=%s): %.2f s, %.0f records/s, %.1f MB/s, peak RSS %.1f MB\n", runs,
              synchronous.c_str(), median.seconds, records_per_s, mb_per_s,
              static_cast<double>(median.max_rss_kb) / 1024.0);

  std::vector<double> reads;
  for (int i = 0; i < 3; ++i) reads.push_back(ReadRate(csv));
  std::sort(reads.begin(), reads.end());
  std::printf(
      "limit: page-cache read of the CSV (wc -l), median of 3: %.0f MB/s; the import reaches %.1f%% of it\n",
      reads[1], 100 * mb_per_s / reads[1]);
  if (synchronous != "none") {
    const std::vector<RunResult> append_runs = RunEach(runs, work + "/append", [&](const std::string& db) {
      return AppendOnce(responses, db, synchronous);
    });
    if (append_runs.empty()) return 1;
    std::vector<double> appends;
    for (const RunResult& r : append_runs) {
      appends.push_back(static_cast<double>(r.records) / r.seconds);
      std::printf("append run %zu: %zu responses in %.2f s: %.0f responses/s\n", appends.size(), r.records,
                  r.seconds, appends.back());
    }
    std::sort(appends.begin(), appends.end());
    const double append = appends[appends.size() / 2];
    std::printf(
        "limit: Store::Append in batches of 1,000 (synchronous=%s), median of %d: %.0f responses/s; the "
        "import reaches %.1f%% of it\n",
        synchronous.c_str(), runs, append, 100 * records_per_s / append);
  }
  std::filesystem::remove_all(work);
  return 0;
}
