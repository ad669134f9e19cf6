// The leases over both backends, written once on sql/db.h: every comparison of times is made by the
// database on its own clock (Db::NowMillis), in the statement that takes, renews or ends a lease.
#include "sql/lease_store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/db.h"
#include "sql/lease_fence.h"
#include "sql/migrations.h"

namespace minyi::sql {
namespace internal {

std::string LeaseFenceSql(const db::Db& db) {
  return "EXISTS (SELECT 1 FROM leases WHERE name = ? AND holder = ? AND fencing_token = ?"
         " AND expires_at_ms > " +
         db.NowMillis() + ")";
}

std::vector<db::Value> LeaseFenceParams(const LeaseFence& fence) {
  return {fence.name, fence.holder, fence.token};
}

}  // namespace internal

namespace {

using db::Db;
using db::Row;
using db::Tx;
using db::Work;

constexpr std::int64_t kMaxTtlMs = 86400000;

Status CheckKey(const std::string& value, std::string_view what, std::size_t max_bytes) {
  if (value.empty()) return Status::InvalidInput("lease " + std::string(what) + " is empty");
  if (value.size() > max_bytes) {
    return Status::InvalidInput("lease " + std::string(what) + " is longer than " +
                                std::to_string(max_bytes) + " bytes");
  }
  return Status::Ok();
}

Status CheckTtl(std::int64_t ttl_ms) {
  if (ttl_ms < 1 || ttl_ms > kMaxTtlMs) {
    return Status::InvalidInput("lease ttl " + std::to_string(ttl_ms) + " ms is outside 1 ms .. 1 day");
  }
  return Status::Ok();
}

class SqlLeaseStore final : public LeaseStore {
 public:
  explicit SqlLeaseStore(Db& db) : db_(db) {}

  Result<LeaseGrant> TryAcquire(const std::string& name, const std::string& holder,
                                std::int64_t ttl_ms) override {
    MINYI_RETURN_IF_ERROR(CheckKey(name, "name", 64));
    MINYI_RETURN_IF_ERROR(CheckKey(holder, "holder", 128));
    MINYI_RETURN_IF_ERROR(CheckTtl(ttl_ms));
    const std::string now = db_.NowMillis();
    LeaseGrant grant;
    // Idempotent: the outcome is read afresh from the row on every attempt. On Galera two nodes that
    // both took the lease locally conflict on its row at COMMIT; the loser is retried and refused.
    MINYI_RETURN_IF_ERROR(db_.InTransaction("acquire lease", Work::kIdempotent, [&](Tx& tx) -> Status {
      // Expired or already mine: take (or keep) it. MySQL assigns SET columns left to right, each
      // seeing the ones before, so `holder` comes last and the CASEs compare with the old holder.
      auto taken = tx.Execute(
          "UPDATE leases SET"
          " fencing_token = CASE WHEN holder = ? THEN fencing_token ELSE fencing_token + 1 END,"
          " acquired_at_ms = CASE WHEN holder = ? THEN acquired_at_ms ELSE " +
              now + " END, renewed_at_ms = " + now + ", expires_at_ms = " + now +
              " + ?, holder = ? WHERE name = ? AND (holder = ? OR expires_at_ms <= " + now + ")",
          {holder, holder, ttl_ms, holder, name, holder});
      if (!taken.ok()) return taken.status();
      if (*taken == 0) {
        // Absent: insert it; when another server inserted it first the unique key makes this a no-op.
        auto inserted = tx.Execute(
            "INSERT INTO leases (name, holder, fencing_token, acquired_at_ms, renewed_at_ms, expires_at_ms)"
            " VALUES (?, ?, 1, " +
                now + ", " + now + ", " + now + " + ?)" + IgnoreDuplicate(),
            {name, holder, ttl_ms});
        if (!inserted.ok()) return inserted.status();
      }
      return ReadGrant(tx, name, holder, std::nullopt, grant);
    }));
    return grant;
  }

