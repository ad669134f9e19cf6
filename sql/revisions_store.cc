// Revisable responses and their log (core/revisions.h, migration 006_revisions), written once on the
// dialect interface of sql/db.h for both backends (SqlStore, sql/sql_store.h). Revisions are rare
// (an operator's upload), so a new version is inserted row by row here, not through Append's
// per-dialect fast path.
#include <set>

#include "core/analysis.h"
#include "sql/db.h"
#include "sql/sql_store.h"
#include "sql/store_common.h"

namespace minyi::sql {
namespace {

using db::Row;
using db::Tx;
using db::Value;
using db::Work;

// Reads the slot; on MySQL its current row (or the gap where it would be) stays locked until the
// transaction ends (SQLite serializes every write transaction anyway).
Result<internal::SlotState> ReadSlot(db::Db& db, Tx& tx, Channel channel, std::string_view source_ref,
                                     const std::string& hash) {
  internal::SlotState slot;
  auto current = tx.Query(std::string("SELECT id, content_hash, submitted_at_ms, town_code FROM responses"
                                      " WHERE channel = ? AND source_ref = ?") +
                              (db.dialect() == db::Dialect::kMysql ? " FOR UPDATE" : ""),
                          {ChannelName(channel), source_ref});
  if (!current.ok()) return current.status();
  if (!current->empty()) {
    const Row& row = current->front();
    slot.has_current = true;
    slot.current_id = row.Int(0);
    slot.current_hash = row.Text(1);
    slot.current_submitted_at_ms = row.Int(2);
    slot.current_town = row.Text(3);
  }
  if (!hash.empty()) {
    auto logged = tx.Query(
        "SELECT 1 FROM response_revisions WHERE channel = ? AND source_ref = ? AND content_hash = ? LIMIT 1",
        {ChannelName(channel), source_ref, hash});
    if (!logged.ok()) return logged.status();
    slot.hash_in_log = !logged->empty();
  }
  return slot;
}

// The stored response `id`, answers included.
Result<Response> LoadResponse(Tx& tx, std::int64_t id) {
  auto rows = tx.Query(
      "SELECT survey_id, period_year, period_quarter, town_code, channel, respondent_key, weight, completion,"
      " submitted_at_ms, received_at_ms, source_ref, raw_payload FROM responses WHERE id = ?",
      {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::Internal("response " + std::to_string(id) + " vanished");
  const Row& row = rows->front();
  Response r;
  r.id = id;
  r.survey_id = row.Text(0);
  r.period = {static_cast<int>(row.Int(1)), static_cast<int>(row.Int(2))};
  r.town_code = row.Text(3);
  r.channel = ParseChannel(row.Text(4)).value_or(Channel::kImport);
  r.respondent_key = row.Text(5);
  r.weight = row.Double(6);
  r.completion = row.Text(7) == "partial" ? Completion::kPartial : Completion::kComplete;
  r.submitted_at_ms = row.Int(8);
  r.received_at_ms = row.Int(9);
  r.source_ref = row.Text(10);
  r.raw_payload = row.Text(11);
  auto answers = tx.Query(
      "SELECT question_code, value FROM response_answers WHERE response_id = ? ORDER BY question_code, "
      "ordinal",
      {id});
  if (!answers.ok()) return answers.status();
  for (const Row& a : *answers) r.answers[a.Text(0)].push_back(a.Text(1));
  return r;
}

Status Exec(Tx& tx, std::string_view sql, const std::vector<Value>& params) {
  auto done = tx.Execute(sql, params);
  return done.ok() ? Status::Ok() : done.status();
}

Status InsertLogRow(Tx& tx, const Response& r, const std::string& hash, std::string_view action,
                    std::int64_t response_id, std::string_view reason) {
  return Exec(
      tx,
      std::string("INSERT INTO response_revisions (") + internal::kInsertRevisionColumns +
          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {ChannelName(r.channel), r.source_ref, action, response_id, hash, r.survey_id, r.period.year,
       r.period.quarter, r.town_code, r.respondent_key, r.weight, CompletionName(r.completion),
       AnswersToJson(r.answers), r.submitted_at_ms, r.received_at_ms, NowMillis(), reason, r.raw_payload});
}

// Removes the logged response `r` from the response tables.
Status DeleteResponse(Tx& tx, const Response& r) {
  MINYI_RETURN_IF_ERROR(Exec(tx, "DELETE FROM response_answers WHERE response_id = ?", {r.id}));
  MINYI_RETURN_IF_ERROR(Exec(tx,
                             "DELETE FROM analysis_responses WHERE survey_id = ? AND period_year = ?"
                             " AND period_quarter = ? AND town_code = ? AND response_id = ?",
                             {r.survey_id, r.period.year, r.period.quarter, r.town_code, r.id}));
  return Exec(tx, "DELETE FROM responses WHERE id = ?", {r.id});
}

// Inserts `r` (content hash `hash`) into the free slot, with its answer and analysis rows; returns
// its id. A row that took the slot after ReadSlot looked (not possible on SQLite, whose writes are
// serialized; on MySQL the gap lock makes it a deadlock first) is kUnavailable: retry.
Result<std::int64_t> InsertVersion(Tx& tx, const Response& r, const std::string& hash) {
  auto inserted = tx.Execute(
      "INSERT INTO responses (survey_id, period_year, period_quarter, town_code, channel, respondent_key,"
      " weight, completion, submitted_at_ms, received_at_ms, source_ref, content_hash, raw_payload)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {r.survey_id, r.period.year, r.period.quarter, r.town_code, ChannelName(r.channel), r.respondent_key,
       r.weight, CompletionName(r.completion), r.submitted_at_ms, r.received_at_ms, r.source_ref, hash,
       r.raw_payload});
  if (!inserted.ok() && inserted.status().code() == StatusCode::kConflict) {
    return Status::Unavailable("revision slot " + r.source_ref + " was written concurrently; retry");
  }
  if (!inserted.ok()) return inserted.status();
  auto id = tx.LastInsertId();
  if (!id.ok()) return id.status();
  for (const auto& [question, values] : r.answers) {
    std::int64_t ordinal = 0;
    for (const std::string& value : values) {
      MINYI_RETURN_IF_ERROR(Exec(
          tx, "INSERT INTO response_answers (response_id, question_code, ordinal, value) VALUES (?, ?, ?, ?)",
          {*id, question, ordinal++, value}));
    }
  }
  MINYI_RETURN_IF_ERROR(Exec(
      tx,
      "INSERT INTO analysis_responses (survey_id, period_year, period_quarter, town_code,"
      " response_id, weight, codes) VALUES (?, ?, ?, ?, ?, ?, ?)",
      {r.survey_id, r.period.year, r.period.quarter, r.town_code, *id, r.weight, AnalysisCodes(r.answers)}));
  return id;
}

// Stores one version of the batch inside the caller's transaction; sets `out`.
Status ReviseOne(db::Db& db, Tx& tx, const Response& r, const std::string& hash, std::string_view reason,
                 const RevisePolicy& policy, ReviseResult& out) {
  auto slot = ReadSlot(db, tx, r.channel, r.source_ref, hash);
  if (!slot.ok()) return slot.status();
  out = internal::DecideRevision(*slot, hash, r, policy);
  if (out.outcome == ReviseOutcome::kDuplicate || out.outcome == ReviseOutcome::kRefused) return Status::Ok();
  if (out.outcome == ReviseOutcome::kStale) return InsertLogRow(tx, r, hash, "stale", 0, reason);
  std::optional<Response> previous;
  if (out.outcome == ReviseOutcome::kRevised) {
    auto loaded = LoadResponse(tx, slot->current_id);
    if (!loaded.ok()) return loaded.status();
    previous = std::move(loaded).value();
    MINYI_RETURN_IF_ERROR(InsertLogRow(tx, *previous, slot->current_hash, "revised", previous->id, reason));
    // Free the slot's unique key while the old row still exists, so the new version takes an id
    // above it (SQLite would hand out a deleted maximum rowid again).
    MINYI_RETURN_IF_ERROR(Exec(tx, "UPDATE responses SET source_ref = ? WHERE id = ?",
                               {"\x01revised:" + std::to_string(previous->id), previous->id}));
  }
  auto id = InsertVersion(tx, r, hash);
  if (!id.ok()) return id.status();
  if (previous) MINYI_RETURN_IF_ERROR(DeleteResponse(tx, *previous));
  out.response_id = *id;
  return Status::Ok();
}

// The slots of the answer `answer_ref` (core/revisions.h IsSlotOfAnswer) that hold or held a response.
Result<std::vector<std::string>> AnswerSlots(Tx& tx, Channel channel, std::string_view answer_ref) {
  const auto [low, high] = internal::TownSlotRange(answer_ref);
  std::set<std::string> found;
  for (const char* table : {"responses", "response_revisions"}) {
    auto rows = tx.Query(std::string("SELECT DISTINCT source_ref FROM ") + table +
                             " WHERE channel = ? AND (source_ref = ? OR source_ref BETWEEN ? AND ?)",
                         {ChannelName(channel), answer_ref, low, high});
    if (!rows.ok()) return rows.status();
    for (const Row& row : *rows) {
      std::string ref = row.Text(0);
      if (IsSlotOfAnswer(ref, answer_ref)) found.insert(std::move(ref));
    }
  }
  return std::vector<std::string>(found.begin(), found.end());
}

// Withdraws one slot inside the caller's transaction.
Result<WithdrawOutcome> WithdrawSlot(db::Db& db, Tx& tx, Channel channel, const std::string& source_ref,
                                     std::string_view reason) {
  auto slot = ReadSlot(db, tx, channel, source_ref, "");
  if (!slot.ok()) return slot.status();
  if (!slot->has_current) {
    auto withdrawn = tx.Query(
        "SELECT 1 FROM response_revisions WHERE channel = ? AND source_ref = ? AND action = 'withdrawn' "
        "LIMIT 1",
        {ChannelName(channel), source_ref});
    if (!withdrawn.ok()) return withdrawn.status();
    return withdrawn->empty() ? WithdrawOutcome::kNotFound : WithdrawOutcome::kAlreadyGone;
  }
  auto current = LoadResponse(tx, slot->current_id);
  if (!current.ok()) return current.status();
  MINYI_RETURN_IF_ERROR(InsertLogRow(tx, *current, slot->current_hash, "withdrawn", current->id, reason));
  MINYI_RETURN_IF_ERROR(DeleteResponse(tx, *current));
  return WithdrawOutcome::kWithdrawn;
}

}  // namespace

Status SqlStore::StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                                const RevisePolicy& policy, std::vector<ReviseResult>* results) {
  auto started = internal::StartRevisions(batch, reason, results);
  if (!started.ok()) return started.status();
  const std::vector<std::string>& hashes = *started;
  if (batch.empty()) return Status::Ok();

  db::Db& db = SqlDb();
  std::vector<ReviseResult> out(batch.size());
  // Idempotent: every run rewrites each element of `out`.
  const Status stored = db.InTransaction("store revisions", Work::kIdempotent, [&](Tx& tx) -> Status {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      MINYI_RETURN_IF_ERROR(ReviseOne(db, tx, batch[i], hashes[i], reason, policy, out[i]));
    }
    return Status::Ok();
  });
  if (!stored.ok()) return stored;
  *results = std::move(out);
  return Status::Ok();
}

