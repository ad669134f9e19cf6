// SqliteStore's ReleaseStore (core/release_ports.h): the SQL of sql/releases_common.cc on the write
// connection under its mutex.
#include "sql/access_db.h"
#include "sql/releases_common.h"
#include "sql/sqlite_store.h"

namespace minyi::sql {

Result<std::int64_t> SqliteStore::BeginRelease(const ReleaseRecord& draft) {
  return releases::Begin(*access_detail::MakeSqliteDb(*this), draft);
}
Status SqliteStore::AppendManifest(std::int64_t release_id, const std::vector<ManifestEntry>& entries) {
  return releases::AppendManifest(*access_detail::MakeSqliteDb(*this), release_id, entries);
}
Result<int> SqliteStore::FinishRelease(const ReleaseRecord& record) {
  return releases::Finish(*access_detail::MakeSqliteDb(*this), record);
}
Status SqliteStore::AbandonRelease(std::int64_t release_id) {
  return releases::Abandon(*access_detail::MakeSqliteDb(*this), release_id);
}
Result<std::vector<ReleaseRecord>> SqliteStore::ListReleases(const std::string& survey_id) {
  return releases::List(*access_detail::MakeSqliteDb(*this), survey_id);
}
Result<std::optional<ReleaseRecord>> SqliteStore::FindRelease(const std::string& survey_id, const Period& period,
                                                              int revision) {
  return releases::Find(*access_detail::MakeSqliteDb(*this), survey_id, period, revision);
}
Result<std::vector<ManifestEntry>> SqliteStore::ManifestPage(std::int64_t release_id, const ManifestKey& after,
                                                             int limit) {
  return releases::ManifestPage(*access_detail::MakeSqliteDb(*this), release_id, after, limit);
}

}  // namespace minyi::sql
