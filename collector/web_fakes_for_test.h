// In-memory ports for the web collector's unit tests: WebAccessStore, CollectorCounters and the
// DashboardQueries the per-town cap reads.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/collector_counters.h"
#include "core/dashboard_ports.h"
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

// Records what would be written; can be told to fail.
class MemoryCounters final : public CollectorCounters {
 public:
  Status RecordRejections(const std::vector<RejectionCount>& counts) override {
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    if (fail) return Status::Unavailable("store down");
    for (const auto& c : counts) {
      totals[c.channel + "/" + c.reason + "/" + c.survey_id + "/" + c.period.ToString() + "/" +
             c.town_code] += c.count;
    }
    return Status::Ok();
  }
  Result<std::int64_t> RecordImportRun(const ImportRun&) override { return Status::Internal("unused"); }
  Result<std::vector<RejectionCount>> Rejections(const std::string&, const std::string&,
                                                 std::optional<Period>, bool) override {
    return Status::Internal("unused");
  }
  Result<std::vector<ImportRun>> ImportRuns(const std::string&, bool, bool, std::int64_t) override {
    return Status::Internal("unused");
  }

  std::mutex mu;
  bool fail = false;
  int calls = 0;
  std::map<std::string, std::int64_t> totals;
};

// Web responses per (survey, town, period) as CountByChannel reports them; counts the calls.
class FakeTownCounts final : public DashboardQueries {
 public:
  Result<std::vector<ChannelCount>> CountByChannel(const std::string& survey_id,
                                                   const std::string& area) override {
    ++calls;
    if (fail) return Status::Unavailable("store down");
    std::vector<ChannelCount> out;
    for (const auto& [key, count] : web) {
      if (std::get<0>(key) == survey_id && std::get<1>(key) == area) {
        out.push_back({std::get<2>(key), Channel::kWeb, Completion::kComplete, count});
      }
    }
    out.push_back(
        {Period{2025, 0}, Channel::kSms, Completion::kComplete, 1000});  // other channels: not counted
    return out;
  }
  Result<std::vector<TextAnswer>> ReadTextAnswers(const std::string&, const std::string&, const std::string&,
                                                  std::optional<Period>, std::int64_t,
                                                  std::int64_t*) override {
    return Status::Internal("unused");
  }
  std::map<std::tuple<std::string, std::string, Period>, std::int64_t> web;
  bool fail = false;
  int calls = 0;
};

}  // namespace minyi::collector
