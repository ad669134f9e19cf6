// Import throughput: `ImportResponsesCsv` (collector/response_import.h) reading a canonical response CSV
// into a fresh store, end to end (CSV parsing, validation against the survey definition and the area
// registry, batched appends of 1,000 rows per committed transaction): a SQLite file, or with --mariadb a
// new database on a private MariaDB server (tests/support/mariadb_server.h: its data directory under
// $TMPDIR or /tmp, a Unix socket, the server's defaults, among them innodb_flush_log_at_trx_commit=1,
// which the benchmark reads back from the server and prints).
//
// The input is the synthetic demo data set (collector/demo.h, default 1,000,000 responses) written out
// once as canonical CSV. Each run imports it into a new database file in its own forked process, so the
// peak RSS reported (wait4 ru_maxrss) is that of one import alone. Reports every run and the median.
//
//   import_bench [--responses N] [--runs R] [--synchronous FULL|NORMAL|none] [--dir DIR] [--mariadb]
//
// --synchronous none imports into a sink that stores nothing: the cost of parsing and validation alone.
// --mariadb imports into MariaDB instead of SQLite (--synchronous is then only "none" or the default);
// each run gets its own database, dropped afterwards.
//
// DIR (default $TMPDIR or /tmp) holds the CSV and the database files; they are removed at the end.
//
// The limits, measured in the same run (issue 16 quotes each figure as a ratio to one):
// - the page-cache read rate of the CSV: reading the file in 1 MiB blocks and counting its lines, as
//   `wc -l` does (median of 3, after the imports); the parse + validate rate is a fraction of it;
// - with a store: the store's own batched append rate, the same demo responses appended with
//   Store::Append in batches of 1,000 into a new database (only the Append calls timed, in a child
//   process like the imports; median of R runs); the import's records/s is a fraction of it. The
//   imports and the appends alternate (import 1, append 1, import 2, ...) so that both see the same
//   load on a shared machine; each run prints the load average at its start, its child's CPU time
//   and, on MariaDB, the server's CPU time during the run (/proc/PID/stat).
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
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collector/demo.h"
#include "collector/response_import.h"
#include "core/areas.h"
#include "core/survey.h"
#include "sql/store.h"
#include "tests/support/mariadb_server.h"

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

// Where the imports and appends go: SQLite files (`db` is a file path) or databases on a private
// MariaDB server (`db` is a database name).
struct Target {
  std::string synchronous = "FULL";  // SQLite's; "none" for the NullSink
  const minyi::testsupport::MariaDbServer* mariadb = nullptr;
};

// A new, migrated store for one run; printed to stderr and null when it cannot be opened.
std::unique_ptr<minyi::sql::Store> OpenRunStore(const Target& target, const std::string& db) {
  minyi::sql::StoreOptions options;
  if (target.mariadb != nullptr) {
    options.backend = "mysql";
    options.mysql.socket = target.mariadb->socket_path();
    options.mysql.user = target.mariadb->user();
    options.mysql.password = target.mariadb->password();
    options.mysql.database = db;
    options.mysql.create_database = true;
  } else {
    options.backend = "sqlite";
    options.sqlite.path = db;
    options.sqlite.synchronous = target.synchronous;
  }
  auto opened = minyi::sql::OpenStore(options);
  if (!opened.ok()) {
    std::cerr << opened.status() << "\n";
    return nullptr;
  }
  if (auto migrated = (*opened)->Migrate(); !migrated.ok()) {
    std::cerr << migrated.status() << "\n";
    return nullptr;
  }
  return std::move(opened.value());
}

// This process's user + system CPU seconds so far.
double SelfCpuSeconds() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct RunResult {
  double seconds = 0;
  std::size_t records = 0;
  std::size_t stored = 0;
  std::size_t bytes = 0;
  long max_rss_kb = 0;
  double cpu_seconds =
      0;  // the child's user + system time (wait4): steadier than wall time on a shared machine
  double timed_cpu_seconds = 0;   // the child's CPU time in the timed part alone (getrusage in the child)
  double server_cpu_seconds = 0;  // the private MariaDB server's user + system time during the run
  double load = 0;                // the 1-minute load average when the run started
  bool ok = false;
};

