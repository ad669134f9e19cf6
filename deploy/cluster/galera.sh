#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on loopback, for tests and for a person trying the cluster layout
# (issue 15). Usage:
#
#   deploy/cluster/galera.sh start  <dir> [base_port]   # three mariadbd under <dir>, waits until all Synced
#   deploy/cluster/galera.sh stop   <dir>               # stops the three nodes (clean shutdown)
#   deploy/cluster/galera.sh status <dir>               # one line per node: socket, pid, state
#   deploy/cluster/galera.sh start-node <dir> <i>       # (re)starts node i (1..3) as a joiner
#   deploy/cluster/galera.sh stop-node  <dir> <i>       # stops node i cleanly
#
# This script is the one source of truth for the node options: it writes <dir>/n<i>.cnf, and the C++
# test support (tests/support/galera_cluster.h) runs it. Node i (1..3) has datadir <dir>/d<i>, socket
# <dir>/n<i>.sock, log <dir>/n<i>.log and these 127.0.0.1 ports, from base_port (default 27000):
#   base+10*(i-1)+0 SQL, +1 group communication (gcomm), +2 IST, +3 SST. Keep them below the
#   ephemeral range (32768+ on Linux), where an outgoing connection may hold the port.
# Node 1 is bootstrapped with --wsrep-new-cluster; nodes 2 and 3 start from copies of its datadir and
# join by IST (see cmd_start). A full state transfer (SST), for a node that lost its data, is by
# mariabackup: the rsync method fails when run as root (its rsync daemon drops to `nobody`, which
# cannot write the 0700 datadir), as tried on this project's build machines. Packages: mariadb-server galera-4 mariadb-backup socat.
# Everything listens on 127.0.0.1 only. Nothing here is for production (root user, empty password).
set -euo pipefail

SYNC_TIMEOUT=${GALERA_SYNC_TIMEOUT:-90}  # seconds each node may take to reach Synced

die() { echo "galera.sh: $*" >&2; exit 1; }

find_prog() {
  local p
  for p in "$@"; do
    if command -v "$p" >/dev/null 2>&1; then command -v "$p"; return 0; fi
    if [ -x "/usr/sbin/$p" ]; then echo "/usr/sbin/$p"; return 0; fi
  done
  return 1
}

MARIADBD=$(find_prog mariadbd) || die "mariadbd not found: install mariadb-server"
INSTALL_DB=$(find_prog mariadb-install-db) || die "mariadb-install-db not found: install mariadb-server"
CLIENT=$(find_prog mariadb) || die "the mariadb client not found: install mariadb-client"
ADMIN=$(find_prog mariadb-admin) || die "mariadb-admin not found: install mariadb-client"
PROVIDER=/usr/lib/galera/libgalera_smm.so

port_of() {  # port_of <base> <node> <offset>
  echo $(($1 + 10 * ($2 - 1) + $3))
}

# Writes <dir>/n<i>.cnf for the three nodes from the base port (kept in <dir>/base_port).
write_configs() {
  local dir=$1 base=$2 i gcomm=""
  for i in 1 2 3; do gcomm+="${gcomm:+,}127.0.0.1:$(port_of "$base" "$i" 1)"; done
  for i in 1 2 3; do
    cat >"$dir/n$i.cnf" <<EOF
[mysqld]
datadir=$dir/d$i
tmpdir=$dir/t$i
socket=$dir/n$i.sock
pid-file=$dir/n$i.pid
log-error=$dir/n$i.log
port=$(port_of "$base" "$i" 0)
bind-address=127.0.0.1
user=root
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=minyi_test
wsrep_cluster_address=gcomm://$gcomm
wsrep_node_address=127.0.0.1:$(port_of "$base" "$i" 1)
wsrep_node_name=n$i
wsrep_sst_method=mariabackup
wsrep_sst_auth=root:
wsrep_sst_receive_address=127.0.0.1:$(port_of "$base" "$i" 3)
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$(port_of "$base" "$i" 1);ist.recv_addr=127.0.0.1:$(port_of "$base" "$i" 2);gcache.size=64M"

[mariabackup]
socket=$dir/n$i.sock
user=root
EOF
  done
  echo "$base" >"$dir/base_port"
}

sql() {  # sql <dir> <node> <statement>
  "$CLIENT" --no-defaults --socket="$1/n$2.sock" --user=root -N -B -e "$3" 2>/dev/null
}

node_state() {  # prints wsrep_local_state_comment, or "down"
  local v
  v=$(sql "$1" "$2" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2) || true
  echo "${v:-down}"
}

node_pid() {
  [ -f "$1/n$2.pid" ] && cat "$1/n$2.pid" 2>/dev/null || true
}

