// MysqlStore: revisable responses and their log (core/revisions.h, migration 006_revisions).
#include <set>

#include "sql/mysql_internal.h"

namespace minyi::sql {
namespace {

// Reads the slot, locking its current row (if any) until the transaction ends.
internal::SlotState ReadSlot(PooledConn& pc, Channel channel, std::string_view source_ref,
                             const std::string& hash) {
  internal::SlotState slot;
  {
    std::unique_ptr<::sql::PreparedStatement> ps(
        pc.conn->prepareStatement("SELECT id, content_hash, submitted_at_ms, town_code FROM responses WHERE "
                                  "channel = ? AND source_ref = ?"
                                  " FOR UPDATE"));
    ps->setString(1, std::string(ChannelName(channel)));
    ps->setString(2, std::string(source_ref));
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    if (rs->next()) {
      slot.has_current = true;
      slot.current_id = rs->getInt64(1);
      slot.current_hash = Str(rs->getString(2));
      slot.current_submitted_at_ms = rs->getInt64(3);
      slot.current_town = Str(rs->getString(4));
    }
  }
  if (!hash.empty()) {
    std::unique_ptr<::sql::PreparedStatement> ps(
        pc.conn->prepareStatement("SELECT 1 FROM response_revisions WHERE channel = ? AND source_ref = ? AND "
                                  "content_hash = ? LIMIT 1"));
    ps->setString(1, std::string(ChannelName(channel)));
    ps->setString(2, std::string(source_ref));
    ps->setString(3, hash);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    slot.hash_in_log = rs->next();
  }
  return slot;
}

Result<Response> LoadResponse(PooledConn& pc, std::int64_t id) {
  Response r;
  {
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        "SELECT survey_id, period_year, period_quarter, town_code, channel, respondent_key, weight, "
        "completion,"
        " submitted_at_ms, received_at_ms, source_ref, raw_payload FROM responses WHERE id = ?"));
    ps->setInt64(1, id);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    if (!rs->next()) return Status::Internal("mysql: response " + std::to_string(id) + " vanished");
    r.id = id;
    r.survey_id = Str(rs->getString(1));
    r.period = {rs->getInt(2), rs->getInt(3)};
    r.town_code = Str(rs->getString(4));
    r.channel = ParseChannel(Str(rs->getString(5))).value_or(Channel::kImport);
    r.respondent_key = Str(rs->getString(6));
    r.weight = GetDouble(*rs, 7);
    r.completion = Str(rs->getString(8)) == "partial" ? Completion::kPartial : Completion::kComplete;
    r.submitted_at_ms = rs->getInt64(9);
    r.received_at_ms = rs->getInt64(10);
    r.source_ref = Str(rs->getString(11));
    r.raw_payload = Str(rs->getString(12));
  }
  std::unique_ptr<::sql::PreparedStatement> ps(
      pc.conn->prepareStatement("SELECT question_code, value FROM response_answers WHERE response_id = ? "
                                "ORDER BY question_code, ordinal"));
  ps->setInt64(1, id);
  std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
  while (rs->next()) r.answers[Str(rs->getString(1))].push_back(Str(rs->getString(2)));
  return r;
}

void InsertLogRow(PooledConn& pc, const Response& r, const std::string& hash, const std::string& action,
                  std::int64_t response_id, std::string_view reason) {
  std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
      std::string("INSERT INTO response_revisions (") + internal::kInsertRevisionColumns +
      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ps->setString(1, std::string(ChannelName(r.channel)));
  ps->setString(2, r.source_ref);
  ps->setString(3, action);
  ps->setInt64(4, response_id);
  ps->setString(5, hash);
  ps->setString(6, r.survey_id);
  ps->setInt(7, r.period.year);
  ps->setInt(8, r.period.quarter);
  ps->setString(9, r.town_code);
  ps->setString(10, r.respondent_key);
  SetDouble(*ps, 11, r.weight);
  ps->setString(12, std::string(CompletionName(r.completion)));
  ps->setString(13, AnswersToJson(r.answers));
  ps->setInt64(14, r.submitted_at_ms);
  ps->setInt64(15, r.received_at_ms);
  ps->setInt64(16, NowMillis());
  ps->setString(17, std::string(reason));
  ps->setString(18, r.raw_payload);
  ps->executeUpdate();
}

