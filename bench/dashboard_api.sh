#!/usr/bin/env bash
# Dashboard API benchmark: wrk GET load on /api/v1/indices and /api/v1/trend (a county official's
# overview and trend, through the full guard: session cookie, role, scope) against `minyi serve` on
# the 1M-response demo data (SQLite file). Loopback only; each run is bounded.
#
#   bench/dashboard_api.sh [build dir] [seconds per run] [runs] [connections] [db dir]
#     defaults: build, 15, 3, 200, a temporary directory (seeded: ~1 min; pass a directory to reuse it)
#
# Needs wrk and curl. Prints one line per run (requests/s and latency percentiles from wrk --latency);
# bench/RESULTS.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECONDS_PER_RUN=${2:-15}
RUNS=${3:-3}
CONNECTIONS=${4:-200}
MINYI="$BUILD/cli/minyi"
command -v wrk >/dev/null || { echo "dashboard_api.sh: install wrk (apt-get install wrk)"; exit 2; }
command -v curl >/dev/null || { echo "dashboard_api.sh: install curl"; exit 2; }
[ -x "$MINYI" ] || { echo "dashboard_api.sh: build $MINYI first"; exit 2; }

WORK=$(mktemp -d /tmp/minyi-dash-bench-XXXXXX)
DB_DIR=${5:-$WORK}
mkdir -p "$DB_DIR"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
G=(-D store.sqlite.path="$DB_DIR/minyi.db" -D collector.secret_file="$DB_DIR/secret" -D log.level=warn)
if [ ! -s "$DB_DIR/seeded" ]; then
  "$MINYI" "${G[@]}" demo seed >/dev/null
  "$MINYI" "${G[@]}" aggregate >/dev/null
  printf 'pw-for-the-bench-official\n' | "$MINYI" "${G[@]}" user add bench-county --role official --area 320812 \
    --password-stdin >/dev/null
  echo yes >"$DB_DIR/seeded"
fi

"$MINYI" "${G[@]}" -D http.port=0 -D aggregator.interval_ms=0 "${@:6}" serve --port-file "$WORK/port" \
  2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
COOKIE=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
  -d '{"username":"bench-county","password":"pw-for-the-bench-official"}' "http://127.0.0.1:$PORT/api/v1/login" |
  sed -n 's/^Set-Cookie: \(minyi_session=[^;]*\).*/\1/p')
[ -n "$COOKIE" ] || { echo "login failed"; cat "$WORK/serve.log"; exit 1; }
# Warm up (the first request loads the index snapshot).
curl -s -o /dev/null -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/api/v1/indices?area=320812"

for path in "/api/v1/indices?area=320812" "/api/v1/trend?area=320812"; do
  for run in $(seq 1 "$RUNS"); do
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 5s --latency -H "Cookie: $COOKIE" \
      "http://127.0.0.1:$PORT$path")
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
    p50=$(echo "$out" | awk '$1=="50%"{print $2}')
    p90=$(echo "$out" | awk '$1=="90%"{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    errors=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
    printf 'RESULT %-30s run %s c=%s  %10s req/s  p50 %8s  p90 %8s  p99 %8s  non-2xx %s\n' "$path" "$run" \
      "$CONNECTIONS" "$rps" "$p50" "$p90" "$p99" "${errors:-0}"
  done
done
