// Internal to sql/: the frozen releases (core/release_ports.h, migration 007) written once over the
// dialect adapter of sql/access_db.h; SqliteStore (sql/sqlite_releases.cc) and MysqlStore
// (sql/mysql_releases.cc) forward to these functions. Not part of the store's API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/release_ports.h"
#include "sql/access_db.h"

namespace minyi::sql::releases {

Result<std::int64_t> Begin(access_detail::Db& db, const ReleaseRecord& draft);
Status AppendManifest(access_detail::Db& db, std::int64_t release_id, const std::vector<ManifestEntry>& entries);
Result<int> Finish(access_detail::Db& db, const ReleaseRecord& record);
Status Abandon(access_detail::Db& db, std::int64_t release_id);
Result<std::vector<ReleaseRecord>> List(access_detail::Db& db, const std::string& survey_id);
Result<std::optional<ReleaseRecord>> Find(access_detail::Db& db, const std::string& survey_id, const Period& period,
                                          int revision);
Result<std::vector<ManifestEntry>> ManifestPage(access_detail::Db& db, std::int64_t release_id,
                                                const ManifestKey& after, int limit);

}  // namespace minyi::sql::releases
