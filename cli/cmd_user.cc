// minyi user add|list|disable|enable|passwd|audit: accounts for the dashboards (core/access.h).
#include <Poco/File.h>
#include <Poco/Path.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/access_setup.h"
#include "core/terminal_text.h"

namespace minyi::cli {

dashboards::AccessOptions AccessOptionsFrom(const Config& config) {
  dashboards::AccessOptions o;
  o.session_ttl_ms = static_cast<std::int64_t>(config.dashboard.session_ttl_minutes) * 60 * 1000;
  o.secure_cookie = config.dashboard.secure_cookie || PublicUrlIsHttps(config.http);
  o.max_failures_per_account = config.dashboard.login_max_failures_per_account;
  o.max_failures_per_address = config.dashboard.login_max_failures_per_address;
  return o;
}

Result<AccessBundle> OpenAccess(Context& context, metrics::Registry* registry) {
  auto opened = context.OpenAll();
  if (!opened.ok()) return opened.status();
  MINYI_RETURN_IF_ERROR(dashboards::AccessService::Init());
  auto store = sql::OpenAccessStore(*opened->store);
  if (!store.ok()) return store.status();
  AccessBundle bundle;
  bundle.store = std::move(store).value();
  dashboards::AccessOptions options = AccessOptionsFrom(context.config());
  if (registry != nullptr) {
    options.login_failures =
        &registry
             ->AddCounter("minyi_login_failures_total",
                          "Dashboard logins refused: unknown user, wrong password or disabled account.", {})
             .With({});
    options.login_throttled =
        &registry
             ->AddCounter(
                 "minyi_login_throttled_total",
                 "Dashboard logins refused by the throttle (too many failures per account or address).", {})
             .With({});
  }
  bundle.service = std::make_unique<dashboards::AccessService>(*bundle.store, *opened->areas, options);
  return bundle;
}

namespace {

// The first line of stdin, without the line end.
Result<std::string> PasswordFromStdin() {
  std::string line;
  if (!std::getline(std::cin, line)) return Status::InvalidInput("--password-stdin: no line on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> PasswordFor(const Args& args, bool* generated) {
  *generated = !args.Has("--password-stdin");
  if (*generated) return dashboards::AccessService::GeneratePassword(args.positionals.at(0));
  return PasswordFromStdin();
}

std::string OperatorName() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user != nullptr ? user : "unknown");
}

}  // namespace

int RunUserAdd(Context& context, const Args& args) {
  auto role = ParseRole(args.Get("--role"));
  if (!role) {
    std::cerr << "minyi: --role: admin, statistician, official or grid_worker expected\n";
    return kExitUsage;
  }
  auto access = OpenAccess(context);
  if (!access.ok()) return Fail(access.status());
  bool generated = false;
  auto password = PasswordFor(args, &generated);
  if (!password.ok()) return Fail(password.status());
  User user;
  user.username = args.positionals.at(0);
  user.role = *role;
  user.areas = args.All("--area");
  MINYI_RETURN_IF_ERROR_CLI(access->service->CreateUser(user, password.value(), OperatorName(), ""));
  std::cout << "created " << user.username << " (" << RoleName(user.role) << ")\n";
  if (generated) std::cout << "password (shown once): " << password.value() << "\n";
  return kExitOk;
}

int RunUserList(Context& context, const Args&) {
  auto access = OpenAccess(context);
  if (!access.ok()) return Fail(access.status());
  auto users = access->service->ListUsers();
  if (!users.ok()) return Fail(users.status());
  std::cout << std::left << std::setw(24) << "username" << std::setw(14) << "role" << std::setw(10) << "state"
            << "areas\n";
  for (const User& u : users.value()) {
    std::string areas;
    for (const auto& a : u.areas) areas += (areas.empty() ? "" : ",") + a;
    std::cout << std::left << std::setw(24) << u.username << std::setw(14) << RoleName(u.role) << std::setw(10)
              << (u.disabled ? "disabled" : "active") << (areas.empty() ? "(all)" : areas) << "\n";
  }
  return kExitOk;
}

int RunUserDisable(Context& context, const Args& args) {
  auto access = OpenAccess(context);
  if (!access.ok()) return Fail(access.status());
  MINYI_RETURN_IF_ERROR_CLI(access->service->SetDisabled(args.positionals.at(0), true, OperatorName(), ""));
  std::cout << "disabled " << args.positionals.at(0) << " (its sessions ended)\n";
  return kExitOk;
}

int RunUserEnable(Context& context, const Args& args) {
  auto access = OpenAccess(context);
  if (!access.ok()) return Fail(access.status());
  MINYI_RETURN_IF_ERROR_CLI(access->service->SetDisabled(args.positionals.at(0), false, OperatorName(), ""));
  std::cout << "enabled " << args.positionals.at(0) << "\n";
  return kExitOk;
}

int RunUserPasswd(Context& context, const Args& args) {
  auto access = OpenAccess(context);
  if (!access.ok()) return Fail(access.status());
  bool generated = false;
  auto password = PasswordFor(args, &generated);
  if (!password.ok()) return Fail(password.status());
  MINYI_RETURN_IF_ERROR_CLI(
      access->service->ChangePassword(args.positionals.at(0), password.value(), OperatorName(), ""));
  std::cout << "password changed for " << args.positionals.at(0) << " (its sessions ended)\n";
  if (generated) std::cout << "password (shown once): " << password.value() << "\n";
  return kExitOk;
}