void DeleteResponse(PooledConn& pc, const Response& r) {
  {
    std::unique_ptr<::sql::PreparedStatement> ps(
        pc.conn->prepareStatement("DELETE FROM response_answers WHERE response_id = ?"));
    ps->setInt64(1, r.id);
    ps->executeUpdate();
  }
  {
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        "DELETE FROM analysis_responses WHERE survey_id = ? AND period_year = ? AND period_quarter = ?"
        " AND town_code = ? AND response_id = ?"));
    ps->setString(1, r.survey_id);
    ps->setInt(2, r.period.year);
    ps->setInt(3, r.period.quarter);
    ps->setString(4, r.town_code);
    ps->setInt64(5, r.id);
    ps->executeUpdate();
  }
  std::unique_ptr<::sql::PreparedStatement> ps(
      pc.conn->prepareStatement("DELETE FROM responses WHERE id = ?"));
  ps->setInt64(1, r.id);
  ps->executeUpdate();
}

// The slots of the answer `answer_ref` (core/revisions.h IsSlotOfAnswer) that hold or held a response.
std::vector<std::string> AnswerSlots(PooledConn& pc, Channel channel, std::string_view answer_ref) {
  const auto [low, high] = internal::TownSlotRange(answer_ref);
  std::set<std::string> found;
  for (const char* table : {"responses", "response_revisions"}) {
    std::unique_ptr<::sql::PreparedStatement> ps(
        pc.conn->prepareStatement(std::string("SELECT DISTINCT source_ref FROM ") + table +
                                  " WHERE channel = ? AND (source_ref = ? OR source_ref BETWEEN ? AND ?)"));
    ps->setString(1, std::string(ChannelName(channel)));
    ps->setString(2, std::string(answer_ref));
    ps->setString(3, low);
    ps->setString(4, high);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    while (rs->next()) {
      std::string ref = Str(rs->getString(1));
      if (IsSlotOfAnswer(ref, answer_ref)) found.insert(std::move(ref));
    }
  }
  return std::vector<std::string>(found.begin(), found.end());
}

// Withdraws one slot inside the caller's transaction.
Result<WithdrawOutcome> WithdrawSlot(PooledConn& pc, Channel channel, const std::string& source_ref,
                                     std::string_view reason) {
  const internal::SlotState slot = ReadSlot(pc, channel, source_ref, "");
  if (!slot.has_current) {
    std::unique_ptr<::sql::PreparedStatement> ps(
        pc.conn->prepareStatement("SELECT 1 FROM response_revisions WHERE channel = ? AND source_ref = ? AND "
                                  "action = 'withdrawn' LIMIT 1"));
    ps->setString(1, std::string(ChannelName(channel)));
    ps->setString(2, source_ref);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    return rs->next() ? WithdrawOutcome::kAlreadyGone : WithdrawOutcome::kNotFound;
  }
  auto current = LoadResponse(pc, slot.current_id);
  if (!current.ok()) return current.status();
  InsertLogRow(pc, *current, slot.current_hash, "withdrawn", current->id, reason);
  DeleteResponse(pc, *current);
  return WithdrawOutcome::kWithdrawn;
}

}  // namespace