  Result<LeaseGrant> Renew(const LeaseFence& fence, std::int64_t ttl_ms) override {
    MINYI_RETURN_IF_ERROR(CheckKey(fence.name, "name", 64));
    MINYI_RETURN_IF_ERROR(CheckTtl(ttl_ms));
    const std::string now = db_.NowMillis();
    LeaseGrant grant;
    MINYI_RETURN_IF_ERROR(db_.InTransaction("renew lease", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto renewed = tx.Execute(
          "UPDATE leases SET renewed_at_ms = " + now + ", expires_at_ms = " + now +
              " + ? WHERE name = ? AND holder = ? AND fencing_token = ? AND expires_at_ms > " + now,
          {ttl_ms, fence.name, fence.holder, fence.token});
      if (!renewed.ok()) return renewed.status();
      return ReadGrant(tx, fence.name, fence.holder, fence.token, grant);
    }));
    return grant;
  }

  Status Release(const LeaseFence& fence) override {
    MINYI_RETURN_IF_ERROR(CheckKey(fence.name, "name", 64));
    const std::string now = db_.NowMillis();
    return db_.InTransaction("release lease", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto released =
          tx.Execute("UPDATE leases SET renewed_at_ms = " + now + ", expires_at_ms = " + now +
                         " WHERE name = ? AND holder = ? AND fencing_token = ? AND expires_at_ms > " + now,
                     {fence.name, fence.holder, fence.token});
      return released.ok() ? Status::Ok() : released.status();
    });
  }

  Result<std::vector<LeaseInfo>> List() override {
    std::vector<LeaseInfo> out;
    MINYI_RETURN_IF_ERROR(db_.InTransaction("list leases", Work::kIdempotent, [&](Tx& tx) -> Status {
      out.clear();
      auto rows =
          tx.Query("SELECT name, holder, fencing_token, acquired_at_ms, renewed_at_ms, expires_at_ms, " +
                       db_.NowMillis() + " FROM leases ORDER BY name",
                   {});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) {
        out.push_back({r.Text(0), r.Text(1), r.Int(2), r.Int(3), r.Int(4), r.Int(5), r.Int(5) > r.Int(6)});
      }
      return Status::Ok();
    }));
    return out;
  }

 private:
  std::string IgnoreDuplicate() const {
    return db_.dialect() == db::Dialect::kMysql ? " ON DUPLICATE KEY UPDATE name = name"
                                                : " ON CONFLICT (name) DO NOTHING";
  }

  // The row as it stands after this transaction's write: held when it names `holder` (and `token`,
  // when given) and has not expired at the database's now.
  Status ReadGrant(Tx& tx, const std::string& name, const std::string& holder,
                   std::optional<std::int64_t> token, LeaseGrant& grant) {
    grant = LeaseGrant();
    auto rows = tx.Query(
        "SELECT holder, fencing_token, expires_at_ms, " + db_.NowMillis() + " FROM leases WHERE name = ?",
        {name});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::Ok();
    const Row& r = rows->front();
    const bool live = r.Int(2) > r.Int(3);
    grant.holder = live ? r.Text(0) : std::string();
    grant.expires_at_ms = r.Int(2);
    grant.held = live && r.Text(0) == holder && (!token || r.Int(1) == *token);
    if (grant.held) grant.token = r.Int(1);
    return Status::Ok();
  }

  Db& db_;
};

}  // namespace

std::unique_ptr<LeaseStore> OpenLeaseStore(Store& store) {
  return std::make_unique<SqlLeaseStore>(store.SqlDb());
}

Status EnsureLeaseTable(Store& store) {
  Db& db = store.SqlDb();
  const char* dialect = db.dialect() == db::Dialect::kMysql ? "mysql" : "sqlite";
  for (const internal::EmbeddedMigration& m : internal::MigrationsFor(dialect)) {
    if (std::string_view(m.name) != "leases") continue;
    for (const std::string& statement : internal::SplitSqlStatements(m.sql)) {
      MINYI_RETURN_IF_ERROR(
          db.InTransaction("create the leases table", Work::kIdempotent, [&](Tx& tx) -> Status {
            auto done = tx.Execute(statement, {});
            return done.ok() ? Status::Ok() : done.status();
          }));
    }
    return Status::Ok();
  }
  return Status::Internal("no leases migration in this build");
}

}  // namespace minyi::sql
