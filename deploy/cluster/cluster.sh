#!/usr/bin/env bash
# The whole cluster layout of issue 15 on one machine, on loopback: a 3-node MariaDB Galera cluster
# (deploy/cluster/galera.sh), HAProxy in front of it in TCP mode (one writer node at a time, the others
# backups, each health-checked for Galera's Synced state) and in HTTP mode in front of three
# `minyi serve` (health-checked on /readyz), and the three servers. Usage:
#
#   deploy/cluster/cluster.sh start  <dir> [base_port]   # everything; prints the URLs
#   deploy/cluster/cluster.sh stop   <dir>               # servers, HAProxy, then the nodes
#   deploy/cluster/cluster.sh status <dir>               # nodes, HAProxy's view of its servers, servers
#   deploy/cluster/cluster.sh haproxy <dir> <db_port> <http_port> <stats_port> <server_port>...
#                                                        # (re)starts HAProxy only, over a cluster that
#                                                        # galera.sh started in <dir> (the tests do this)
#   deploy/cluster/cluster.sh start-server <dir> <i>     # (re)starts server i (1..3)
#   deploy/cluster/cluster.sh stop-server  <dir> <i>     # SIGTERM to server i (it drains, then exits)
#
# Ports from base_port (default 27000): the Galera nodes use base..base+23 (galera.sh), HAProxy's
# MySQL front base+40, its HTTP front base+41, its statistics page base+42 (/stats), server i base+50+i.
# The minyi binary: $MINYI, else `minyi` on PATH, else build/cli/minyi of this checkout.
#
# What the generated HAProxy configuration does, and why (the same choices as conf/cluster/haproxy.cfg,
# the example for real hosts):
#   - MySQL front: one writer at a time (n1, then n2, then n3 as backups). Writing through one node
#     avoids Galera's certification conflicts between nodes; minyi still retries them (sql/db.h) for
#     the moments two nodes take writes, e.g. while a failed node comes back.
#   - The node check is an external check (deploy/cluster/galera-check.sh): a node that answers the
#     MySQL handshake but is not Synced (a joiner, a donor, a node cut off from the primary component,
#     which refuses queries with error 1047) must not take writes, and HAProxy's own mysql-check
#     only sees the handshake. `on-marked-down shutdown-sessions` cuts the connections to a failed
#     node, so minyi's pool reconnects to the next one at once instead of waiting for its timeouts.
#   - HTTP front: round robin over the servers, health-checked on GET /readyz (503 while a server's
#     store is unreachable or its node not Synced), `option forwardfor` (minyi reads the right-most
#     X-Forwarded-For entry with http.trust_forwarded_for=true), `retry-on conn-failure` only: a
#     request is re-sent to another server only when it never reached the first one; a POST that
#     reached a server that then died is the client's to repeat (with its idempotency key, safely).
# Nothing here is for production: the database user has a fixed password and everything is loopback.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GALERA="$here/galera.sh"
die() { echo "cluster.sh: $*" >&2; exit 1; }

find_minyi() {
  if [ -n "${MINYI:-}" ]; then echo "$MINYI"; return; fi
  if command -v minyi >/dev/null 2>&1; then command -v minyi; return; fi
  [ -x "$here/../../build/cli/minyi" ] || die "no minyi binary: set MINYI, or build it (./minyi.sh run)"
  echo "$(cd "$here/../.." && pwd)/build/cli/minyi"
}

HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
CLIENT=$(command -v mariadb || echo /usr/bin/mariadb)

# The minyi database user and HAProxy's check user, created on the cluster (replicated to every node).
DB_USER=minyi
DB_PASSWORD=minyi-cluster-demo
CHECK_USER=haproxy_check

