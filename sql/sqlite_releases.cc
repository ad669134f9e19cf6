// SqliteStore's ReleaseStore (core/release_ports.h): the SQL of sql/releases_common.cc on the write
// connection under its mutex.
#include "sql/db.h"
#include "sql/releases_common.h"
#include "sql/sqlite_store.h"

namespace minyi::sql {

Result<std::int64_t> SqliteStore::BeginRelease(const ReleaseRecord& draft) {
  return releases::Begin(SqlDb(), draft);
}
Status SqliteStore::AppendManifest(std::int64_t release_id, const std::vector<ManifestEntry>& entries) {
  return releases::AppendManifest(SqlDb(), release_id, entries);
}
Result<int> SqliteStore::FinishRelease(const ReleaseRecord& record) {
  return releases::Finish(SqlDb(), record);
}
Status SqliteStore::AbandonRelease(std::int64_t release_id) { return releases::Abandon(SqlDb(), release_id); }
Result<std::vector<ReleaseRecord>> SqliteStore::ListReleases(const std::string& survey_id) {
  return releases::List(SqlDb(), survey_id);
}
Result<std::optional<ReleaseRecord>> SqliteStore::FindRelease(const std::string& survey_id, const Period& period,
                                                              int revision) {
  return releases::Find(SqlDb(), survey_id, period, revision);
}
Result<std::vector<ManifestEntry>> SqliteStore::ManifestPage(std::int64_t release_id, const ManifestKey& after,
                                                             int limit) {
  return releases::ManifestPage(SqlDb(), release_id, after, limit);
}

}  // namespace minyi::sql
