// The schema's migrations and the meta table, written once on sql/db.h for both dialects. The one
// difference of the migration runner is how a schema change is kept to one process at a time
// (db::Db::SchemaChange: an IMMEDIATE transaction on SQLite, a named lock on MySQL, whose DDL commits
// implicitly); the rest differs only in spellings (the schema_migrations table's DDL, where a
// dialect lists its tables, the upsert).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "sql/db.h"
#include "sql/migrations.h"
#include "sql/sql_store.h"
#include "sql/store_common.h"

namespace minyi::sql {

namespace {

const char* DialectName(const db::Db& db) { return db.dialect() == db::Dialect::kMysql ? "mysql" : "sqlite"; }

const char* CreateSchemaMigrations(const db::Db& db) {
  if (db.dialect() == db::Dialect::kMysql) {
    return "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY,"
           " name VARCHAR(191) NOT NULL, applied_at VARCHAR(32) NOT NULL)"
           " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin";
  }
  return "CREATE TABLE IF NOT EXISTS schema_migrations ("
         " version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
}

// Applied migrations by version (empty when the table does not exist yet).
Result<std::vector<MigrationInfo>> ReadApplied(db::Db& db) {
  const char* exists =
      db.dialect() == db::Dialect::kMysql
          ? "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE()"
            " AND table_name = 'schema_migrations'"
          : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
  std::vector<MigrationInfo> out;
  Status s = db.Read("read schema_migrations", [&](db::Tx& tx) -> Status {
    out.clear();
    auto table = tx.Query(exists, {});
    if (!table.ok()) return table.status();
    if (table->empty()) return Status::Ok();
    auto rows = tx.Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version", {});
    if (!rows.ok()) return rows.status();
    for (const db::Row& r : *rows) out.push_back({static_cast<int>(r.Int(0)), r.Text(1), r.Text(2)});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

Result<std::vector<MigrationInfo>> SqlStore::Migrate() {
  db::Db& db = SqlDb();
  MINYI_RETURN_IF_ERROR(db.SchemaChange(
      "create schema_migrations", [&](db::Tx& tx) { return tx.ExecuteScript(CreateSchemaMigrations(db)); }));
  std::vector<MigrationInfo> applied_now;
  for (const internal::EmbeddedMigration& m : internal::MigrationsFor(DialectName(db))) {
    // Re-checked inside the schema change, so two processes migrating one database at once apply
    // each migration exactly once.
    std::optional<MigrationInfo> applied;
    MINYI_RETURN_IF_ERROR(
        db.SchemaChange("migration " + std::to_string(m.version), [&](db::Tx& tx) -> Status {
          applied.reset();
          auto done = tx.Query("SELECT 1 FROM schema_migrations WHERE version = ?", {m.version});
          if (!done.ok()) return done.status();
          if (!done->empty()) return Status::Ok();
          MINYI_RETURN_IF_ERROR(tx.ExecuteScript(m.sql));
          MigrationInfo info{m.version, m.name, FormatTimestampUtc(NowMillis())};
          auto recorded =
              tx.Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                         {info.version, info.name, info.applied_at});
          if (!recorded.ok()) return recorded.status();
          applied = std::move(info);
          return Status::Ok();
        }));
    if (applied) applied_now.push_back(*applied);
  }
  auto applied = ReadApplied(db);
  if (!applied.ok()) return applied.status();
  if (!applied->empty() && applied->back().version > LatestSchemaVersion()) {
    return Status::Internal(std::string(DialectName(db)) + ": the database is at schema version " +
                            std::to_string(applied->back().version) + ", newer than this build's " +
                            std::to_string(LatestSchemaVersion()));
  }
  return applied_now;
}

Result<int> SqlStore::SchemaVersion() {
  auto applied = ReadApplied(SqlDb());
  if (!applied.ok()) return applied.status();
  return applied->empty() ? 0 : applied->back().version;
}

Result<std::vector<MigrationInfo>> SqlStore::Migrations() {
  auto applied = ReadApplied(SqlDb());
  if (!applied.ok()) return applied.status();
  std::vector<MigrationInfo> out;
  for (const internal::EmbeddedMigration& m : internal::MigrationsFor(DialectName(SqlDb()))) {
    out.push_back({m.version, m.name, ""});
  }
  for (const MigrationInfo& a : *applied) {
    auto it =
        std::find_if(out.begin(), out.end(), [&](const MigrationInfo& o) { return o.version == a.version; });
    if (it == out.end()) {
      out.push_back(a);
    } else {
      it->applied_at = a.applied_at;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const MigrationInfo& a, const MigrationInfo& b) { return a.version < b.version; });
  return out;
}

// `key` and `value` are quoted with backticks (KEY is reserved in MySQL; SQLite accepts backticks).
Result<std::string> SqlStore::GetMeta(const std::string& key) {
  MINYI_RETURN_IF_ERROR(internal::ValidateMetaKey(key));
  std::string value;
  Status s = SqlDb().Read("read meta", [&](db::Tx& tx) -> Status {
    auto rows = tx.Query("SELECT `value` FROM meta WHERE `key` = ?", {key});
    if (!rows.ok()) return rows.status();
    value = rows->empty() ? std::string() : rows->front().Text(0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return value;
}

Status SqlStore::SetMeta(const std::string& key, const std::string& value) {
  MINYI_RETURN_IF_ERROR(internal::ValidateMetaKey(key));
  db::Db& db = SqlDb();
  const std::string sql =
      "INSERT INTO meta (`key`, `value`) VALUES (?, ?)" + db.OnConflictUpdate("`key`", {"`value`"});
  return db.InTransaction("write meta", db::Work::kIdempotent, [&](db::Tx& tx) {
    return tx.Execute(sql, {key, value}).status();
  });
}

}  // namespace minyi::sql
