// The store: one interface, two real backends (SQLite embedded default, MySQL/MariaDB production).
// Both implement every port of core/ports.h and pass the same test suite (sql/store_test.cc).
//
// Schema changes are versioned migration files per dialect (sql/sqlite/NNN_name.sql,
// sql/mysql/NNN_name.sql), compiled into the binary and applied in order by Migrate(). Open() does
// not migrate; callers decide (the CLI migrates on start).
//
// Thread safety: all methods may be called from several threads at once. The SQLite store serializes
// writers on one connection; the MySQL store uses a connection pool.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/analysis.h"
#include "core/ports.h"
#include "core/release_ports.h"
#include "core/revisions.h"
#include "core/status.h"
#include "core/web_ports.h"

namespace minyi::sql {

namespace db {
class Db;  // sql/db.h, internal to sql/
}  // namespace db

struct SqliteOptions {
  std::string path = "var/minyi.db";  // ":memory:" for an in-memory store (tests)
  // PRAGMA synchronous: "FULL" (every commit fsync'ed; survives power loss) or "NORMAL" (WAL:
  // survives a process crash, may lose the last commits on power loss).
  std::string synchronous = "FULL";
  int busy_timeout_ms = 5000;
};

struct MysqlOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string socket;  // when set, connect through this Unix socket instead of host:port
  std::string user = "minyi";
  std::string password;  // from the environment (MINYI_MYSQL_PASSWORD) or config; never logged
  std::string database = "minyi";
  int pool_size = 8;
  bool create_database = false;  // CREATE DATABASE IF NOT EXISTS on open (tests, first set-up)
  // Client-side timeouts (whole seconds: Connector/C++ 1.1 passes them to MYSQL_OPT_*_TIMEOUT, which
  // takes seconds). A connect that gets no handshake, or a statement whose reply (or send) stalls
  // this long, fails with a lost connection; that connection is dropped from the pool, never reused.
  int connect_timeout_seconds = 5;
  int read_timeout_seconds = 30;
  int write_timeout_seconds = 30;
  // How long an operation waits for a free pooled connection when all pool_size are busy.
  int pool_wait_ms = 5000;
};

struct StoreOptions {
  std::string backend = "sqlite";  // "sqlite" | "mysql"
  SqliteOptions sqlite;
  MysqlOptions mysql;
  // serve's /healthz answers within this long; a store check not finished by then answers 503
  // (sql/store_health.h).
  int health_timeout_ms = 2000;
};

struct MigrationInfo {
  int version = 0;
  std::string name;
  std::string applied_at;  // ISO time, empty when pending
};

class Store : public ResponseSink,
              public ResponseSource,
              public PopulationSource,
              public PopulationSink,
              public IndexSink,
              public IndexSource,
              public AnalysisSource,
              public ResponseReviser,
              public ReleaseStore,
              public WebAccessStore {
 public:
  ~Store() override = default;

  // "sqlite" or "mysql".
  virtual std::string Backend() const = 0;

  // Applies every pending migration in order, each in its own transaction where the dialect allows.
  // Idempotent. Returns the migrations applied by this call.
  virtual Result<std::vector<MigrationInfo>> Migrate() = 0;
  // The highest applied migration version; 0 for an empty database.
  virtual Result<int> SchemaVersion() = 0;
  // Every known migration with its applied time (empty when pending).
  virtual Result<std::vector<MigrationInfo>> Migrations() = 0;

  // Free-form key/value metadata (e.g. which demo data set was seeded).
  virtual Result<std::string> GetMeta(const std::string& key) = 0;  // "" when absent
  virtual Status SetMeta(const std::string& key, const std::string& value) = 0;

  // The store's connection(s) as the dialect interface of sql/db.h, for the stores of sql/ written
  // once on it (access, SMS, counters, releases...). Lives as long as the store.
  virtual db::Db& SqlDb() = 0;
};

// Opens (and for SQLite creates) the configured store. kUnavailable when it cannot connect.
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

// The highest migration version known to this build, per dialect.
int LatestSchemaVersion();

}  // namespace minyi::sql
