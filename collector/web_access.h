// Invitation tokens and partner API keys: creation (random, at least 128 bits, URL-safe), hashing
// for storage, the invitation CSV, and API key authentication with a small cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/status.h"
#include "core/web_ports.h"

namespace minyi::collector {

// 18 random bytes = 144 bits, 24 URL-safe characters.
inline constexpr std::size_t kTokenBytes = 18;
// 32 random bytes = 256 bits.
inline constexpr std::size_t kApiKeyBytes = 32;

struct NewInvitation {
  std::string token;       // the secret handed to the resident; only its hash is stored
  InvitationToken record;  // what the store keeps
};

// Makes `count` invitations for a survey (and optionally a fixed town) in one batch. The batch id is
// "inv-<UTC time>-<random>".
std::vector<NewInvitation> MakeInvitations(const std::string& survey_id, const std::string& town_code,
                                           std::size_t count, std::int64_t now_ms);

// The hash a token is stored and looked up by (hex SHA-256).
std::string HashToken(std::string_view token);
// The responses.source_ref that makes one response per token a database constraint.
std::string TokenSourceRef(std::string_view token_hash);
// True for text that could be a token (URL-safe base64, 16..64 characters).
bool LooksLikeToken(std::string_view text);

// "<public_url>/s/<survey>?t=<token>" (public_url without a trailing slash).
std::string InvitationUrl(std::string_view public_url, std::string_view survey_id, std::string_view token);

// token,url,survey,town,town_name — one line per invitation, UTF-8 with a header line.
void WriteInvitationCsv(std::ostream& out, const std::vector<NewInvitation>& invitations,
                        std::string_view public_url, const AreaRegistry& areas);

struct NewApiKey {
  std::string key;  // "myk_" + 43 URL-safe characters; shown once, only its hash is stored
  ApiKey record;
};
NewApiKey MakeApiKey(const std::string& name, std::vector<std::string> surveys, std::int64_t now_ms);

// Authenticates presented API keys against the store. Positive look-ups are cached for `ttl` (so a
// revocation takes effect within ttl); unknown keys are not cached. Thread-safe.
class ApiKeyAuthenticator {
 public:
  ApiKeyAuthenticator(WebAccessStore& store, std::chrono::milliseconds ttl) : store_(store), ttl_(ttl) {}

  // The key's record. kUnauthenticated for an empty, unknown or revoked key; kUnavailable when the
  // store fails.
  Result<ApiKey> Authenticate(std::string_view presented);

 private:
  struct Entry {
    ApiKey key;
    std::chrono::steady_clock::time_point expires;
    bool refreshing = false;  // one request is asking the store; the others use `key` meanwhile
  };
  WebAccessStore& store_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> cache_;  // by key hash
};

}  // namespace minyi::collector
