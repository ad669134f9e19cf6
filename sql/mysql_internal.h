// Internals of the MySQL store shared by its translation units (mysql_store.cc and the feature
// files mysql_<feature>.cc): Connector/C++ helpers, the pooled connection and MysqlStore::Impl. Not
// part of the store's API; include it only from sql/mysql_*.cc.
#pragma once

#include <cppconn/connection.h>
#include <cppconn/datatype.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sql/db.h"
#include "sql/mysql_store.h"
#include "sql/store_common.h"

namespace minyi::sql {

namespace mysql_detail {

using Clock = std::chrono::steady_clock;
using Work = db::Work;  // what MysqlStore::Impl::Run's callers declare (sql/db.h)

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr auto kPingAfterIdle = std::chrono::seconds(5);
inline constexpr std::size_t kIdChunk = 128;                 // source refs per id look-up after an append
inline constexpr std::size_t kAnswerRowsPerInsert = 32;      // rows per multi-row answer INSERT

// Client-side errors (CR_*, 2000..2999) and server codes that mean the session is gone.
inline bool ConnectionBroken(int code) {
  return (code >= 2000 && code < 3000) || code == 1927 /* ER_CONNECTION_KILLED */ ||
         code == 4031 /* ER_CLIENT_INTERACTION_TIMEOUT */ || code == 1053 /* ER_SERVER_SHUTDOWN */;
}

// The retryable class (sql/db.h): the server rolled the transaction back, so running it again is
// safe for idempotent work. Galera reports a certification failure at COMMIT as a deadlock (1213)
// and a node not ready for queries (not synced, no primary component) as 1047.
inline bool RetryableTransaction(int code) {
  return code == 1213 /* deadlock */ || code == 1205 /* lock wait */ || code == 1047 /* WSREP not ready */;
}

// The MySQL dialect's one error mapping (sql/db.h): a lost connection, the retryable class, and a
// server that refuses us or is out of space are kUnavailable; a duplicate key is kConflict; data the
// schema rejects is the caller's input; anything else is our bug.
inline Status FromException(const ::sql::SQLException& e, std::string_view what) {
  const int code = e.getErrorCode();
  std::string message = "mysql: " + std::string(what) + ": " + e.what() + " (error " + std::to_string(code) +
                        ", state " + e.getSQLState() + ")";
  if (ConnectionBroken(code) || RetryableTransaction(code) || code == 1040 /* too many connections */ ||
      code == 1044 || code == 1045 /* access denied */ || code == 1049 /* unknown database */ ||
      code == 1021 /* disk full */ || code == 1114 /* table full */ ||
      code == 1030 /* storage engine error, e.g. errno 28: no space left */) {
    return Status::Unavailable(std::move(message));
  }
  if (code == 1062 /* duplicate key */) return Status::Conflict(std::move(message));
  if (code == 1406 /* data too long */ || code == 1048 /* column cannot be null */ ||
      code == 1366 /* incorrect string value */ || code == 3819 /* MySQL check constraint */ ||
      code == 4025 /* MariaDB check constraint */ || code == 1264 /* out of range */) {
    return Status::InvalidInput(std::move(message));
  }
  return Status::Internal(std::move(message));
}

inline bool ValidDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

inline ::sql::mysql::MySQL_Driver* Driver() {
  // get_driver_instance() is not thread-safe on its first call.
  static ::sql::mysql::MySQL_Driver* driver = ::sql::mysql::get_mysql_driver_instance();
  return driver;
}

inline std::string Str(const ::sql::SQLString& s) { return s.asStdString(); }

inline double GetDouble(::sql::ResultSet& rs, std::uint32_t i) { return rs.isNull(i) ? kNaN : static_cast<double>(rs.getDouble(i)); }

inline void SetDouble(::sql::PreparedStatement& ps, std::uint32_t i, double v) {
  if (internal::StoredAsValue(v)) {
    ps.setDouble(i, v);
  } else {
    ps.setNull(i, ::sql::DataType::DOUBLE);
  }
}

inline std::string Placeholders(std::size_t n, const char* one) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += one;
  }
  return out;
}

inline constexpr const char* kInsertResponseSql =
    "INSERT INTO responses (survey_id, period_year, period_quarter, town_code, channel, respondent_key,"
    " weight, completion, submitted_at_ms, received_at_ms, source_ref, content_hash, raw_payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id";
// A locking read sees the latest committed row even when our snapshot predates it.
inline constexpr const char* kSelectExistingSql =
    "SELECT id, content_hash FROM responses WHERE channel = ? AND source_ref = ? LOCK IN SHARE MODE";

}  // namespace mysql_detail

