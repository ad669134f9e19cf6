// AccessStore over the dialect interface (sql/db.h): the SQL is written once, with '?'
// placeholders, and runs unchanged on SQLite and MySQL/MariaDB.
#include "sql/access_store.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "core/response.h"
#include "sql/area_scope.h"
#include "sql/db.h"

namespace minyi::sql {
namespace {

using db::Db;
using db::Row;
using db::Tx;
using db::Value;
using db::Work;

constexpr const char* kUserColumns =
    "id, username, role, password_hash, disabled, created_at_ms, updated_at_ms";

class SqlAccessStore final : public AccessStore {
 public:
  explicit SqlAccessStore(Db& db) : db_(db) {}

  Status AddUser(const User& user, std::int64_t* id) override {
    if (user.username.empty() || user.password_hash.empty()) {
      return Status::InvalidInput("user: username and password hash are required");
    }
    return db_.InTransaction("add user " + user.username, Work::kIdempotent, [&](Tx& tx) -> Status {
      auto inserted = tx.Execute(
          "INSERT INTO users (username, role, password_hash, disabled, created_at_ms, updated_at_ms)"
          " VALUES (?, ?, ?, ?, ?, ?)",
          {user.username, std::string(RoleName(user.role)), user.password_hash,
           std::int64_t{user.disabled ? 1 : 0}, user.created_at_ms, user.updated_at_ms});
      if (!inserted.ok()) {
        if (inserted.status().code() == StatusCode::kConflict) {
          return Status::Conflict("user '" + user.username + "' already exists");
        }
        return inserted.status();
      }
      auto new_id = tx.LastInsertId();
      if (!new_id.ok()) return new_id.status();
      for (const std::string& area : user.areas) {
        auto r = tx.Execute("INSERT INTO user_areas (user_id, area_code) VALUES (?, ?)", {new_id.value(), area});
        if (!r.ok()) return r.status();
      }
      if (id != nullptr) *id = new_id.value();
      return Status::Ok();
    });
  }

  Result<std::optional<User>> FindUser(const std::string& username) override {
    return FindOne("username = ?", username);
  }
  Result<std::optional<User>> FindUserById(std::int64_t id) override { return FindOne("id = ?", id); }

