#include "collector/web_access.h"

#include <algorithm>

#include "collector/common/crypto.h"
#include "core/csv.h"
#include "core/csv_cell.h"

namespace minyi::collector {
namespace {

std::string CompactUtc(std::int64_t ms) {
  std::string t = FormatTimestampUtc(ms);  // 2024-05-12T01:01:33Z
  std::string out;
  for (char c : t) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

}  // namespace

std::vector<NewInvitation> MakeInvitations(const std::string& survey_id, const std::string& town_code,
                                           std::size_t count, std::int64_t now_ms) {
  const std::string batch = "inv-" + CompactUtc(now_ms) + "-" + RandomHex(4);
  std::vector<NewInvitation> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    NewInvitation inv;
    inv.token = RandomUrlToken(kTokenBytes);
    inv.record.token_hash = HashToken(inv.token);
    inv.record.survey_id = survey_id;
    inv.record.town_code = town_code;
    inv.record.batch_id = batch;
    inv.record.created_at_ms = now_ms;
    out.push_back(std::move(inv));
  }
  return out;
}

std::string HashToken(std::string_view token) { return Sha256Hex(token); }

std::string TokenSourceRef(std::string_view token_hash) { return "token:" + std::string(token_hash); }

bool LooksLikeToken(std::string_view text) {
  if (text.size() < 16 || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::string InvitationUrl(std::string_view public_url, std::string_view survey_id, std::string_view token) {
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/s/" + std::string(survey_id) + "?t=" + std::string(token);
}

void WriteInvitationCsv(std::ostream& out, const std::vector<NewInvitation>& invitations,
                        std::string_view public_url, const AreaRegistry& areas) {
  out << "token,url,survey,town,town_name\n";
  for (const auto& inv : invitations) {
    const Area* town = inv.record.town_code.empty() ? nullptr : areas.Find(inv.record.town_code);
    out << inv.token << ',' << CsvText(InvitationUrl(public_url, inv.record.survey_id, inv.token)) << ','
        << CsvText(inv.record.survey_id) << ',' << inv.record.town_code << ','
        << CsvText(town != nullptr ? areas.FullName(town->code) : std::string()) << '\n';
  }
}

NewApiKey MakeApiKey(const std::string& name, std::vector<std::string> surveys, std::int64_t now_ms) {
  std::sort(surveys.begin(), surveys.end());
  surveys.erase(std::unique(surveys.begin(), surveys.end()), surveys.end());
  NewApiKey k;
  k.key = "myk_" + RandomUrlToken(kApiKeyBytes);
  k.record.key_id = "k_" + RandomHex(6);
  k.record.key_hash = Sha256Hex(k.key);
  k.record.name = name;
  k.record.surveys = std::move(surveys);
  k.record.created_at_ms = now_ms;
  return k;
}

Result<ApiKey> ApiKeyAuthenticator::Authenticate(std::string_view presented) {
  if (presented.empty()) return Status::Unauthenticated("an API key is required (Authorization: Bearer <key>)");
  if (presented.size() > 256) return Status::Unauthenticated("API key not recognised");
  const std::string hash = Sha256Hex(presented);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end()) {
      // Fresh; or expired while one request asks the store: a partner's many connections share one
      // key, and they should not all ask at once.
      if (it->second.expires > now || it->second.refreshing) return it->second.key;
      it->second.refreshing = true;
    }
  }
  auto found = store_.FindApiKeyByHash(hash);
  std::lock_guard<std::mutex> lock(mu_);
  if (!found.ok()) {
    if (auto it = cache_.find(hash); it != cache_.end()) it->second.refreshing = false;
    return found.status();
  }
  if (!found->has_value() || !(*found)->active()) {
    cache_.erase(hash);
    return Status::Unauthenticated("API key not recognised");
  }
  if (cache_.size() > 10000) cache_.clear();  // a bound; keys are few in practice
  cache_[hash] = Entry{**found, now + ttl_, false};
  return **found;
}

}  // namespace minyi::collector