int RunUserAudit(Context& context, const Args& args) {
  auto limit = IntOption(args, "--limit", 50, 1, 100000);
  if (!limit) return kExitUsage;
  auto access = OpenAccess(context);
  if (!access.ok()) return Fail(access.status());
  auto events = access->service->ListAudit(*limit);
  if (!events.ok()) return Fail(events.status());
  for (const AuditEvent& e : events.value()) {
    // The user name is whatever was typed at the login page: every field is outside text.
    std::cout << FormatTimestampUtc(e.at_ms) << "  " << std::left << std::setw(18) << TerminalSafe(e.action)
              << std::setw(20) << TerminalSafe(e.username) << std::setw(11) << TerminalSafe(e.area_code)
              << std::setw(16) << TerminalSafe(e.remote_address) << TerminalSafe(e.detail) << "\n";
  }
  return kExitOk;
}

Status CreateDemoAccounts(Context& context, std::ostream& out) {
  auto access = OpenAccess(context);
  if (!access.ok()) return access.status();
  auto users = access->service->ListUsers();
  if (!users.ok()) return users.status();
  if (!users->empty()) return Status::Ok();

  struct Demo {
    const char* name;
    Role role;
    std::vector<std::string> areas;
    const char* what;
  };
  const std::vector<Demo> demos = {
      {"demo-admin", Role::kAdmin, {}, "管理员 (all areas, account administration)"},
      {"demo-stat", Role::kStatistician, {}, "统计人员 (all areas, low-n figures visible)"},
      {"demo-county", Role::kOfficial, {"320812"}, "县级领导 淮安市清江浦区 320812"},
      {"demo-city", Role::kOfficial, {"3208"}, "市级领导 淮安市 3208"},
  };
  std::ostringstream text;
  text << "# minyi demo accounts, created by `minyi demo seed`. Passwords are random and shown only here;\n"
          "# change them with `minyi user passwd NAME`. Log in at http://127.0.0.1:8080/login\n";
  for (const Demo& d : demos) {
    User u;
    u.username = d.name;
    u.role = d.role;
    u.areas = d.areas;
    const std::string password = dashboards::AccessService::GeneratePassword(d.name);
    MINYI_RETURN_IF_ERROR(access->service->CreateUser(u, password, "demo-seed", ""));
    text << std::left << std::setw(13) << d.name << " " << password << "   # " << d.what << "\n";
  }

  // The file names the database its passwords belong to; one naming another database is never replaced
  // (issue 18: a test's throwaway MariaDB database overwrote the checkout's demo passwords).
  const auto& store = context.config().store;
  std::string dir = context.config().paths.state_dir;
  std::string database = "mysql " + store.mysql.user + "@" +
                         (store.mysql.socket.empty() ? store.mysql.host + ":" + std::to_string(store.mysql.port)
                                                     : store.mysql.socket) +
                         "/" + store.mysql.database;
  if (store.backend == "sqlite" && store.sqlite.path != ":memory:") {
    dir = Poco::Path(store.sqlite.path).parent().toString();
    if (dir.empty()) dir = ".";
    database = "sqlite " + Poco::Path(store.sqlite.path).absolute().toString();
  }
  const std::string header = "# database: " + database + "\n";
  Poco::File(dir).createDirectories();
  const std::string path = Poco::Path(dir).append("demo-credentials.txt").toString();
  const std::string content = header + text.str();
  {
    std::ifstream existing(path);
    std::string first;
    if (existing && std::getline(existing, first) && first + "\n" != header) {
      out << "demo accounts created; " << path << " belongs to another database (" << TerminalSafe(first)
          << ") and is kept. Their passwords, shown only here:\n"
          << content;
      return Status::Ok();
    }
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::Unavailable("cannot write " + path);
  ::fchmod(fd, 0600);
  const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!written) return Status::Unavailable("cannot write " + path);
  out << "demo accounts created; their passwords (also in " << path << ", mode 0600):\n" << content;
  return Status::Ok();
}

Result<std::unique_ptr<DashboardRuntime>> StartDashboard(Context& context, const Resources& resources,
                                                         IndexSource& indices, http::Router& router,
                                                         metrics::Registry* registry) {
  const DashboardConfig& config = context.config().dashboard;
  auto runtime = std::make_unique<DashboardRuntime>();
  auto access = OpenAccess(context, registry);
  if (!access.ok()) return access.status();
  runtime->access = std::move(access).value();
  auto topics = dashboards::TopicDictionary::LoadFile(config.topics);
  if (!topics.ok()) return topics.status().WithContext("dashboard.topics");
  runtime->topics = std::move(topics).value();
  dashboards::DashboardDeps deps;
  deps.access = runtime->access.service.get();
  deps.indices = &indices;
  deps.queries = runtime->access.store.get();
  auto counters = sql::OpenCollectorCounters(*resources.store);
  if (!counters.ok()) return counters.status();
  runtime->counters = std::move(counters).value();
  auto rates = sql::OpenResponseRates(*resources.store);
  if (!rates.ok()) return rates.status();
  runtime->rates = std::move(rates).value();
  deps.counters = runtime->counters.get();
  deps.rates = runtime->rates.get();
  deps.areas = resources.areas;
  deps.surveys = resources.surveys;
  deps.topics = &runtime->topics;
  dashboards::DashboardOptions options;
  options.survey_id = config.survey;
  options.refresh_ms = config.refresh_ms;
  options.web_dir = config.web_dir.empty() ? dashboards::DefaultWebDir() : config.web_dir;
  auto dashboard = dashboards::Dashboard::Create(deps, options);
  if (!dashboard.ok()) return dashboard.status();
  runtime->dashboard = std::move(dashboard).value();
  runtime->dashboard->Register(router);
  return runtime;
}

}  // namespace minyi::cli
