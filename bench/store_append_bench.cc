// Store append throughput (responses/s): batches of 1, 100 and 1,000 realistic responses (5 answers,
// a ~200-byte raw payload, unique source refs) appended through Store::Append, each batch one
// committed transaction. Backends: SQLite in a file with synchronous FULL and NORMAL (the file lives
// under $TMPDIR, default /tmp), and MariaDB (a private server started by tests/support; the
// MariaDB cases report an error when mariadbd is not installed).
//
// Each store is created once per process and grows across runs, as a live store would. Wall time is
// measured (UseRealTime): fsync waits and the MariaDB server's work are part of the cost.
//
//   store_append_bench --benchmark_min_time=0.3 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sql/store.h"
#include "tests/support/mariadb_server.h"

namespace {

using minyi::AppendOutcome;
using minyi::AppendResult;
using minyi::Response;
using minyi::sql::Store;
using minyi::sql::StoreOptions;

// Stores and the server live until process exit; the temporary files are removed then.
struct Resources {
  std::unique_ptr<minyi::testsupport::MariaDbServer> server;
  std::string server_error;
  bool server_tried = false;
  std::map<std::string, std::unique_ptr<Store>> stores;
  std::vector<std::string> dirs;

  ~Resources() {
    stores.clear();
    server.reset();
    for (const std::string& dir : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

Resources& Shared() {
  static Resources resources;
  return resources;
}

// The store for a configuration, created and migrated on first use; nullptr with `error` set when
// it cannot be had.
Store* StoreFor(const std::string& config, std::string* error) {
  Resources& res = Shared();
  if (auto it = res.stores.find(config); it != res.stores.end()) return it->second.get();
  StoreOptions options;
  if (config == "mariadb") {
    if (!res.server_tried) {
      res.server_tried = true;
      auto server = minyi::testsupport::MariaDbServer::Start();
      if (server.ok()) {
        res.server = std::move(server).value();
      } else {
        res.server_error = server.status().ToString();
      }
    }
    if (!res.server) {
      *error = res.server_error;
      return nullptr;
    }
    options.backend = "mysql";
    options.mysql.socket = res.server->socket_path();
    options.mysql.user = res.server->user();
    options.mysql.password = res.server->password();
    options.mysql.database = minyi::testsupport::MariaDbServer::UniqueDatabaseName();
    options.mysql.create_database = true;
    options.mysql.pool_size = 2;
  } else {
    std::string dir = (std::filesystem::temp_directory_path() / "minyi-bench-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    res.dirs.push_back(dir);
    options.backend = "sqlite";
    options.sqlite.path = dir + "/bench.db";
    options.sqlite.synchronous = config == "sqlite-normal" ? "NORMAL" : "FULL";
  }
  auto store = minyi::sql::OpenStore(options);
  if (!store.ok()) {
    *error = store.status().ToString();
    return nullptr;
  }
  auto migrated = (*store)->Migrate();
  if (!migrated.ok()) {
    *error = migrated.status().ToString();
    return nullptr;
  }
  Store* raw = store->get();
  res.stores[config] = std::move(store).value();
  return raw;
}

Response TemplateResponse() {
  Response r;
  r.survey_id = "security";
  r.period = {2025, 0};
  r.town_code = "320102002";
  r.channel = minyi::Channel::kWeb;
  r.respondent_key = "k:3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea";
  r.weight = 1.0;
  r.answers = {{"q01", {"4"}}, {"q02", {"3"}}, {"q03", {"a", "c"}}, {"sex", {"2"}}, {"age_band", {"30-39"}}};
  r.submitted_at_ms = 1735689600000;
  r.received_at_ms = 1735689601000;
  // About 200 bytes, like a web form post.
  r.raw_payload =
      R"({"survey":"security","period":"2025","town":"320102002","answers":{"q01":"4","q02":"3",)"
      R"("q03":["a","c"],"sex":"2","age_band":"30-39"},"submitted_at":"2025-01-01T08:00:00+08:00","ua":"Mozilla/5.0"})";
  return r;
}

void BM_Append(benchmark::State& state, const std::string& config) {
  std::string error;
  Store* store = StoreFor(config, &error);
  if (store == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  std::vector<Response> batch(batch_size, TemplateResponse());
  std::vector<AppendResult> results;
  static std::int64_t next_ref = 0;
  const std::string run_prefix = "bench-" + std::to_string(::getpid()) + "-";
  for (auto _ : state) {
    for (Response& r : batch) {
      r.source_ref = run_prefix + std::to_string(next_ref++);
      r.town_code[8] = static_cast<char>('0' + next_ref % 10);  // spread over towns
    }
    const minyi::Status s = store->Append(batch, &results);
    if (!s.ok() || results.empty() || results.front().outcome != AppendOutcome::kStored) {
      state.SkipWithError(s.ok() ? "a unique source ref was not stored" : s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch_size));
}

void Sizes(benchmark::internal::Benchmark* b) { b->ArgName("batch")->Arg(1)->Arg(100)->Arg(1000)->UseRealTime(); }

BENCHMARK_CAPTURE(BM_Append, sqlite_file_full, std::string("sqlite-full"))->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Append, sqlite_file_normal, std::string("sqlite-normal"))->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Append, mariadb, std::string("mariadb"))->Apply(Sizes);

}  // namespace

BENCHMARK_MAIN();
