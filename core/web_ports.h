// Ports for the web collector (issue 3): invitation tokens, partner API keys, and a look-up of a
// stored response by its source reference. The SQL stores implement them (sql/web_store.cc, once
// for both dialects); the collector uses them through this interface only.
//
// Secrets are never stored: a token or API key is kept as the hex SHA-256 of its text (both are at
// least 128 random bits, so a plain hash cannot be reversed by guessing). Thread safety: every
// implementation is safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

// One invitation: a link that admits exactly one response. One-response-per-token is enforced by the
// responses table's unique key (channel web, source_ref "token:<token_hash>"), not by this record.
struct InvitationToken {
  std::string token_hash;  // hex SHA-256 of the token text (64 chars); the primary key
  std::string survey_id;
  std::string town_code;   // the town the invitation is for; empty: the resident chooses
  std::string batch_id;    // groups the tokens made by one `minyi invite create`
  std::int64_t created_at_ms = 0;
};

// A partner's API key (the 12345 hotline, a street's own app), scoped to surveys.
struct ApiKey {
  std::string key_id;                // short public id ("k_3f9a..."), shown in lists, used to revoke
  std::string key_hash;              // hex SHA-256 of the key text; unique
  std::string name;                  // who holds it
  std::vector<std::string> surveys;  // survey ids it may submit to (sorted, non-empty)
  std::int64_t created_at_ms = 0;
  std::int64_t revoked_at_ms = 0;    // 0 = active

  bool active() const { return revoked_at_ms == 0; }
  bool Allows(const std::string& survey_id) const {
    for (const auto& s : surveys) {
      if (s == survey_id) return true;
    }
    return false;
  }
};

// A stored response found by its identity.
struct StoredResponseRef {
  std::int64_t response_id = 0;
  std::string content_hash;
};

class WebAccessStore {
 public:
  virtual ~WebAccessStore() = default;

  // Stores tokens in one transaction. kConflict when a token hash already exists (nothing stored);
  // kInvalidInput for an empty hash or survey.
  virtual Status AddInvitationTokens(const std::vector<InvitationToken>& tokens) = 0;
  // nullopt when unknown.
  virtual Result<std::optional<InvitationToken>> FindInvitationToken(const std::string& token_hash) = 0;

  // kConflict when the key id or hash exists; kInvalidInput for missing fields or no survey.
  virtual Status AddApiKey(const ApiKey& key) = 0;
  // nullopt when unknown (revoked keys are returned, with revoked_at_ms set).
  virtual Result<std::optional<ApiKey>> FindApiKeyByHash(const std::string& key_hash) = 0;
  // Ordered by key id.
  virtual Result<std::vector<ApiKey>> ListApiKeys() = 0;
  // kNotFound for an unknown id; revoking a revoked key keeps its first revocation time.
  virtual Status RevokeApiKey(const std::string& key_id, std::int64_t at_ms) = 0;

  // The stored response with this identity, nullopt when there is none.
  virtual Result<std::optional<StoredResponseRef>> FindResponseBySource(Channel channel,
                                                                      const std::string& source_ref) = 0;
};

}  // namespace minyi