// Internal header, included only by the MySQL store's own translation units.
using namespace mysql_detail;  // NOLINT(google-build-using-namespace)

// One pooled connection with the statements prepared on it. Declaration order matters: statements
// are destroyed before their connection.
struct PooledConn {
  std::unique_ptr<::sql::Connection> conn;
  std::unique_ptr<::sql::Statement> stmt;
  std::unique_ptr<::sql::PreparedStatement> insert_response;
  std::unique_ptr<::sql::PreparedStatement> select_existing;
  std::unique_ptr<::sql::PreparedStatement> select_ids;
  std::map<std::size_t, std::unique_ptr<::sql::PreparedStatement>> insert_answers;  // by row count
  std::map<std::size_t, std::unique_ptr<::sql::PreparedStatement>> insert_responses;    // fast path
  std::map<std::size_t, std::unique_ptr<::sql::PreparedStatement>> insert_answer_rows;  // fast path
  std::map<std::size_t, std::unique_ptr<::sql::PreparedStatement>> insert_analysis;     // by row count
  // The statements of sql/db.h's transactions (MysqlTx), by their SQL text. A statement is closed only
  // between transactions (EvictStatements, from Release), never inside one. Measured on a 3-node
  // Galera cluster (MariaDB 10.11, galera-4 26.4): when the applier of another node's write set aborts
  // a local transaction (a "brute-force abort") while the client is between statements, the server
  // reports the deadlock to the client's next command, and COM_STMT_CLOSE, which a prepared
  // statement's destructor sends, has no reply: the error was lost, the rest of the transaction ran
  // in a new one and its COMMIT succeeded, without the rows written before the abort. The same
  // unique key inserted at once on two nodes (INSERT ... ON DUPLICATE KEY UPDATE, SELECT, COMMIT):
  // with a statement prepared and closed per call, 2 to 9 of 1,000 transactions read no row right
  // after their INSERT reported one, or committed "successfully" an INSERT that was rolled back (the
  // SMS webhook's "inbound sms vanished after insert" in galera_test); with the statements kept open
  // until the transaction ended, 0 of 3,000 (every abort came back as error 1213 and was retried).
  // COM_STMT_PREPARE loses such an abort too: see PrepareInTransaction.
  std::map<std::string, std::unique_ptr<::sql::PreparedStatement>, std::less<>> statements;
  Clock::time_point idle_since = Clock::now();
  bool commit_sent = false;  // a COMMIT was sent: a broken connection leaves the outcome unknown

  // The cached statement for `sql`, prepared on first use (parameters are bound afresh by the caller).
  ::sql::PreparedStatement& Statement(std::string_view sql) {
    auto it = statements.find(sql);
    if (it == statements.end()) {
      it = statements.emplace(std::string(sql), PrepareInTransaction(std::string(sql))).first;
    }
    return *it->second;
  }

  // Prepares `sql`. COM_STMT_PREPARE loses a Galera abort that came before it, as COM_STMT_CLOSE does
  // (10 to 20 of 1,000 transactions with the SELECT first prepared after the INSERT): the server rolled
  // the transaction back and answered the PREPARE as if nothing had happened. So inside a transaction
  // that has run a statement (@@in_transaction is 1; an abort before this check is reported to the
  // check itself), a transaction found closed after the prepare is reported as the abort it was,
  // error 1213, and the work runs again (its prepares checked the same way). With this check, 0 of
  // 2,000 such transactions committed half. Two round trips, only when a statement is not cached yet.
  std::unique_ptr<::sql::PreparedStatement> PrepareInTransaction(const std::string& sql) {
    const bool was_open = !conn->getAutoCommit() && InTransaction();
    std::unique_ptr<::sql::PreparedStatement> ps(conn->prepareStatement(sql));
    if (was_open && !InTransaction()) {
      throw ::sql::SQLException(
          "the transaction was rolled back by the cluster (found closed after a prepare)", "40001", 1213);
    }
    return ps;
  }
  bool InTransaction() {
    std::unique_ptr<::sql::ResultSet> rs(stmt->executeQuery("SELECT @@in_transaction"));
    return rs->next() && rs->getInt(1) == 1;
  }
  // Bounds the cache: each entry holds a prepared statement on the server too, and the server's
  // max_prepared_stmt_count (16,382 by default) counts them over all sessions. Between transactions.
  void EvictStatements() {
    constexpr std::size_t kMaxStatements = 32;
    if (statements.size() > kMaxStatements) statements.clear();
  }

