#!/usr/bin/env bash
# Web ingest benchmark: wrk POST load on /api/v1/responses (durable: 201 only after the group commit)
# against SQLite (FULL) and a private MariaDB, at 64 and 256 connections, beside the trivial echo
# handler (POST /bench/echo, registered only with http.bench_routes=true) of the same build in the
# same run — the ceiling of the HTTP layer on this machine. Loopback only; each run is bounded.
#
#   bench/web_ingest.sh [build dir] [seconds per run] [runs]     (defaults: build, 10, 3)
#
# Needs wrk (apt-get install wrk) and, for the MariaDB half, mariadb-server (mariadbd). Prints one
# line per run (echo and store runs alternate, so both see the same machine), then the median of the
# runs for each backend and connection count; bench/RESULTS.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECONDS_PER_RUN=${2:-10}
RUNS=${3:-3}
MINYI="$BUILD/cli/minyi"
command -v wrk >/dev/null || { echo "web_ingest.sh: install wrk (apt-get install wrk)"; exit 2; }
[ -x "$MINYI" ] || { echo "web_ingest.sh: build $MINYI first"; exit 2; }

WORK=$(mktemp -d /tmp/minyi-web-bench-XXXXXX)
SERVER_PID=""
DB_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$DB_PID" ] && kill "$DB_PID" 2>/dev/null && wait "$DB_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=bench/private_mariadb.sh
. bench/private_mariadb.sh

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%Y-%m-%dT%H:%MZ)"

serve() {  # serve <label> <global options...>: starts the server, sets PORT and MINYI_BENCH_KEY
  local label=$1; shift
  MINYI_BENCH_KEY=$("$MINYI" "$@" apikey create --name "bench $label" --survey jiangsu-safety 2>/dev/null)
  export MINYI_BENCH_KEY
  rm -f "$WORK/port"
  "$MINYI" "$@" -D http.port=0 -D http.threads=300 -D http.max_queued=1024 -D http.bench_routes=true \
    -D log.level=warn serve --port-file "$WORK/port" 2>"$WORK/serve-$label.log" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  PORT=$(cat "$WORK/port")
}

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
}

load() {  # load <label> <connections> <path>: one run, printed and kept for the medians
  export MINYI_BENCH_RUN="${1// /_}-c$2-$RANDOM"
  local result
  result=$(wrk -t2 -c"$2" -d"${SECONDS_PER_RUN}s" --timeout 10s -s bench/web_ingest.lua "http://127.0.0.1:$PORT$3" \
    | sed -n 's/^RESULT //p')
  printf '%-28s c=%-4s %s\n' "$1" "$2" "$result"
  echo "${1// /_} $2 $result" >>"$WORK/runs"
}

medians() {  # the median of each (label, connections) over the runs (the lower middle for an even count)
  echo "medians of $RUNS runs:"
  local key field values
  for key in $(cut -d' ' -f1,2 "$WORK/runs" | tr ' ' '|' | awk '!seen[$0]++'); do
    local line
    line=$(printf '%-34s c=%-4s' "${key%%|*}" "${key##*|}")
    for field in ok_per_s p50_ms p99_ms; do
      values=$(grep "^${key%%|*} ${key##*|} " "$WORK/runs" | tr ' ' '\n' | sed -n "s/^$field=//p" | sort -g)
      local n
      n=$(echo "$values" | wc -l)
      line="$line $field=$(echo "$values" | sed -n "$(((n + 1) / 2))p")"
    done
    echo "$line"
  done
}

run_backend() {  # run_backend <label> <global options...>
  local label=$1; shift
  serve "$label" "$@"
  for c in 64 256; do
    for _ in $(seq 1 "$RUNS"); do
      load "echo ceiling ($label)" "$c" /bench/echo
      load "$label responses" "$c" /api/v1/responses
    done
  done
  stop_server
  "$MINYI" "$@" db status | sed -n 's/^total */stored total: /p'
}

COMMON=(-D collector.open_periods=2025 -D collector.secret_file="$WORK/secret")
run_backend sqlite -D store.sqlite.path="$WORK/minyi.db" -D store.sqlite.synchronous=FULL "${COMMON[@]}"

if command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null; then
  start_private_mariadb
  run_backend mariadb -D store.backend=mysql -D store.mysql.socket="$WORK/mysql.sock" -D store.mysql.user=root \
    -D store.mysql.database=minyi_bench -D store.mysql.create_database=true -D store.mysql.pool_size=8 "${COMMON[@]}"
else
  echo "mariadb: skipped (install mariadb-server)"
fi

medians
