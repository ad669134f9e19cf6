// The SMS tables (migrations 004, 008, 013) over both backends, written once on the dialect interface
// of sql/db.h; the only dialect differences are the "insert unless the key exists" and "upsert" clauses.
#include "sql/sms_store.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sql/db.h"
#include "sql/lease_fence.h"

namespace minyi::sql {
namespace {

using db::Db;
using db::Row;
using db::Tx;
using db::Value;
using db::Work;

constexpr const char* kInboundColumns =
    "id, provider, message_ref, phone_key, text, sent_at_ms, received_at_ms, status, detail, survey_id,"
    " period_year, period_quarter, conversation_id";

SmsInbound InboundFromRow(const Row& r) {
  SmsInbound m;
  m.id = r.Int(0);
  m.provider = r.Text(1);
  m.message_ref = r.Text(2);
  m.phone_key = r.Text(3);
  m.text = r.Text(4);
  m.sent_at_ms = r.Int(5);
  m.received_at_ms = r.Int(6);
  m.status = r.Text(7);
  m.detail = r.Text(8);
  m.survey_id = r.Text(9);
  m.period.year = static_cast<int>(r.Int(10));
  m.period.quarter = static_cast<int>(r.Int(11));
  m.conversation_id = r.Int(12);
  return m;
}

constexpr const char* kConversationColumns =
    "id, survey_id, period_year, period_quarter, phone_key, phone_enc, town_code, county_code, state, step,"
    " reasks, unparsed, answers_json, started_at_ms, updated_at_ms, expires_at_ms";

SmsConversation ConversationFromRow(const Row& r) {
  SmsConversation c;
  c.id = r.Int(0);
  c.survey_id = r.Text(1);
  c.period.year = static_cast<int>(r.Int(2));
  c.period.quarter = static_cast<int>(r.Int(3));
  c.phone_key = r.Text(4);
  c.phone_enc = r.Text(5);
  c.town_code = r.Text(6);
  c.county_code = r.Text(7);
  c.state = ParseSmsConversationState(r.Text(8)).value_or(SmsConversationState::kClosed);
  c.step = static_cast<int>(r.Int(9));
  c.reasks = static_cast<int>(r.Int(10));
  c.unparsed = static_cast<int>(r.Int(11));
  c.answers_json = r.Text(12);
  c.started_at_ms = r.Int(13);
  c.updated_at_ms = r.Int(14);
  c.expires_at_ms = r.Int(15);
  return c;
}

constexpr const char* kOutboxColumns =
    "id, conversation_id, survey_id, phone_key, phone_enc, body, status, attempts, created_at_ms,"
    " next_attempt_at_ms, sent_at_ms, gateway_ref, last_error";

SmsOutboxMessage OutboxFromRow(const Row& r) {
  SmsOutboxMessage m;
  m.id = r.Int(0);
  m.conversation_id = r.Int(1);
  m.survey_id = r.Text(2);
  m.phone_key = r.Text(3);
  m.phone_enc = r.Text(4);
  m.body = r.Text(5);
  m.status = ParseSmsOutboxStatus(r.Text(6)).value_or(SmsOutboxStatus::kFailed);
  m.attempts = static_cast<int>(r.Int(7));
  m.created_at_ms = r.Int(8);
  m.next_attempt_at_ms = r.Int(9);
  m.sent_at_ms = r.Int(10);
  m.gateway_ref = r.Text(11);
  m.last_error = r.Text(12);
  return m;
}

constexpr const char* kRosterColumns = "survey_id, phone_key, phone_enc, area_code, imported_at_ms";

SmsRosterEntry RosterFromRow(const Row& r) { return {r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)}; }

Status RequireKey(const std::string& key, std::string_view what) {
  if (key.empty()) return Status::InvalidInput(std::string(what) + " is empty");
  if (key.size() > 128) return Status::InvalidInput(std::string(what) + " is longer than 128 bytes");
  return Status::Ok();
}

class SqlSmsStore final : public SmsTransaction {
 public:
  // `tx`: the open transaction every call joins (InTransaction); null: each call is its own.
  explicit SqlSmsStore(Db& db, Tx* tx = nullptr) : db_(db), tx_(tx) {}

  Status InTransaction(const std::string& what, const std::function<Status(SmsTransaction&)>& fn) override {
    if (tx_ != nullptr) return fn(*this);
    return db_.InTransaction(what, Work::kIdempotent, [&](Tx& tx) -> Status {
      SqlSmsStore joined(db_, &tx);
      return fn(joined);
    });
  }

