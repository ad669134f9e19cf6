#!/usr/bin/env bash
# Cluster benchmark (issue 15): durable responses/s and latency through HAProxy with 1, 2 and 3
# `minyi serve` on the 3-node Galera cluster of deploy/cluster/cluster.sh (the servers write through
# HAProxy's MySQL front: one writer node), beside one server on one plain MariaDB (no Galera) and
# no echo ceiling: the layouts are compared with each other, in the same run.
# Servers are taken out with HAProxy's runtime API (disable server), not stopped. Loopback only.
# Then the lease takeover: kill -9 of the server holding live aggregation, and the time until another
# server holds it and until the index tables are written again.
#
#   bench/cluster_bench.sh [build dir] [seconds per run] [runs] [connections]   (defaults: build, 10, 3, 64)
#
# Needs wrk, haproxy, socat, galera-4, mariadb-server, mariadb-backup (./minyi.sh deps installs them but wrk).
# Prints one line per run, then the median of the runs per layout; bench/RESULTS.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECONDS_PER_RUN=${2:-10}
RUNS=${3:-3}
CONNECTIONS=${4:-64}
MINYI="$(pwd)/$BUILD/cli/minyi"
command -v wrk >/dev/null || { echo "cluster_bench.sh: install wrk (apt-get install wrk)"; exit 2; }
command -v socat >/dev/null || { echo "cluster_bench.sh: install socat"; exit 2; }
[ -x "$MINYI" ] || { echo "cluster_bench.sh: build $MINYI first"; exit 2; }

WORK=$(mktemp -d /tmp/minyi-cluster-bench-XXXXXX)
BASE=${CLUSTER_BENCH_BASE_PORT:-29000}
SINGLE_PID=""
DB_PID=""
cleanup() {
  [ -n "$SINGLE_PID" ] && kill "$SINGLE_PID" 2>/dev/null && wait "$SINGLE_PID" 2>/dev/null || true
  [ -n "$DB_PID" ] && kill "$DB_PID" 2>/dev/null && wait "$DB_PID" 2>/dev/null || true
  MINYI="$MINYI" deploy/cluster/cluster.sh stop "$WORK/cluster" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=bench/private_mariadb.sh
. bench/private_mariadb.sh

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%Y-%m-%dT%H:%MZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
# The current year in UTC+8: the period the servers accept by default (collector.open_periods empty).
export MINYI_BENCH_PERIOD=$(TZ=Asia/Shanghai date +%Y)

load() {  # load <label> <port>: one run, printed and kept for the medians
  export MINYI_BENCH_RUN="${1// /_}-$RANDOM"
  local result
  result=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 10s -s bench/web_ingest.lua \
    "http://127.0.0.1:$2/api/v1/responses" | sed -n 's/^RESULT //p')
  printf '%-34s c=%-4s %s\n' "$1" "$CONNECTIONS" "$result"
  echo "${1// /_} $result" >>"$WORK/runs"
}

# One server on one plain MariaDB (durable: flush at every commit, like the Galera nodes' default).
start_private_mariadb
SINGLE=(-D store.backend=mysql -D store.mysql.socket="$WORK/mysql.sock" -D store.mysql.user=root
        -D store.mysql.database=minyi_bench -D store.mysql.create_database=true
        -D collector.secret_file="$WORK/secret" -D paths.state_dir="$WORK" -D log.level=warn)
"$MINYI" "${SINGLE[@]}" db migrate >/dev/null
SINGLE_KEY=$("$MINYI" "${SINGLE[@]}" apikey create --name bench --survey jiangsu-safety 2>/dev/null)
"$MINYI" "${SINGLE[@]}" -D http.port=0 serve --port-file "$WORK/single.port" 2>"$WORK/single.log" &
SINGLE_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/single.port" ] && break; sleep 0.1; done
SINGLE_PORT=$(cat "$WORK/single.port")

