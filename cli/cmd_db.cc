// minyi db migrate | db status | db backup | db restore
#include <Poco/File.h>
#include <Poco/Path.h>

#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "cli/progress.h"
#include "sql/sqlite_backup.h"

namespace minyi::cli {

int RunDbMigrate(Context& context, const Args&) {
  // Context::Store() migrates on open; report what is there now.
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto migrations = store.value()->Migrations();
  if (!migrations.ok()) return Fail(migrations.status());
  for (const auto& m : migrations.value()) {
    std::printf("%03d  %-32s  %s\n", m.version, m.name.c_str(),
                m.applied_at.empty() ? "pending" : ("applied " + m.applied_at).c_str());
  }
  auto version = store.value()->SchemaVersion();
  if (!version.ok()) return Fail(version.status());
  std::printf("schema version %d (%s)\n", version.value(), store.value()->Backend().c_str());
  return kExitOk;
}

int RunDbStatus(Context& context, const Args&) {
  auto store = context.Store();
  if (!store.ok()) return Fail(store.status());
  auto version = store.value()->SchemaVersion();
  if (!version.ok()) return Fail(version.status());
  auto counts = store.value()->CountResponses();
  if (!counts.ok()) return Fail(counts.status());
  std::printf("store           %s\n", store.value()->Backend().c_str());
  std::printf("schema version  %d (this build knows %d)\n", version.value(), sql::LatestSchemaVersion());
  std::printf("\n%-24s %-8s %-8s %12s\n", "survey", "period", "channel", "responses");
  long long total = 0;
  for (const auto& c : counts.value()) {
    std::printf("%-24s %-8s %-8s %12lld\n", c.survey_id.c_str(), c.period.ToString().c_str(),
                std::string(ChannelName(c.channel)).c_str(), static_cast<long long>(c.count));
    total += c.count;
  }
  std::printf("%-24s %-8s %-8s %12lld\n", "total", "", "", total);
  return kExitOk;
}

namespace {

// db backup / db restore need their file option and work on the embedded store (a MariaDB server has its
// own tools): the exit code when they cannot run, kExitOk when they can.
int CheckBackupCommand(const Context& context, const Args& args, const char* what, const char* option) {
  if (!args.Has(option)) {
    std::cerr << "minyi: db " << what << " needs " << option << " FILE\n";
    return kExitUsage;
  }
  if (context.config().store.backend == "sqlite") return kExitOk;
  std::cerr << "minyi: db " << what << " works on the SQLite store; for MariaDB use mariadb-dump "
            << "--single-transaction or mariabackup (README \"Deploy\")\n";
  return kExitFailure;
}

// What a database backup does not contain, said every time (README "Deploy").
void WarnAboutKeys(const Config& config) {
  std::cerr
      << "minyi: WARNING: the backup holds the database only. Back up with it (apart from it, encrypted):\n"
      << "  - the respondent-key secret: "
      << (config.collector.respondent_key_secret.empty()
              ? (config.collector.secret_file.empty() ? std::string("collector.secret_file (not set here)")
                                                      : config.collector.secret_file)
              : std::string("MINYI_RESPONDENT_KEY_SECRET / collector.respondent_key_secret"))
      << "\n  - the SMS encryption key: "
      << (config.sms.encryption_key.empty() ? config.sms.encryption_key_file
                                            : std::string("MINYI_SMS_ENCRYPTION_KEY / sms.encryption_key"))
      << "\n  Without them a restored database cannot recognise returning respondents nor read phone "
         "numbers.\n";
}

}  // namespace

int RunDbBackup(Context& context, const Args& args) {
  if (int code = CheckBackupCommand(context, args, "backup", "--out"); code != kExitOk) return code;
  const auto& sqlite = context.config().store.sqlite;
  ProgressReporter progress = CliProgress("db backup", ProgressUnit::kPages);
  auto copied =
      sql::BackupSqlite(sqlite.path, args.Get("--out"), sqlite.busy_timeout_ms, progress.Callback());
  progress.Finish(copied.ok());
  if (!copied.ok()) return Fail(copied.status());
  std::printf("backed up %s to %s (%lld pages of %lld bytes)\n", sqlite.path.c_str(),
              args.Get("--out").c_str(), copied->pages, copied->page_size);
  WarnAboutKeys(context.config());
  return kExitOk;
}

int RunDbRestore(Context& context, const Args& args) {
  if (int code = CheckBackupCommand(context, args, "restore", "--from"); code != kExitOk) return code;
  const auto& sqlite = context.config().store.sqlite;
  // A fresh state directory (paths.state_dir) may not exist yet.
  const Poco::Path dir = Poco::Path(sqlite.path).parent();
  if (!dir.toString().empty()) Poco::File(dir).createDirectories();
  auto copied = sql::RestoreSqlite(args.Get("--from"), sqlite.path, sqlite.busy_timeout_ms);
  if (!copied.ok()) return Fail(copied.status());
  std::printf(
      "restored %s into %s (%lld pages); `minyi db migrate` brings an older backup's schema up to date\n",
      args.Get("--from").c_str(), sqlite.path.c_str(), copied->pages);
  WarnAboutKeys(context.config());
  return kExitOk;
}

}  // namespace minyi::cli
