// Internal to sql/: the frozen releases (core/release_ports.h, migration 007) written once over the
// dialect interface of sql/db.h; SqlStore (sql/sql_store.h), the base of both
// backends, forwards to these functions. Not part of the store's API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/release_ports.h"
#include "sql/db.h"

namespace minyi::sql::releases {

Result<std::int64_t> Begin(db::Db& db, const ReleaseRecord& draft);
Status AppendManifest(db::Db& db, std::int64_t release_id, const std::vector<ManifestEntry>& entries);
Result<int> Finish(db::Db& db, const ReleaseRecord& record);
Status Abandon(db::Db& db, std::int64_t release_id);
Result<std::vector<ReleaseRecord>> List(db::Db& db, const std::string& survey_id);
Result<std::optional<ReleaseRecord>> Find(db::Db& db, const std::string& survey_id, const Period& period,
                                          int revision);
Result<std::vector<ManifestEntry>> ManifestPage(db::Db& db, std::int64_t release_id, const ManifestKey& after,
                                                int limit);

}  // namespace minyi::sql::releases
