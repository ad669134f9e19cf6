// Recording one import run (core/collector_counters.h) for every importer, whoever wires the counters:
// the CLI commands (cli/import_runs.h) and the export upload of serve (collector/wechat/upload_routes.h,
// collector/questionnaire/file_upload.h); and the trackers that say which survey and area a run concerned.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/collector_counters.h"
#include "core/ports.h"
#include "core/revisions.h"

namespace minyi::collector {

// Keeps only the base name of `run.file_name` ("-" is "(stdin)"), sets `run.finished_at_ms` when it is 0
// and stores the run through `counters`. Best effort: a failure is logged (naming the file), never the
// import's failure. `run.actor` is the caller's to set.
void RecordImportRun(CollectorCounters& counters, ImportRun run);

// The surveys and towns of the responses an import passed on, so the run can say which area and
// survey it concerned.
class ImportScope {
 public:
  void Note(const Response& r);
  // CommonArea of every town noted ("" when none); the survey when all rows had the same one.
  const std::string& area() const { return area_; }
  std::string survey() const { return mixed_surveys_ ? std::string() : survey_; }

 private:
  bool any_ = false;
  std::string area_;
  std::string survey_;
  bool mixed_surveys_ = false;
};

// A ResponseSink in front of another that notes the surveys and towns of the rows it passes on.
class TrackingSink final : public ResponseSink {
 public:
  explicit TrackingSink(ResponseSink& inner) : inner_(inner) {}
  Status Append(const std::vector<Response>& batch, std::vector<AppendResult>* results) override;

  const std::string& area() const { return scope_.area(); }
  std::string survey() const { return scope_.survey(); }

 private:
  ResponseSink& inner_;
  ImportScope scope_;
};

// The same in front of a ResponseReviser (the WeChat and questionnaire importers): notes the rows of
// every batch the inner reviser accepted (refused ones excepted); everything else is passed through.
class TrackingReviser final : public ResponseReviser {
 public:
  explicit TrackingReviser(ResponseReviser& inner) : inner_(inner) {}
  using ResponseReviser::StoreRevisions;
  Status StoreRevisions(const std::vector<Response>& batch, std::string_view reason,
                        const RevisePolicy& policy, std::vector<ReviseResult>* results) override;
  Result<WithdrawOutcome> Withdraw(Channel channel, std::string_view source_ref,
                                   std::string_view reason) override {
    return inner_.Withdraw(channel, source_ref, reason);
  }
  Result<std::vector<RevisionRecord>> RevisionLog(Channel channel, std::string_view source_ref) override {
    return inner_.RevisionLog(channel, source_ref);
  }
  Result<std::vector<RevisionActivity>> RevisionActivitySince(std::int64_t after_id) override {
    return inner_.RevisionActivitySince(after_id);
  }

  const std::string& area() const { return scope_.area(); }
  std::string survey() const { return scope_.survey(); }

 private:
  ResponseReviser& inner_;
  ImportScope scope_;
};

}  // namespace minyi::collector
