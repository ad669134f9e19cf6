// The SMS tables over both backends. The logic is written once against a tiny parameterized-SQL
// interface (Tx) with one adapter per backend; the only dialect differences are the "insert unless
// the key exists" and "upsert" clauses.
#include "sql/sms_store.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sql/mysql_store.h"
#include "sql/sqlite_store.h"

namespace minyi::sql {
namespace {

using Value = std::variant<std::int64_t, std::string>;
using Row = std::vector<std::optional<std::string>>;  // nullopt: NULL

// One transaction's statements.
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) = 0;
  // Rows changed (MySQL: "affected", so an ON DUPLICATE KEY no-op is 0).
  virtual Result<std::int64_t> Execute(const std::string& sql, const std::vector<Value>& params) = 0;
  virtual Result<std::int64_t> LastInsertId() = 0;
};

class Db {
 public:
  virtual ~Db() = default;
  virtual bool mysql() const = 0;
  // Runs fn in one transaction, committed when fn returns OK and rolled back otherwise.
  virtual Status InTransaction(std::string_view what, const std::function<Status(Tx&)>& fn) = 0;
};

// ---------------------------------------------------------------------------------------------
// SQLite adapter

Status SqliteFailure(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db);
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Status::Unavailable(std::move(message));
    case SQLITE_CONSTRAINT:
      return Status::InvalidInput(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(sqlite3* db) : db_(db) {}

  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) override {
    std::vector<Row> rows;
    Status s = Run(sql, params, &rows);
    if (!s.ok()) return s;
    return rows;
  }
  Result<std::int64_t> Execute(const std::string& sql, const std::vector<Value>& params) override {
    MINYI_RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<std::int64_t>(sqlite3_changes(db_));
  }
  Result<std::int64_t> LastInsertId() override { return sqlite3_last_insert_rowid(db_); }

 private:
  Status Run(const std::string& sql, const std::vector<Value>& params, std::vector<Row>* rows) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteFailure(db_, rc, "prepare " + sql.substr(0, 50));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        sqlite3_bind_int64(stmt, index, *n);
      } else {
        const std::string& text = std::get<std::string>(params[i]);
        sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      }
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (rows == nullptr) continue;
      Row row;
      const int columns = sqlite3_column_count(stmt);
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          row.emplace_back(std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
      rows->push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return SqliteFailure(db_, rc, sql.substr(0, 50));
    return Status::Ok();
  }

  sqlite3* db_;
};

Status ExecSqlite(sqlite3* db, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : SqliteFailure(db, rc, sql);
}

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(SqliteStore& store) : store_(store) {}
  bool mysql() const override { return false; }
  Status InTransaction(std::string_view what, const std::function<Status(Tx&)>& fn) override {
    return store_.WithWriteConnection([&](sqlite3* db) -> Status {
      MINYI_RETURN_IF_ERROR(ExecSqlite(db, "BEGIN IMMEDIATE"));
      SqliteTx tx(db);
      Status s = fn(tx);
      if (s.ok()) s = ExecSqlite(db, "COMMIT");
      if (!s.ok()) {
        if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return s.WithContext(what);
      }
      return s;
    });
  }

 private:
  SqliteStore& store_;
};

// ---------------------------------------------------------------------------------------------
// MySQL adapter. SQLExceptions propagate to MysqlStore::WithConnection, which converts them and
// rolls back.

