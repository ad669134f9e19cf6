#include "tests/support/galera_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/mariadb_server.h"

namespace minyi::testsupport {

namespace {

namespace fs = std::filesystem;

// Whether nothing listens on or holds 127.0.0.1:port (a bind succeeds).
bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

// A base port for galera.sh whose twelve ports (base + 10*(i-1) + 0..3) are free. The search starts
// at a place that depends on the process id, so that test binaries started together rarely try the
// same ports; it stays in 20000..32767, below Linux's ephemeral range.
int FreeBasePort(int skip) {
  constexpr int kFirst = 20000;
  constexpr int kSlots = (32700 - kFirst) / 40;
  const int start = static_cast<int>(::getpid() % kSlots) + skip;
  for (int k = 0; k < kSlots; ++k) {
    const int base = kFirst + 40 * ((start + k) % kSlots);
    bool all = true;
    for (int node = 0; node < GaleraCluster::kNodes && all; ++node) {
      for (int offset = 0; offset < 4 && all; ++offset) all = PortFree(base + 10 * node + offset);
    }
    if (all) return base;
  }
  return 0;
}

}  // namespace

Result<std::unique_ptr<GaleraCluster>> GaleraCluster::Start() {
  std::unique_ptr<GaleraCluster> cluster(new GaleraCluster());
  cluster->script_ = std::string(MINYI_SOURCE_DIR) + "/deploy/cluster/galera.sh";
  if (!fs::exists("/usr/lib/galera/libgalera_smm.so")) {
    return Status::NotFound(
        "/usr/lib/galera/libgalera_smm.so not found: install the Debian package galera-4");
  }
  for (const char* program : {"mariadbd", "mariadb-install-db", "mariadb", "mariabackup", "socat"}) {
    if (FindProgram(program).empty()) {
      return Status::NotFound(std::string(program) +
                              " not found: install mariadb-server, mariadb-client, mariadb-backup and socat");
    }
  }
  char dir_template[] = "/tmp/minyi-galera-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr)
    return Status::Unavailable("mkdtemp failed for the Galera directory");
  cluster->dir_ = dir_template;
  // Another process may take a port between the probe and mariadbd's bind: then try other ports.
  Status last = Status::Internal("not started");
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int base = FreeBasePort(attempt * 7);
    if (base == 0) return Status::Unavailable("no free 127.0.0.1 ports for a Galera cluster in 20000..32767");
    auto started = cluster->Script({"start", cluster->dir_, std::to_string(base)});
    if (started.ok()) {
      cluster->base_ = base;
      cluster->next_port_ = base + 24;
      return cluster;
    }
    last = started.status();
    static_cast<void>(cluster->Script({"stop", cluster->dir_}));
    if (last.message().find("Address already in use") == std::string::npos) break;
  }
  return last;
}

GaleraCluster::~GaleraCluster() {
  std::ifstream haproxy(dir_ + "/haproxy.pid");
  if (int p = 0; haproxy >> p && p > 0) ::kill(p, SIGKILL);
  // SIGKILL: nothing in a test cluster needs a clean shutdown, and it is quicker.
  for (int node = 1; node <= kNodes; ++node) static_cast<void>(Kill(node));
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

Result<std::string> GaleraCluster::Script(const std::vector<std::string>& args) const {
  auto run = RunProgram("/bin/bash", [&] {
    std::vector<std::string> all = {script_};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }());
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return Status::Unavailable(
        "galera.sh " + args.front() + " failed (exit " + std::to_string(run->exit_code) +
        "): " + run->output.substr(run->output.size() > 4000 ? run->output.size() - 4000 : 0));
  }
  return run->output;
}

int GaleraCluster::pid(int node) const {
  std::ifstream in(dir_ + "/n" + std::to_string(node) + ".pid");
  int pid = 0;
  if (!(in >> pid) || pid <= 0 || ::kill(pid, 0) != 0) return 0;
  return pid;
}

Status GaleraCluster::Kill(int node) {
  const int p = pid(node);
  if (p == 0) return Status::Conflict("galera: node " + std::to_string(node) + " is not running");
  ::kill(p, SIGKILL);
  // mariadbd is not our child (galera.sh started it with setsid): wait for the pid to go.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::kill(p, 0) == 0) {
    if (std::chrono::steady_clock::now() > deadline) return Status::Unavailable("galera: node did not die");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Ok();
}

Status GaleraCluster::Restart(int node) {
  return Script({"start-node", dir_, std::to_string(node)}).status();
}

int GaleraCluster::FreePort() {
  // FreeBasePort hands out blocks of 40 ports; the nodes use the first 24 of this cluster's block.
  while (next_port_ > 0 && next_port_ < base_ + 40) {
    const int port = next_port_++;
    if (PortFree(port)) return port;
  }
  return 0;
}

Result<GaleraCluster::Proxy> GaleraCluster::StartHAProxy(const std::vector<int>& server_ports) {
  if (FindProgram("haproxy").empty())
    return Status::NotFound("haproxy not found: install the Debian package haproxy");
  Proxy proxy{FreePort(), FreePort(), FreePort()};
  if (proxy.stats_port == 0) return Status::Unavailable("no free ports left in the cluster's block");
  std::vector<std::string> args = {std::string(MINYI_SOURCE_DIR) + "/deploy/cluster/cluster.sh",
                                   "haproxy",
                                   dir_,
                                   std::to_string(proxy.mysql_port),
                                   std::to_string(proxy.http_port),
                                   std::to_string(proxy.stats_port)};
  for (const int port : server_ports) args.push_back(std::to_string(port));
  auto run = RunProgram("/bin/bash", args);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) return Status::Unavailable("cluster.sh haproxy failed: " + run->output);
  return proxy;
}

Result<std::string> GaleraCluster::Query(int node, const std::string& sql) const {
  return QuerySocket(socket_path(node), "root", "", sql);
}

}  // namespace minyi::testsupport
