// Online backup and restore of the embedded SQLite store (`minyi db backup`, `minyi db restore`).
//
// The copy is made with SQLite's online backup API (sqlite3_backup_*) in steps of 1024 pages, all inside
// one read transaction of the source: a consistent snapshot of the database as of that transaction, taken
// while `serve` keeps writing (in WAL mode readers never block the writer). Never a file copy: the -wal file
// holds commits that are not yet in the main file.
#pragma once

#include <string>

#include "core/progress.h"
#include "core/status.h"

namespace minyi::sql {

struct SqliteCopyStats {
  long long pages = 0;
  long long page_size = 0;
};

// Copies the live database `source` into the new file `dest` (kInvalidInput when it exists: a backup
// never overwrites anything). The file is written as dest + ".partial" (mode 0600), checked with
// PRAGMA integrity_check, then renamed into place, so `dest` is either complete or absent. `progress`
// (may be empty) gets (pages copied, pages in all) after every step.
Result<SqliteCopyStats> BackupSqlite(const std::string& source, const std::string& dest, int busy_timeout_ms,
                                     const ProgressCallback& progress = {});

// Restores the backup `backup` into `dest`, which must not exist (restoring over a live database is
// refused: stop the service and move the old file away first). The backup is checked with
// PRAGMA integrity_check before anything is written; the result is then put in WAL mode.
Result<SqliteCopyStats> RestoreSqlite(const std::string& backup, const std::string& dest,
                                      int busy_timeout_ms);

// PRAGMA integrity_check of the database `path` opened read-only: "ok", or the first problems reported.
Result<std::string> SqliteIntegrityCheck(const std::string& path);

}  // namespace minyi::sql