  ::sql::PreparedStatement& Prepared(std::unique_ptr<::sql::PreparedStatement>& slot, const std::string& sql) {
    if (!slot) slot = PrepareInTransaction(sql);
    return *slot;
  }
  void Execute(const std::string& sql) { stmt->execute(sql); }
  // ROLLBACK as a statement, for the reason Commit (below) sends COMMIT as one: a rollback on a dead
  // connection then throws, and the connection is dropped instead of going back to the pool.
  void Rollback() { stmt->execute("ROLLBACK"); }
};

// Commits the open transaction on `pc` and returns to autocommit; throws ::sql::SQLException when the
// server refuses the COMMIT. COMMIT is sent as a statement, never through Connection::commit(): the
// Connector/C++ 1.1 in Debian 12 discards the result of mysql_commit(), so a COMMIT the server answered
// with an error looked committed. On one MariaDB server that never showed (the unique key makes the
// second insert wait and fail before COMMIT), but Galera certifies a transaction against the other
// nodes' at COMMIT and reports the loser there as error 1213: both servers of issue 15 answered 201
// for one idempotency key, the loser with the id of a row that had been rolled back
// (tests/integration/galera_test.cc). Such a 1213 means the transaction was NOT committed, so the
// retryable class (Run, Db::InTransaction) runs it again, where the winner's row is a duplicate or a
// conflict; a connection lost after COMMIT was sent stays unknown and is not retried (commit_sent).
// The same silence lost acknowledged responses on one server: a connection that died after the last
// INSERT and before COMMIT reported a successful commit (store_fault_test, MariaDB killed or shut down
// under load; db_test ACommitOnALostConnectionFailsInsteadOfReportingSuccess).
inline void Commit(PooledConn& pc) {
  pc.commit_sent = true;
  pc.Execute("COMMIT");
  pc.conn->setAutoCommit(true);
}

struct MysqlStore::Impl {
  MysqlOptions options;
  std::mutex mu;  // guards idle and live
  std::condition_variable cv;
  std::vector<std::unique_ptr<PooledConn>> idle;
  int live = 0;

  Result<std::unique_ptr<PooledConn>> Connect(bool with_schema) {
    try {
      ::sql::ConnectOptionsMap props;
      props["hostName"] = ::sql::SQLString(options.socket.empty()
                                               ? "tcp://" + options.host + ":" + std::to_string(options.port)
                                               : "unix://" + options.socket);
      props["userName"] = ::sql::SQLString(options.user);
      props["password"] = ::sql::SQLString(options.password);
      props["OPT_CHARSET_NAME"] = ::sql::SQLString("utf8mb4");
      props["OPT_CONNECT_TIMEOUT"] = options.connect_timeout_seconds;
      props["OPT_READ_TIMEOUT"] = options.read_timeout_seconds;
      props["OPT_WRITE_TIMEOUT"] = options.write_timeout_seconds;
      if (with_schema) props["schema"] = ::sql::SQLString(options.database);
      auto pc = std::make_unique<PooledConn>();
      pc->conn.reset(Driver()->connect(props));
      pc->stmt.reset(pc->conn->createStatement());
      // Strict mode so that both backends reject rather than silently truncate; READ COMMITTED so a
      // plain read inside a transaction sees rows committed by others meanwhile.
      pc->Execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'");
      pc->Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
      pc->conn->setAutoCommit(true);
      return pc;
    } catch (const ::sql::SQLException& e) {
      const std::string where = "connect to " + (options.socket.empty() ? options.host + ":" + std::to_string(options.port)
                                                                        : options.socket) +
                                " as " + options.user;
      Status s = FromException(e, where);
      return Status(StatusCode::kUnavailable, s.message());
    }
  }

