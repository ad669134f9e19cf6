#include <Poco/File.h>
#include <Poco/Path.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/questionnaire_commands.h"
#include "cli/sms_commands.h"
#include "cli/wechat_commands.h"
#include "cli/version.h"
#include "core/lease_keeper.h"
#include "core/terminal_text.h"
#include "sql/lease_store.h"

namespace minyi::cli {

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::All(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = options.find(name);
  return it == options.end() ? kNone : it->second;
}

namespace {

// Applies the pending migrations while holding the 'migrate' lease (core/lease_ports.h), so that two
// servers starting (or `db migrate` run) at once against one database never migrate together; the
// second waits for the lease, at most cluster.migrate_wait_seconds, then fails naming the holder. The
// lease is renewed while the migrations run and released at the end. Nothing pending: no lease.
Result<std::vector<sql::MigrationInfo>> MigrateUnderLease(sql::Store& store, const ClusterConfig& cluster) {
  auto version = store.SchemaVersion();
  if (version.ok() && version.value() >= sql::LatestSchemaVersion()) return store.Migrate();
  // The leases table is itself made by a migration: create it first (IF NOT EXISTS) to lease the rest.
  MINYI_RETURN_IF_ERROR(sql::EnsureLeaseTable(store));
  const std::unique_ptr<LeaseStore> leases = sql::OpenLeaseStore(store);
  LeaseKeeperOptions options;
  options.holder = cluster.node_name;
  options.ttl_ms = cluster.lease_seconds * 1000LL;
  options.names = {leases::kMigrate};
  LeaseKeeper keeper(*leases, options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cluster.migrate_wait_seconds);
  for (bool told = false;;) {
    keeper.RunOnce();
    if (keeper.Held(leases::kMigrate)) break;
    const std::string holder = keeper.LastSeenHolder(leases::kMigrate);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(
          "another server is migrating this database: the 'migrate' lease is held by '" + holder +
          "'; waited " + std::to_string(cluster.migrate_wait_seconds) + " s (cluster.migrate_wait_seconds)");
    }
    if (!told) spdlog::info("waiting for '{}' to finish migrating the database", holder);
    told = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  keeper.Start();  // renews the lease while the migrations run
  auto applied = store.Migrate();
  keeper.Stop();  // releases it
  return applied;
}

}  // namespace

Result<sql::Store*> Context::Store() {
  if (!store_) {
    const auto& options = config_.store;
    if (options.backend == "sqlite" && options.sqlite.path != ":memory:") {
      // The embedded store creates its directory on first use (var/ by default).
      Poco::Path dir = Poco::Path(options.sqlite.path).parent();
      if (!dir.toString().empty()) Poco::File(dir).createDirectories();
    }
    auto opened = sql::OpenStore(options);
    if (!opened.ok()) return opened.status();
    auto applied = MigrateUnderLease(*opened.value(), config_.cluster);
    if (!applied.ok()) return applied.status().WithContext("migrating the store");
    for (const auto& m : applied.value()) spdlog::info("applied migration {} {}", m.version, m.name);
    store_ = std::move(opened).value();
  }
  return store_.get();
}

Result<const SurveyCatalog*> Context::Surveys() {
  if (!surveys_) {
    auto loaded = SurveyCatalog::LoadDirectory(config_.paths.surveys);
    if (!loaded.ok()) return loaded.status().WithContext("loading survey definitions");
    surveys_ = std::move(loaded).value();
  }
  return &*surveys_;
}

Result<const AreaRegistry*> Context::Areas() {
  if (!areas_) {
    auto loaded = AreaRegistry::LoadDirectory(config_.paths.areas);
    if (!loaded.ok()) return loaded.status().WithContext("loading the area registry");
    areas_ = std::move(loaded).value();
  }
  return &*areas_;
}

Result<Resources> Context::OpenAll() {
  Resources r;
  auto store = Store();
  if (!store.ok()) return store.status();
  auto surveys = Surveys();
  if (!surveys.ok()) return surveys.status();
  auto areas = Areas();
  if (!areas.ok()) return areas.status();
  r.store = store.value();
  r.surveys = surveys.value();
  r.areas = areas.value();
  return r;
}

int Fail(const Status& status) {
  // Messages quote outside text (a cell, a line of a file).
  std::cerr << "minyi: " << TerminalSafe(status.ToString(), LineBreaks::kKeep) << "\n";
  return kExitFailure;
}

std::optional<long long> IntOption(const Args& args, const std::string& name, long long fallback, long long min,
                                   long long max) {
  if (!args.Has(name)) return fallback;
  const std::string text = args.Get(name);
  try {
    std::size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size() && v >= min && v <= max) return v;
  } catch (const std::exception&) {
  }
  std::cerr << "minyi: " << name << " '" << text << "': expected a whole number from " << min << " to " << max
            << "\n";
  return std::nullopt;
}

