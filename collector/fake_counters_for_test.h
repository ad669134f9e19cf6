// An in-memory CollectorCounters for the upload tests (collector/wechat, collector/questionnaire): keeps
// the import runs; rejection counts are accepted and not kept. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/collector_counters.h"

namespace minyi::collector {

class FakeCounters final : public CollectorCounters {
 public:
  Status RecordRejections(const std::vector<RejectionCount>&) override { return Status::Ok(); }
  Result<std::int64_t> RecordImportRun(const ImportRun& run) override {
    std::lock_guard<std::mutex> lock(mu_);
    runs_.push_back(run);
    return static_cast<std::int64_t>(runs_.size());
  }
  Result<std::vector<RejectionCount>> Rejections(const std::string&, const std::string&,
                                                 std::optional<Period>, bool) override {
    return std::vector<RejectionCount>{};
  }
  Result<std::vector<ImportRun>> ImportRuns(const std::string&, bool, bool, std::int64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    return runs_;
  }
  std::vector<ImportRun> runs() {
    std::lock_guard<std::mutex> lock(mu_);
    return runs_;
  }

 private:
  std::mutex mu_;
  std::vector<ImportRun> runs_;
};

}  // namespace minyi::collector
