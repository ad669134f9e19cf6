#include "tests/support/mariadb_server.h"

#include <Poco/Exception.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

namespace minyi::testsupport {

namespace {

namespace fs = std::filesystem;

std::string Tail(const std::string& path, std::size_t max_chars = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  return text.size() > max_chars ? text.substr(text.size() - max_chars) : text;
}

std::atomic<int> g_database_counter{0};

}  // namespace

// Looks a program up on PATH and in the sbin directories (mariadbd lives in /usr/sbin, which a
// test runner's PATH may lack).
std::string FindProgram(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  for (const char* extra : {"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"}) dirs.emplace_back(extra);
  for (const std::string& dir : dirs) {
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

Result<Outcome> RunProgram(const std::string& program, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env) {
  try {
    Poco::Pipe out;
    Poco::Process::Env penv(env.begin(), env.end());
    Poco::ProcessHandle handle = Poco::Process::launch(program, args, ".", nullptr, &out, &out, penv);
    Poco::PipeInputStream stream(out);
    Outcome outcome;
    Poco::StreamCopier::copyToString(stream, outcome.output);
    outcome.exit_code = handle.wait();
    return outcome;
  } catch (const Poco::Exception& e) {
    return Status::Unavailable("cannot run " + program + ": " + e.displayText());
  }
}

Result<std::string> QuerySocket(const std::string& socket, const std::string& user,
                                const std::string& password, const std::string& sql) {
  const std::string client = FindProgram("mariadb");
  if (client.empty()) return Status::NotFound("the mariadb client is not installed (package mariadb-client)");
  std::map<std::string, std::string> env;
  if (!password.empty()) env["MYSQL_PWD"] = password;  // not on the command line, where ps shows it
  auto run = RunProgram(
      client, {"--no-defaults", "--socket=" + socket, "--user=" + user, "-N", "-B", "-e", sql}, env);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0)
    return Status::Unavailable("mariadb client failed: " + run->output.substr(0, 2000));
  return run->output;
}

// The server process, kept out of the header so it need not include Poco.
struct ServerProcess {
  explicit ServerProcess(Poco::ProcessHandle h) : handle(std::move(h)) {}
  Poco::ProcessHandle handle;
};

Result<std::unique_ptr<MariaDbServer>> MariaDbServer::Start() {
  std::unique_ptr<MariaDbServer> server(new MariaDbServer());
  if (const char* socket = std::getenv("MINYI_TEST_MYSQL_SOCKET"); socket != nullptr && *socket != '\0') {
    server->external_ = true;
    server->socket_ = socket;
    if (const char* user = std::getenv("MINYI_TEST_MYSQL_USER"); user != nullptr && *user != '\0') server->user_ = user;
    if (const char* password = std::getenv("MINYI_TEST_MYSQL_PASSWORD")) server->password_ = password;
    auto ping = server->Query("SELECT 1");
    if (!ping.ok()) return ping.status().WithContext("MINYI_TEST_MYSQL_SOCKET=" + server->socket_);
    return server;
  }

  const std::string mariadbd = FindProgram("mariadbd");
  const std::string install_db = FindProgram("mariadb-install-db");
  const std::string admin = FindProgram("mariadb-admin");
  if (mariadbd.empty() || install_db.empty() || admin.empty()) {
    return Status::NotFound(
        "MariaDB server programs not found (mariadbd, mariadb-install-db, mariadb-admin): install the "
        "Debian package mariadb-server, or set MINYI_TEST_MYSQL_SOCKET to an existing server's socket");
  }

  char dir_template[] = "/tmp/minyi-mariadb-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return Status::Unavailable("mkdtemp failed for the MariaDB directory");
  server->dir_ = dir_template;
  server->socket_ = server->dir_ + "/mysql.sock";
  const std::string data = server->dir_ + "/data";
  // Each server gets its own tmpdir: servers sharing /tmp collide on internal temporary table names
  // when several test processes start at once (ctest -j), failing or crashing mariadb-install-db
  // ("Unknown table 'mysql.tmp_user_anonymous'", signal 11 in ha_maria::drop_table).
  const std::string tmp = server->dir_ + "/tmp";
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return Status::Unavailable("cannot create " + tmp + ": " + ec.message());
  Result<Outcome> installed = Status::Internal("not run");
  for (int attempt = 1; attempt <= 2; ++attempt) {
    fs::remove_all(data, ec);
    installed = RunProgram(install_db, {"--no-defaults", "--datadir=" + data, "--user=root",
                                        "--auth-root-authentication-method=normal", "--tmpdir=" + tmp});
    if (!installed.ok()) return installed.status();
    if (installed->exit_code == 0) break;
  }
  if (installed->exit_code != 0) {
    return Status::Unavailable("mariadb-install-db failed (exit " + std::to_string(installed->exit_code) +
                               "): " + installed->output.substr(0, 2000));
  }

  server->data_dir_ = data;
  server->tmp_dir_ = tmp;
  Status launched = server->Launch();
  if (!launched.ok()) return launched;
  return server;
}

Status MariaDbServer::Launch() {
  const std::string mariadbd = FindProgram("mariadbd");
  const std::string admin = FindProgram("mariadb-admin");
  const std::string log = dir_ + "/mariadbd.log";
  try {
    Poco::ProcessHandle handle =
        Poco::Process::launch(mariadbd, {"--no-defaults", "--datadir=" + data_dir_, "--tmpdir=" + tmp_dir_,
                                         "--socket=" + socket_, "--skip-networking", "--user=root",
                                         "--pid-file=" + dir_ + "/mariadbd.pid", "--log-error=" + log});
    process_ = std::make_unique<ServerProcess>(handle);
  } catch (const Poco::Exception& e) {
    return Status::Unavailable("cannot start mariadbd: " + e.displayText());
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto ping = RunProgram(admin, {"--no-defaults", "--socket=" + socket_, "--user=root", "ping"});
    if (ping.ok() && ping->exit_code == 0) return Status::Ok();
    if (!Poco::Process::isRunning(process_->handle)) {
      return Status::Unavailable("mariadbd exited during start-up; log tail:\n" + Tail(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("mariadbd did not answer a ping within 30 s; log tail:\n" + Tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status MariaDbServer::Stop(StopHow how) {
  if (external_ || !process_) return Status::Conflict("mariadb: no private server running to stop");
  if (how == StopHow::kShutdown) {
    auto shutdown = RunProgram(FindProgram("mariadb-admin"),
                               {"--no-defaults", "--socket=" + socket_, "--user=root", "shutdown"});
    if (!shutdown.ok()) return shutdown.status();
    if (shutdown->exit_code != 0) return Status::Unavailable("mariadb-admin shutdown: " + shutdown->output);
  } else {
    ::kill(static_cast<pid_t>(process_->handle.id()), SIGKILL);
  }
  try {
    process_->handle.wait();  // mariadb-admin shutdown returns once the server has stopped, or nearly
  } catch (const Poco::Exception& e) {
    return Status::Unavailable("mariadb: waiting for the server to stop: " + e.displayText());
  }
  process_.reset();
  return Status::Ok();
}

Status MariaDbServer::Restart() {
  if (external_) return Status::Conflict("mariadb: an external server is not ours to restart");
  if (process_) return Status::Conflict("mariadb: the private server is still running");
  return Launch();
}

MariaDbServer::~MariaDbServer() {
  if (process_) {
    try {
      Poco::Process::kill(process_->handle);
      process_->handle.wait();
    } catch (const Poco::Exception&) {
      // Already gone.
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

int MariaDbServer::pid() const { return process_ ? static_cast<int>(process_->handle.id()) : 0; }

std::string MariaDbServer::UniqueDatabaseName() {
  return "minyi_test_" + std::to_string(::getpid()) + "_" + std::to_string(++g_database_counter);
}

Result<std::string> MariaDbServer::Query(const std::string& sql) const {
  return QuerySocket(socket_, user_, password_, sql);
}

}  // namespace minyi::testsupport