namespace {

int RunVersion(Context&, const Args&) {
  std::cout << "minyi " << kVersion << "\n"
            << "schema version " << sql::LatestSchemaVersion() << "\n";
  return kExitOk;
}

int RunConfig(Context& context, const Args&) {
  if (!context.config().config_file.empty()) std::cout << "# from " << context.config().config_file << "\n";
  std::cout << DescribeConfig(context.config());
  return kExitOk;
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"serve", "run the HTTP server (resident pages, APIs, dashboards)", "",
       "Migrates the store, then serves on http.host:http.port until SIGINT/SIGTERM, after which it\n"
       "stops accepting connections and lets requests in flight finish.",
       {{"--port-file", "FILE", "write the bound port to FILE once listening (useful with http.port=0)"},
        {"--routes-file", "FILE", "write every registered route (METHOD PATTERN, one a line) to FILE once listening"}},
       0, 0, RunServe},
      {"db migrate", "apply pending schema migrations", "", "", {}, 0, 0, RunDbMigrate},
      {"db status", "print the schema version and stored responses per survey, period and channel", "", "", {},
       0, 0, RunDbStatus},
      {"db backup", "copy the SQLite store to a new file, online and consistent (while serve runs)", "",
       "Uses SQLite's online backup API (one snapshot; never a file copy of the live database and its WAL).\n"
       "FILE must not exist; it is written mode 0600 and checked with PRAGMA integrity_check. The\n"
       "respondent-key secret and the SMS encryption key are NOT in it: back them up too.",
       {{"--out", "FILE", "the backup file to create (required)"}},
       0, 0, RunDbBackup},
      {"db restore", "restore a backup into store.sqlite.path, which must not exist", "",
       "The backup is checked (PRAGMA integrity_check) before anything is written. Stop the service and\n"
       "move the old database away first; restore the key files it was backed up with.",
       {{"--from", "FILE", "the backup file (required)"}},
       0, 0, RunDbRestore},
      {"import responses", "import canonical response CSV files (format: collector/README.md)", "FILE...",
       "Every bad line is reported with its line number and reason; every good line is stored.\n"
       "Importing the same file again changes nothing (each line is then a duplicate). '-' reads stdin.",
       {{"--batch", "N", "lines per transaction (default 1000)"}},
       1, 1000, RunImportResponses},
      {"import population", "import population margins CSV files (period, town, sex, age_band, population)",
       "FILE...",
       "A town-year with a bad line or inconsistent margins (listed cells above the town total) is\n"
       "reported and not stored; every other town-year is stored, replacing earlier figures.",
       {}, 1, 1000, RunImportPopulation},
      {"import questionnaire", "import 问卷星 (.xls, CSV) and 腾讯问卷 (CSV, .xlsx) answer exports, one revisable response per answer",
       "FILE...",
       "Columns are matched to the survey's questions by title (or by --map); answers by option text, alias or\n"
       "number; 0/1 option columns and -2/-3 (skipped / not shown) are understood. Each answer is the slot\n"
       "wjx:<questionnaire>:<序号> or txwj:<survey_id>:<编号>: importing again adds nothing, an answer edited\n"
       "since is a revision. Every rejected row is listed with its row number and reason.",
       {{"--survey", "ID", "the survey the questionnaire asks (or the map's survey)"},
        {"--period", "Y", "period, e.g. 2026 or 2026Q2 (or the map's period)"},
        {"--town", "CODE", "the 9-digit town of every answer (wins over the map's town_question)"},
        {"--town-column", "COL", "the question (number or title) answered with the town's name"},
        {"--county", "CODE", "the county (or city) the town names are looked up in"},
        {"--map", "FILE", "a questionnaire map (JSON; README \"Questionnaire exports\")"},
        {"--provider", "P", "wjx or txwj (default: recognized from the header)"},
        {"--questionnaire-id", "ID", "the provider's questionnaire id, as the live endpoints see it"},
        {"--batch", "N", "responses per transaction (default 500)"}},
       1, 1000, RunImportQuestionnaire},
      {"demo seed", "seed the deterministic synthetic demo data set (all 1,487 towns, 2019-2025)", "",
       "Stores population margins and responses that are invented but true-looking (town differences,\n"
       "a slow upward trend, a few towns that drop). Seeding the same parameters again does nothing.",
       {{"--responses", "N", "number of responses (default 1000000)"},
        {"--seed", "S", "random seed (default 20250101)"},
        {"--survey", "ID", "survey definition to answer (default jiangsu-safety)"},
        {"--force", "", "re-run even when this data set is recorded as seeded"}},
       0, 0, RunDemoSeed},
      {"aggregate", "compute weighted indices by town, county, city and province into the index tables", "",
       "Weights each town's respondents to its population (post-stratification; raking on sex and age\n"
       "band where margins exist), then computes every index with SE and CI (docs/methodology.md).",
       {{"--survey", "ID", "only this survey (default: every survey with responses)"},
        {"--period", "Y", "only this period, e.g. 2025 or 2025Q2 (default: all)"},
        {"--csv", "FILE", "also write every computed row to FILE"},
        {"--dry-run", "", "compute without writing the index tables (with --csv: check the published figures)"},
        {"--threads", "N", "worker threads (default 2)"},
        {"--trim", "K", "trim weights at K x the town's median weight (default: no trimming)"},
        {"--all-warnings", "", "list every warning (default: the first 20)"}},
       0, 0, RunAggregate},
      {"invite create", "make invitation tokens (one response each) and write them with their links to a CSV", "",
       "Each token has 144 random bits and is stored only as its SHA-256; the CSV (token, url, survey,\n"
       "town, town_name) holds the only copy. Links are http.public_url + /s/SURVEY?t=TOKEN.",
       {{"--survey", "S", "the survey id (required)"},
        {"--town", "T", "the 9-digit town code the invitations are for (default: the resident chooses)"},
        {"--count", "N", "how many tokens (required, 1 to 1000000)"},
        {"--out", "FILE", "the CSV to write (required)"}},
       0, 0, RunInviteCreate},
      {"apikey create", "make a partner API key scoped to surveys; prints the key once", "",
       "The key is printed on stdout once and stored only as its SHA-256. Partners send it as\n"
       "'Authorization: Bearer KEY' (or 'X-API-Key: KEY') to POST /api/v1/responses.",
       {{"--name", "N", "who holds the key (required)"},
        {"--survey", "S", "a survey the key may submit to (required; repeat for several)", true}},
       0, 0, RunApiKeyCreate},
      {"apikey list", "list API keys (id, state, created, name, surveys; never the keys)", "", "", {}, 0, 0,
       RunApiKeyList},
      {"apikey revoke", "revoke an API key by its id", "KEY_ID", "", {}, 1, 1, RunApiKeyRevoke},
      {"import sms", "import a gateway's CSV export of SMS replies (same parsing, conversations and dedupe as the webhooks)",
       "FILE...",
       "Columns by header: phone (phone_number, mobile, from, 手机号码), text (content, body, 短信内容),\n"
       "time (send_time, createTime, 接收时间) and an optional id (sequence_id, smsMsgId, MessageSid).\n"
       "Rows are handled oldest first; a message already received (same provider and id) is a duplicate.",
       {{"--provider", "P", "the gateway the export comes from, for dedupe against its webhooks (default import)"}},
       1, 1000, RunImportSms},
      {"import wechat", "import WeChat group chat exports: survey prompts, replies and 接龙 lists, one response per member",
       "FILE...",
       "Formats (recognized from the content): WeChatMsg/MemoTrace TXT and CSV, PyWxDump CSV (paged files\n"
       "together), WechatExporter TXT, chatlog CSV; UTF-8 with or without BOM, or GB18030/GBK. A prompt is a\n"
       "grid worker's message with one of the survey's wechat markers; members' replies within the window are\n"
       "read like SMS replies; a member's later answer replaces the earlier one (a revision). Importing the\n"
       "same export again adds nothing. The report lists every line not taken, with its reason.",
       {{"--survey", "ID", "survey (default: dashboard.survey)"},
        {"--period", "Y", "period, e.g. 2025 or 2025Q2 (required)"},
        {"--town", "CODE", "the 9-digit town of every group in the files"},
        {"--group-map", "FILE", "CSV group,town[,grid_workers]: group name or room id -> town code"},
        {"--grid-worker", "NAME", "a grid worker's display name or wxid (repeatable; adds to wechat.grid_workers)", true},
        {"--group", "NAME", "the group of exports that do not name it (WeChatMsg TXT; default: the file name)"},
        {"--dry-run", "", "read and report, store nothing"}},
       1, 1000, RunImportWechat},
      {"sms roster import", "import an SMS invitation roster CSV (phone,town); phones are stored encrypted", "FILE",
       "town is a 9-digit town code, or a 6-digit county code when the town is to be asked by SMS.",
       {{"--survey", "ID", "the survey the roster is for (default: the only survey loaded)"}}, 1, 1, RunSmsRosterImport},
      {"sms invite", "queue SMS invitations for the roster (sent by serve when sms.gateway.url is set)", "",
       "Starts one conversation per roster phone for the survey and period; opted-out numbers are skipped.",
       {{"--survey", "ID", "survey (default: the only survey loaded)"},
        {"--period", "Y", "period, e.g. 2025 or 2025Q2 (required)"},
        {"--town", "CODE", "only roster entries inside this town, county or city"}},
       0, 0, RunSmsInvite},
      {"sms purge", "delete SMS phone data: a closed survey's roster and outbox, or data past sms.retention_days", "",
       "With --survey: closes open conversations (partial responses kept), deletes the roster and outbox of the\n"
       "survey and erases the encrypted phone numbers of its conversations. Without: the retention purge.",
       {{"--survey", "ID", "the survey that has closed"}}, 0, 0, RunSmsPurge},
      {"sms status", "print SMS inbound counts (answered, unparsed, opt-outs ...) and the outbox", "", "", {}, 0, 0,
       RunSmsStatus},
      {"user add", "create a dashboard account", "NAME",
       "Roles: admin (all areas, manages accounts), statistician (all areas, sees low-n figures),\n"
       "official (the given areas and everything below them), grid_worker (the given towns; no dashboards).\n"
       "Without --password-stdin a random password is generated and printed once.",
       {{"--role", "ROLE", "admin, statistician, official or grid_worker"},
        {"--area", "CODE", "an area the account is responsible for (repeatable)", true},
        {"--password-stdin", "", "read the password (at least 10 characters) from the first line of stdin"}},
       1, 1, RunUserAdd},
      {"user list", "list dashboard accounts", "", "", {}, 0, 0, RunUserList},
      {"user disable", "disable an account and end its sessions", "NAME", "", {}, 1, 1, RunUserDisable},
      {"user enable", "enable a disabled account", "NAME", "", {}, 1, 1, RunUserEnable},
      {"user passwd", "set a new password and end the account's sessions", "NAME",
       "Without --password-stdin a random password is generated and printed once.",
       {{"--password-stdin", "", "read the password from the first line of stdin"}}, 1, 1, RunUserPasswd},
      {"user audit", "print the newest audit log events (logins, failures, views of other areas, exports)", "",
       "", {{"--limit", "N", "events to print (default 50)"}}, 0, 0, RunUserAudit},
      {"release freeze", "freeze a period's responses, margins and indices as a numbered release (R1, R2, ...)", "",
       "Records every response of the period (id and content hash, with a manifest hash), copies the year's\n"
       "population margins and recomputes every index on exactly those responses. A frozen release never\n"
       "changes; freezing again (late responses, corrected margins) makes the next revision and needs --reason.",
       {{"--survey", "ID", "survey (default: dashboard.survey)"},
        {"--period", "Y", "the period, e.g. 2025 (required)"},
        {"--reason", "TEXT", "why this revision is made (required from R2 on)"}},
       0, 0, RunReleaseFreeze},
      {"release list", "list frozen releases (period, revision, time, responses, content hash, reason)", "",
       "", {{"--survey", "ID", "only this survey"}}, 0, 0, RunReleaseList},
      {"export indices", "export the indices of every area level as CSV, XLSX or JSON", "",
       "Every area level, both indices: estimate, SE, CI, score, n, n_eff, deff, low_n and the change from\n"
       "the previous period. Without --release: the live figures, marked as not frozen.",
       {{"--survey", "ID", "survey (default: dashboard.survey)"},
        {"--period", "Y", "the period (required)"},
        {"--release", "R", "a frozen release: R1, R2, ... or latest (default: live figures)"},
        {"--format", "F", "csv (UTF-8 with BOM), xlsx or json (required)"},
        {"--edition", "E", "internal (low-n figures flagged; default) or public (low-n figures suppressed)"},
        {"--out", "FILE", "the file to write (required)"}},
       0, 0, RunExportIndices},
      {"export microdata", "export one row per response with codes and final weights (CSV, SPSS, Stata, XLSX)", "",
       "No direct identifiers: respondents get a per-export pseudonymous id, texts are masked. Writes a\n"
       "codebook beside the file (Markdown and XLSX) unless --no-codebook.",
       {{"--survey", "ID", "survey (default: dashboard.survey)"},
        {"--period", "Y", "the period, several separated by commas, or all (required; one with --release)"},
        {"--release", "R", "a frozen release: R1, R2, ... or latest (default: live data)"},
        {"--format", "F", "csv, sav (SPSS), dta (Stata 14+) or xlsx (required)"},
        {"--out", "FILE", "the data file to write (required)"},
        {"--codebook", "PREFIX", "codebook files PREFIX.md and PREFIX.xlsx (default: FILE without extension + .codebook)"},
        {"--no-codebook", "", "do not write the codebook"}},
       0, 0, RunExportMicrodata},
      {"version", "print the version", "", "", {}, 0, 0, RunVersion},
      {"config", "print the effective configuration (secrets masked)", "", "", {}, 0, 0, RunConfig},
  };
  return kCommands;
}

}  // namespace minyi::cli
