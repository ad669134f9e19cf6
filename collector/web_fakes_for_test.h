// An in-memory WebAccessStore for the web collector's unit tests.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/web_ports.h"

namespace minyi::collector {

class MemoryAccess : public WebAccessStore {
 public:
  Status AddInvitationTokens(const std::vector<InvitationToken>& list) override {
    for (const auto& t : list) tokens[t.token_hash] = t;
    return Status::Ok();
  }
  Result<std::optional<InvitationToken>> FindInvitationToken(const std::string& hash) override {
    auto it = tokens.find(hash);
    if (it == tokens.end()) return std::optional<InvitationToken>();
    return std::optional<InvitationToken>(it->second);
  }
  Status AddApiKey(const ApiKey& key) override {
    keys[key.key_hash] = key;
    return Status::Ok();
  }
  Result<std::optional<ApiKey>> FindApiKeyByHash(const std::string& hash) override {
    ++lookups;
    auto it = keys.find(hash);
    if (it == keys.end()) return std::optional<ApiKey>();
    return std::optional<ApiKey>(it->second);
  }
  Result<std::vector<ApiKey>> ListApiKeys() override { return std::vector<ApiKey>(); }
  Status RevokeApiKey(const std::string&, std::int64_t) override { return Status::Ok(); }
  Result<std::optional<StoredResponseRef>> FindResponseBySource(Channel, const std::string& ref) override {
    auto it = used.find(ref);
    if (it == used.end()) return std::optional<StoredResponseRef>();
    return std::optional<StoredResponseRef>(StoredResponseRef{it->second, ""});
  }
  std::map<std::string, ApiKey> keys;
  std::map<std::string, InvitationToken> tokens;
  std::map<std::string, std::int64_t> used;  // source_ref → response id
  std::atomic<int> lookups{0};
};

}  // namespace minyi::collector
