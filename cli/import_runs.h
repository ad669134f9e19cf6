// Import-run records for the dashboards' data-quality view (core/collector_counters.h): every CLI
// import (and any other importer run from the CLI) records one row per file with what it read,
// stored, found duplicated and rejected. Recording is best effort: a failure is logged, never the
// import's failure.
#pragma once

#include <string>

#include "core/collector_counters.h"
#include "core/ports.h"
#include "sql/store.h"

namespace minyi::cli {

// The name of who runs this process (the OS user), for ImportRun::actor.
std::string ImportActor();

// Fills `run.actor` (when empty) and keeps only the base name of `run.file_name`, then stores it.
void RecordImportRun(sql::Store& store, ImportRun run);

// A ResponseSink in front of another that notes the surveys and towns of the rows it passes on, so
// the run can say which area and survey it concerned.
class TrackingSink final : public ResponseSink {
 public:
  explicit TrackingSink(ResponseSink& inner) : inner_(inner) {}
  Status Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) override;

  // CommonArea of every town passed on ("" when none); the survey when all rows had the same one.
  const std::string& area() const { return area_; }
  std::string survey() const { return mixed_surveys_ ? std::string() : survey_; }

 private:
  ResponseSink& inner_;
  bool any_ = false;
  std::string area_;
  std::string survey_;
  bool mixed_surveys_ = false;
};

}  // namespace minyi::cli
