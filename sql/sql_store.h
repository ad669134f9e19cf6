// Internal to sql/: the part of the store both backends share above the dialect interface of
// sql/db.h — ports written once on Store::SqlDb(). SqliteStore and MysqlStore derive from it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/store.h"

namespace minyi::sql {

class SqlStore : public Store {
 public:
  // Migrations and meta (defined once in sql/schema_store.cc).
  Result<std::vector<MigrationInfo>> Migrate() final;
  Result<int> SchemaVersion() final;
  Result<std::vector<MigrationInfo>> Migrations() final;
  Result<std::string> GetMeta(const std::string& key) final;
  Status SetMeta(const std::string& key, const std::string& value) final;

  // Population cells, index rows and response counts (defined once in sql/aggregation_store.cc).
  Result<std::vector<ResponseCount>> CountResponses() final;
  Result<std::vector<PopulationCell>> LoadPopulation(int year) final;
  Result<std::string> PopulationVersion(int year) final;
  Status UpsertPopulation(const std::vector<PopulationCell>& cells) final;
  Status WriteIndexRows(const std::vector<IndexRow>& rows) final;
  Result<std::vector<IndexRow>> ReadIndexRows(const IndexQuery& query) final;

  // ResponseSource::MeasureScan (defined once in sql/scan_measure.cc): an aggregate and the asked answers.
  Result<ScanMeasure> MeasureScan(const ResponseQuery& query, const std::vector<std::string>& questions,
                                  const std::function<bool(const ScanValue&)>& visit) final;

  // ResponseReviser (core/revisions.h; defined once in sql/revisions_store.cc).
  using ResponseReviser::StoreRevisions;
  Status StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                        const RevisePolicy& policy, std::vector<ReviseResult>* results) final;
  Result<WithdrawOutcome> Withdraw(Channel channel, std::string_view source_ref,
                                   std::string_view reason) final;
  Result<std::vector<RevisionRecord>> RevisionLog(Channel channel, std::string_view source_ref) final;
  Result<std::vector<RevisionActivity>> RevisionActivitySince(std::int64_t after_id) final;

  // ReleaseStore (core/release_ports.h; defined once in sql/releases_common.cc).
  Result<std::int64_t> BeginRelease(const ReleaseRecord& draft) final;
  Status AppendManifest(std::int64_t release_id, const std::vector<ManifestEntry>& entries) final;
  Result<int> FinishRelease(const ReleaseRecord& record) final;
  Status AbandonRelease(std::int64_t release_id) final;
  Result<std::vector<ReleaseRecord>> ListReleases(const std::string& survey_id) final;
  Result<std::optional<ReleaseRecord>> FindRelease(const std::string& survey_id, const Period& period,
                                                   int revision) final;
  Result<std::vector<ManifestEntry>> ManifestPage(std::int64_t release_id, const ManifestKey& after,
                                                  int limit) final;

  // WebAccessStore (core/web_ports.h; defined once in sql/web_store.cc).
  Status AddInvitationTokens(const std::vector<InvitationToken>& tokens) final;
  Result<std::optional<InvitationToken>> FindInvitationToken(const std::string& token_hash) final;
  Status AddApiKey(const ApiKey& key) final;
  Result<std::optional<ApiKey>> FindApiKeyByHash(const std::string& key_hash) final;
  Result<std::vector<ApiKey>> ListApiKeys() final;
  Status RevokeApiKey(const std::string& key_id, std::int64_t at_ms) final;
  Result<std::optional<StoredResponseRef>> FindResponseBySource(Channel channel,
                                                                const std::string& source_ref) final;
};

}  // namespace minyi::sql