// Child process body: one import into a new database; prints "seconds records stored bytes cpu" (the
// import call's wall and CPU time).
int ImportOnce(const std::string& csv, const std::string& db, const Target& target) {
  auto areas = minyi::AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
  auto catalog = minyi::SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
  if (!areas.ok() || !catalog.ok()) {
    std::cerr << areas.status() << " / " << catalog.status() << "\n";
    return 1;
  }
  NullSink null_sink;
  std::unique_ptr<minyi::sql::Store> store;
  if (target.synchronous != "none") {
    store = OpenRunStore(target, db);
    if (!store) return 1;
  }
  minyi::ResponseSink& sink = store ? static_cast<minyi::ResponseSink&>(*store) : null_sink;
  std::ifstream in(csv, std::ios::binary);
  const double cpu_start = SelfCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  auto report = minyi::collector::ImportResponsesCsv(in, *catalog, *areas, sink, {});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = SelfCpuSeconds() - cpu_start;
  if (!report.ok()) {
    std::cerr << report.status() << "\n";
    return 1;
  }
  std::printf("%.6f %zu %zu %zu %.6f\n", seconds, report->records, report->stored, report->bytes, cpu);
  std::fflush(stdout);
  if (report->rejected != 0) {
    std::cerr << minyi::collector::FormatImportReport(*report, csv);
    return 2;
  }
  return 0;
}

