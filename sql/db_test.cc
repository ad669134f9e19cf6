// The SQL foundation (sql/db.h): the retry policy of Db::InTransaction (on a scripted dialect), and on
// every backend — SQLite in memory, SQLite in a file, a private MariaDB — typed values, the one error
// mapping per dialect, and a real lock-wait timeout (MySQL 1205) retried only for idempotent work.
#include "sql/db.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

using testsupport::StoreBackend;

struct Scripted {
  Status status;
  bool retryable;
};

// A dialect whose attempts fail as scripted (then succeed); the work itself is never called.
class ScriptedDb final : public db::Db {
 public:
  explicit ScriptedDb(std::initializer_list<Scripted> script) {
    for (const Scripted& s : script) script_.push_back({s.status, s.retryable});
  }
  db::Dialect dialect() const override { return db::Dialect::kSqlite; }
  int attempts = 0;

 protected:
  Attempt RunOnce(std::string_view, const std::function<Status(db::Tx&)>&) override {
    ++attempts;
    if (script_.empty()) return {Status::Ok(), false};
    Attempt a = script_.front();
    script_.pop_front();
    return a;
  }

 private:
  std::deque<Attempt> script_;
};

std::unique_ptr<ScriptedDb> Script(std::initializer_list<Scripted> attempts) {
  return std::make_unique<ScriptedDb>(attempts);
}

const auto kNoWork = [](db::Tx&) { return Status::Ok(); };

TEST(DbRetryPolicy, IdempotentWorkIsRunAgainAfterRetryableFailures) {
  auto db = Script({{Status::Unavailable("deadlock"), true}, {Status::Unavailable("deadlock"), true}});
  EXPECT_TRUE(db->InTransaction("t", db::Work::kIdempotent, kNoWork).ok());
  EXPECT_EQ(db->attempts, 3);
}

TEST(DbRetryPolicy, WorkDeclaredOnceIsAnsweredUnavailableWithoutRetry) {
  // Whatever the work made of the failed statement (here a conflict), the class is kUnavailable.
  auto db = Script({{Status::Conflict("rolled back by the server"), true}});
  Status s = db->InTransaction("t", db::Work::kOnce, kNoWork);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
  EXPECT_EQ(db->attempts, 1);
}

TEST(DbRetryPolicy, AttemptsAreBounded) {
  auto db = Script({{Status::Unavailable("1"), true},
                    {Status::Unavailable("2"), true},
                    {Status::Unavailable("3"), true},
                    {Status::Unavailable("4"), true},
                    {Status::Unavailable("5"), true},
                    {Status::Unavailable("6"), true}});
  Status s = db->InTransaction("t", db::Work::kIdempotent, kNoWork);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(db->attempts, db::Db::kMaxAttempts);
}

TEST(DbRetryPolicy, OtherFailuresAreReturnedAsTheyAre) {
  auto db = Script({{Status::Conflict("duplicate key"), false}});
  Status s = db->InTransaction("t", db::Work::kIdempotent, kNoWork);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(db->attempts, 1);
}

class DbTest : public testsupport::FreshStoreTest {};

TEST_P(DbTest, TypedValuesRoundTrip) {
  db::Db& db = store_->SqlDb();
  const double tricky = 0.1 + 0.2;  // not 0.3: a text round trip with 15 digits would lose it
  ASSERT_TRUE(db.InTransaction("insert", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
                  return tx
                      .Execute(
                          "INSERT INTO population_cells (period_year, town_code, sex, age_band, population)"
                          " VALUES (?, ?, ?, ?, ?)",
                          {2025, "320102001", "", "", tricky})
                      .status();
                }).ok());
  ASSERT_TRUE(
      db.InTransaction("read", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
          auto rows = tx.Query(
              "SELECT period_year, town_code, population, (SELECT MAX(population) FROM population_cells"
              " WHERE period_year = 1900) FROM population_cells",
              {});
          if (!rows.ok()) return rows.status();
          EXPECT_EQ(rows->size(), 1U);
          if (rows->size() != 1) return Status::Ok();
          const db::Row& r = rows->front();
          EXPECT_EQ(r.Int(0), 2025);
          EXPECT_EQ(r.Text(1), "320102001");
          EXPECT_EQ(r.Double(2), tricky);
          EXPECT_TRUE(r.IsNull(3));
          EXPECT_TRUE(std::isnan(r.Double(3)));
          EXPECT_FALSE(r.OptionalText(3).has_value());
          auto null_bound = tx.Query("SELECT COUNT(*) FROM population_cells WHERE ? IS NULL", {db::Null{}});
          if (!null_bound.ok()) return null_bound.status();
          EXPECT_EQ(null_bound->front().Int(0), 1);
          return Status::Ok();
        }).ok());
}

