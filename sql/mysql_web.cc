// MysqlStore: the web collector's tables (core/web_ports.h, migration 002_web_collector).
#include <sstream>

#include "sql/mysql_internal.h"

namespace minyi::sql {
namespace {

ApiKey ReadApiKey(::sql::ResultSet& rs) {
  ApiKey k;
  k.key_id = Str(rs.getString(1));
  k.key_hash = Str(rs.getString(2));
  k.name = Str(rs.getString(3));
  k.surveys = internal::SplitSurveys(Str(rs.getString(4)));
  k.created_at_ms = rs.getInt64(5);
  k.revoked_at_ms = rs.getInt64(6);
  return k;
}

constexpr const char* kApiKeyColumns = "key_id, key_hash, name, surveys, created_at_ms, revoked_at_ms";
constexpr int kDuplicateKey = 1062;

}  // namespace

Status MysqlStore::AddInvitationTokens(const std::vector<InvitationToken>& tokens) {
  for (const auto& t : tokens) {
    if (t.token_hash.empty() || t.survey_id.empty()) {
      return Status::InvalidInput("invitation token lacks its hash or survey");
    }
  }
  Status s = impl_->Run("insert invitation tokens", [&](PooledConn& pc) {
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        "INSERT INTO invitation_tokens (token_hash, survey_id, town_code, batch_id, created_at_ms)"
        " VALUES (?, ?, ?, ?, ?)"));
    pc.conn->setAutoCommit(false);
    for (const auto& t : tokens) {
      ps->setString(1, t.token_hash);
      ps->setString(2, t.survey_id);
      ps->setString(3, t.town_code);
      ps->setString(4, t.batch_id);
      ps->setInt64(5, t.created_at_ms);
      try {
        ps->executeUpdate();
      } catch (const ::sql::SQLException& e) {
        if (e.getErrorCode() != kDuplicateKey) throw;
        return Status::Conflict("invitation token already exists");  // Run rolls back
      }
    }
    Commit(pc);
    return Status::Ok();
  });
  return s;
}

Result<std::optional<InvitationToken>> MysqlStore::FindInvitationToken(const std::string& token_hash) {
  std::optional<InvitationToken> found;
  Status s = impl_->Run("read invitation token", [&](PooledConn& pc) {
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        "SELECT token_hash, survey_id, town_code, batch_id, created_at_ms FROM invitation_tokens"
        " WHERE token_hash = ?"));
    ps->setString(1, token_hash);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    found.reset();
    if (rs->next()) {
      found = InvitationToken{Str(rs->getString(1)), Str(rs->getString(2)), Str(rs->getString(3)),
                              Str(rs->getString(4)), rs->getInt64(5)};
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return found;
}

Status MysqlStore::AddApiKey(const ApiKey& key) {
  if (key.key_id.empty() || key.key_hash.empty() || key.name.empty() || key.surveys.empty()) {
    return Status::InvalidInput("API key lacks its id, hash, name or surveys");
  }
  return impl_->Run("insert API key", [&](PooledConn& pc) {
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        "INSERT INTO api_keys (key_id, key_hash, name, surveys, created_at_ms, revoked_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)"));
    ps->setString(1, key.key_id);
    ps->setString(2, key.key_hash);
    ps->setString(3, key.name);
    ps->setString(4, internal::JoinSurveys(key.surveys));
    ps->setInt64(5, key.created_at_ms);
    ps->setInt64(6, key.revoked_at_ms);
    try {
      ps->executeUpdate();
    } catch (const ::sql::SQLException& e) {
      if (e.getErrorCode() != kDuplicateKey) throw;
      return Status::Conflict("API key " + key.key_id + " already exists");
    }
    return Status::Ok();
  });
}

Result<std::optional<ApiKey>> MysqlStore::FindApiKeyByHash(const std::string& key_hash) {
  std::optional<ApiKey> found;
  Status s = impl_->Run("read API key", [&](PooledConn& pc) {
    std::unique_ptr<::sql::PreparedStatement> ps(pc.conn->prepareStatement(
        std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE key_hash = ?"));
    ps->setString(1, key_hash);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    found.reset();
    if (rs->next()) found = ReadApiKey(*rs);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return found;
}

Result<std::vector<ApiKey>> MysqlStore::ListApiKeys() {
  std::vector<ApiKey> keys;
  Status s = impl_->Run("list API keys", [&](PooledConn& pc) {
    keys.clear();
    std::unique_ptr<::sql::ResultSet> rs(
        pc.stmt->executeQuery(std::string("SELECT ") + kApiKeyColumns + " FROM api_keys ORDER BY key_id"));
    while (rs->next()) keys.push_back(ReadApiKey(*rs));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return keys;
}

Status MysqlStore::RevokeApiKey(const std::string& key_id, std::int64_t at_ms) {
  return impl_->Run("revoke API key", [&](PooledConn& pc) {
    std::unique_ptr<::sql::PreparedStatement> find(
        pc.conn->prepareStatement("SELECT revoked_at_ms FROM api_keys WHERE key_id = ?"));
    find->setString(1, key_id);
    std::unique_ptr<::sql::ResultSet> rs(find->executeQuery());
    if (!rs->next()) return Status::NotFound("no API key " + key_id);
    std::unique_ptr<::sql::PreparedStatement> ps(
        pc.conn->prepareStatement("UPDATE api_keys SET revoked_at_ms = ? WHERE key_id = ? AND revoked_at_ms = 0"));
    ps->setInt64(1, at_ms);
    ps->setString(2, key_id);
    ps->executeUpdate();
    return Status::Ok();
  });
}

Result<std::optional<StoredResponseRef>> MysqlStore::FindResponseBySource(Channel channel,
                                                                       const std::string& source_ref) {
  std::optional<StoredResponseRef> found;
  Status s = impl_->Run("read response by source", [&](PooledConn& pc) {
    std::unique_ptr<::sql::PreparedStatement> ps(
        pc.conn->prepareStatement("SELECT id, content_hash FROM responses WHERE channel = ? AND source_ref = ?"));
    ps->setString(1, std::string(ChannelName(channel)));
    ps->setString(2, source_ref);
    std::unique_ptr<::sql::ResultSet> rs(ps->executeQuery());
    found.reset();
    if (rs->next()) found = StoredResponseRef{rs->getInt64(1), Str(rs->getString(2))};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return found;
}

}  // namespace minyi::sql
