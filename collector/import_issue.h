// What importers report about the lines they could not take: line number, the line's own reference
// and a reason. Reports keep a bounded number of issues (imports stream files of any size) and count
// the rest.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace minyi::collector {

struct ImportIssue {
  std::size_t line = 0;  // physical line where the record starts (1-based; the header is line 1)
  std::string ref;       // the record's source_ref (responses) or "<year> <town>" (population); may be empty
  std::string reason;    // English sentence
};

// Keeps the first `max_issues` issues and counts the others. Not thread-safe.
class IssueList {
 public:
  explicit IssueList(std::size_t max_issues) : max_issues_(max_issues) {}

  void Add(ImportIssue issue) {
    if (issues_.size() < max_issues_) {
      issues_.push_back(std::move(issue));
    } else {
      ++dropped_;
    }
  }
  const std::vector<ImportIssue>& issues() const { return issues_; }
  std::vector<ImportIssue> TakeIssues() { return std::move(issues_); }
  std::size_t dropped() const { return dropped_; }

 private:
  std::size_t max_issues_;
  std::vector<ImportIssue> issues_;
  std::size_t dropped_ = 0;
};

// "  line 17 [ref-17]: town 320812999 is not a known town\n" per issue, then
// "  ... and 12 more issues not listed\n" when some were dropped. `file` prefixes each line when set.
std::string FormatIssues(const std::vector<ImportIssue>& issues, std::size_t dropped, const std::string& file);

}  // namespace minyi::collector