// SQLite keeps the write connection's statements prepared (issue 16, sql/sqlite_internal.h
// db_statements): a statement run again starts from fresh bindings (a parameter left out is NULL, not
// the previous run's value), a failed run leaves it usable, and more texts than the cache keeps still run.
TEST_P(DbTest, StatementsRunAgainStartFreshAndManyTextsStillRun) {
  // MySQL prepares per run and refuses a parameter left unset; the cache is SQLite's.
  if (GetParam() == StoreBackend::kMariaDb) GTEST_SKIP() << "the statement cache is SQLite's";
  db::Db& db = store_->SqlDb();
  const std::string sql = "SELECT COUNT(*) FROM population_cells WHERE ? IS NULL";
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(db.InTransaction("bound", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
                    auto bound = tx.Query("SELECT ? IS NULL", {"x"});
                    if (!bound.ok()) return bound.status();
                    EXPECT_EQ(bound->front().Int(0), 0);
                    auto unbound = tx.Query("SELECT ? IS NULL", {});  // the same text, nothing bound
                    if (!unbound.ok()) return unbound.status();
                    EXPECT_EQ(unbound->front().Int(0), 1) << "round " << round;
                    return Status::Ok();
                  }).ok());
  }
  auto insert = [&](const std::string& town) {
    return db.InTransaction("insert", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
      return tx
          .Execute(
              "INSERT INTO population_cells (period_year, town_code, sex, age_band, population)"
              " VALUES (?, ?, '', '', 1)",
              {2025, town})
          .status();
    });
  };
  ASSERT_TRUE(insert("320102001").ok());
  EXPECT_EQ(insert("320102001").code(), StatusCode::kConflict);  // the same cell: the primary key
  ASSERT_TRUE(insert("320102002").ok()) << "the statement stays usable after a failed run";
  ASSERT_TRUE(db.InTransaction("many", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
                  for (int i = 0; i < 600; ++i) {  // more texts than the cache keeps (256)
                    auto rows = tx.Query("SELECT " + std::to_string(i), {});
                    if (!rows.ok()) return rows.status();
                    EXPECT_EQ(rows->front().Int(0), i);
                  }
                  auto cells = tx.Query(sql, {db::Null{}});
                  if (!cells.ok()) return cells.status();
                  EXPECT_EQ(cells->front().Int(0), 2);
                  return Status::Ok();
                }).ok());
}

TEST_P(DbTest, OneErrorMappingPerDialect) {
  db::Db& db = store_->SqlDb();
  auto set = [&](const std::string& key) {
    return db.InTransaction("set meta", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
      return tx.Execute("INSERT INTO meta (`key`, `value`) VALUES (?, ?)", {key, "v"}).status();
    });
  };
  ASSERT_TRUE(set("k").ok());
  Status duplicate = set("k");
  EXPECT_EQ(duplicate.code(), StatusCode::kConflict) << duplicate;
  // NaN is bound as NULL, which a NOT NULL column refuses: the caller's input.
  Status not_null = db.InTransaction("insert", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
    return tx
        .Execute(
            "INSERT INTO population_cells (period_year, town_code, sex, age_band, population)"
            " VALUES (?, ?, ?, ?, ?)",
            {2025, "320102001", "", "", std::nan("")})
        .status();
  });
  EXPECT_EQ(not_null.code(), StatusCode::kInvalidInput) << not_null;
  // A failed transaction leaves nothing behind.
  Status partial = db.InTransaction("two inserts", db::Work::kIdempotent, [&](db::Tx& tx) -> Status {
    MINYI_RETURN_IF_ERROR(tx.Execute("INSERT INTO meta (`key`, `value`) VALUES ('new', 'v')", {}).status());
    return tx.Execute("INSERT INTO meta (`key`, `value`) VALUES ('k', 'v')", {}).status();
  });
  EXPECT_EQ(partial.code(), StatusCode::kConflict);
  auto value = store_->GetMeta("new");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value.value(), "");
}