write_haproxy_cfg() {  # <dir> <db_port> <http_port> <stats_port> <server_port>...
  local dir=$1 db_port=$2 http_port=$3 stats_port=$4 base i port
  shift 4
  base=$(cat "$dir/base_port")
  {
    cat <<EOF
global
    maxconn 4096
    pidfile $dir/haproxy.pid
    # The runtime API (disable/enable a server for maintenance, show stat): socat stdio unix:$dir/haproxy.sock
    stats socket $dir/haproxy.sock mode 600 level admin
    # The Galera node check runs a program (below); HAProxy only forks for it when told so.
    external-check
    insecure-fork-wanted

defaults
    log stdout format raw local0 notice
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s

listen galera
    bind 127.0.0.1:$db_port
    mode tcp
    option external-check
    external-check path "/usr/bin:/bin:/usr/sbin"
    external-check command $here/galera-check.sh
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
EOF
    for i in 1 2 3; do
      if [ "$i" = 1 ]; then
        echo "    server n$i 127.0.0.1:$((base + 10 * (i - 1))) check"
      else
        echo "    server n$i 127.0.0.1:$((base + 10 * (i - 1))) check backup"
      fi
    done
    cat <<EOF

listen minyi
    bind 127.0.0.1:$http_port
    mode http
    balance roundrobin
    option forwardfor
    option httpchk GET /readyz
    http-check expect status 200
    retries 2
    retry-on conn-failure
    option redispatch
    default-server inter 1s fall 2 rise 2
EOF
    i=0
    for port in "$@"; do
      i=$((i + 1))
      echo "    server s$i 127.0.0.1:$port check"
    done
    cat <<EOF

listen stats
    bind 127.0.0.1:$stats_port
    mode http
    stats enable
    stats uri /stats
EOF
  } >"$dir/haproxy.cfg"
}

stop_pidfile() {  # <pidfile> [signal]: signals the process and waits (bounded) until it has exited
  local pidfile=$1 sig=${2:-TERM} pid deadline
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  rm -f "$pidfile"
  [ -n "$pid" ] || return 0
  kill "-$sig" "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { kill -9 "$pid" 2>/dev/null || true; }
    sleep 0.1
  done
}

