// What the collectors refused, counted for officials (issue 7 "unparsed/rejected counts"): submissions
// a channel rejected (validation failures, by reason code) and import runs (a file read by a CLI
// command or an upload: rows read, stored, duplicates, rejected). Implemented over the SQL stores by
// sql/collector_counters.h (migration 008); the web collector buffers its counts in
// collector/rejection_tally.h, importers call RecordImportRun once per file.
//
// Nothing here holds personal data: reasons are short codes, file names are base names, and the
// actor is an account or OS user name.
//
// Areas are division codes; "within an area" means "the town (or run area) code starts with the
// area code". Rows that could not be placed in a town (an unknown or missing town, an import with
// no stored row) have an empty code and are returned only when `include_unplaced` is set (the
// dashboards set it for province-wide callers only).
//
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/response.h"
#include "core/status.h"

namespace minyi {

// Rejected submissions with the same channel, reason, survey, period and town.
struct RejectionCount {
  std::string channel;       // "web" (resident page), "api" (partner JSON API), "sms", "wechat", ...
  std::string reason;        // short code, e.g. "invalid_answers", "period_closed", "invalid_json"
  std::string survey_id;     // "" when the submission named no known survey
  Period period;             // year 0 when unknown
  std::string town_code;     // a known 9-digit town, else ""
  std::int64_t count = 0;    // >= 1 when recording
  std::int64_t last_at_ms = 0;  // the newest rejection counted
};

// One import of one file (a CLI import command, an upload through a page).
struct ImportRun {
  std::int64_t id = 0;             // assigned by the store
  std::string command;             // e.g. "import responses", "import sms", "sms roster import"
  std::string actor;               // who ran it (OS user for the CLI, account name for uploads)
  std::string file_name;           // the file's base name, no directories
  std::string survey_id;           // "" when several or unknown
  std::string area_code;           // the narrowest area holding every stored row's town; "" unknown
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;
  std::int64_t rows_read = 0;
  std::int64_t rows_stored = 0;
  std::int64_t rows_duplicate = 0;
  std::int64_t rows_rejected = 0;
};

class CollectorCounters {
 public:
  virtual ~CollectorCounters() = default;

  // Adds every count (rows with the same key are summed; last_at_ms keeps the newest) in one
  // transaction. kInvalidInput for an empty channel or reason or a count below 1 (nothing stored).
  virtual Status RecordRejections(const std::vector<RejectionCount>& counts) = 0;

  // Stores one run; returns its id. kInvalidInput for an empty command or negative row counts.
  virtual Result<std::int64_t> RecordImportRun(const ImportRun& run) = 0;

  // Rejections of `survey_id` (and those with no survey) for towns within `area_code` (2..9 digits),
  // optionally of one period (plus those whose period is unknown, year 0), summed over towns: one row
  // per (channel, reason, survey, period), the town left empty, ordered by count descending.
  // kInvalidInput for a bad area code.
  virtual Result<std::vector<RejectionCount>> Rejections(const std::string& survey_id, const std::string& area_code,
                                                         std::optional<Period> period, bool include_unplaced) = 0;

  // Runs whose area lies within `area_code`, newest first, at most `limit` (1..1000); with
  // `only_rejected`, runs that rejected at least one row.
  virtual Result<std::vector<ImportRun>> ImportRuns(const std::string& area_code, bool include_unplaced,
                                                    bool only_rejected, std::int64_t limit) = 0;
};

// The narrowest area code holding every code in `codes` (their common prefix cut to a division
// level: 2, 4, 6 or 9 digits); "" when `codes` is empty or they share no province.
inline std::string CommonArea(const std::vector<std::string>& codes) {
  if (codes.empty()) return std::string();
  std::string prefix = codes.front();
  for (const std::string& c : codes) {
    std::size_t n = 0;
    while (n < prefix.size() && n < c.size() && prefix[n] == c[n]) ++n;
    prefix.resize(n);
  }
  for (std::size_t level : {9u, 6u, 4u, 2u}) {
    if (prefix.size() >= level) return prefix.substr(0, level);
  }
  return std::string();
}

}  // namespace minyi