// A row lock held by one transaction makes another wait; with innodb_lock_wait_timeout = 1 the
// waiter fails with 1205, the retryable class: retried when idempotent, 503-class when not.
TEST_P(DbTest, LockWaitTimeoutIsRetriedOnlyForIdempotentWork) {
  if (GetParam() != StoreBackend::kMariaDb) GTEST_SKIP() << "SQLite has no retryable class";
  db::Db& db = store_->SqlDb();
  ASSERT_TRUE(store_->SetMeta("k", "0").ok());
  for (const db::Work work : {db::Work::kOnce, db::Work::kIdempotent}) {
    std::mutex mu;
    std::condition_variable cv;
    bool locked = false;
    std::atomic<int> attempts{0};
    std::thread holder([&] {
      Status s = db.InTransaction("hold", db::Work::kOnce, [&](db::Tx& tx) -> Status {
        MINYI_RETURN_IF_ERROR(tx.Execute("UPDATE meta SET `value` = 'held' WHERE `key` = 'k'", {}).status());
        std::unique_lock<std::mutex> lock(mu);
        locked = true;
        cv.notify_all();
        // Hold the lock until the waiter's first attempt has failed (it then starts a second one, or
        // gives up), bounded in case it never comes.
        cv.wait_for(lock, std::chrono::seconds(20), [&] { return attempts.load() >= 2 || !locked; });
        return Status::Ok();
      });
      EXPECT_TRUE(s.ok()) << s;
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return locked; }));
    }
    Status s = db.InTransaction("wait", work, [&](db::Tx& tx) -> Status {
      {
        std::lock_guard<std::mutex> lock(mu);
        ++attempts;
        cv.notify_all();
      }
      MINYI_RETURN_IF_ERROR(tx.Execute("SET SESSION innodb_lock_wait_timeout = 1", {}).status());
      return tx.Execute("UPDATE meta SET `value` = 'waiter' WHERE `key` = 'k'", {}).status();
    });
    {
      std::lock_guard<std::mutex> lock(mu);
      locked = false;  // releases the holder when the waiter gave up
      cv.notify_all();
    }
    holder.join();
    if (work == db::Work::kOnce) {
      EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
      EXPECT_EQ(attempts.load(), 1);
      EXPECT_NE(s.message().find("1205"), std::string::npos) << s;
    } else {
      EXPECT_TRUE(s.ok()) << s;
      EXPECT_EQ(attempts.load(), 2);
      auto value = store_->GetMeta("k");
      ASSERT_TRUE(value.ok());
      EXPECT_EQ(value.value(), "waiter");
    }
  }
}

// Regression (issue 13, "MariaDB killed under load" lost acknowledged responses): the connection dies
// after the last statement and before COMMIT. The transaction is gone with it, so the commit must fail
// (503-class), never report success: Connector/C++ 1.1's Connection::commit() did not throw here.
TEST_P(DbTest, ACommitOnALostConnectionFailsInsteadOfReportingSuccess) {
  if (GetParam() != StoreBackend::kMariaDb) GTEST_SKIP() << "a lost connection is the MySQL dialect's";
  auto server = testsupport::SharedMariaDb();
  ASSERT_TRUE(server.ok()) << server.status();
  db::Db& db = store_->SqlDb();
  Status s = db.InTransaction("insert, then lose the connection", db::Work::kOnce, [&](db::Tx& tx) -> Status {
    MINYI_RETURN_IF_ERROR(tx.Execute("INSERT INTO meta (`key`, `value`) VALUES ('lost', 'v')", {}).status());
    auto id = tx.Query("SELECT CONNECTION_ID()", {});
    if (!id.ok()) return id.status();
    auto killed = server.value()->Query("KILL CONNECTION " + std::to_string(id->front().Int(0)));
    EXPECT_TRUE(killed.ok()) << killed.status();
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
  auto value = store_->GetMeta("lost");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value.value(), "");
}

INSTANTIATE_TEST_SUITE_P(Backends, DbTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::sql
