// Import-run records for the dashboards' data-quality view (core/collector_counters.h): every CLI
// import (and any other importer run from the CLI) and every upload through serve's pages records
// one row per file with what it read, stored, found duplicated and rejected. Recording is best
// effort: a failure is logged, never the import's failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/collector_counters.h"
#include "core/ports.h"
#include "core/revisions.h"
#include "sql/store.h"

namespace minyi::cli {

// The name of who runs this process (the OS user), for ImportRun::actor.
std::string ImportActor();

// Fills `run.actor` (when empty) and keeps only the base name of `run.file_name`, then stores it.
void RecordImportRun(sql::Store& store, ImportRun run);

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

}  // namespace minyi::cli