// Child process body: the demo responses appended with Store::Append in batches of 1,000 into a new
// database; prints "seconds records stored 0 cpu" (the Append calls' wall and CPU time only, not the
// generation).
int AppendOnce(std::size_t responses, const std::string& db, const Target& target) {
  auto areas = minyi::AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
  auto catalog = minyi::SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
  if (!areas.ok() || !catalog.ok()) return 1;
  const std::unique_ptr<minyi::sql::Store> opened = OpenRunStore(target, db);
  if (!opened) return 1;
  minyi::sql::Store& store = *opened;
  minyi::collector::DemoOptions demo;
  demo.responses = responses;
  std::vector<Response> batch;
  std::vector<minyi::AppendResult> results;
  double seconds = 0;
  double cpu = 0;
  std::size_t stored = 0;
  minyi::Status failed;
  auto append = [&]() {
    const double cpu_start = SelfCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    failed = store.Append(batch, &results);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cpu += SelfCpuSeconds() - cpu_start;
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
  std::printf("%.6f %zu %zu 0 %.6f\n", seconds, stored, stored, cpu);
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

// Runs `body` in a forked child that prints "seconds records stored bytes cpu"; its peak RSS is the child's.
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
              std::sscanf(output.c_str(), "%lf %zu %zu %zu %lf", &result.seconds, &result.records,
                          &result.stored, &result.bytes, &result.timed_cpu_seconds) == 5;
  return result;
}

// User + system CPU seconds of process `pid` so far (fields 14 and 15 of /proc/PID/stat); 0 when unknown.
double ProcessCpuSeconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t end_of_name = text.rfind(')');  // the command name may hold spaces
  if (end_of_name == std::string::npos) return 0;
  std::istringstream fields(text.substr(end_of_name + 2));
  std::string field;
  double ticks = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// `body` in its own child on a new store `db` (SQLite: a file path, its files removed afterwards;
// MariaDB: a database name, dropped afterwards), with the load average at its start and, on MariaDB,
// the server's CPU time during the run.
RunResult RunOnce(const Target& target, const std::string& db,
                  const std::function<int(const std::string&)>& body) {
  double load = 0;
  getloadavg(&load, 1);
  const int server_pid = target.mariadb != nullptr ? target.mariadb->pid() : 0;
  const double server_before = server_pid != 0 ? ProcessCpuSeconds(server_pid) : 0;
  RunResult r = RunInChild([&] { return body(db); });
  r.load = load;
  if (server_pid != 0) r.server_cpu_seconds = ProcessCpuSeconds(server_pid) - server_before;
  if (target.mariadb != nullptr) {
    if (auto dropped = target.mariadb->Query("DROP DATABASE IF EXISTS `" + db + "`"); !dropped.ok()) {
      std::cerr << "dropping " << db << ": " << dropped.status() << "\n";
    }
  } else {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  }
  if (!r.ok) std::cerr << db << " failed\n";
  return r;
}

void PrintRun(const char* what, int run, const RunResult& r) {
  std::printf("%s run %d (load %.1f): %zu records (%zu stored) in %.2f s: %.0f records/s", what, run, r.load,
              r.records, r.stored, r.seconds, static_cast<double>(r.records) / r.seconds);
  if (r.bytes != 0) std::printf(", %.1f MB/s", static_cast<double>(r.bytes) / 1e6 / r.seconds);
  std::printf("; peak RSS %.1f MB, child CPU %.2f s (%.2f s timed)",
              static_cast<double>(r.max_rss_kb) / 1024.0, r.cpu_seconds, r.timed_cpu_seconds);
  if (r.server_cpu_seconds > 0) std::printf(", server CPU %.2f s", r.server_cpu_seconds);
  std::printf("\n");
  std::fflush(stdout);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The canonical CSV of `responses` demo responses (seed 20250101) written to `csv`.
minyi::Status WriteDemoCsv(std::size_t responses, const std::string& csv) {
  auto areas = minyi::AreaRegistry::LoadDirectory(MINYI_SOURCE_DIR "/data");
  if (!areas.ok()) return areas.status();
  auto catalog = minyi::SurveyCatalog::LoadDirectory(MINYI_SOURCE_DIR "/conf/surveys");
  if (!catalog.ok()) return catalog.status();
  std::ofstream out(csv, std::ios::binary);
  const auto survey = catalog->Find("jiangsu-safety");
  out << minyi::collector::CanonicalCsvHeader(*survey);
  minyi::collector::DemoOptions demo;
  demo.responses = responses;
  const auto start = std::chrono::steady_clock::now();
  MINYI_RETURN_IF_ERROR(
      minyi::collector::GenerateDemoResponses(demo, *survey, *areas, [&out, &survey](const Response& r) {
        out << minyi::collector::CanonicalCsvRow(r, *survey);
        return true;
      }));
  out.close();
  std::printf("generated %zu responses as CSV (%.1f MB) in %.2f s\n", responses,
              static_cast<double>(std::filesystem::file_size(csv)) / 1e6,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return minyi::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t responses = 1000000;
  int runs = 3;
  Target target;
  bool mariadb = false;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp != nullptr ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--mariadb") {
      mariadb = true;
      continue;
    }
    if (i + 1 == argc) {
      std::cerr << flag << " needs a value\n";
      return 2;
    }
    const std::string value = argv[++i];
    if (flag == "--responses") {
      responses = std::stoul(value);
    } else if (flag == "--runs") {
      runs = std::stoi(value);
    } else if (flag == "--synchronous") {
      target.synchronous = value;
    } else if (flag == "--dir") {
      dir = value;
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (runs < 1 || (mariadb && target.synchronous != "FULL" && target.synchronous != "none")) {
    std::cerr << "--runs must be at least 1; with --mariadb, --synchronous is only none (no store)\n";
    return 2;
  }
  const bool stored = target.synchronous != "none";
  std::unique_ptr<minyi::testsupport::MariaDbServer> server;
  if (mariadb && stored) {
    auto started = minyi::testsupport::MariaDbServer::Start();
    if (!started.ok()) {
      std::cerr << started.status() << "\n";
      return 1;
    }
    server = std::move(started).value();
    target.mariadb = server.get();
    auto settings = server->Query(
        "SELECT @@version, @@innodb_flush_log_at_trx_commit, @@sync_binlog, @@log_bin, @@innodb_doublewrite,"
        " @@innodb_buffer_pool_size DIV 1048576, @@datadir");
    std::printf(
        "MariaDB (version, innodb_flush_log_at_trx_commit, sync_binlog, log_bin, innodb_doublewrite, buffer "
        "pool "
        "MiB, datadir): %s",
        settings.ok() ? settings->c_str() : (settings.status().ToString() + "\n").c_str());
  }
  const std::string work = dir + "/minyi-import-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(work);
  const std::string csv = work + "/responses.csv";
  if (minyi::Status written = WriteDemoCsv(responses, csv); !written.ok()) {
    std::cerr << written << "\n";
    return 1;
  }

  // An import, then (with a store) the append limit, alternately, so that both see the same load.
  const std::string prefix = mariadb ? "minyi_import_bench_" + std::to_string(getpid()) + "_" : work + "/";
  const std::string suffix = mariadb ? "" : ".db";
  std::vector<RunResult> imports;
  std::vector<double> import_rates, mb_rates, append_rates, ratios, import_cpu, append_cpu;
  for (int run = 1; run <= runs; ++run) {
    const RunResult r = RunOnce(target, prefix + "import" + std::to_string(run) + suffix,
                                [&](const std::string& db) { return ImportOnce(csv, db, target); });
    if (!r.ok) return 1;
    PrintRun("import", run, r);
    imports.push_back(r);
    import_rates.push_back(static_cast<double>(r.records) / r.seconds);
    mb_rates.push_back(static_cast<double>(r.bytes) / 1e6 / r.seconds);
    if (!stored) continue;
    const RunResult a = RunOnce(target, prefix + "append" + std::to_string(run) + suffix,
                                [&](const std::string& db) { return AppendOnce(responses, db, target); });
    if (!a.ok) return 1;
    PrintRun("append", run, a);
    append_rates.push_back(static_cast<double>(a.records) / a.seconds);
    ratios.push_back(100 * import_rates.back() / append_rates.back());
    // CPU time per record, the timed part of the child and the server together: steadier than wall
    // time under a varying load (it leaves out fsync waits).
    import_cpu.push_back((r.timed_cpu_seconds + r.server_cpu_seconds) / static_cast<double>(r.records) * 1e6);
    append_cpu.push_back((a.timed_cpu_seconds + a.server_cpu_seconds) / static_cast<double>(a.records) * 1e6);
    std::printf("run %d: the import reaches %.1f%% of the append rate\n", run, ratios.back());
  }
  std::vector<double> rss;
  for (const RunResult& r : imports) rss.push_back(static_cast<double>(r.max_rss_kb) / 1024.0);
  const double records_per_s = Median(import_rates);
  const double mb_per_s = Median(mb_rates);
  const std::string store_name = !stored   ? "none"
                                 : mariadb ? "MariaDB"
                                           : "SQLite synchronous=" + target.synchronous;
  std::printf("median of %d (%s): %.0f records/s, %.1f MB/s, peak RSS %.1f MB\n", runs, store_name.c_str(),
              records_per_s, mb_per_s, Median(rss));

  std::vector<double> reads;
  for (int i = 0; i < 3; ++i) reads.push_back(ReadRate(csv));
  std::printf(
      "limit: page-cache read of the CSV (wc -l), median of 3: %.0f MB/s; the import reaches %.1f%% of it\n",
      Median(reads), 100 * mb_per_s / Median(reads));
  if (stored) {
    const double append = Median(append_rates);
    std::printf(
        "limit: Store::Append in batches of 1,000 (%s), median of %d: %.0f responses/s; the import reaches "
        "%.1f%% "
        "of it\n",
        store_name.c_str(), runs, append, 100 * records_per_s / append);
    std::printf("median of the %d runs' own ratios (import / the append after it): %.1f%%\n", runs,
                Median(ratios));
    std::printf(
        "CPU per record (the timed part of the child + the server), medians: import %.1f us, append %.1f us: "
        "the append's CPU is %.1f%% "
        "of the import's\n",
        Median(import_cpu), Median(append_cpu), 100 * Median(append_cpu) / Median(import_cpu));
  }
  std::filesystem::remove_all(work);
  return 0;
}
