// SqliteStore: the web collector's tables (core/web_ports.h, migration 002_web_collector).
#include <algorithm>
#include <sstream>

#include "sql/sqlite_internal.h"

namespace minyi::sql {
namespace {

ApiKey ReadApiKey(const Stmt& s) {
  ApiKey k;
  k.key_id = s.ColText(0);
  k.key_hash = s.ColText(1);
  k.name = s.ColText(2);
  k.surveys = internal::SplitSurveys(s.ColText(3));
  k.created_at_ms = s.ColInt(4);
  k.revoked_at_ms = s.ColInt(5);
  return k;
}

constexpr const char* kApiKeyColumns = "key_id, key_hash, name, surveys, created_at_ms, revoked_at_ms";

}  // namespace

// Reads that may run while the group-commit writer holds the write connection (token pages) go to
// a read-only connection in a file database, so they never wait behind an fsync.
template <typename Fn>
static Status WithReadConnection(SqliteStore::Impl& impl, Fn&& fn) {
  if (impl.in_memory) {
    std::lock_guard<std::mutex> lock(impl.write_mu);
    return fn(impl.db.get());
  }
  auto reader = impl.AcquireReader();
  if (!reader.ok()) return reader.status();
  DbPtr db = std::move(reader).value();
  Status s = fn(db.get());
  impl.ReleaseReader(std::move(db));
  return s;
}

Status SqliteStore::AddInvitationTokens(const std::vector<InvitationToken>& tokens) {
  for (const auto& t : tokens) {
    if (t.token_hash.empty() || t.survey_id.empty()) {
      return Status::InvalidInput("invitation token lacks its hash or survey");
    }
  }
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  sqlite3* db = impl_->db.get();
  auto tx = Transaction::Begin(db);
  if (!tx.ok()) return tx.status();
  auto s = Stmt::Prepare(db,
                         "INSERT INTO invitation_tokens (token_hash, survey_id, town_code, batch_id, created_at_ms)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s.ok()) return s.status();
  for (const auto& t : tokens) {
    ResetOnExit reset(*s);
    s->Text(1, t.token_hash);
    s->Text(2, t.survey_id);
    s->Text(3, t.town_code);
    s->Text(4, t.batch_id);
    s->Int(5, t.created_at_ms);
    const int rc = s->Step();
    if ((rc & 0xFF) == SQLITE_CONSTRAINT) return Status::Conflict("invitation token already exists");
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "insert invitation token");
  }
  return (*tx)->Commit();
}

Result<std::optional<InvitationToken>> SqliteStore::FindInvitationToken(const std::string& token_hash) {
  std::optional<InvitationToken> found;
  Status status = WithReadConnection(*impl_, [&](sqlite3* db) -> Status {
    auto s = Stmt::Prepare(db,
                           "SELECT token_hash, survey_id, town_code, batch_id, created_at_ms FROM invitation_tokens"
                           " WHERE token_hash = ?1");
    if (!s.ok()) return s.status();
    s->Text(1, token_hash);
    const int rc = s->Step();
    if (rc == SQLITE_ROW) {
      found = InvitationToken{s->ColText(0), s->ColText(1), s->ColText(2), s->ColText(3), s->ColInt(4)};
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db, rc, "read invitation token");
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return found;
}

Status SqliteStore::AddApiKey(const ApiKey& key) {
  if (key.key_id.empty() || key.key_hash.empty() || key.name.empty() || key.surveys.empty()) {
    return Status::InvalidInput("API key lacks its id, hash, name or surveys");
  }
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  sqlite3* db = impl_->db.get();
  auto s = Stmt::Prepare(db,
                         "INSERT INTO api_keys (key_id, key_hash, name, surveys, created_at_ms, revoked_at_ms)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!s.ok()) return s.status();
  const std::string surveys = internal::JoinSurveys(key.surveys);
  s->Text(1, key.key_id);
  s->Text(2, key.key_hash);
  s->Text(3, key.name);
  s->Text(4, surveys);
  s->Int(5, key.created_at_ms);
  s->Int(6, key.revoked_at_ms);
  ResetOnExit reset(*s);
  const int rc = s->Step();
  if ((rc & 0xFF) == SQLITE_CONSTRAINT) return Status::Conflict("API key " + key.key_id + " already exists");
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "insert API key");
  return Status::Ok();
}

Result<std::optional<ApiKey>> SqliteStore::FindApiKeyByHash(const std::string& key_hash) {
  std::optional<ApiKey> found;
  Status status = WithReadConnection(*impl_, [&](sqlite3* db) -> Status {
    auto s = Stmt::Prepare(db, std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE key_hash = ?1");
    if (!s.ok()) return s.status();
    s->Text(1, key_hash);
    const int rc = s->Step();
    if (rc == SQLITE_ROW) {
      found = ReadApiKey(*s);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db, rc, "read API key");
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return found;
}

Result<std::vector<ApiKey>> SqliteStore::ListApiKeys() {
  std::vector<ApiKey> keys;
  Status status = WithReadConnection(*impl_, [&](sqlite3* db) -> Status {
    auto s = Stmt::Prepare(db, std::string("SELECT ") + kApiKeyColumns + " FROM api_keys ORDER BY key_id");
    if (!s.ok()) return s.status();
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) keys.push_back(ReadApiKey(*s));
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "list API keys");
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return keys;
}

Status SqliteStore::RevokeApiKey(const std::string& key_id, std::int64_t at_ms) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  sqlite3* db = impl_->db.get();
  auto s = Stmt::Prepare(db, "SELECT revoked_at_ms FROM api_keys WHERE key_id = ?1");
  if (!s.ok()) return s.status();
  s->Text(1, key_id);
  const int rc = s->Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no API key " + key_id);
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read API key");
  const bool already = s->ColInt(0) != 0;
  s->Reset();
  if (already) return Status::Ok();
  auto u = Stmt::Prepare(db, "UPDATE api_keys SET revoked_at_ms = ?2 WHERE key_id = ?1 AND revoked_at_ms = 0");
  if (!u.ok()) return u.status();
  u->Text(1, key_id);
  u->Int(2, at_ms);
  return Run(*u, "revoke API key");
}

Result<std::optional<StoredResponseRef>> SqliteStore::FindResponseBySource(Channel channel,
                                                                        const std::string& source_ref) {
  std::optional<StoredResponseRef> found;
  Status status = WithReadConnection(*impl_, [&](sqlite3* db) -> Status {
    auto s = Stmt::Prepare(db, "SELECT id, content_hash FROM responses WHERE channel = ?1 AND source_ref = ?2");
    if (!s.ok()) return s.status();
    s->Text(1, ChannelName(channel));
    s->Text(2, source_ref);
    const int rc = s->Step();
    if (rc == SQLITE_ROW) {
      found = StoredResponseRef{s->ColInt(0), s->ColText(1)};
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db, rc, "read response by source");
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return found;
}

}  // namespace minyi::sql
