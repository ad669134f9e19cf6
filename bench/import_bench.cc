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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

RunResult RunInChild(const std::string& csv, const std::string& db, const std::string& synchronous) {
  RunResult result;
  int fds[2];
  if (pipe(fds) != 0) return result;
  std::fflush(stdout);  // or the child inherits (and writes into the pipe) what is still buffered
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDOUT_FILENO);
    _exit(ImportOnce(csv, db, synchronous));
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
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
              std::sscanf(output.c_str(), "%lf %zu %zu %zu", &result.seconds, &result.records, &result.stored,
                          &result.bytes) == 4;
  return result;
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

  std::vector<RunResult> results;
  for (int run = 0; run < runs; ++run) {
    const std::string db = work + "/run" + std::to_string(run) + ".db";
    RunResult r = RunInChild(csv, db, synchronous);
    if (!r.ok) {
      std::cerr << "run " << run << " failed\n";
      return 1;
    }
    std::printf("run %d: %zu records (%zu stored) in %.2f s: %.0f records/s, %.1f MB/s, peak RSS %.1f MB\n", run + 1,
                r.records, r.stored, r.seconds, static_cast<double>(r.records) / r.seconds,
                static_cast<double>(r.bytes) / 1e6 / r.seconds, static_cast<double>(r.max_rss_kb) / 1024.0);
    results.push_back(r);
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
  }
  std::sort(results.begin(), results.end(), [](const RunResult& a, const RunResult& b) { return a.seconds < b.seconds; });
  const RunResult& median = results[results.size() / 2];
  std::printf("median of %d (synchronous=%s): %.2f s, %.0f records/s, %.1f MB/s, peak RSS %.1f MB\n", runs,
              synchronous.c_str(), median.seconds, static_cast<double>(median.records) / median.seconds,
              static_cast<double>(median.bytes) / 1e6 / median.seconds,
              static_cast<double>(median.max_rss_kb) / 1024.0);
  std::filesystem::remove_all(work);
  return 0;
}
