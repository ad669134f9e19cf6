// A private 3-node MariaDB Galera cluster on loopback for tests (issue 15). It runs
// deploy/cluster/galera.sh, the one source of truth for the node options, in a mkdtemp() directory
// on free 127.0.0.1 ports below the ephemeral range; the destructor kills the nodes and removes the
// directory. Starting takes 20 to 45 s on two busy cores (node 1 bootstraps, the two others join
// by IST from copies of its datadir): share one cluster per test binary.
//
// Needs the Debian packages mariadb-server, mariadb-client, galera-4, mariadb-backup and socat.
// Not thread-safe; the accessors are safe to share once started.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace minyi::testsupport {

class GaleraCluster {
 public:
  static constexpr int kNodes = 3;

  // kNotFound when a needed program or the Galera library is missing; kUnavailable when the script
  // fails (its output, with the failing node's log tail, is in the message).
  static Result<std::unique_ptr<GaleraCluster>> Start();

  ~GaleraCluster();
  GaleraCluster(const GaleraCluster&) = delete;
  GaleraCluster& operator=(const GaleraCluster&) = delete;

  // Node i is 1..3.
  std::string socket_path(int node) const { return dir_ + "/n" + std::to_string(node) + ".sock"; }
  const std::string& dir() const { return dir_; }
  int pid(int node) const;  // 0 when the node is not running

  // SIGKILL one node (a crash) and wait until it has exited; the others stay in the cluster.
  Status Kill(int node);
  // Start a stopped or killed node again (it rejoins by IST or SST) and wait until it is Synced.
  Status Restart(int node);

  // HAProxy in front of the cluster, started by deploy/cluster/cluster.sh (the one source of truth for
  // its configuration): MySQL in TCP mode (one writer node at a time, the others backups, each checked
  // for Galera's Synced state) and HTTP in front of minyi servers on `server_ports` (checked on /readyz).
  // It creates the database user `minyi` (password kProxyPassword, all rights on minyi%.*) and the
  // check user. Restarting it replaces the previous one; the destructor stops it.
  struct Proxy {
    int mysql_port = 0;
    int http_port = 0;
    int stats_port = 0;  // GET /stats;csv: HAProxy's view of every server
  };
  static constexpr const char* kProxyUser = "minyi";
  static constexpr const char* kProxyPassword = "minyi-cluster-demo";
  Result<Proxy> StartHAProxy(const std::vector<int>& server_ports);

  // A 127.0.0.1 port free now, from the cluster's own block of ports (for servers and the proxy);
  // never the same one twice. 0 when the block is used up.
  int FreePort();

  // Runs SQL on node i through the `mariadb` client (tab-separated, no headers), for set-up and
  // inspection only.
  Result<std::string> Query(int node, const std::string& sql) const;

 private:
  GaleraCluster() = default;
  Result<std::string> Script(const std::vector<std::string>& args) const;

  std::string script_;
  std::string dir_;
  int base_ = 0;       // galera.sh's base port; its nodes use base_ .. base_ + 23
  int next_port_ = 0;  // FreePort's next candidate, from base_ + 24 up to the next block (base_ + 40)
};

}  // namespace minyi::testsupport
