// SqliteStore: revisable responses and their log (core/revisions.h, migration 006_revisions).
#include <set>

#include "sql/sqlite_internal.h"

namespace minyi::sql {
namespace {

Result<internal::SlotState> ReadSlot(sqlite3* db, Channel channel, std::string_view source_ref,
                                     const std::string& hash) {
  internal::SlotState slot;
  {
    auto s = Stmt::Prepare(db,
                           "SELECT id, content_hash, submitted_at_ms, town_code FROM responses WHERE channel "
                           "= ?1 AND source_ref = ?2");
    if (!s.ok()) return s.status();
    s->Text(1, ChannelName(channel));
    s->Text(2, source_ref);
    const int rc = s->Step();
    if (rc == SQLITE_ROW) {
      slot.has_current = true;
      slot.current_id = s->ColInt(0);
      slot.current_hash = s->ColText(1);
      slot.current_submitted_at_ms = s->ColInt(2);
      slot.current_town = s->ColText(3);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db, rc, "read revision slot");
    }
  }
  if (!hash.empty()) {
    auto s = Stmt::Prepare(
        db,
        "SELECT 1 FROM response_revisions WHERE channel = ?1 AND source_ref = ?2 AND content_hash = ?3"
        " LIMIT 1");
    if (!s.ok()) return s.status();
    s->Text(1, ChannelName(channel));
    s->Text(2, source_ref);
    s->Text(3, hash);
    const int rc = s->Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, rc, "read revision log");
    slot.hash_in_log = rc == SQLITE_ROW;
  }
  return slot;
}

// The stored response `id`, answers included.
Result<Response> LoadResponse(sqlite3* db, std::int64_t id) {
  Response r;
  {
    auto s = Stmt::Prepare(
        db,
        "SELECT survey_id, period_year, period_quarter, town_code, channel, respondent_key, weight,"
        " completion, submitted_at_ms, received_at_ms, source_ref, raw_payload FROM responses"
        " WHERE id = ?1");
    if (!s.ok()) return s.status();
    s->Int(1, id);
    const int rc = s->Step();
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "read response " + std::to_string(id));
    r.id = id;
    r.survey_id = s->ColText(0);
    r.period = {s->ColInt32(1), s->ColInt32(2)};
    r.town_code = s->ColText(3);
    r.channel = ParseChannel(s->ColText(4)).value_or(Channel::kImport);
    r.respondent_key = s->ColText(5);
    r.weight = s->ColDouble(6);
    r.completion = s->ColText(7) == "partial" ? Completion::kPartial : Completion::kComplete;
    r.submitted_at_ms = s->ColInt(8);
    r.received_at_ms = s->ColInt(9);
    r.source_ref = s->ColText(10);
    r.raw_payload = s->ColText(11);
  }
  auto s = Stmt::Prepare(db,
                         "SELECT question_code, value FROM response_answers WHERE response_id = ?1"
                         " ORDER BY question_code, ordinal");
  if (!s.ok()) return s.status();
  s->Int(1, id);
  int rc;
  while ((rc = s->Step()) == SQLITE_ROW) r.answers[s->ColText(0)].push_back(s->ColText(1));
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "read answers of response " + std::to_string(id));
  return r;
}

