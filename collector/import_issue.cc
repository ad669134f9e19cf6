#include "collector/import_issue.h"

namespace minyi::collector {

std::string FormatIssues(const std::vector<ImportIssue>& issues, std::size_t dropped, const std::string& file) {
  std::string out;
  for (const ImportIssue& issue : issues) {
    out += "  ";
    if (!file.empty()) out += file + ":";
    out += "line " + std::to_string(issue.line);
    if (!issue.ref.empty()) out += " [" + issue.ref + "]";
    out += ": " + issue.reason + "\n";
  }
  if (dropped > 0) out += "  ... and " + std::to_string(dropped) + " more issues not listed\n";
  return out;
}

}  // namespace minyi::collector
