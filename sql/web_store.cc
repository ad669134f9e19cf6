// The web collector's tables (core/web_ports.h, migration 002_web_collector), written once on the
// dialect interface of sql/db.h for both backends (SqlStore, sql/sql_store.h). Lookups made per
// request (tokens, API keys, a response by its source) are reads (Db::Read): on a SQLite file they
// run beside the group-commit writer instead of behind it.
#include "sql/db.h"
#include "sql/sql_store.h"
#include "sql/store_common.h"

namespace minyi::sql {
namespace {

using db::Row;
using db::Tx;
using db::Work;

constexpr const char* kApiKeyColumns = "key_id, key_hash, name, surveys, created_at_ms, revoked_at_ms";

ApiKey ReadApiKey(const Row& row) {
  ApiKey k;
  k.key_id = row.Text(0);
  k.key_hash = row.Text(1);
  k.name = row.Text(2);
  k.surveys = internal::SplitSurveys(row.Text(3));
  k.created_at_ms = row.Int(4);
  k.revoked_at_ms = row.Int(5);
  return k;
}

// A unique-key violation of an insert becomes `conflict`; every other outcome passes through.
Status InsertUnique(Tx& tx, std::string_view sql, const std::vector<db::Value>& params,
                    const std::string& conflict) {
  auto inserted = tx.Execute(sql, params);
  if (inserted.ok()) return Status::Ok();
  if (inserted.status().code() == StatusCode::kConflict) return Status::Conflict(conflict);
  return inserted.status();
}

}  // namespace

Status SqlStore::AddInvitationTokens(const std::vector<InvitationToken>& tokens) {
  for (const auto& t : tokens) {
    if (t.token_hash.empty() || t.survey_id.empty()) {
      return Status::InvalidInput("invitation token lacks its hash or survey");
    }
  }
  // All or nothing: a duplicate token rolls the whole batch back.
  return SqlDb().InTransaction("insert invitation tokens", Work::kIdempotent, [&](Tx& tx) -> Status {
    for (const auto& t : tokens) {
      MINYI_RETURN_IF_ERROR(InsertUnique(
          tx,
          "INSERT INTO invitation_tokens (token_hash, survey_id, town_code, batch_id, created_at_ms)"
          " VALUES (?, ?, ?, ?, ?)",
          {t.token_hash, t.survey_id, t.town_code, t.batch_id, t.created_at_ms},
          "invitation token already exists"));
    }
    return Status::Ok();
  });
}

Result<std::optional<InvitationToken>> SqlStore::FindInvitationToken(const std::string& token_hash) {
  std::optional<InvitationToken> found;
  MINYI_RETURN_IF_ERROR(SqlDb().Read("read invitation token", [&](Tx& tx) -> Status {
    auto rows = tx.Query(
        "SELECT token_hash, survey_id, town_code, batch_id, created_at_ms FROM invitation_tokens"
        " WHERE token_hash = ?",
        {token_hash});
    if (!rows.ok()) return rows.status();
    found.reset();
    if (!rows->empty()) {
      const Row& row = rows->front();
      found = InvitationToken{row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4)};
    }
    return Status::Ok();
  }));
  return found;
}

Status SqlStore::AddApiKey(const ApiKey& key) {
  if (key.key_id.empty() || key.key_hash.empty() || key.name.empty() || key.surveys.empty()) {
    return Status::InvalidInput("API key lacks its id, hash, name or surveys");
  }
  return SqlDb().InTransaction("insert API key", Work::kIdempotent, [&](Tx& tx) {
    return InsertUnique(tx,
                        "INSERT INTO api_keys (key_id, key_hash, name, surveys, created_at_ms, revoked_at_ms)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        {key.key_id, key.key_hash, key.name, internal::JoinSurveys(key.surveys),
                         key.created_at_ms, key.revoked_at_ms},
                        "API key " + key.key_id + " already exists");
  });
}

Result<std::optional<ApiKey>> SqlStore::FindApiKeyByHash(const std::string& key_hash) {
  std::optional<ApiKey> found;
  MINYI_RETURN_IF_ERROR(SqlDb().Read("read API key", [&](Tx& tx) -> Status {
    auto rows =
        tx.Query(std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE key_hash = ?", {key_hash});
    if (!rows.ok()) return rows.status();
    found.reset();
    if (!rows->empty()) found = ReadApiKey(rows->front());
    return Status::Ok();
  }));
  return found;
}

Result<std::vector<ApiKey>> SqlStore::ListApiKeys() {
  std::vector<ApiKey> keys;
  MINYI_RETURN_IF_ERROR(SqlDb().Read("list API keys", [&](Tx& tx) -> Status {
    auto rows = tx.Query(std::string("SELECT ") + kApiKeyColumns + " FROM api_keys ORDER BY key_id", {});
    if (!rows.ok()) return rows.status();
    keys.clear();
    for (const Row& row : *rows) keys.push_back(ReadApiKey(row));
    return Status::Ok();
  }));
  return keys;
}

Status SqlStore::RevokeApiKey(const std::string& key_id, std::int64_t at_ms) {
  return SqlDb().InTransaction("revoke API key", Work::kIdempotent, [&](Tx& tx) -> Status {
    auto found = tx.Query("SELECT revoked_at_ms FROM api_keys WHERE key_id = ?", {key_id});
    if (!found.ok()) return found.status();
    if (found->empty()) return Status::NotFound("no API key " + key_id);
    // The first revocation time is kept.
    auto revoked = tx.Execute("UPDATE api_keys SET revoked_at_ms = ? WHERE key_id = ? AND revoked_at_ms = 0",
                              {at_ms, key_id});
    return revoked.ok() ? Status::Ok() : revoked.status();
  });
}

Result<std::optional<StoredResponseRef>> SqlStore::FindResponseBySource(Channel channel,
                                                                        const std::string& source_ref) {
  std::optional<StoredResponseRef> found;
  MINYI_RETURN_IF_ERROR(SqlDb().Read("read response by source", [&](Tx& tx) -> Status {
    auto rows = tx.Query("SELECT id, content_hash FROM responses WHERE channel = ? AND source_ref = ?",
                         {ChannelName(channel), source_ref});
    if (!rows.ok()) return rows.status();
    found.reset();
    if (!rows->empty()) found = StoredResponseRef{rows->front().Int(0), rows->front().Text(1)};
    return Status::Ok();
  }));
  return found;
}

}  // namespace minyi::sql