Status InsertLogRow(sqlite3* db, const Response& r, const std::string& hash, std::string_view action,
                    std::int64_t response_id, std::string_view reason) {
  auto s = Stmt::Prepare(
      db, std::string("INSERT INTO response_revisions (") + internal::kInsertRevisionColumns +
              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
  if (!s.ok()) return s.status();
  const std::string answers = AnswersToJson(r.answers);
  s->Text(1, ChannelName(r.channel));
  s->Text(2, r.source_ref);
  s->Text(3, action);
  s->Int(4, response_id);
  s->Text(5, hash);
  s->Text(6, r.survey_id);
  s->Int(7, r.period.year);
  s->Int(8, r.period.quarter);
  s->Text(9, r.town_code);
  s->Text(10, r.respondent_key);
  s->Double(11, r.weight);
  s->Text(12, CompletionName(r.completion));
  s->Text(13, answers);
  s->Int(14, r.submitted_at_ms);
  s->Int(15, r.received_at_ms);
  s->Int(16, NowMillis());
  s->Text(17, reason);
  s->Text(18, r.raw_payload);
  return Run(*s, "insert revision log row");
}

// Removes response `id` from the response tables (it has been logged).
Status DeleteResponse(sqlite3* db, const Response& r) {
  static constexpr const char* kDeletes[] = {
      "DELETE FROM response_answers WHERE response_id = ?1",
      "DELETE FROM analysis_responses WHERE survey_id = ?2 AND period_year = ?3 AND period_quarter = ?4"
      " AND town_code = ?5 AND response_id = ?1",
      "DELETE FROM responses WHERE id = ?1",
  };
  for (const char* sql : kDeletes) {
    auto s = Stmt::Prepare(db, sql);
    if (!s.ok()) return s.status();
    s->Int(1, r.id);
    if (s->Param("?2") > 0) {
      s->Text(2, r.survey_id);
      s->Int(3, r.period.year);
      s->Int(4, r.period.quarter);
      s->Text(5, r.town_code);
    }
    MINYI_RETURN_IF_ERROR(Run(*s, "delete revised response"));
  }
  return Status::Ok();
}

// The slots of the answer `answer_ref` (core/revisions.h IsSlotOfAnswer) that hold or held a response.
Result<std::vector<std::string>> AnswerSlots(sqlite3* db, Channel channel, std::string_view answer_ref) {
  const auto [low, high] = internal::TownSlotRange(answer_ref);
  std::set<std::string> found;
  for (const char* table : {"responses", "response_revisions"}) {
    auto s =
        Stmt::Prepare(db, std::string("SELECT DISTINCT source_ref FROM ") + table +
                              " WHERE channel = ?1 AND (source_ref = ?2 OR source_ref BETWEEN ?3 AND ?4)");
    if (!s.ok()) return s.status();
    s->Text(1, ChannelName(channel));
    s->Text(2, answer_ref);
    s->Text(3, low);
    s->Text(4, high);
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      std::string ref = s->ColText(0);
      if (IsSlotOfAnswer(ref, answer_ref)) found.insert(std::move(ref));
    }
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "read the slots of an answer");
  }
  return std::vector<std::string>(found.begin(), found.end());
}

// Withdraws one slot inside the caller's transaction.
Result<WithdrawOutcome> WithdrawSlot(sqlite3* db, Channel channel, const std::string& source_ref,
                                     std::string_view reason) {
  auto slot = ReadSlot(db, channel, source_ref, "");
  if (!slot.ok()) return slot.status();
  if (!slot->has_current) {
    auto s = Stmt::Prepare(db,
                           "SELECT 1 FROM response_revisions WHERE channel = ?1 AND source_ref = ?2"
                           " AND action = 'withdrawn' LIMIT 1");
    if (!s.ok()) return s.status();
    s->Text(1, ChannelName(channel));
    s->Text(2, source_ref);
    const int rc = s->Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, rc, "read revision log");
    return rc == SQLITE_ROW ? WithdrawOutcome::kAlreadyGone : WithdrawOutcome::kNotFound;
  }
  auto current = LoadResponse(db, slot->current_id);
  if (!current.ok()) return current.status();
  MINYI_RETURN_IF_ERROR(InsertLogRow(db, *current, slot->current_hash, "withdrawn", current->id, reason));
  MINYI_RETURN_IF_ERROR(DeleteResponse(db, *current));
  return WithdrawOutcome::kWithdrawn;
}

}  // namespace

Status SqliteStore::StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                                   const RevisePolicy& policy, std::vector<ReviseResult>* results) {
  auto started = internal::StartRevisions(batch, reason, results);
  if (!started.ok()) return started.status();
  const std::vector<std::string>& hashes = *started;
  if (batch.empty()) return Status::Ok();

  std::vector<ReviseResult> out(batch.size());
  {
    std::lock_guard<std::mutex> lock(impl_->write_mu);
    sqlite3* db = impl_->db.get();
    MINYI_RETURN_IF_ERROR(impl_->PrepareAppendStatements());
    auto tx = Transaction::Begin(db);
    if (!tx.ok()) return tx.status();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Response& r = batch[i];
      auto slot = ReadSlot(db, r.channel, r.source_ref, hashes[i]);
      if (!slot.ok()) return slot.status();
      out[i] = internal::DecideRevision(*slot, hashes[i], r, policy);
      const ReviseOutcome outcome = out[i].outcome;
      if (outcome == ReviseOutcome::kDuplicate || outcome == ReviseOutcome::kRefused) continue;
      if (outcome == ReviseOutcome::kStale) {
        MINYI_RETURN_IF_ERROR(InsertLogRow(db, r, hashes[i], "stale", 0, reason));
        continue;
      }
      std::optional<Response> previous;
      if (outcome == ReviseOutcome::kRevised) {
        auto loaded = LoadResponse(db, slot->current_id);
        if (!loaded.ok()) return loaded.status();
        previous = std::move(loaded).value();
        MINYI_RETURN_IF_ERROR(
            InsertLogRow(db, *previous, slot->current_hash, "revised", previous->id, reason));
        // Free the slot's unique key while the old row still exists, so the new version takes a
        // rowid above it (SQLite would hand out the deleted maximum again).
        auto move = Stmt::Prepare(db, "UPDATE responses SET source_ref = ?1 WHERE id = ?2");
        if (!move.ok()) return move.status();
        const std::string parked = "\x01revised:" + std::to_string(previous->id);
        move->Text(1, parked);
        move->Int(2, previous->id);
        MINYI_RETURN_IF_ERROR(Run(*move, "park revised response"));
      }
      AppendResult appended;
      impl_->pending_answers.clear();
      MINYI_RETURN_IF_ERROR(impl_->AppendOne(r, hashes[i], &appended));
      if (appended.outcome != AppendOutcome::kStored) {
        return Status::Internal("sqlite: revision slot " + r.source_ref + " was not free");
      }
      MINYI_RETURN_IF_ERROR(impl_->FlushAnswers());
      MINYI_RETURN_IF_ERROR(AppendAnalysisRows(db, impl_->insert_analysis, {r}, {appended}));
      if (previous) MINYI_RETURN_IF_ERROR(DeleteResponse(db, *previous));
      out[i].response_id = appended.response_id;
    }
    MINYI_RETURN_IF_ERROR((*tx)->Commit());
  }
  *results = std::move(out);
  return Status::Ok();
}