cmd_haproxy() {  # <dir> <db_port> <http_port> <stats_port> <server_port>...
  [ $# -ge 5 ] || die "haproxy needs <dir> <db_port> <http_port> <stats_port> <server_port>..."
  local dir=$1
  [ -x "$HAPROXY" ] || die "haproxy not found: install haproxy"
  [ -f "$dir/base_port" ] || die "$dir holds no Galera cluster (galera.sh start $dir)"
  create_users "$dir"
  write_haproxy_cfg "$@"
  "$HAPROXY" -c -q -f "$dir/haproxy.cfg" || die "HAProxy rejected $dir/haproxy.cfg"
  stop_pidfile "$dir/haproxy.pid"
  # -D: HAProxy daemonizes and writes its pid file; its own log goes to haproxy.log.
  setsid "$HAPROXY" -D -f "$dir/haproxy.cfg" </dev/null >>"$dir/haproxy.log" 2>&1 ||
    die "HAProxy did not start: $(tail -n 5 "$dir/haproxy.log")"
}

create_users() {  # <dir>: the minyi user and the check user, on node 1 (Galera replicates them)
  "$CLIENT" --no-defaults --socket="$1/n1.sock" --user=root -e "
    CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
    GRANT ALL ON \`minyi%\`.* TO '$DB_USER'@'127.0.0.1';
    CREATE USER IF NOT EXISTS '$CHECK_USER'@'127.0.0.1';" || die "could not create the database users"
}

server_port() { echo $(($(cat "$1/base_port") + 50 + $2)); }

write_minyi_properties() {  # <dir>: one configuration for the three servers
  local dir=$1 base
  base=$(cat "$dir/base_port")
  # The servers must share the respondent-key secret and the SMS encryption key (README "Cluster"):
  # written here once, mode 0600, before any server starts (three servers starting at once would
  # each create their own).
  umask 077
  [ -s "$dir/respondent.secret" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$dir/respondent.secret"
  [ -s "$dir/sms.key" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$dir/sms.key"
  cat >"$dir/minyi.properties" <<EOF
store.backend = mysql
store.mysql.host = 127.0.0.1
store.mysql.port = $((base + 40))
store.mysql.user = $DB_USER
store.mysql.database = minyi
collector.secret_file = $dir/respondent.secret
sms.encryption_key_file = $dir/sms.key
http.host = 127.0.0.1
http.trust_forwarded_for = true
EOF
}

cmd_start_server() {  # <dir> <i>
  local dir=$1 i=$2 minyi port deadline
  minyi=$(find_minyi)
  port=$(server_port "$dir" "$i")
  stop_pidfile "$dir/s$i.pid"
  mkdir -p "$dir/s$i"
  MINYI_MYSQL_PASSWORD=$DB_PASSWORD setsid "$minyi" --config "$dir/minyi.properties" \
    -D "paths.state_dir=$dir/s$i" -D "http.port=$port" serve </dev/null >>"$dir/s$i.log" 2>&1 &
  echo $! >"$dir/s$i.pid"
  deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    kill -0 "$(cat "$dir/s$i.pid")" 2>/dev/null || die "server $i exited: $(tail -n 5 "$dir/s$i.log")"
    [ $SECONDS -lt $deadline ] || die "server $i not ready within 60 s: $(tail -n 5 "$dir/s$i.log")"
    sleep 0.2
  done
}

cmd_start() {
  local dir=$1 base=${2:-27000} i minyi
  minyi=$(find_minyi)
  command -v curl >/dev/null || die "curl not found: install curl"
  "$GALERA" start "$dir" "$base"
  dir=$(cd "$dir" && pwd)
  cmd_haproxy "$dir" $((base + 40)) $((base + 41)) $((base + 42)) \
    "$(server_port "$dir" 1)" "$(server_port "$dir" 2)" "$(server_port "$dir" 3)"
  write_minyi_properties "$dir"
  # One migration, before any server serves (README "Cluster": migrations and rolling upgrades).
  MINYI_MYSQL_PASSWORD=$DB_PASSWORD "$minyi" --config "$dir/minyi.properties" \
    -D "paths.state_dir=$dir/s1" -D store.mysql.create_database=true db migrate >>"$dir/migrate.log" 2>&1 ||
    die "db migrate failed: $(tail -n 5 "$dir/migrate.log")"
  for i in 1 2 3; do cmd_start_server "$dir" "$i"; done
  echo "cluster.sh: HTTP http://127.0.0.1:$((base + 41))/  MySQL 127.0.0.1:$((base + 40))" \
    "(user $DB_USER)  HAProxy statistics http://127.0.0.1:$((base + 42))/stats"
}

cmd_stop() {
  local dir=$1 i
  for i in 1 2 3; do stop_pidfile "$dir/s$i.pid"; done
  stop_pidfile "$dir/haproxy.pid"
  "$GALERA" stop "$dir"
}

cmd_status() {
  local dir=$1 i pid
  "$GALERA" status "$dir"
  if [ -f "$dir/haproxy.pid" ] && kill -0 "$(cat "$dir/haproxy.pid")" 2>/dev/null; then
    local stats_port=$(($(cat "$dir/base_port") + 42))
    # HAProxy's CSV statistics: proxy, server, status (UP, DOWN, no check) of every server line.
    curl -fsS "http://127.0.0.1:$stats_port/stats;csv" 2>/dev/null |
      awk -F, '$2 !~ /^(FRONTEND|BACKEND|svname)$/ && $1 != "stats" { print "haproxy " $1 "/" $2 " " $18 }'
  else
    echo "haproxy not running"
  fi
  for i in 1 2 3; do
    pid=$(cat "$dir/s$i.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "s$i pid=$pid port=$(server_port "$dir" "$i")"
    else echo "s$i not running"; fi
  done
}

[ $# -ge 2 ] || die "usage: cluster.sh start <dir> [base_port] | stop <dir> | status <dir> | haproxy <dir> ... | start-server <dir> <i> | stop-server <dir> <i>"
case "$1" in
  start) cmd_start "$2" "${3:-27000}" ;;
  stop) cmd_stop "$2" ;;
  status) cmd_status "$2" ;;
  haproxy) shift; cmd_haproxy "$@" ;;
  start-server) [ $# -ge 3 ] || die "start-server needs <dir> <i>"; cmd_start_server "$2" "$3" ;;
  stop-server) [ $# -ge 3 ] || die "stop-server needs <dir> <i>"; stop_pidfile "$2/s$3.pid" ;;
  *) die "unknown command '$1'" ;;
esac
