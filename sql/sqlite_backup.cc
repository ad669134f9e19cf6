#include "sql/sqlite_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sql/sqlite_internal.h"

namespace minyi::sql {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Creates `path` empty with mode 0600 (the copy holds encrypted phone numbers and password hashes);
// SQLite would create it 0644 less the umask.
Status CreatePrivate(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  ::close(fd);
  return Status::Ok();
}

// Ends CopyAll's read transaction: nothing to commit, and the connection is closed next whatever happens.
void EndRead(sqlite3* db) { sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr); }

// Pages per backup step (4 MiB of 4 KiB pages): the progress is reported after each.
constexpr int kStepPages = 1024;

// The whole of `from` copied into `to` as one snapshot: a read transaction of `from` is held across the
// backup steps, so the copy is one snapshot even while other connections write (without it, a write of
// another process between two steps would restart the backup).
Result<SqliteCopyStats> CopyAll(sqlite3* from, sqlite3* to, const std::string& what,
                                const ProgressCallback& progress) {
  // BEGIN is deferred: the read transaction (the snapshot) starts at the first read.
  MINYI_RETURN_IF_ERROR(Exec(from, "BEGIN"));
  Status begun = Exec(from, "SELECT count(*) FROM sqlite_master");
  if (!begun.ok()) {
    EndRead(from);
    return begun;
  }
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) {
    EndRead(from);
    return SqliteError(to, sqlite3_errcode(to), what);
  }
  int rc = SQLITE_OK;
  // BUSY/LOCKED: a lock is needed for a moment; retried with a pause (the connections' busy timeout covers
  // most of it).
  for (int busy = 0; busy < 100;) {
    rc = sqlite3_backup_step(backup, kStepPages);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      ++busy;
      sqlite3_sleep(50);
      continue;
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) break;
    const int total = sqlite3_backup_pagecount(backup);
    if (progress) {
      progress(static_cast<std::uint64_t>(total - sqlite3_backup_remaining(backup)),
               static_cast<std::uint64_t>(total));
    }
    if (rc == SQLITE_DONE) break;
  }
  SqliteCopyStats stats;
  stats.pages = sqlite3_backup_pagecount(backup);
  sqlite3_backup_finish(backup);
  EndRead(from);
  if (rc != SQLITE_DONE) return SqliteError(to, rc, what);
  return stats;
}

Result<std::string> IntegrityCheck(sqlite3* db) {
  auto stmt = Stmt::Prepare(db, "PRAGMA integrity_check(20)");
  if (!stmt.ok()) return stmt.status();
  std::string result;
  int rc = 0;
  while ((rc = stmt->Step()) == SQLITE_ROW) result += (result.empty() ? "" : "; ") + stmt->ColText(0);
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "PRAGMA integrity_check");
  return result;
}

long long PageSize(sqlite3* db) {
  auto stmt = Stmt::Prepare(db, "PRAGMA page_size");
  if (!stmt.ok() || stmt->Step() != SQLITE_ROW) return 0;
  return stmt->ColInt(0);
}

// Copies `from` (opened read-only) into the new file `dest` through dest.partial, checks the copy and
// renames it into place.
Result<SqliteCopyStats> CopyInto(const std::string& from_path, const std::string& dest, int busy_timeout_ms,
                                 const char* final_journal_mode, const ProgressCallback& progress) {
  if (Exists(dest)) return Status::InvalidInput(dest + " already exists: it is never overwritten");
  if (!Exists(from_path)) return Status::NotFound(from_path + " does not exist");
  auto from = OpenConnection(from_path, /*read_only=*/true, busy_timeout_ms);
  if (!from.ok()) return from.status();
  const std::string partial = dest + ".partial";
  std::remove(partial.c_str());  // left by an interrupted run
  std::remove((partial + "-journal").c_str());
  MINYI_RETURN_IF_ERROR(CreatePrivate(partial));
  auto copied = [&]() -> Result<SqliteCopyStats> {
    auto to = OpenConnection(partial, /*read_only=*/false, busy_timeout_ms);
    if (!to.ok()) return to.status();
    MINYI_RETURN_IF_ERROR(Exec(to->get(), "PRAGMA synchronous = FULL"));
    auto stats = CopyAll(from->get(), to->get(), "backup of " + from_path, progress);
    if (!stats.ok()) return stats.status();
    stats->page_size = PageSize(to->get());
    auto check = IntegrityCheck(to->get());
    if (!check.ok()) return check.status();
    if (*check != "ok")
      return Status::Internal("the copy of " + from_path + " fails integrity_check: " + *check);
    MINYI_RETURN_IF_ERROR(Exec(to->get(), final_journal_mode));
    return stats;
  }();
  if (!copied.ok()) {
    std::remove(partial.c_str());
    return copied.status();
  }
  if (Exists(dest)) {  // appeared meanwhile
    std::remove(partial.c_str());
    return Status::InvalidInput(dest + " already exists: it is never overwritten");
  }
  if (std::rename(partial.c_str(), dest.c_str()) != 0) {
    const std::string error = std::strerror(errno);
    std::remove(partial.c_str());
    return Status::Unavailable("cannot rename " + partial + " to " + dest + ": " + error);
  }
  // The rename is durable once the directory is synced.
  std::string dir = dest.substr(0, dest.find_last_of('/') == std::string::npos ? 0 : dest.find_last_of('/'));
  if (dir.empty()) dir = dest.find('/') == 0 ? "/" : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return copied;
}

}  // namespace

Result<SqliteCopyStats> BackupSqlite(const std::string& source, const std::string& dest, int busy_timeout_ms,
                                     const ProgressCallback& progress) {
  // A backup file is a single self-contained file: rollback journal, no -wal beside it.
  return CopyInto(source, dest, busy_timeout_ms, "PRAGMA journal_mode = DELETE", progress);
}

Result<SqliteCopyStats> RestoreSqlite(const std::string& backup, const std::string& dest,
                                      int busy_timeout_ms) {
  auto check = SqliteIntegrityCheck(backup);
  if (!check.ok()) return check.status();
  if (*check != "ok") return Status::InvalidInput(backup + " fails integrity_check: " + *check);
  return CopyInto(backup, dest, busy_timeout_ms, "PRAGMA journal_mode = WAL", {});
}

Result<std::string> SqliteIntegrityCheck(const std::string& path) {
  if (!Exists(path)) return Status::NotFound(path + " does not exist");
  auto db = OpenConnection(path, /*read_only=*/true, 5000);
  if (!db.ok()) return db.status();
  return IntegrityCheck(db->get());
}

}  // namespace minyi::sql
