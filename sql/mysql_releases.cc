// MysqlStore's ReleaseStore (core/release_ports.h): the SQL of sql/releases_common.cc on a pooled
// connection with the pool's retry rules.
#include "sql/db.h"
#include "sql/mysql_store.h"
#include "sql/releases_common.h"

namespace minyi::sql {

Result<std::int64_t> MysqlStore::BeginRelease(const ReleaseRecord& draft) {
  return releases::Begin(SqlDb(), draft);
}
Status MysqlStore::AppendManifest(std::int64_t release_id, const std::vector<ManifestEntry>& entries) {
  return releases::AppendManifest(SqlDb(), release_id, entries);
}
Result<int> MysqlStore::FinishRelease(const ReleaseRecord& record) {
  return releases::Finish(SqlDb(), record);
}
Status MysqlStore::AbandonRelease(std::int64_t release_id) { return releases::Abandon(SqlDb(), release_id); }
Result<std::vector<ReleaseRecord>> MysqlStore::ListReleases(const std::string& survey_id) {
  return releases::List(SqlDb(), survey_id);
}
Result<std::optional<ReleaseRecord>> MysqlStore::FindRelease(const std::string& survey_id, const Period& period,
                                                              int revision) {
  return releases::Find(SqlDb(), survey_id, period, revision);
}
Result<std::vector<ManifestEntry>> MysqlStore::ManifestPage(std::int64_t release_id, const ManifestKey& after,
                                                             int limit) {
  return releases::ManifestPage(SqlDb(), release_id, after, limit);
}

}  // namespace minyi::sql