Status MysqlStore::StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                                  const RevisePolicy& policy, std::vector<ReviseResult>* results) {
  auto started = internal::StartRevisions(batch, reason, results);
  if (!started.ok()) return started.status();
  const std::vector<std::string>& hashes = *started;
  if (batch.empty()) return Status::Ok();

  std::vector<ReviseResult> out(batch.size());
  Status s = impl_->Run("store revisions", [&](PooledConn& pc) -> Status {
    pc.conn->setAutoCommit(false);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Response& r = batch[i];
      const internal::SlotState slot = ReadSlot(pc, r.channel, r.source_ref, hashes[i]);
      out[i] = internal::DecideRevision(slot, hashes[i], r, policy);
      const ReviseOutcome outcome = out[i].outcome;
      if (outcome == ReviseOutcome::kDuplicate || outcome == ReviseOutcome::kRefused) continue;
      if (outcome == ReviseOutcome::kStale) {
        InsertLogRow(pc, r, hashes[i], "stale", 0, reason);
        continue;
      }
      if (outcome == ReviseOutcome::kRevised) {
        // InnoDB never reuses an AUTO_INCREMENT id, so deleting first still gives the new version a
        // new id.
        auto previous = LoadResponse(pc, slot.current_id);
        if (!previous.ok()) return previous.status();
        InsertLogRow(pc, *previous, slot.current_hash, "revised", previous->id, reason);
        DeleteResponse(pc, *previous);
      }
      const std::vector<Response> one{r};
      std::vector<AppendResult> appended(1);
      MINYI_RETURN_IF_ERROR(AppendPerRow(pc, one, {hashes[i]}, {0}, appended));
      if (appended[0].outcome != AppendOutcome::kStored) {
        // Another transaction filled the empty slot after we looked.
        return Status::Unavailable("mysql: revision slot " + r.source_ref +
                                   " was written concurrently; retry");
      }
      MINYI_RETURN_IF_ERROR(AppendAnalysisRows(pc, one, appended));
      out[i].response_id = appended[0].response_id;
    }
    Commit(pc);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  *results = std::move(out);
  return Status::Ok();
}

Result<WithdrawOutcome> MysqlStore::Withdraw(Channel channel, std::string_view source_ref,
                                             std::string_view reason) {
  MINYI_RETURN_IF_ERROR(internal::ValidateRevisionReason(reason));
  if (source_ref.empty()) return Status::InvalidInput("Withdraw: source_ref is required");
  std::vector<WithdrawOutcome> outcomes;
  Status s = impl_->Run("withdraw response", [&](PooledConn& pc) -> Status {
    outcomes.clear();
    pc.conn->setAutoCommit(false);
    for (const std::string& slot_ref : AnswerSlots(pc, channel, source_ref)) {
      auto one = WithdrawSlot(pc, channel, slot_ref, reason);
      if (!one.ok()) return one.status();
      outcomes.push_back(*one);
    }
    Commit(pc);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return internal::CombineWithdrawals(outcomes);
}

Result<std::vector<RevisionRecord>> MysqlStore::RevisionLog(Channel channel, std::string_view source_ref) {
  std::vector<RevisionRecord> out;
  Status s = impl_->Run("read revision log", [&](PooledConn& pc) -> Status {
    out.clear();
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        std::string("SELECT id, ") + internal::kRevisionColumns +
        " FROM response_revisions WHERE channel = ? AND source_ref = ? ORDER BY id"));
    ps->setString(1, std::string(ChannelName(channel)));
    ps->setString(2, std::string(source_ref));
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    while (rs->next()) {
      RevisionRecord r;
      r.id = rs->getInt64(1);
      r.action = Str(rs->getString(2));
      r.response_id = rs->getInt64(3);
      r.content_hash = Str(rs->getString(4));
      r.survey_id = Str(rs->getString(5));
      r.period = {rs->getInt(6), rs->getInt(7)};
      r.town_code = Str(rs->getString(8));
      r.answers_json = Str(rs->getString(9));
      r.submitted_at_ms = rs->getInt64(10);
      r.recorded_at_ms = rs->getInt64(11);
      r.reason = Str(rs->getString(12));
      r.raw_payload = Str(rs->getString(13));
      out.push_back(std::move(r));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<RevisionActivity>> MysqlStore::RevisionActivitySince(std::int64_t after_id) {
  std::vector<RevisionActivity> out;
  Status s = impl_->Run("read revision activity", [&](PooledConn& pc) -> Status {
    out.clear();
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        "SELECT id, survey_id, period_year, period_quarter, town_code FROM response_revisions"
        " WHERE id > ? AND action <> 'stale' ORDER BY id"));
    ps->setInt64(1, after_id);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    while (rs->next()) {
      out.push_back({rs->getInt64(1), Str(rs->getString(2)), Period{rs->getInt(3), rs->getInt(4)},
                     Str(rs->getString(5))});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace minyi::sql
