#include "collector/import_runs.h"

#include <Poco/Path.h>
#include <spdlog/spdlog.h>

#include <utility>

namespace minyi::collector {

void RecordImportRun(CollectorCounters& counters, ImportRun run) {
  run.file_name = run.file_name == "-" ? "(stdin)" : Poco::Path(run.file_name).getFileName();
  if (run.finished_at_ms == 0) run.finished_at_ms = NowMillis();
  const Status s = counters.RecordImportRun(run).status();
  if (!s.ok()) spdlog::warn("{}: the import run was not recorded: {}", run.file_name, s.ToString());
}

void ImportScope::Note(const Response& r) {
  area_ = any_ ? CommonArea({area_, r.town_code}) : CommonArea({r.town_code});
  if (!any_) survey_ = r.survey_id;
  if (r.survey_id != survey_) mixed_surveys_ = true;
  any_ = true;
}

Status TrackingSink::Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) {
  MINYI_RETURN_IF_ERROR(inner_.Append(batch, results));
  for (const Response& r : batch) scope_.Note(r);
  return Status::Ok();
}

Status TrackingReviser::StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                                       const RevisePolicy& policy, std::vector<ReviseResult>* results) {
  MINYI_RETURN_IF_ERROR(inner_.StoreRevisions(batch, reason, policy, results));
  for (std::size_t i = 0; i < batch.size() && i < results->size(); ++i) {
    if ((*results)[i].outcome != ReviseOutcome::kRefused) scope_.Note(batch[i]);
  }
  return Status::Ok();
}

}  // namespace minyi::collector