class MysqlTx final : public Tx {
 public:
  explicit MysqlTx(::sql::Connection& conn) : conn_(conn) {}

  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) override {
    std::unique_ptr<::sql::PreparedStatement> ps(Prepare(sql, params));
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    const unsigned columns = rs->getMetaData()->getColumnCount();
    std::vector<Row> rows;
    while (rs->next()) {
      Row row;
      for (unsigned c = 1; c <= columns; ++c) {
        if (rs->isNull(c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(rs->getString(c).asStdString());
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  Result<std::int64_t> Execute(const std::string& sql, const std::vector<Value>& params) override {
    std::unique_ptr<::sql::PreparedStatement> ps(Prepare(sql, params));
    return static_cast<std::int64_t>(ps->executeUpdate());
  }
  Result<std::int64_t> LastInsertId() override {
    std::unique_ptr<::sql::Statement> st(conn_.createStatement());
    std::unique_ptr<::sql::ResultSet> rs(st->executeQuery("SELECT LAST_INSERT_ID()"));
    if (!rs->next()) return Status::Internal("mysql: LAST_INSERT_ID() returned no row");
    return static_cast<std::int64_t>(rs->getInt64(1));
  }

 private:
  ::sql::PreparedStatement* Prepare(const std::string& sql, const std::vector<Value>& params) {
    ::sql::PreparedStatement* ps = conn_.prepareStatement(sql);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto index = static_cast<unsigned>(i + 1);
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        ps->setInt64(index, *n);
      } else {
        ps->setString(index, std::get<std::string>(params[i]));
      }
    }
    return ps;
  }

  ::sql::Connection& conn_;
};

class MysqlDb final : public Db {
 public:
  explicit MysqlDb(MysqlStore& store) : store_(store) {}
  bool mysql() const override { return true; }
  Status InTransaction(std::string_view what, const std::function<Status(Tx&)>& fn) override {
    return store_.WithConnection(what, [&](::sql::Connection& conn) -> Status {
      conn.setAutoCommit(false);
      MysqlTx tx(conn);
      Status s = fn(tx);
      if (s.ok()) {
        conn.commit();
        conn.setAutoCommit(true);
      }
      // On an error status WithConnection sees autocommit off and rolls back.
      return s;
    });
  }

 private:
  MysqlStore& store_;
};

// ---------------------------------------------------------------------------------------------
// The SMS store, once for both.

std::int64_t Int(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    return 0;
  }
}
std::string Str(const std::optional<std::string>& v) { return v.value_or(std::string()); }

constexpr const char* kInboundColumns =
    "id, provider, message_ref, phone_key, text, sent_at_ms, received_at_ms, status, detail, survey_id,"
    " period_year, period_quarter, conversation_id";

SmsInbound InboundFromRow(const Row& r) {
  SmsInbound m;
  m.id = Int(r[0]);
  m.provider = Str(r[1]);
  m.message_ref = Str(r[2]);
  m.phone_key = Str(r[3]);
  m.text = Str(r[4]);
  m.sent_at_ms = Int(r[5]);
  m.received_at_ms = Int(r[6]);
  m.status = Str(r[7]);
  m.detail = Str(r[8]);
  m.survey_id = Str(r[9]);
  m.period.year = static_cast<int>(Int(r[10]));
  m.period.quarter = static_cast<int>(Int(r[11]));
  m.conversation_id = Int(r[12]);
  return m;
}

constexpr const char* kConversationColumns =
    "id, survey_id, period_year, period_quarter, phone_key, phone_enc, town_code, county_code, state, step,"
    " reasks, unparsed, answers_json, started_at_ms, updated_at_ms, expires_at_ms";

SmsConversation ConversationFromRow(const Row& r) {
  SmsConversation c;
  c.id = Int(r[0]);
  c.survey_id = Str(r[1]);
  c.period.year = static_cast<int>(Int(r[2]));
  c.period.quarter = static_cast<int>(Int(r[3]));
  c.phone_key = Str(r[4]);
  c.phone_enc = Str(r[5]);
  c.town_code = Str(r[6]);
  c.county_code = Str(r[7]);
  c.state = ParseSmsConversationState(Str(r[8])).value_or(SmsConversationState::kClosed);
  c.step = static_cast<int>(Int(r[9]));
  c.reasks = static_cast<int>(Int(r[10]));
  c.unparsed = static_cast<int>(Int(r[11]));
  c.answers_json = Str(r[12]);
  c.started_at_ms = Int(r[13]);
  c.updated_at_ms = Int(r[14]);
  c.expires_at_ms = Int(r[15]);
  return c;
}

constexpr const char* kOutboxColumns =
    "id, conversation_id, survey_id, phone_key, phone_enc, body, status, attempts, created_at_ms,"
    " next_attempt_at_ms, sent_at_ms, gateway_ref, last_error";

SmsOutboxMessage OutboxFromRow(const Row& r) {
  SmsOutboxMessage m;
  m.id = Int(r[0]);
  m.conversation_id = Int(r[1]);
  m.survey_id = Str(r[2]);
  m.phone_key = Str(r[3]);
  m.phone_enc = Str(r[4]);
  m.body = Str(r[5]);
  m.status = ParseSmsOutboxStatus(Str(r[6])).value_or(SmsOutboxStatus::kFailed);
  m.attempts = static_cast<int>(Int(r[7]));
  m.created_at_ms = Int(r[8]);
  m.next_attempt_at_ms = Int(r[9]);
  m.sent_at_ms = Int(r[10]);
  m.gateway_ref = Str(r[11]);
  m.last_error = Str(r[12]);
  return m;
}

constexpr const char* kRosterColumns = "survey_id, phone_key, phone_enc, area_code, imported_at_ms";

SmsRosterEntry RosterFromRow(const Row& r) {
  return {Str(r[0]), Str(r[1]), Str(r[2]), Str(r[3]), Int(r[4])};
}

Status RequireKey(const std::string& key, std::string_view what) {
  if (key.empty()) return Status::InvalidInput(std::string(what) + " is empty");
  if (key.size() > 128) return Status::InvalidInput(std::string(what) + " is longer than 128 bytes");
  return Status::Ok();
}

class SqlSmsStore final : public SmsStore {
 public:
  explicit SqlSmsStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  // "INSERT ... <suffix>": a no-op (0 rows changed) when the unique key already holds a row.
  std::string IgnoreDuplicate(const char* conflict_columns) const {
    return db_->mysql() ? " ON DUPLICATE KEY UPDATE id = id"
                        : std::string(" ON CONFLICT (") + conflict_columns + ") DO NOTHING";
  }

  Result<SmsInbound> InsertInbound(const SmsInbound& m, bool* inserted) override {
    MINYI_RETURN_IF_ERROR(RequireKey(m.provider, "provider"));
    MINYI_RETURN_IF_ERROR(RequireKey(m.message_ref, "message id"));
    MINYI_RETURN_IF_ERROR(RequireKey(m.phone_key, "phone key"));
    SmsInbound out;
    bool added = false;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("insert inbound sms", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(
          "INSERT INTO sms_inbound (provider, message_ref, phone_key, text, sent_at_ms, received_at_ms, status,"
          " detail, survey_id, period_year, period_quarter, conversation_id)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
              IgnoreDuplicate("provider, message_ref"),
          {m.provider, m.message_ref, m.phone_key, m.text, m.sent_at_ms, m.received_at_ms, m.status, m.detail,
           m.survey_id, static_cast<std::int64_t>(m.period.year), static_cast<std::int64_t>(m.period.quarter),
           m.conversation_id});
      if (!changed.ok()) return changed.status();
      added = *changed > 0;
      auto rows = tx.Query(std::string("SELECT ") + kInboundColumns +
                               " FROM sms_inbound WHERE provider = ? AND message_ref = ?",
                           {m.provider, m.message_ref});
      if (!rows.ok()) return rows.status();
      if (rows->empty()) return Status::Internal("inbound sms vanished after insert");
      out = InboundFromRow(rows->front());
      return Status::Ok();
    }));
    if (inserted != nullptr) *inserted = added;
    return out;
  }

  Status UpdateInbound(const SmsInbound& m) override {
    return db_->InTransaction("update inbound sms", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(
          "UPDATE sms_inbound SET status = ?, detail = ?, survey_id = ?, period_year = ?, period_quarter = ?,"
          " conversation_id = ? WHERE id = ?",
          {m.status, m.detail, m.survey_id, static_cast<std::int64_t>(m.period.year),
           static_cast<std::int64_t>(m.period.quarter), m.conversation_id, m.id});
      return changed.ok() ? Status::Ok() : changed.status();
    });
  }

  Result<std::vector<SmsInboundCount>> CountInbound() override {
    std::vector<SmsInboundCount> out;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("count inbound sms", [&](Tx& tx) -> Status {
      auto rows = tx.Query(
          "SELECT survey_id, period_year, period_quarter, status, COUNT(*) FROM sms_inbound"
          " GROUP BY survey_id, period_year, period_quarter, status"
          " ORDER BY survey_id, period_year, period_quarter, status",
          {});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) {
        out.push_back({Str(r[0]), Period{static_cast<int>(Int(r[1])), static_cast<int>(Int(r[2]))}, Str(r[3]),
                       Int(r[4])});
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<std::optional<SmsConversation>> FindOpenConversation(const std::string& phone_key) override {
    return FindOne(std::string("SELECT ") + kConversationColumns +
                       " FROM sms_conversations WHERE phone_key = ? AND state = 'open'"
                       " ORDER BY updated_at_ms DESC, id DESC LIMIT 1",
                   {phone_key});
  }

  Result<std::optional<SmsConversation>> FindConversation(const std::string& survey_id, const Period& period,
                                                          const std::string& phone_key) override {
    return FindOne(std::string("SELECT ") + kConversationColumns +
                       " FROM sms_conversations WHERE survey_id = ? AND period_year = ? AND period_quarter = ?"
                       " AND phone_key = ?",
                   {survey_id, static_cast<std::int64_t>(period.year), static_cast<std::int64_t>(period.quarter),
                    phone_key});
  }

  Result<std::int64_t> CreateConversation(const SmsConversation& c) override {
    MINYI_RETURN_IF_ERROR(RequireKey(c.survey_id, "survey"));
    MINYI_RETURN_IF_ERROR(RequireKey(c.phone_key, "phone key"));
    std::int64_t id = 0;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("create sms conversation", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(
          "INSERT INTO sms_conversations (survey_id, period_year, period_quarter, phone_key, phone_enc, town_code,"
          " county_code, state, step, reasks, unparsed, answers_json, started_at_ms, updated_at_ms, expires_at_ms)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
              IgnoreDuplicate("survey_id, period_year, period_quarter, phone_key"),
          ConversationParams(c, false));
      if (!changed.ok()) return changed.status();
      if (*changed == 0) {
        return Status::Conflict("an SMS conversation for this phone already exists in " + c.survey_id + " " +
                                c.period.ToString());
      }
      auto last = tx.LastInsertId();
      if (!last.ok()) return last.status();
      id = *last;
      return Status::Ok();
    }));
    return id;
  }

  Status UpdateConversation(const SmsConversation& c) override {
    return db_->InTransaction("update sms conversation", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(
          "UPDATE sms_conversations SET survey_id = ?, period_year = ?, period_quarter = ?, phone_key = ?,"
          " phone_enc = ?, town_code = ?, county_code = ?, state = ?, step = ?, reasks = ?, unparsed = ?,"
          " answers_json = ?, started_at_ms = ?, updated_at_ms = ?, expires_at_ms = ? WHERE id = ?",
          ConversationParams(c, true));
      if (!changed.ok()) return changed.status();
      return Status::Ok();
    });
  }

  Result<std::vector<SmsConversation>> ExpiredConversations(std::int64_t now_ms, int limit) override {
    std::vector<SmsConversation> out;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("expired sms conversations", [&](Tx& tx) -> Status {
      auto rows = tx.Query(std::string("SELECT ") + kConversationColumns +
                               " FROM sms_conversations WHERE state = 'open' AND expires_at_ms <= ?"
                               " ORDER BY expires_at_ms, id LIMIT " +
                               std::to_string(limit < 1 ? 1 : limit),
                           {now_ms});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) out.push_back(ConversationFromRow(r));
      return Status::Ok();
    }));
    return out;
  }

  Status EnqueueOutbox(const std::vector<SmsOutboxMessage>& messages) override {
    for (const auto& m : messages) MINYI_RETURN_IF_ERROR(RequireKey(m.phone_key, "phone key"));
    return db_->InTransaction("enqueue sms", [&](Tx& tx) -> Status {
      for (const SmsOutboxMessage& m : messages) {
        auto changed = tx.Execute(
            "INSERT INTO sms_outbox (conversation_id, survey_id, phone_key, phone_enc, body, status, attempts,"
            " created_at_ms, next_attempt_at_ms, sent_at_ms, gateway_ref, last_error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {m.conversation_id, m.survey_id, m.phone_key, m.phone_enc, m.body,
             std::string(SmsOutboxStatusName(m.status)), static_cast<std::int64_t>(m.attempts), m.created_at_ms,
             m.next_attempt_at_ms, m.sent_at_ms, m.gateway_ref, m.last_error});
        if (!changed.ok()) return changed.status();
      }
      return Status::Ok();
    });
  }

  Result<std::vector<SmsOutboxMessage>> DueOutbox(std::int64_t now_ms, int limit) override {
    std::vector<SmsOutboxMessage> out;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("due sms", [&](Tx& tx) -> Status {
      auto rows = tx.Query(std::string("SELECT ") + kOutboxColumns +
                               " FROM sms_outbox WHERE status = 'pending' AND next_attempt_at_ms <= ?"
                               " ORDER BY id LIMIT " +
                               std::to_string(limit < 1 ? 1 : limit),
                           {now_ms});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) out.push_back(OutboxFromRow(r));
      return Status::Ok();
    }));
    return out;
  }

  Status UpdateOutbox(const SmsOutboxMessage& m) override {
    return db_->InTransaction("update sms outbox", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(
          "UPDATE sms_outbox SET status = ?, attempts = ?, next_attempt_at_ms = ?, sent_at_ms = ?,"
          " gateway_ref = ?, last_error = ? WHERE id = ?",
          {std::string(SmsOutboxStatusName(m.status)), static_cast<std::int64_t>(m.attempts), m.next_attempt_at_ms,
           m.sent_at_ms, m.gateway_ref, m.last_error, m.id});
      return changed.ok() ? Status::Ok() : changed.status();
    });
  }

  Result<std::vector<std::pair<std::string, std::int64_t>>> CountOutbox() override {
    std::vector<std::pair<std::string, std::int64_t>> out;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("count sms outbox", [&](Tx& tx) -> Status {
      auto rows = tx.Query("SELECT status, COUNT(*) FROM sms_outbox GROUP BY status ORDER BY status", {});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) out.emplace_back(Str(r[0]), Int(r[1]));
      return Status::Ok();
    }));
    return out;
  }

  Status AddSuppression(const std::string& phone_key, std::int64_t at_ms, const std::string& reason) override {
    MINYI_RETURN_IF_ERROR(RequireKey(phone_key, "phone key"));
    return db_->InTransaction("add sms suppression", [&](Tx& tx) -> Status {
      const std::string sql =
          std::string("INSERT INTO sms_suppression (phone_key, created_at_ms, reason) VALUES (?, ?, ?)") +
          (db_->mysql() ? " ON DUPLICATE KEY UPDATE phone_key = phone_key" : " ON CONFLICT (phone_key) DO NOTHING");
      auto changed = tx.Execute(sql, {phone_key, at_ms, reason.substr(0, 64)});
      return changed.ok() ? Status::Ok() : changed.status();
    });
  }

  Result<bool> IsSuppressed(const std::string& phone_key) override {
    bool found = false;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("read sms suppression", [&](Tx& tx) -> Status {
      auto rows = tx.Query("SELECT 1 FROM sms_suppression WHERE phone_key = ?", {phone_key});
      if (!rows.ok()) return rows.status();
      found = !rows->empty();
      return Status::Ok();
    }));
    return found;
  }

  Status UpsertRoster(const std::vector<SmsRosterEntry>& entries) override {
    for (const auto& e : entries) {
      MINYI_RETURN_IF_ERROR(RequireKey(e.survey_id, "survey"));
      MINYI_RETURN_IF_ERROR(RequireKey(e.phone_key, "phone key"));
    }
    const std::string sql =
        std::string("INSERT INTO sms_roster (survey_id, phone_key, phone_enc, area_code, imported_at_ms)"
                    " VALUES (?, ?, ?, ?, ?)") +
        (db_->mysql() ? " ON DUPLICATE KEY UPDATE phone_enc = VALUES(phone_enc), area_code = VALUES(area_code),"
                        " imported_at_ms = VALUES(imported_at_ms)"
                      : " ON CONFLICT (survey_id, phone_key) DO UPDATE SET phone_enc = excluded.phone_enc,"
                        " area_code = excluded.area_code, imported_at_ms = excluded.imported_at_ms");
    return db_->InTransaction("upsert sms roster", [&](Tx& tx) -> Status {
      for (const SmsRosterEntry& e : entries) {
        auto changed = tx.Execute(sql, {e.survey_id, e.phone_key, e.phone_enc, e.area_code, e.imported_at_ms});
        if (!changed.ok()) return changed.status();
      }
      return Status::Ok();
    });
  }

  Result<std::optional<SmsRosterEntry>> FindRosterEntry(const std::string& survey_id,
                                                        const std::string& phone_key) override {
    std::optional<SmsRosterEntry> out;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("read sms roster", [&](Tx& tx) -> Status {
      auto rows = tx.Query(std::string("SELECT ") + kRosterColumns +
                               " FROM sms_roster WHERE survey_id = ? AND phone_key = ?",
                           {survey_id, phone_key});
      if (!rows.ok()) return rows.status();
      if (!rows->empty()) out = RosterFromRow(rows->front());
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<SmsRosterEntry>> RosterEntries(const std::string& survey_id,
                                                    const std::string& area_prefix) override {
    std::vector<SmsRosterEntry> out;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("read sms roster", [&](Tx& tx) -> Status {
      // A prefix match on codes (digits only, so no LIKE wildcards to escape): validated by callers.
      auto rows = tx.Query(std::string("SELECT ") + kRosterColumns +
                               " FROM sms_roster WHERE survey_id = ? AND SUBSTR(area_code, 1, ?) = ?"
                               " ORDER BY phone_key",
                           {survey_id, static_cast<std::int64_t>(area_prefix.size()), area_prefix});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) out.push_back(RosterFromRow(r));
      return Status::Ok();
    }));
    return out;
  }

  Result<SmsPurgeCounts> PurgeSurvey(const std::string& survey_id) override {
    SmsPurgeCounts counts;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("purge sms survey", [&](Tx& tx) -> Status {
      auto roster = tx.Execute("DELETE FROM sms_roster WHERE survey_id = ?", {survey_id});
      if (!roster.ok()) return roster.status();
      auto outbox = tx.Execute("DELETE FROM sms_outbox WHERE survey_id = ?", {survey_id});
      if (!outbox.ok()) return outbox.status();
      auto conversations =
          tx.Execute("UPDATE sms_conversations SET phone_enc = '' WHERE survey_id = ? AND phone_enc <> ''",
                     {survey_id});
      if (!conversations.ok()) return conversations.status();
      counts = {*roster, *outbox, *conversations};
      return Status::Ok();
    }));
    return counts;
  }

  Result<SmsPurgeCounts> PurgeBefore(std::int64_t before_ms) override {
    SmsPurgeCounts counts;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("purge old sms", [&](Tx& tx) -> Status {
      auto outbox =
          tx.Execute("DELETE FROM sms_outbox WHERE status <> 'pending' AND created_at_ms < ?", {before_ms});
      if (!outbox.ok()) return outbox.status();
      auto conversations = tx.Execute(
          "UPDATE sms_conversations SET phone_enc = '' WHERE state <> 'open' AND updated_at_ms < ?"
          " AND phone_enc <> ''",
          {before_ms});
      if (!conversations.ok()) return conversations.status();
      counts = {0, *outbox, *conversations};
      return Status::Ok();
    }));
    return counts;
  }

 private:
  static std::vector<Value> ConversationParams(const SmsConversation& c, bool with_id) {
    std::vector<Value> v = {c.survey_id,
                            static_cast<std::int64_t>(c.period.year),
                            static_cast<std::int64_t>(c.period.quarter),
                            c.phone_key,
                            c.phone_enc,
                            c.town_code,
                            c.county_code,
                            std::string(SmsConversationStateName(c.state)),
                            static_cast<std::int64_t>(c.step),
                            static_cast<std::int64_t>(c.reasks),
                            static_cast<std::int64_t>(c.unparsed),
                            c.answers_json.empty() ? std::string("{}") : c.answers_json,
                            c.started_at_ms,
                            c.updated_at_ms,
                            c.expires_at_ms};
    if (with_id) v.emplace_back(c.id);
    return v;
  }

  Result<std::optional<SmsConversation>> FindOne(const std::string& sql, const std::vector<Value>& params) {
    std::optional<SmsConversation> out;
    MINYI_RETURN_IF_ERROR(db_->InTransaction("read sms conversation", [&](Tx& tx) -> Status {
      auto rows = tx.Query(sql, params);
      if (!rows.ok()) return rows.status();
      if (!rows->empty()) out = ConversationFromRow(rows->front());
      return Status::Ok();
    }));
    return out;
  }

  std::unique_ptr<Db> db_;
};

}  // namespace

Result<std::unique_ptr<SmsStore>> OpenSmsStore(Store& store) {
  if (auto* sqlite = dynamic_cast<SqliteStore*>(&store)) {
    return std::unique_ptr<SmsStore>(new SqlSmsStore(std::make_unique<SqliteDb>(*sqlite)));
  }
  if (auto* mysql = dynamic_cast<MysqlStore*>(&store)) {
    return std::unique_ptr<SmsStore>(new SqlSmsStore(std::make_unique<MysqlDb>(*mysql)));
  }
  return Status::InvalidInput("the SMS tables need a SQLite or MySQL store");
}

}  // namespace minyi::sql