  Status Isolated(const std::function<Status()>& step) override {
    if (tx_ == nullptr) return Status::Internal("sms: Isolated outside a transaction");
    // One name is enough: steps do not nest, and a released savepoint's name may be used again.
    auto begun = tx_->Execute("SAVEPOINT sms_step", {});
    if (!begun.ok()) return begun.status();
    const Status status = step();
    if (!status.ok()) {
      auto undone = tx_->Execute("ROLLBACK TO SAVEPOINT sms_step", {});
      if (!undone.ok()) return undone.status();
    }
    auto released = tx_->Execute("RELEASE SAVEPOINT sms_step", {});
    if (!released.ok()) return released.status();
    return status;
  }

  Status Unguarded(const std::function<Status()>& step, bool* wrote) override {
    if (tx_ == nullptr) return Status::Internal("sms: Unguarded outside a transaction");
    const std::uint64_t before = writes_;
    const Status status = step();
    *wrote = writes_ != before;
    return status;
  }

  // "INSERT ... <suffix>": a no-op (0 rows changed) when the unique key already holds a row.
  std::string IgnoreDuplicate(const char* conflict_columns) const {
    return (db_.dialect() == db::Dialect::kMysql)
               ? " ON DUPLICATE KEY UPDATE id = id"
               : std::string(" ON CONFLICT (") + conflict_columns + ") DO NOTHING";
  }

  Result<SmsInbound> InsertInbound(const SmsInbound& m, bool* inserted) override {
    MINYI_RETURN_IF_ERROR(RequireKey(m.provider, "provider"));
    MINYI_RETURN_IF_ERROR(RequireKey(m.message_ref, "message id"));
    MINYI_RETURN_IF_ERROR(RequireKey(m.phone_key, "phone key"));
    SmsInbound out;
    bool added = false;
    MINYI_RETURN_IF_ERROR(Write("insert inbound sms", [&](Tx& tx) -> Status {
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
      auto found = SelectInbound(tx, m.provider, m.message_ref);
      if (!found.ok()) return found.status();
      if (!found->has_value()) return Status::Internal("inbound sms vanished after insert");
      out = std::move(**found);
      return Status::Ok();
    }));
    if (inserted != nullptr) *inserted = added;
    return out;
  }

  Result<std::optional<SmsInbound>> FindInbound(const std::string& provider,
                                                const std::string& message_ref) override {
    std::optional<SmsInbound> out;
    MINYI_RETURN_IF_ERROR(Run("read inbound sms", [&](Tx& tx) -> Status {
      auto found = SelectInbound(tx, provider, message_ref);
      if (!found.ok()) return found.status();
      out = std::move(found).value();
      return Status::Ok();
    }));
    return out;
  }