  Result<std::unique_ptr<PooledConn>> Acquire() {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::milliseconds(options.pool_wait_ms),
                     [&] { return !idle.empty() || live < options.pool_size; })) {
      return Status::Unavailable("mysql: no pooled connection became free within " +
                                 std::to_string(options.pool_wait_ms) + " ms");
    }
    std::unique_ptr<PooledConn> pc;
    if (!idle.empty()) {
      pc = std::move(idle.back());
      idle.pop_back();
    } else {
      ++live;
    }
    lock.unlock();
    if (pc && Clock::now() - pc->idle_since > kPingAfterIdle) {
      bool valid = false;
      try {
        valid = pc->conn->isValid();
      } catch (const ::sql::SQLException&) {
        valid = false;
      }
      if (!valid) pc.reset();
    }
    if (!pc) {
      auto fresh = Connect(true);
      if (!fresh.ok()) {
        Release(nullptr);
        return fresh.status();
      }
      pc = std::move(fresh).value();
    }
    pc->commit_sent = false;
    return pc;
  }

  // Returns a connection to the pool; nullptr gives up its slot (the connection was dropped).
  void Release(std::unique_ptr<PooledConn> pc) {
    if (pc) pc->EvictStatements();  // outside the lock: closing statements talks to the server
    std::lock_guard<std::mutex> lock(mu);
    if (pc) {
      pc->idle_since = Clock::now();
      idle.push_back(std::move(pc));
    } else {
      --live;
    }
    cv.notify_one();
  }

  // Closes every idle connection: after one was found dead (server restart, idle timeout, killed
  // sessions) the others are likely dead too.
  void DropIdle() {
    std::vector<std::unique_ptr<PooledConn>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu);
      live -= static_cast<int>(idle.size());
      dropped.swap(idle);
      cv.notify_all();
    }
  }

  // Runs fn(PooledConn&) -> Status on a pooled connection, converting exceptions: the store's own
  // fast paths (Append, Scan pages, the analysis reads), which work on the connection's prepared
  // statements directly. The retry policy is sql/db.h's, for the Work the caller declares: idempotent
  // work is run again after a failure of the retryable class (the server rolled the transaction back;
  // attempts and back-off of db::Db) and once more on a fresh connection when the connection broke
  // before COMMIT was sent; work declared kOnce, and a connection lost after COMMIT was sent, come
  // back kUnavailable.
  template <typename Fn>
  Status Run(std::string_view what, Work work, Fn&& fn) {
    const bool idempotent = work == Work::kIdempotent;
    for (int attempt = 1;; ++attempt) {
      auto acquired = Acquire();
      if (!acquired.ok()) return acquired.status();
      std::unique_ptr<PooledConn> pc = std::move(acquired).value();
      try {
        Status s = fn(*pc);
        if (!pc->conn->getAutoCommit()) {
          // fn returned early inside a transaction (an error status): undo it.
          pc->Rollback();
          pc->conn->setAutoCommit(true);
        }
        Release(std::move(pc));
        return s;
      } catch (const ::sql::SQLException& e) {
        const int code = e.getErrorCode();
        if (ConnectionBroken(code)) {
          const bool may_retry = idempotent && !pc->commit_sent && attempt == 1;
          pc.reset();
          Release(nullptr);
          DropIdle();
          spdlog::warn("mysql: {}: connection lost (error {}); {}", what, code,
                       may_retry ? "retrying on a new connection" : "giving up");
          if (may_retry) continue;
          return FromException(e, what);
        }
        try {
          if (!pc->conn->getAutoCommit()) {
            pc->Rollback();
            pc->conn->setAutoCommit(true);
          }
          Release(std::move(pc));
        } catch (const ::sql::SQLException&) {
          pc.reset();
          Release(nullptr);
        }
        if (RetryableTransaction(code) && idempotent && attempt < db::Db::kMaxAttempts) {
          spdlog::debug("mysql: {}: transaction rolled back (error {}), attempt {}", what, code, attempt);
          std::this_thread::sleep_for(db::Db::Backoff(attempt));
          continue;
        }
        return FromException(e, what);
      } catch (const std::exception& e) {
        pc.reset();
        Release(nullptr);
        return Status::Internal("mysql: " + std::string(what) + ": " + e.what());
      }
    }
  }
};

// Inserts the responses of `batch` in `order` one by one inside the caller's open transaction, each
// insert letting the unique key (channel, source_ref) decide stored / duplicate / conflict, and fills
// `out` (sql/mysql_store.cc). Throws ::sql::SQLException.
Status AppendPerRow(PooledConn& pc, const std::vector<Response>& batch, const std::vector<std::string>& hashes,
                    const std::vector<std::size_t>& order, std::vector<AppendResult>& out);

// Writes the analysis_responses rows (core/analysis.h) of the responses of `batch` whose result is
// kStored, inside the caller's open transaction (sql/mysql_analysis.cc). Throws ::sql::SQLException.
Status AppendAnalysisRows(PooledConn& pc, const std::vector<Response>& batch, const std::vector<AppendResult>& results);

// The store's sql/db.h dialect (sql/mysql_db.cc).
std::unique_ptr<db::Db> MakeMysqlDb(MysqlStore::Impl& impl);

}  // namespace minyi::sql