  Result<std::vector<User>> ListUsers() override {
    std::vector<User> users;
    Status s = db_.InTransaction("list users", Work::kIdempotent, [&](Tx& tx) -> Status {
      users.clear();  // a retried attempt starts afresh
      auto rows = tx.Query(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY username", {});
      if (!rows.ok()) return rows.status();
      auto areas = tx.Query("SELECT user_id, area_code FROM user_areas ORDER BY user_id, area_code", {});
      if (!areas.ok()) return areas.status();
      for (const Row& row : rows.value()) {
        User u = ToUser(row);
        for (const Row& a : areas.value()) {
          if (a.Int(0) == u.id) u.areas.push_back(a.Text(1));
        }
        users.push_back(std::move(u));
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return users;
  }

  Status SetUserDisabled(const std::string& username, bool disabled, std::int64_t at_ms) override {
    return db_.InTransaction("disable user " + username, Work::kIdempotent, [&](Tx& tx) -> Status {
      auto id = UserId(tx, username);
      if (!id.ok()) return id.status();
      auto r = tx.Execute("UPDATE users SET disabled = ?, updated_at_ms = ? WHERE id = ?",
                          {std::int64_t{disabled ? 1 : 0}, at_ms, id.value()});
      if (!r.ok()) return r.status();
      if (disabled) {
        auto d = tx.Execute("DELETE FROM sessions WHERE user_id = ?", {id.value()});
        if (!d.ok()) return d.status();
      }
      return Status::Ok();
    });
  }

  Status SetPasswordHash(const std::string& username, const std::string& password_hash,
                         std::int64_t at_ms) override {
    if (password_hash.empty()) return Status::InvalidInput("password hash is empty");
    return db_.InTransaction("set password of " + username, Work::kIdempotent, [&](Tx& tx) -> Status {
      auto id = UserId(tx, username);
      if (!id.ok()) return id.status();
      auto r = tx.Execute("UPDATE users SET password_hash = ?, updated_at_ms = ? WHERE id = ?",
                          {password_hash, at_ms, id.value()});
      if (!r.ok()) return r.status();
      auto d = tx.Execute("DELETE FROM sessions WHERE user_id = ?", {id.value()});
      return d.ok() ? Status::Ok() : d.status();
    });
  }

  Status AddSession(const Session& session) override {
    if (session.id_hash.size() != 64 || session.user_id <= 0) {
      return Status::InvalidInput("session: a 64-character id hash and a user id are required");
    }
    return db_.InTransaction("add session", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto r = tx.Execute(
          "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at_ms, expires_at_ms, remote_address)"
          " VALUES (?, ?, ?, ?, ?, ?)",
          {session.id_hash, session.user_id, session.csrf_token, session.created_at_ms, session.expires_at_ms,
           session.remote_address.substr(0, 64)});
      return r.ok() ? Status::Ok() : r.status();
    });
  }

  Result<std::optional<Session>> FindSession(const std::string& id_hash) override {
    std::optional<Session> found;
    Status s = db_.InTransaction("find session", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto rows = tx.Query(
          "SELECT id_hash, user_id, csrf_token, created_at_ms, expires_at_ms, remote_address FROM sessions"
          " WHERE id_hash = ?",
          {id_hash});
      if (!rows.ok()) return rows.status();
      if (rows.value().empty()) return Status::Ok();
      const Row& r = rows.value().front();
      Session session;
      session.id_hash = r.Text(0);
      session.user_id = r.Int(1);
      session.csrf_token = r.Text(2);
      session.created_at_ms = r.Int(3);
      session.expires_at_ms = r.Int(4);
      session.remote_address = r.Text(5);
      found = std::move(session);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return found;
  }

  Status DeleteSession(const std::string& id_hash) override {
    return db_.InTransaction("delete session", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto r = tx.Execute("DELETE FROM sessions WHERE id_hash = ?", {id_hash});
      return r.ok() ? Status::Ok() : r.status();
    });
  }

  Result<std::int64_t> DeleteExpiredSessions(std::int64_t now_ms) override {
    std::int64_t deleted = 0;
    Status s = db_.InTransaction("delete expired sessions", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto r = tx.Execute("DELETE FROM sessions WHERE expires_at_ms < ?", {now_ms});
      if (!r.ok()) return r.status();
      deleted = r.value();
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return deleted;
  }

  Result<LoginReservation> ReserveLoginAttempt(const std::vector<LoginSlot>& slots, std::int64_t now_ms,
                                               std::int64_t window_ms) override {
    for (const LoginSlot& slot : slots) {
      if (slot.key.empty() || slot.key.size() > 191) {
        return Status::InvalidInput("login throttle key must be 1..191 bytes");
      }
    }
    const std::int64_t since = now_ms - window_ms;
    const std::string touch =
        db_.dialect() == db::Dialect::kMysql
            ? " ON DUPLICATE KEY UPDATE uses = uses + 1, touched_at_ms = VALUES(touched_at_ms)"
            : " ON CONFLICT (throttle_key) DO UPDATE"
              " SET uses = uses + 1, touched_at_ms = excluded.touched_at_ms";
    LoginReservation out;
    MINYI_RETURN_IF_ERROR(
        db_.InTransaction("reserve login attempt", Work::kIdempotent, [&](Tx& tx) -> Status {
          out = LoginReservation();  // a retried attempt starts afresh
          // Written first (a real change every time, so Galera certifies it): the reservations of a key
          // wait for each other on one server and conflict between Galera nodes, the loser being retried.
          for (const LoginSlot& slot : slots) {
            auto touched = tx.Execute(
                "INSERT INTO login_throttle_keys (throttle_key, uses, touched_at_ms) VALUES (?, 1, ?)" +
                    touch,
                {slot.key, now_ms});
            if (!touched.ok()) return touched.status();
          }
          for (const LoginSlot& slot : slots) {
            auto purged = tx.Execute("DELETE FROM login_attempts WHERE throttle_key = ? AND at_ms <= ?",
                                     {slot.key, since});
            if (!purged.ok()) return purged.status();
            auto rows = tx.Query("SELECT at_ms FROM login_attempts WHERE throttle_key = ? ORDER BY at_ms",
                                 {slot.key});
            if (!rows.ok()) return rows.status();
            const std::size_t limit = static_cast<std::size_t>(std::max(1, slot.limit));
            if (rows->size() < limit) continue;
            // A slot frees when the (used - limit + 1)th oldest attempt leaves the window.
            const std::int64_t leaves = (*rows)[rows->size() - limit].Int(0) + window_ms;
            out.retry_after_ms = std::max<std::int64_t>(1, leaves - now_ms);
            return Status::Ok();
          }
          for (const LoginSlot& slot : slots) {
            auto added =
                tx.Execute("INSERT INTO login_attempts (throttle_key, at_ms, in_flight) VALUES (?, ?, 1)",
                           {slot.key, now_ms});
            if (!added.ok()) return added.status();
            auto id = tx.LastInsertId();
            if (!id.ok()) return id.status();
            out.ids.push_back(*id);
          }
          out.reserved = true;
          return Status::Ok();
        }));
    PurgeLoginKeys(since);
    return out;
  }

  Status EndLoginAttempt(std::int64_t id, bool failed, std::int64_t now_ms) override {
    return db_.InTransaction("end login attempt", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto r =
          failed ? tx.Execute("UPDATE login_attempts SET in_flight = 0, at_ms = ? WHERE id = ?", {now_ms, id})
                 : tx.Execute("DELETE FROM login_attempts WHERE id = ?", {id});
      return r.ok() ? Status::Ok() : r.status();
    });
  }

  Status ClearLoginFailures(const std::string& key) override {
    return db_.InTransaction("clear login failures", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto r = tx.Execute("DELETE FROM login_attempts WHERE throttle_key = ? AND in_flight = 0", {key});
      return r.ok() ? Status::Ok() : r.status();
    });
  }

  Status AppendAudit(const AuditEvent& e) override {
    if (e.action.empty()) return Status::InvalidInput("audit: action is required");
    return db_.InTransaction("append audit event", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto r = tx.Execute(
          "INSERT INTO audit_log (at_ms, username, action, area_code, remote_address, detail)"
          " VALUES (?, ?, ?, ?, ?, ?)",
          {e.at_ms, e.username.substr(0, 64), e.action.substr(0, 32), e.area_code.substr(0, 12),
           e.remote_address.substr(0, 64), Truncate(e.detail, 500)});
      return r.ok() ? Status::Ok() : r.status();
    });
  }

  Result<std::vector<AuditEvent>> ListAudit(std::int64_t limit) override {
    if (limit < 1 || limit > 100000) return Status::InvalidInput("audit: limit must be 1..100000");
    std::vector<AuditEvent> events;
    Status s = db_.InTransaction("list audit events", Work::kIdempotent, [&](Tx& tx) -> Status {
      events.clear();  // a retried attempt starts afresh
      auto rows = tx.Query(
          "SELECT id, at_ms, username, action, area_code, remote_address, detail FROM audit_log"
          " ORDER BY id DESC LIMIT ?",
          {limit});
      if (!rows.ok()) return rows.status();
      for (const Row& r : rows.value()) {
        AuditEvent e;
        e.id = r.Int(0);
        e.at_ms = r.Int(1);
        e.username = r.Text(2);
        e.action = r.Text(3);
        e.area_code = r.Text(4);
        e.remote_address = r.Text(5);
        e.detail = r.Text(6);
        events.push_back(std::move(e));
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return events;
  }

  Result<std::vector<ChannelCount>> CountByChannel(const std::string& survey_id,
                                                   const std::string& area_code) override {
    if (survey_id.empty()) return Status::InvalidInput("survey is required");
    MINYI_RETURN_IF_ERROR(internal::CheckAreaScope(area_code));
    const std::string& low = area_code;
    const std::string high = internal::AreaScopeEnd(area_code);
    std::vector<ChannelCount> out;
    Status s = db_.InTransaction("count responses by channel", Work::kIdempotent, [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
      auto rows = tx.Query(
          "SELECT period_year, period_quarter, channel, completion, COUNT(*) FROM responses"
          " WHERE survey_id = ? AND town_code >= ? AND town_code < ?"
          " GROUP BY period_year, period_quarter, channel, completion"
          " ORDER BY period_year, period_quarter, channel, completion",
          {survey_id, low, high});
      if (!rows.ok()) return rows.status();
      for (const Row& r : rows.value()) {
        ChannelCount c;
        c.period = {static_cast<int>(r.Int(0)), static_cast<int>(r.Int(1))};
        const std::string channel = r.Text(2);
        for (Channel ch : {Channel::kWeb, Channel::kSms, Channel::kWechat, Channel::kImport}) {
          if (ChannelName(ch) == channel) c.channel = ch;
        }
        c.completion = r.Text(3) == "partial" ? Completion::kPartial : Completion::kComplete;
        c.count = r.Int(4);
        out.push_back(c);
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  Result<std::vector<TextAnswer>> ReadTextAnswers(const std::string& survey_id, const std::string& question_code,
                                                  const std::string& area_code, std::optional<Period> period,
                                                  std::int64_t limit, std::int64_t* total) override {
    if (survey_id.empty() || question_code.empty()) return Status::InvalidInput("survey and question are required");
    if (limit < 1 || limit > 100000) return Status::InvalidInput("limit must be 1..100000");
    MINYI_RETURN_IF_ERROR(internal::CheckAreaScope(area_code));
    const std::string& low = area_code;
    const std::string high = internal::AreaScopeEnd(area_code);
    std::string where =
        " FROM responses r JOIN response_answers a ON a.response_id = r.id AND a.question_code = ?"
        " WHERE r.survey_id = ? AND r.town_code >= ? AND r.town_code < ? AND a.value <> ''";
    std::vector<Value> params = {question_code, survey_id, low, high};
    if (period) {
      where += " AND r.period_year = ? AND r.period_quarter = ?";
      params.emplace_back(std::int64_t{period->year});
      params.emplace_back(std::int64_t{period->quarter});
    }
    std::vector<TextAnswer> out;
    Status s = db_.InTransaction("read text answers", Work::kIdempotent, [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
      if (total != nullptr) {
        auto count = tx.Query("SELECT COUNT(*)" + where, params);
        if (!count.ok()) return count.status();
        *total = count.value().empty() ? 0 : count.value().front().Int(0);
      }
      std::vector<Value> with_limit = params;
      with_limit.emplace_back(limit);
      auto rows = tx.Query(
          "SELECT r.id, r.period_year, r.period_quarter, r.town_code, a.value" + where +
              " ORDER BY r.id DESC LIMIT ?",
          with_limit);
      if (!rows.ok()) return rows.status();
      for (const Row& r : rows.value()) {
        TextAnswer t;
        t.response_id = r.Int(0);
        t.period = {static_cast<int>(r.Int(1)), static_cast<int>(r.Int(2))};
        t.town_code = r.Text(3);
        t.text = r.Text(4);
        out.push_back(std::move(t));
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

 private:
  // Cuts at a UTF-8 character boundary at or below `max` bytes.
  static std::string Truncate(const std::string& text, std::size_t max) {
    if (text.size() <= max) return text;
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
  }

  static User ToUser(const Row& r) {
    User u;
    u.id = r.Int(0);
    u.username = r.Text(1);
    u.role = ParseRole(r.Text(2)).value_or(Role::kOfficial);
    u.password_hash = r.Text(3);
    u.disabled = r.Int(4) != 0;
    u.created_at_ms = r.Int(5);
    u.updated_at_ms = r.Int(6);
    return u;
  }

  static Result<std::int64_t> UserId(Tx& tx, const std::string& username) {
    auto rows = tx.Query("SELECT id FROM users WHERE username = ?", {username});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty()) return Status::NotFound("no user '" + username + "'");
    return rows.value().front().Int(0);
  }

  Result<std::optional<User>> FindOne(const std::string& condition, const Value& key) {
    std::optional<User> found;
    Status s = db_.InTransaction("find user", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto rows = tx.Query(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + condition, {key});
      if (!rows.ok()) return rows.status();
      if (rows.value().empty()) return Status::Ok();
      User u = ToUser(rows.value().front());
      auto areas = tx.Query("SELECT area_code FROM user_areas WHERE user_id = ? ORDER BY area_code", {u.id});
      if (!areas.ok()) return areas.status();
      for (const Row& a : areas.value()) u.areas.push_back(a.Text(0));
      found = std::move(u);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return found;
  }

  // Keys whose last attempt left the window, and their attempts, at most once a minute per process (an
  // address spray leaves one row per address behind). A failed purge is tried again next time.
  void PurgeLoginKeys(std::int64_t before_ms) {
    const std::int64_t now = NowMillis();
    if (now - last_login_purge_ms_.load() < 60000) return;
    last_login_purge_ms_ = now;
    (void)db_.InTransaction("purge login attempts", Work::kIdempotent, [&](Tx& tx) -> Status {
      auto attempts = tx.Execute("DELETE FROM login_attempts WHERE at_ms < ?", {before_ms});
      if (!attempts.ok()) return attempts.status();
      auto keys = tx.Execute("DELETE FROM login_throttle_keys WHERE touched_at_ms < ?", {before_ms});
      return keys.ok() ? Status::Ok() : keys.status();
    });
  }

  Db& db_;
  std::atomic<std::int64_t> last_login_purge_ms_{0};
};

}  // namespace

Result<std::unique_ptr<AccessStore>> OpenAccessStore(Store& store) {
  return std::unique_ptr<AccessStore>(new SqlAccessStore(store.SqlDb()));
}

}  // namespace minyi::sql
