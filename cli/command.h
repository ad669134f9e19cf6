// The `minyi` command line: global options, then a subcommand path ("db migrate") with its own
// options. Each subcommand is a CommandSpec registered in commands.cc; `minyi --help` and
// `minyi <cmd> --help` are generated from the specs.
//
// Exit codes: 0 success; 1 failure (the reason is printed); 2 usage error; 3 completed, but some
// input was rejected (every valid item was kept; the report lists the rejected ones).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/config.h"
#include "core/areas.h"
#include "core/status.h"
#include "core/survey.h"
#include "sql/store.h"

namespace minyi::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRejected = 3;

struct OptionSpec {
  std::string name;        // "--responses"
  std::string value_name;  // "N"; empty for a flag
  std::string help;
  bool repeatable = false;
};

struct Args {
  std::map<std::string, std::vector<std::string>> options;  // by option name ("--seed")
  std::vector<std::string> positionals;

  bool Has(const std::string& name) const { return options.count(name) != 0; }
  // The last value given, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& All(const std::string& name) const;
};

// What most commands need, opened together.
struct Resources {
  sql::Store* store = nullptr;
  const SurveyCatalog* surveys = nullptr;
  const AreaRegistry* areas = nullptr;
};

// Shared state of one invocation: the configuration and lazily opened resources.
class Context {
 public:
  explicit Context(Config config) : config_(std::move(config)) {}

  const Config& config() const { return config_; }
  // Opens the configured store and applies pending migrations (once).
  Result<sql::Store*> Store();
  Result<const SurveyCatalog*> Surveys();
  Result<const AreaRegistry*> Areas();
  // Store (migrated), survey catalog and area registry; the first failure is returned.
  Result<Resources> OpenAll();

 private:
  Config config_;
  std::unique_ptr<sql::Store> store_;
  std::optional<SurveyCatalog> surveys_;
  std::optional<AreaRegistry> areas_;
};

struct CommandSpec {
  std::string path;        // "db migrate"
  std::string summary;     // one line
  std::string positionals; // "FILE..." for the usage line; empty when none
  std::string details;     // further help text, may be empty
  std::vector<OptionSpec> options;
  std::size_t min_positionals = 0;
  std::size_t max_positionals = 0;
  std::function<int(Context&, const Args&)> run;
};

// Every command, in help order.
const std::vector<CommandSpec>& Commands();

// Prints a failed status to stderr and returns kExitFailure.
int Fail(const Status& status);

// Returns Fail(status) from a command when `expr` is not OK.
#define MINYI_RETURN_IF_ERROR_CLI(expr)                         \
  do {                                                          \
    ::minyi::Status minyi_cli_status_ = (expr);                 \
    if (!minyi_cli_status_.ok()) return ::minyi::cli::Fail(minyi_cli_status_); \
  } while (false)

// Parses an integer option; reports a usage error (returns nullopt) when it is not one.
std::optional<long long> IntOption(const Args& args, const std::string& name, long long fallback, long long min,
                                   long long max);

// Command implementations (one file each).
int RunServe(Context& context, const Args& args);
int RunDbMigrate(Context& context, const Args& args);
int RunDbStatus(Context& context, const Args& args);
int RunDbBackup(Context& context, const Args& args);
int RunDbRestore(Context& context, const Args& args);
int RunImportResponses(Context& context, const Args& args);
int RunImportPopulation(Context& context, const Args& args);
int RunDemoSeed(Context& context, const Args& args);
int RunAggregate(Context& context, const Args& args);
int RunInviteCreate(Context& context, const Args& args);
int RunApiKeyCreate(Context& context, const Args& args);
int RunApiKeyList(Context& context, const Args& args);
int RunApiKeyRevoke(Context& context, const Args& args);
int RunUserAdd(Context& context, const Args& args);
int RunUserList(Context& context, const Args& args);
int RunUserDisable(Context& context, const Args& args);
int RunUserEnable(Context& context, const Args& args);
int RunUserPasswd(Context& context, const Args& args);
int RunUserAudit(Context& context, const Args& args);
int RunReleaseFreeze(Context& context, const Args& args);
int RunReleaseList(Context& context, const Args& args);
int RunExportIndices(Context& context, const Args& args);
int RunExportMicrodata(Context& context, const Args& args);

}  // namespace minyi::cli