Result<WithdrawOutcome> SqliteStore::Withdraw(Channel channel, std::string_view source_ref,
                                              std::string_view reason) {
  MINYI_RETURN_IF_ERROR(internal::ValidateRevisionReason(reason));
  if (source_ref.empty()) return Status::InvalidInput("Withdraw: source_ref is required");
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  sqlite3* db = impl_->db.get();
  auto tx = Transaction::Begin(db);
  if (!tx.ok()) return tx.status();
  auto slots = AnswerSlots(db, channel, source_ref);
  if (!slots.ok()) return slots.status();
  std::vector<WithdrawOutcome> outcomes;
  for (const std::string& slot_ref : *slots) {
    auto one = WithdrawSlot(db, channel, slot_ref, reason);
    if (!one.ok()) return one.status();
    outcomes.push_back(*one);
  }
  MINYI_RETURN_IF_ERROR((*tx)->Commit());
  return internal::CombineWithdrawals(outcomes);
}

Result<std::vector<RevisionRecord>> SqliteStore::RevisionLog(Channel channel, std::string_view source_ref) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  auto s = Stmt::Prepare(impl_->db.get(),
                         std::string("SELECT id, ") + internal::kRevisionColumns +
                             " FROM response_revisions WHERE channel = ?1 AND source_ref = ?2 ORDER BY id");
  if (!s.ok()) return s.status();
  s->Text(1, ChannelName(channel));
  s->Text(2, source_ref);
  std::vector<RevisionRecord> out;
  int rc;
  while ((rc = s->Step()) == SQLITE_ROW) {
    RevisionRecord r;
    r.id = s->ColInt(0);
    r.action = s->ColText(1);
    r.response_id = s->ColInt(2);
    r.content_hash = s->ColText(3);
    r.survey_id = s->ColText(4);
    r.period = {s->ColInt32(5), s->ColInt32(6)};
    r.town_code = s->ColText(7);
    r.answers_json = s->ColText(8);
    r.submitted_at_ms = s->ColInt(9);
    r.recorded_at_ms = s->ColInt(10);
    r.reason = s->ColText(11);
    r.raw_payload = s->ColText(12);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqliteError(impl_->db.get(), rc, "read revision log");
  return out;
}

Result<std::vector<RevisionActivity>> SqliteStore::RevisionActivitySince(std::int64_t after_id) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  auto s =
      Stmt::Prepare(impl_->db.get(),
                    "SELECT id, survey_id, period_year, period_quarter, town_code FROM response_revisions"
                    " WHERE id > ?1 AND action <> 'stale' ORDER BY id");
  if (!s.ok()) return s.status();
  s->Int(1, after_id);
  std::vector<RevisionActivity> out;
  int rc;
  while ((rc = s->Step()) == SQLITE_ROW) {
    out.push_back({s->ColInt(0), s->ColText(1), Period{s->ColInt32(2), s->ColInt32(3)}, s->ColText(4)});
  }
  if (rc != SQLITE_DONE) return SqliteError(impl_->db.get(), rc, "read revision activity");
  return out;
}

}  // namespace minyi::sql