Result<WithdrawOutcome> SqlStore::Withdraw(Channel channel, std::string_view source_ref,
                                           std::string_view reason) {
  MINYI_RETURN_IF_ERROR(internal::ValidateRevisionReason(reason));
  if (source_ref.empty()) return Status::InvalidInput("Withdraw: source_ref is required");
  db::Db& db = SqlDb();
  std::vector<WithdrawOutcome> outcomes;
  MINYI_RETURN_IF_ERROR(db.InTransaction("withdraw response", Work::kIdempotent, [&](Tx& tx) -> Status {
    outcomes.clear();
    auto slots = AnswerSlots(tx, channel, source_ref);
    if (!slots.ok()) return slots.status();
    for (const std::string& slot_ref : *slots) {
      auto one = WithdrawSlot(db, tx, channel, slot_ref, reason);
      if (!one.ok()) return one.status();
      outcomes.push_back(*one);
    }
    return Status::Ok();
  }));
  return internal::CombineWithdrawals(outcomes);
}

// The two reads below take no write lock (Db::Read): on a SQLite file a BEGIN IMMEDIATE would wait
// behind another process's writer, and the live aggregator polls RevisionActivitySince beside
// TownActivitySince, which reads on a read-only connection too.
Result<std::vector<RevisionRecord>> SqlStore::RevisionLog(Channel channel, std::string_view source_ref) {
  std::vector<RevisionRecord> out;
  MINYI_RETURN_IF_ERROR(SqlDb().Read("read revision log", [&](Tx& tx) -> Status {
    auto rows = tx.Query(std::string("SELECT id, ") + internal::kRevisionColumns +
                             " FROM response_revisions WHERE channel = ? AND source_ref = ? ORDER BY id",
                         {ChannelName(channel), source_ref});
    if (!rows.ok()) return rows.status();
    out.clear();
    for (const Row& row : *rows) {
      RevisionRecord r;
      r.id = row.Int(0);
      r.action = row.Text(1);
      r.response_id = row.Int(2);
      r.content_hash = row.Text(3);
      r.survey_id = row.Text(4);
      r.period = {static_cast<int>(row.Int(5)), static_cast<int>(row.Int(6))};
      r.town_code = row.Text(7);
      r.answers_json = row.Text(8);
      r.submitted_at_ms = row.Int(9);
      r.recorded_at_ms = row.Int(10);
      r.reason = row.Text(11);
      r.raw_payload = row.Text(12);
      out.push_back(std::move(r));
    }
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<RevisionActivity>> SqlStore::RevisionActivitySince(std::int64_t after_id) {
  std::vector<RevisionActivity> out;
  MINYI_RETURN_IF_ERROR(
      SqlDb().Read("read revision activity", [&](Tx& tx) -> Status {
        auto rows = tx.Query(
            "SELECT id, survey_id, period_year, period_quarter, town_code FROM response_revisions"
            " WHERE id > ? AND action <> 'stale' ORDER BY id",
            {after_id});
        if (!rows.ok()) return rows.status();
        out.clear();
        for (const Row& row : *rows) {
          out.push_back({row.Int(0), row.Text(1),
                         Period{static_cast<int>(row.Int(2)), static_cast<int>(row.Int(3))}, row.Text(4)});
        }
        return Status::Ok();
      }));
  return out;
}

}  // namespace minyi::sql
