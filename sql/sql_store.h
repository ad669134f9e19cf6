// Internal to sql/: the part of the store both backends share above the dialect interface of
// sql/db.h — ports written once on Store::SqlDb(). SqliteStore and MysqlStore derive from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sql/store.h"

namespace minyi::sql {

class SqlStore : public Store {
 public:
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
};

}  // namespace minyi::sql