# The cluster: 3 Galera nodes, HAProxy (MySQL and HTTP), 3 servers.
MINYI="$MINYI" deploy/cluster/cluster.sh start "$WORK/cluster" "$BASE" | tail -1
CLUSTER_KEY=$(MINYI_MYSQL_PASSWORD=minyi-cluster-demo "$MINYI" --config "$WORK/cluster/minyi.properties" \
  -D paths.state_dir="$WORK/cluster/s1" apikey create --name bench --survey jiangsu-safety 2>/dev/null)
HTTP_PORT=$((BASE + 41))
admin() { echo "$1" | socat stdio "unix:$WORK/cluster/haproxy.sock" >/dev/null; }
servers() {  # servers <n>: only s1..sn take requests
  local i
  for i in 1 2 3; do
    if [ "$i" -le "$1" ]; then admin "enable server minyi/s$i"; else admin "disable server minyi/s$i"; fi
  done
}

for _ in $(seq 1 "$RUNS"); do
  MINYI_BENCH_KEY=$SINGLE_KEY load "one server, one MariaDB" "$SINGLE_PORT"
  for n in 1 2 3; do
    servers "$n"
    MINYI_BENCH_KEY=$CLUSTER_KEY load "$n server(s), Galera via HAProxy" "$HTTP_PORT"
  done
done

# The lease takeover: kill -9 the server holding live aggregation, then time until another server shows
# itself as the holder in /api/v1/status, and until the index tables (index_results.computed_at_ms) are
# written again. Leases at their default (cluster.lease_seconds 15) and the default aggregation interval.
servers 3
holder_of() {  # prints the holder of live_aggregation as server $1 shows it
  curl -fsS "http://127.0.0.1:$((BASE + 50 + $1))/api/v1/status" 2>/dev/null |
    python3 -c 'import json,sys; print(next((l["holder"] for l in json.load(sys.stdin).get("leases", []) if l["job"] == "live_aggregation"), ""))' 2>/dev/null || true
}
newest_index() {
  mariadb --no-defaults --socket="$WORK/cluster/n2.sock" --user=root -N -B \
    -e "SELECT COALESCE(MAX(computed_at_ms), 0) FROM minyi.index_results" 2>/dev/null
}
victim=""
for i in 1 2 3; do
  h=$(holder_of "$i")
  for j in 1 2 3; do
    [ "$h" = "$(hostname)-$(cat "$WORK/cluster/s$j.pid" 2>/dev/null)" ] && victim=$j
  done
  [ -n "$victim" ] && break
done
if [ -z "$victim" ]; then
  echo "takeover: no server holds live aggregation (holder '${h:-}'); not measured"
else
  before=$(newest_index)
  t0=$(date +%s%3N)
  kill -9 "$(cat "$WORK/cluster/s$victim.pid")"
  other=$((victim % 3 + 1))
  took_lease="" took_index=""
  while [ $(($(date +%s%3N) - t0)) -lt 120000 ]; do
    now=$(($(date +%s%3N) - t0))
    if [ -z "$took_lease" ]; then
      h=$(holder_of "$other")
      [ -n "$h" ] && [ "$h" != "$(hostname)-$(cat "$WORK/cluster/s$victim.pid")" ] && took_lease=$now
    fi
    [ -z "$took_index" ] && [ "$(newest_index)" -gt "$before" ] && took_index=$now
    [ -n "$took_lease" ] && [ -n "$took_index" ] && break
    sleep 0.2
  done
  echo "takeover after kill -9 of s$victim (lease 15 s): another holder after ${took_lease:-?} ms," \
    "index tables written again after ${took_index:-?} ms"
fi

echo "medians of $RUNS runs (load after: $(cut -d' ' -f1-3 /proc/loadavg)):"
for label in $(cut -d' ' -f1 "$WORK/runs" | awk '!seen[$0]++'); do
  line=$(printf '%-34s' "${label//_/ }")
  for field in ok_per_s p50_ms p99_ms non2xx_or_errors; do
    values=$(grep "^$label " "$WORK/runs" | tr ' ' '\n' | sed -n "s/^$field=//p" | sort -g)
    n=$(echo "$values" | wc -l)
    line="$line $field=$(echo "$values" | sed -n "$(((n + 1) / 2))p")"
  done
  echo "$line"
done
