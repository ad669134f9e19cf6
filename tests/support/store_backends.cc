#include "tests/support/store_backends.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace minyi::testsupport {

std::string StoreBackendName(StoreBackend backend) {
  switch (backend) {
    case StoreBackend::kSqliteMemory: return "SqliteMemory";
    case StoreBackend::kSqliteFile: return "SqliteFile";
    case StoreBackend::kMariaDb: return "MariaDb";
  }
  return "Unknown";
}

std::vector<StoreBackend> AllStoreBackends() {
  return {StoreBackend::kSqliteMemory, StoreBackend::kSqliteFile, StoreBackend::kMariaDb};
}

Result<MariaDbServer*> SharedMariaDb() {
  static std::mutex mu;
  static bool started = false;
  static Status status;
  static std::unique_ptr<MariaDbServer> server;  // destroyed at exit: stops the server
  std::lock_guard<std::mutex> lock(mu);
  if (!started) {
    started = true;
    auto running = MariaDbServer::Start();
    if (running.ok()) {
      server = std::move(running).value();
    } else {
      status = running.status().WithContext("the MariaDB tests need a server (package mariadb-server)");
    }
  }
  if (!status.ok()) return status;
  return server.get();
}

TestDatabases::~TestDatabases() {
  for (const std::string& dir : temp_dirs_) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (!databases_.empty()) {
    auto server = SharedMariaDb();
    if (server.ok()) {
      for (const std::string& db : databases_) (void)(*server)->Query("DROP DATABASE IF EXISTS " + db);
    }
  }
}

Result<sql::StoreOptions> TestDatabases::FreshOptions() {
  sql::StoreOptions o;
  switch (backend_) {
    case StoreBackend::kSqliteMemory:
      o.sqlite.path = ":memory:";
      break;
    case StoreBackend::kSqliteFile: {
      std::string pattern = (std::filesystem::temp_directory_path() / "minyi-store-test-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) return Status::Unavailable("mkdtemp failed");
      temp_dirs_.push_back(pattern);
      o.sqlite.path = pattern + "/sub/minyi.db";  // the missing parent directory is created
      break;
    }
    case StoreBackend::kMariaDb: {
      auto server = SharedMariaDb();
      if (!server.ok()) return server.status();
      o.backend = "mysql";
      o.mysql.socket = (*server)->socket_path();
      o.mysql.user = (*server)->user();
      o.mysql.password = (*server)->password();
      o.mysql.database = MariaDbServer::UniqueDatabaseName();
      o.mysql.create_database = true;
      o.mysql.pool_size = 8;  // the concurrency tests append from 8 threads
      databases_.push_back(o.mysql.database);
      break;
    }
  }
  return o;
}

Result<std::unique_ptr<sql::Store>> TestDatabases::OpenFresh() {
  auto options = FreshOptions();
  if (!options.ok()) return options.status();
  auto store = sql::OpenStore(options.value());
  if (!store.ok()) return store.status();
  auto migrated = store.value()->Migrate();
  if (!migrated.ok()) return migrated.status();
  return store;
}

std::map<std::string, Response> StoredBySourceRef(ResponseSource& source, const std::string& survey_id,
                                                  bool include_raw_payload) {
  std::map<std::string, Response> out;
  ResponseQuery query;
  query.survey_id = survey_id;
  query.include_raw_payload = include_raw_payload;
  const Status scanned = source.Scan(query, [&](Response& r) {
    out[r.source_ref] = std::move(r);
    return true;
  });
  EXPECT_TRUE(scanned.ok()) << scanned;
  return out;
}

void FreshStoreTest::SetUp() {
  databases_ = std::make_unique<TestDatabases>(GetParam());
  auto store = databases_->OpenFresh();
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(store).value();
}

void FreshStoreTest::TearDown() {
  store_.reset();
  databases_.reset();  // removes the database once the store on it is closed
}

void RunAtOnce(int n, const std::function<void(int)>& fn) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (!go) std::this_thread::yield();
      fn(i);
    });
  }
  while (ready < n) std::this_thread::yield();
  go = true;
  for (auto& t : threads) t.join();
}

}  // namespace minyi::testsupport
