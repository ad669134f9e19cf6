// A private MariaDB server for tests and benchmarks (no system service, no network): installs a
// fresh data directory under a mkdtemp() directory, runs mariadbd on a Unix socket there, and on
// destruction kills the server and removes the directory (tests/README.md).
//
// Alternatively, MINYI_TEST_MYSQL_SOCKET names an existing server's socket to use instead
// (user MINYI_TEST_MYSQL_USER, default root; password MINYI_TEST_MYSQL_PASSWORD, default empty).
//
// Not thread-safe to start; the accessors are safe to share once started.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace minyi::testsupport {

// Helpers shared with tests/support/galera_cluster.cc.
// Looks a program up on PATH and in the sbin directories; "" when not found.
std::string FindProgram(const std::string& name);
struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a program to completion, capturing its output; `env` is added to the environment.
Result<Outcome> RunProgram(const std::string& program, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {});
// Runs SQL through the `mariadb` command-line client on `socket` (tab-separated output, no headers).
Result<std::string> QuerySocket(const std::string& socket, const std::string& user,
                                const std::string& password, const std::string& sql);

struct ServerProcess;  // the running mariadbd (a Poco::ProcessHandle), defined in the .cc

class MariaDbServer {
 public:
  // Starts a private server (about 2 s), or attaches to MINYI_TEST_MYSQL_SOCKET. kNotFound when
  // mariadbd / mariadb-install-db are not installed (package mariadb-server); kUnavailable when the
  // server does not answer a ping within 30 s (the message includes the server log's tail).
  static Result<std::unique_ptr<MariaDbServer>> Start();

  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  const std::string& socket_path() const { return socket_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  bool external() const { return external_; }
  // The private server's process id (to pause it with SIGSTOP in fault tests); 0 for an external one.
  int pid() const;

  // Stops the private server: kShutdown as an operator would (mariadb-admin shutdown: a clean stop),
  // kKill with SIGKILL (a crash: InnoDB recovers at the next start). Waits for the process to exit.
  // kConflict for an external server or one already stopped.
  enum class StopHow { kShutdown, kKill };
  Status Stop(StopHow how);
  // Starts the private server again on the same data directory and socket after Stop(), waiting (up
  // to 30 s) for it to answer a ping.
  Status Restart();

  // A database name not used before in this process: minyi_test_<pid>_<n>.
  static std::string UniqueDatabaseName();

  // Runs SQL through the `mariadb` command-line client (tab-separated output, no headers), for
  // test set-up and inspection only.
  Result<std::string> Query(const std::string& sql) const;

 private:
  MariaDbServer() = default;
  Status Launch();  // starts mariadbd on data_dir_ and socket_, waits for a ping

  std::string dir_;  // the private server's directory; empty for an external server
  std::string data_dir_;
  std::string tmp_dir_;
  std::string socket_;
  std::string user_ = "root";
  std::string password_;
  std::unique_ptr<ServerProcess> process_;
  bool external_ = false;
};

}  // namespace minyi::testsupport