  Status UpdateInbound(const SmsInbound& m) override {
    return Write("update inbound sms", [&](Tx& tx) -> Status {
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
    MINYI_RETURN_IF_ERROR(Run("count inbound sms", [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
      auto rows = tx.Query(
          "SELECT survey_id, period_year, period_quarter, status, COUNT(*) FROM sms_inbound"
          " GROUP BY survey_id, period_year, period_quarter, status"
          " ORDER BY survey_id, period_year, period_quarter, status",
          {});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) {
        out.push_back(
            {r.Text(0), Period{static_cast<int>(r.Int(1)), static_cast<int>(r.Int(2))}, r.Text(3), r.Int(4)});
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

  Result<std::optional<SmsConversation>> FindLatestConversation(const std::string& phone_key) override {
    return FindOne(
        std::string("SELECT ") + kConversationColumns +
            " FROM sms_conversations WHERE phone_key = ? ORDER BY started_at_ms DESC, id DESC LIMIT 1",
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
    MINYI_RETURN_IF_ERROR(Write("create sms conversation", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(
          "INSERT INTO sms_conversations (survey_id, period_year, period_quarter, phone_key, phone_enc, "
          "town_code,"
          " county_code, state, step, reasks, unparsed, answers_json, started_at_ms, updated_at_ms, "
          "expires_at_ms, expiry_check_at_ms)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
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
    return Write("update sms conversation", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(kUpdateConversation, ConversationParams(c, true));
      if (!changed.ok()) return changed.status();
      return Status::Ok();
    });
  }

  Result<std::vector<SmsConversation>> ExpiredConversations(std::int64_t now_ms, int limit) override {
    const std::size_t wanted = static_cast<std::size_t>(limit < 1 ? 1 : limit);
    std::vector<SmsConversation> out;
    MINYI_RETURN_IF_ERROR(Write("expired sms conversations", [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
      // Candidates are the open conversations whose expiry check is due (migration 013): expiry_check_at_ms
      // is at most expires_at_ms, so every expired one is among them. One whose expiry moved on with its
      // replies is filed again at its expiry (steps leave the indexed column alone). Pages of candidates
      // in index order, after the last one seen, until `limit` expired ones are found.
      std::int64_t after_check = -1;
      std::int64_t after_id = 0;
      for (;;) {
        auto rows =
            tx.Query(std::string("SELECT ") + kConversationColumns +
                         ", expiry_check_at_ms FROM sms_conversations WHERE state = 'open'"
                         " AND expiry_check_at_ms <= ? AND (expiry_check_at_ms > ? OR"
                         " (expiry_check_at_ms = ? AND id > ?)) ORDER BY expiry_check_at_ms, id LIMIT " +
                         std::to_string(wanted),
                     {now_ms, after_check, after_check, after_id});
        if (!rows.ok()) return rows.status();
        for (const Row& r : *rows) {
          SmsConversation c = ConversationFromRow(r);
          after_check = r.Int(16);
          after_id = c.id;
          if (c.expires_at_ms <= now_ms) {
            if (out.size() < wanted) out.push_back(std::move(c));
            continue;
          }
          auto refiled = tx.Execute("UPDATE sms_conversations SET expiry_check_at_ms = ? WHERE id = ?",
                                    {c.expires_at_ms, c.id});
          if (!refiled.ok()) return refiled.status();
        }
        if (rows->size() < wanted || out.size() >= wanted) break;
      }
      std::sort(out.begin(), out.end(), [](const SmsConversation& a, const SmsConversation& b) {
        return a.expires_at_ms != b.expires_at_ms ? a.expires_at_ms < b.expires_at_ms : a.id < b.id;
      });
      return Status::Ok();
    }));
    return out;
  }

  Status EnqueueOutbox(const std::vector<SmsOutboxMessage>& messages) override {
    for (const auto& m : messages) MINYI_RETURN_IF_ERROR(RequireKey(m.phone_key, "phone key"));
    return Write("enqueue sms", [&](Tx& tx) -> Status { return InsertOutbox(tx, messages); });
  }

  Status RecordInbound(const SmsInbound& outcome, const SmsConversation* before, const SmsConversation* after,
                       const std::vector<SmsOutboxMessage>& queue) override {
    if (outcome.id == 0) {
      MINYI_RETURN_IF_ERROR(RequireKey(outcome.provider, "provider"));
      MINYI_RETURN_IF_ERROR(RequireKey(outcome.message_ref, "message id"));
      MINYI_RETURN_IF_ERROR(RequireKey(outcome.phone_key, "phone key"));
    }
    for (const auto& m : queue) MINYI_RETURN_IF_ERROR(RequireKey(m.phone_key, "phone key"));
    return Write("record inbound sms", [&](Tx& tx) -> Status {
      // The ledger first: a message handled meanwhile (another server, or a crash's "received" row taken up
      // by a retry) is found before anything else is written.
      auto handled =
          outcome.id == 0
              ? tx.Execute(
                    "INSERT INTO sms_inbound (provider, message_ref, phone_key, text, sent_at_ms,"
                    " received_at_ms, status, detail, survey_id, period_year, period_quarter,"
                    " conversation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
                        IgnoreDuplicate("provider, message_ref"),
                    {outcome.provider, outcome.message_ref, outcome.phone_key, outcome.text,
                     outcome.sent_at_ms, outcome.received_at_ms, outcome.status, outcome.detail,
                     outcome.survey_id, static_cast<std::int64_t>(outcome.period.year),
                     static_cast<std::int64_t>(outcome.period.quarter), outcome.conversation_id})
              : tx.Execute(
                    "UPDATE sms_inbound SET status = ?, detail = ?, survey_id = ?, period_year = ?,"
                    " period_quarter = ?, conversation_id = ? WHERE id = ? AND status = 'received'",
                    {outcome.status, outcome.detail, outcome.survey_id,
                     static_cast<std::int64_t>(outcome.period.year),
                     static_cast<std::int64_t>(outcome.period.quarter), outcome.conversation_id, outcome.id});
      if (!handled.ok()) return handled.status();
      if (*handled == 0) {
        return Status::Conflict("inbound sms " + outcome.provider + ":" + outcome.message_ref +
                                " was handled meanwhile");
      }
      if (after != nullptr) {
        // A step (same state, same identity) sets only the fields a reply changes, none of them indexed,
        // so SQLite rewrites the row but no index entry (it updates the indexes of the columns SET).
        const bool step = before != nullptr && before->state == after->state && before->id == after->id &&
                          before->survey_id == after->survey_id && before->period == after->period &&
                          before->phone_key == after->phone_key && before->phone_enc == after->phone_enc &&
                          before->county_code == after->county_code &&
                          before->started_at_ms == after->started_at_ms;
        std::vector<Value> params;
        std::string sql;
        if (step) {
          sql =
              "UPDATE sms_conversations SET town_code = ?, step = ?, reasks = ?, unparsed = ?, answers_json "
              "= ?,"
              " updated_at_ms = ?, expires_at_ms = ? WHERE id = ?";
          params = {after->town_code,
                    static_cast<std::int64_t>(after->step),
                    static_cast<std::int64_t>(after->reasks),
                    static_cast<std::int64_t>(after->unparsed),
                    after->answers_json.empty() ? std::string("{}") : after->answers_json,
                    after->updated_at_ms,
                    after->expires_at_ms,
                    after->id};
        } else {
          sql = kUpdateConversation;
          params = ConversationParams(*after, true);
        }
        if (before != nullptr) {
          // Optimistic: the conversation as this server read it. On Galera a concurrent change on
          // another node fails certification at COMMIT instead; InTransaction runs this again and the
          // condition then fails here.
          sql += " AND state = ? AND step = ? AND reasks = ? AND unparsed = ? AND answers_json = ?"
                 " AND updated_at_ms = ?";
          params.insert(params.end(), {std::string(SmsConversationStateName(before->state)),
                                       static_cast<std::int64_t>(before->step), static_cast<std::int64_t>(before->reasks),
                                       static_cast<std::int64_t>(before->unparsed),
                                       before->answers_json.empty() ? std::string("{}") : before->answers_json,
                                       before->updated_at_ms});
        }
        auto changed = tx.Execute(sql, params);
        if (!changed.ok()) return changed.status();
        if (*changed == 0) {
          return Status::Conflict("sms conversation " + std::to_string(after->id) + " changed meanwhile");
        }
      }
      return InsertOutbox(tx, queue);
    });
  }

  Result<std::vector<SmsOutboxMessage>> DueOutbox(std::int64_t now_ms, int limit) override {
    std::vector<SmsOutboxMessage> out;
    MINYI_RETURN_IF_ERROR(Run("due sms", [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
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

  Result<bool> ClaimOutbox(const SmsOutboxMessage& m, std::int64_t claim_until_ms,
                           const LeaseFence* fence) override {
    std::string sql =
        "UPDATE sms_outbox SET next_attempt_at_ms = ? WHERE id = ? AND status = 'pending' AND attempts = ?"
        " AND next_attempt_at_ms = ?";
    std::vector<Value> params{claim_until_ms, m.id, static_cast<std::int64_t>(m.attempts),
                              m.next_attempt_at_ms};
    if (fence != nullptr) {
      sql += " AND " + internal::LeaseFenceSql(db_);
      for (Value& v : internal::LeaseFenceParams(*fence)) params.push_back(std::move(v));
    }
    bool claimed = false;
    // Idempotent: on Galera a claim racing another sender's (or a lease takeover) conflicts at COMMIT
    // and is retried, when the row or the lease no longer matches.
    MINYI_RETURN_IF_ERROR(Write("claim sms", [&](Tx& tx) -> Status {
      auto changed = tx.Execute(sql, params);
      if (!changed.ok()) return changed.status();
      claimed = *changed > 0;
      return Status::Ok();
    }));
    return claimed;
  }

  Status UpdateOutbox(const SmsOutboxMessage& m) override {
    return Write("update sms outbox", [&](Tx& tx) -> Status {
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
    MINYI_RETURN_IF_ERROR(Run("count sms outbox", [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
      auto rows = tx.Query("SELECT status, COUNT(*) FROM sms_outbox GROUP BY status ORDER BY status", {});
      if (!rows.ok()) return rows.status();
      for (const Row& r : *rows) out.emplace_back(r.Text(0), r.Int(1));
      return Status::Ok();
    }));
    return out;
  }

  Status AddSuppression(const std::string& phone_key, std::int64_t at_ms, const std::string& reason) override {
    MINYI_RETURN_IF_ERROR(RequireKey(phone_key, "phone key"));
    return Write("add sms suppression", [&](Tx& tx) -> Status {
      const std::string sql =
          std::string("INSERT INTO sms_suppression (phone_key, created_at_ms, reason) VALUES (?, ?, ?)") +
          ((db_.dialect() == db::Dialect::kMysql) ? " ON DUPLICATE KEY UPDATE phone_key = phone_key"
                                                  : " ON CONFLICT (phone_key) DO NOTHING");
      auto changed = tx.Execute(sql, {phone_key, at_ms, reason.substr(0, 64)});
      return changed.ok() ? Status::Ok() : changed.status();
    });
  }

  Result<bool> IsSuppressed(const std::string& phone_key) override {
    bool found = false;
    MINYI_RETURN_IF_ERROR(Run("read sms suppression", [&](Tx& tx) -> Status {
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
        std::string(
            "INSERT INTO sms_roster (survey_id, phone_key, phone_enc, area_code, imported_at_ms)"
            " VALUES (?, ?, ?, ?, ?)") +
        ((db_.dialect() == db::Dialect::kMysql)
             ? " ON DUPLICATE KEY UPDATE phone_enc = VALUES(phone_enc), area_code = VALUES(area_code),"
               " imported_at_ms = VALUES(imported_at_ms)"
             : " ON CONFLICT (survey_id, phone_key) DO UPDATE SET phone_enc = excluded.phone_enc,"
               " area_code = excluded.area_code, imported_at_ms = excluded.imported_at_ms");
    return Write("upsert sms roster", [&](Tx& tx) -> Status {
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
    MINYI_RETURN_IF_ERROR(Run("read sms roster", [&](Tx& tx) -> Status {
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
    MINYI_RETURN_IF_ERROR(Run("read sms roster", [&](Tx& tx) -> Status {
      out.clear();  // a retried attempt starts afresh
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
    MINYI_RETURN_IF_ERROR(Write("purge sms survey", [&](Tx& tx) -> Status {
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
    MINYI_RETURN_IF_ERROR(Write("purge old sms", [&](Tx& tx) -> Status {
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
  static constexpr const char* kUpdateConversation =
      "UPDATE sms_conversations SET survey_id = ?, period_year = ?, period_quarter = ?, phone_key = ?,"
      " phone_enc = ?, town_code = ?, county_code = ?, state = ?, step = ?, reasks = ?, unparsed = ?,"
      " answers_json = ?, started_at_ms = ?, updated_at_ms = ?, expires_at_ms = ?, expiry_check_at_ms = ?"
      " WHERE id = ?";

  static Result<std::optional<SmsInbound>> SelectInbound(Tx& tx, const std::string& provider,
                                                         const std::string& message_ref) {
    auto rows = tx.Query(
        std::string("SELECT ") + kInboundColumns + " FROM sms_inbound WHERE provider = ? AND message_ref = ?",
        {provider, message_ref});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<SmsInbound>();
    return std::optional<SmsInbound>(InboundFromRow(rows->front()));
  }

  static Status InsertOutbox(Tx& tx, const std::vector<SmsOutboxMessage>& messages) {
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
  }

  // The columns in kConversationColumns' order from survey_id to expires_at_ms, then expiry_check_at_ms =
  // expires_at_ms (a full write files the conversation at its expiry), then, `with_id`, its id.
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
    v.emplace_back(c.expires_at_ms);
    if (with_id) v.emplace_back(c.id);
    return v;
  }

  Result<std::optional<SmsConversation>> FindOne(const std::string& sql, const std::vector<Value>& params) {
    std::optional<SmsConversation> out;
    MINYI_RETURN_IF_ERROR(Run("read sms conversation", [&](Tx& tx) -> Status {
      auto rows = tx.Query(sql, params);
      if (!rows.ok()) return rows.status();
      if (!rows->empty()) out = ConversationFromRow(rows->front());
      return Status::Ok();
    }));
    return out;
  }

  // `fn` in the open transaction, else in one of its own.
  Status Run(const char* what, const std::function<Status(Tx&)>& fn) {
    if (tx_ != nullptr) return fn(*tx_);
    return db_.InTransaction(what, Work::kIdempotent, fn);
  }
  // Run for work that may write: counted (Unguarded) when it starts, whether or not it changes a row.
  Status Write(const char* what, const std::function<Status(Tx&)>& fn) {
    ++writes_;
    return Run(what, fn);
  }

  Db& db_;
  Tx* tx_;
  std::uint64_t writes_ = 0;  // Write calls so far
};

}  // namespace

Result<std::unique_ptr<SmsStore>> OpenSmsStore(Store& store) {
  return std::unique_ptr<SmsStore>(new SqlSmsStore(store.SqlDb()));
}

}  // namespace minyi::sql
