// Runs the built `minyi` executable for end-to-end tests: captured output, exit code, and a
// background server that is stopped with SIGTERM.
#pragma once

#include <Poco/Pipe.h>
#include <Poco/Process.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace minyi::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The minyi binary of this build.
std::string MinyiPath();

// `-D paths.state_dir=<this test process's temporary directory>` before `args`: every minyi the tests
// start keeps its state (the default SQLite file, key files, demo-credentials.txt on MySQL) there, never
// in the checkout's var/ (issue 18). A test's own -D options come later and win. RunMinyi and
// ServerProcess add it.
std::vector<std::string> WithTestState(const std::vector<std::string>& args);

// Runs `minyi <global...> <args...>` to completion. `global` typically holds -D options.
RunResult RunMinyi(const std::vector<std::string>& args, const std::string& stdin_text = "");

// The password the end-to-end tests give account `user`: derived from the name (so a test can log in
// as anyone it created) without containing it, which the password policy refuses.
std::string TestPassword(const std::string& user);

// `minyi <global...> user add <spec...> --password-stdin` with `password`; spec is NAME and its options
// ({"grid1", "--role", "grid_worker", "--area", "320812001"}).
RunResult AddUser(const std::vector<std::string>& global, const std::vector<std::string>& spec,
                  const std::string& password);

// A `minyi serve` child process on an ephemeral port. The destructor stops it (SIGTERM, then
// SIGKILL after the stop bound, which fails the running test).
class ServerProcess {
 public:
  // How long serve may take to exit after SIGTERM: http.drain_timeout_s (10 s by default) for the
  // requests in flight, plus 5 s for the store and the logs.
  static constexpr std::chrono::milliseconds kDefaultStopBound{15000};

  // Starts the server and waits (up to 30 s) until it has written its port.
  explicit ServerProcess(const std::vector<std::string>& global_args) : ServerProcess(global_args, 0) {}
  // The same on a given port (0: an ephemeral one), e.g. one a load balancer's configuration names.
  ServerProcess(const std::vector<std::string>& global_args, int port);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return port_ != 0; }
  int port() const { return port_; }
  int pid() const;  // the server's process id (for /proc/<pid>/status)
  // Sends SIGTERM and reaps the server; returns its exit code. A server still running `stop_bound`
  // after SIGTERM is killed and the running test fails (ADD_FAILURE), naming the pid and the log.
  int Stop();
  void set_stop_bound(std::chrono::milliseconds bound) { stop_bound_ = bound; }
  // From SIGTERM to the reaped exit, measured by Stop() (zero before it, or if the server had exited).
  std::chrono::milliseconds stop_time() const { return stop_time_; }
  // Sends SIGKILL (a crash: nothing is flushed or cleaned up) and waits.
  void Kill();
  // The file where serve wrote its routes (`serve --routes-file`), one "METHOD PATTERN" a line.
  std::string routes_file() const { return dir_ + "/routes"; }
  // The server's stderr (log) so far; complete after Stop().
  const std::string& log() const { return log_; }
  // The server's log file (log.file).
  const std::string& log_path() const { return log_path_; }

 private:
  std::unique_ptr<Poco::ProcessHandle> handle_;
  std::string dir_;
  std::string log_path_;
  std::string log_;
  int port_ = 0;
  bool stopped_ = false;
  std::chrono::milliseconds stop_bound_ = kDefaultStopBound;
  std::chrono::milliseconds stop_time_{0};
  std::optional<int> exit_code_;  // set when the server exited before writing its port
};

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};
HttpReply HttpGet(int port, const std::string& path);

// Which server holds which singleton job, as the server on `port` shows it in /api/v1/status: job →
// holder ("" while nobody holds it); empty when the status cannot be read.
std::map<std::string, std::string> LeaseHolders(int port);
// Waits (bounded by `limit_ms`) until the server on `port` shows `holder` for every job of `jobs`;
// returns how long it took in ms, or -1.
long long WaitForLeaseHolder(int port, const std::string& holder, const std::vector<std::string>& jobs,
                             long long limit_ms);

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);

}  // namespace minyi::testing