node_running() {
  local pid
  pid=$(node_pid "$1" "$2")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Waits until node i reports Synced, or fails after SYNC_TIMEOUT seconds (or when mariadbd exited).
wait_synced() {
  local dir=$1 i=$2 launcher_pid=$3 deadline=$((SECONDS + SYNC_TIMEOUT)) state
  while :; do
    state=$(node_state "$dir" "$i")
    [ "$state" = Synced ] && return 0
    if ! kill -0 "$launcher_pid" 2>/dev/null; then
      echo "galera.sh: node $i exited during start-up; log tail:" >&2
      tail -n 30 "$dir/n$i.log" >&2 || true
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "galera.sh: node $i not Synced within ${SYNC_TIMEOUT}s (state: $state); log tail:" >&2
      tail -n 30 "$dir/n$i.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# Starts node i in the background (detached from this shell's session) and waits until Synced.
launch_node() {  # launch_node <dir> <i> [extra option]
  local dir=$1 i=$2 extra=${3:-}
  mkdir -p "$dir/t$i"
  rm -f "$dir/n$i.pid"
  # setsid: the node outlives this script and is not hit by a terminal's signals.
  setsid "$MARIADBD" --defaults-file="$dir/n$i.cnf" $extra </dev/null >>"$dir/n$i.out" 2>&1 &
  echo $! >"$dir/n$i.launcher"
  wait_synced "$dir" "$i" "$(cat "$dir/n$i.launcher")"
}

install_datadir() {
  local dir=$1 i=$2
  rm -rf "$dir/d$i"
  mkdir -p "$dir/t$i"
  "$INSTALL_DB" --no-defaults --datadir="$dir/d$i" --user=root --auth-root-authentication-method=normal \
    --tmpdir="$dir/t$i" --skip-name-resolve >"$dir/install$i.log" 2>&1 ||
    { cat "$dir/install$i.log" >&2; die "mariadb-install-db failed for node $i"; }
}

cmd_start() {
  local dir=$1 base=${2:-27000} i
  [ -f "$PROVIDER" ] || die "$PROVIDER not found: install galera-4"
  command -v socat >/dev/null || die "socat not found (the mariabackup SST needs it): install socat"
  find_prog mariabackup >/dev/null || die "mariabackup not found: install mariadb-backup"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  for i in 1 2 3; do node_running "$dir" "$i" && die "node $i already running in $dir (stop it first)"; done
  write_configs "$dir" "$base"
  local t0=$SECONDS
  install_datadir "$dir" 1
  # Node 1 bootstraps a new cluster and stops cleanly (its grastate.dat and InnoDB then agree on the
  # cluster UUID and seqno); nodes 2 and 3 start from copies of that datadir, at the same state, so
  # they join without any state transfer. That saves about 15 s per joiner on two cores (a mariabackup
  # SST of even an empty server takes that long). A node that falls behind later (start-node after a
  # kill) rejoins by IST or by a mariabackup SST as usual.
  launch_node "$dir" 1 --wsrep-new-cluster
  cmd_stop_node "$dir" 1
  for i in 2 3; do
    rm -rf "$dir/d$i"
    cp -a "$dir/d1" "$dir/d$i"
    sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 0/' "$dir/d$i/grastate.dat"
  done
  launch_node "$dir" 1 --wsrep-new-cluster
  # One joiner after the other: started together they take no less time (node 1 donates to one at a time).
  for i in 2 3; do launch_node "$dir" "$i"; done
  local size
  size=$(sql "$dir" 1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
  [ "$size" = 3 ] || die "cluster size is '$size', expected 3"
  echo "galera.sh: 3 nodes Synced in $((SECONDS - t0)) s; sockets $dir/n1.sock $dir/n2.sock $dir/n3.sock"
}

cmd_start_node() {
  local dir=$1 i=$2
  [ -f "$dir/n$i.cnf" ] || die "$dir/n$i.cnf missing: start the cluster first"
  node_running "$dir" "$i" && die "node $i is running"
  # A node killed during its SST leaves a datadir it cannot start from; an empty one forces a new SST.
  [ -d "$dir/d$i/mysql" ] || { rm -rf "$dir/d$i"; mkdir -p "$dir/d$i"; }
  launch_node "$dir" "$i"
}

cmd_stop_node() {
  local dir=$1 i=$2 pid
  pid=$(node_pid "$dir" "$i")
  [ -n "$pid" ] || return 0
  "$ADMIN" --no-defaults --socket="$dir/n$i.sock" --user=root shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then kill -9 "$pid" 2>/dev/null || true; fi
    sleep 0.1
  done
  rm -f "$dir/n$i.pid"
}

cmd_stop() {
  local dir=$1 i
  # The joiners first, the bootstrap node last: the last node stopping is safe to bootstrap from.
  for i in 3 2 1; do cmd_stop_node "$dir" "$i"; done
}

cmd_status() {
  local dir=$1 i pid
  for i in 1 2 3; do
    pid=$(node_pid "$dir" "$i")
    echo "n$i socket=$dir/n$i.sock pid=${pid:-none} state=$(node_state "$dir" "$i")"
  done
}

[ $# -ge 2 ] || die "usage: galera.sh start <dir> [base_port] | stop <dir> | status <dir> | start-node <dir> <i> | stop-node <dir> <i>"
case "$1" in
  start) cmd_start "$2" "${3:-27000}" ;;
  stop) cmd_stop "$2" ;;
  status) cmd_status "$2" ;;
  start-node) [ $# -ge 3 ] || die "start-node needs <dir> <i>"; cmd_start_node "$2" "$3" ;;
  stop-node) [ $# -ge 3 ] || die "stop-node needs <dir> <i>"; cmd_stop_node "$2" "$3" ;;
  *) die "unknown command '$1'" ;;
esac
