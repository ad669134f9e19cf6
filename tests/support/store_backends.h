// The store backends every parameterized store test runs on, and fresh databases for them: a
// SQLite database in memory, a SQLite file in its own temporary directory, or a database of its own
// on this process's private MariaDB server (started on first use, stopped at exit).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/ports.h"
#include "core/status.h"
#include "sql/store.h"
#include "tests/support/mariadb_server.h"

namespace minyi::testsupport {

enum class StoreBackend { kSqliteMemory, kSqliteFile, kMariaDb };

// "SqliteMemory", "SqliteFile", "MariaDb" (test-name suffixes).
std::string StoreBackendName(StoreBackend backend);
std::vector<StoreBackend> AllStoreBackends();
// For INSTANTIATE_TEST_SUITE_P(Backends, T, ::testing::ValuesIn(AllStoreBackends()), StoreBackendParamName).
inline std::string StoreBackendParamName(const ::testing::TestParamInfo<StoreBackend>& p) {
  return StoreBackendName(p.param);
}

// The process's private MariaDB, started on first use (about 2 s; thread-safe). A failure is
// returned to every caller, with the hint to install mariadb-server.
Result<MariaDbServer*> SharedMariaDb();

// Hands out fresh, empty databases of one backend and removes all of them (temporary directories,
// MariaDB databases) when destroyed. Close the stores opened on them first.
class TestDatabases {
 public:
  explicit TestDatabases(StoreBackend backend) : backend_(backend) {}
  ~TestDatabases();
  TestDatabases(const TestDatabases&) = delete;
  TestDatabases& operator=(const TestDatabases&) = delete;

  StoreBackend backend() const { return backend_; }
  // Options naming a new, empty database.
  Result<sql::StoreOptions> FreshOptions();
  // A store on a new, empty database, migrated to the latest schema.
  Result<std::unique_ptr<sql::Store>> OpenFresh();

 private:
  StoreBackend backend_;
  std::vector<std::string> temp_dirs_;
  std::vector<std::string> databases_;
};

// The stored responses of `survey_id` keyed by source_ref (with their raw payloads when asked): what
// the importers' store tests compare against after each import.
std::map<std::string, Response> StoredBySourceRef(ResponseSource& source, const std::string& survey_id,
                                                  bool include_raw_payload = false);

// Runs fn(0) .. fn(n - 1) on n threads released at the same moment (races between servers), and
// joins them.
void RunAtOnce(int n, const std::function<void(int)>& fn);

// A fixture with a fresh, migrated store of the parameter's backend in `store_`, closed and its
// database removed after each test. A derived fixture that opens more (feature stores on `store_`)
// calls FreshStoreTest::SetUp() first, and in its TearDown closes them before FreshStoreTest::TearDown().
class FreshStoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::unique_ptr<TestDatabases> databases_;
  std::unique_ptr<sql::Store> store_;
};

}  // namespace minyi::testsupport
