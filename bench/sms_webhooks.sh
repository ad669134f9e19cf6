#!/usr/bin/env bash
# SMS webhook benchmark (issue 16): wrk POST load on /api/v1/sms/aliyun/<token> against `minyi serve` on
# SQLite (synchronous=FULL) at 64 connections, every message from a different phone with an open
# conversation (seeded: a roster of 2 x PHONES numbers and `sms invite`) answering its current question, so
# each one is authenticated, parsed, inserted into the ledger, advances its conversation and queues the next
# question, and is answered 200 only after that is durable. In the same run, alternating with it on the
# same server: the web ingest (durable POST /api/v1/responses, the store's group-commit limit on this
# machine) and the echo ceiling (http.bench_routes) at 64 connections; then the same SMS load with
# sms.group_commit=false (each message in transactions of its own, as before the group commit).
#
#   bench/sms_webhooks.sh [build dir] [seconds per run] [runs] [phones per wrk thread]
#                                                               (defaults: build, 10, 3, 30000)
#
# Every phone gets one reply per run (run r answers question r of the survey's four; runs <= 3 keeps every
# message a step of an open conversation, never the last answer, while a run stays within its phones: a
# thread wraps around after PHONES per thread); each kind of run has phones of its own. With COUNT=1
# (root: perf uprobes) one more SMS run of each kind on fresh phones counts sqlite3_step calls (SQL statements, BEGIN and COMMIT
# included) and fdatasync/fsync calls (commits under FULL) of the server, per message. Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r BUILD SECONDS_PER_RUN RUNS PER_THREAD <<<"${1:-build} ${2:-10} ${3:-3} ${4:-30000}"
MINYI="$(cd "$BUILD" && pwd)/cli/minyi"
command -v wrk >/dev/null || { echo "sms_webhooks.sh: install wrk (apt-get install wrk)"; exit 2; }
[ -x "$MINYI" ] || { echo "sms_webhooks.sh: build $MINYI first"; exit 2; }
[ "$RUNS" -le 3 ] || { echo "sms_webhooks.sh: at most 3 runs (the survey has four questions)"; exit 2; }

WORK=$(mktemp -d /tmp/minyi-sms-bench-XXXXXX)
SERVER_PID=""
trap '[ -z "$SERVER_PID" ] || { kill "$SERVER_PID"; wait "$SERVER_PID"; } 2>/dev/null; rm -rf "$WORK"' EXIT

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%Y-%m-%dT%H:%MZ)"
BASE=13800000000
PHONES=$((2 * PER_THREAD))
ONE_BASE=$((BASE + PHONES))        # the one-by-one run's phones
COUNT_BASE=$((BASE + 2 * PHONES))  # the counting runs' phones (two ranges)
STORE=(-D store.sqlite.path="$WORK/minyi.db" -D collector.open_periods=2025 -D collector.secret_file="$WORK/secret"
  -D sms.encryption_key_file="$WORK/sms.key" -D log.level=warn)

# Seeding is not measured: synchronous=NORMAL.
{
  echo "phone,town"
  awk -v b="$BASE" -v n="$((2 * PHONES + (${COUNT:-0} == 1 ? 2 * PHONES : 0)))" \
    'BEGIN { for (i = 0; i < n; i++) printf "%d,320812007\n", b + i }'
} >"$WORK/roster.csv"
started=$(date +%s)
"$MINYI" "${STORE[@]}" -D store.sqlite.synchronous=NORMAL sms roster import --survey jiangsu-safety "$WORK/roster.csv" |
  sed 's/^[^:]*: /roster: /'
"$MINYI" "${STORE[@]}" -D store.sqlite.synchronous=NORMAL sms invite --survey jiangsu-safety --period 2025 | head -1
echo "seeded in $(($(date +%s) - started)) s"
MINYI_BENCH_KEY=$("$MINYI" "${STORE[@]}" apikey create --name bench --survey jiangsu-safety 2>/dev/null)
export MINYI_BENCH_KEY

serve() {  # serve <-D options...>: starts the server on FULL, sets PORT
  rm -f "$WORK/port"
  "$MINYI" "${STORE[@]}" -D store.sqlite.synchronous=FULL -D http.port=0 -D http.threads=300 \
    -D http.max_queued=1024 -D http.bench_routes=true -D sms.aliyun.token=benchtoken "$@" \
    serve --port-file "$WORK/port" 2>>"$WORK/serve.log" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  PORT=$(cat "$WORK/port")
}

stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""; }

load() {  # load <label> <script> <path>: one run at 64 connections, printed and kept for the medians
  export MINYI_BENCH_RUN="${1// /_}-$RANDOM$RANDOM"
  local result
  result=$(wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" --timeout 10s -s "bench/$2" "http://127.0.0.1:$PORT$3" |
    sed -n 's/^RESULT //p')
  printf '%-30s %s\n' "$1" "$result"
  echo "${1// /_} $result" >>"$WORK/runs"
}

export MINYI_BENCH_PHONE_BASE=$BASE MINYI_BENCH_PER_THREAD=$PER_THREAD
serve
for _ in $(seq 1 "$RUNS"); do
  load "echo ceiling" web_ingest.lua /bench/echo
  load "web responses" web_ingest.lua /api/v1/responses
  load "sms group commit" sms_webhooks.lua /api/v1/sms/aliyun/benchtoken
done
stop_server
# Before the group commit: each message in transactions of its own, on phones of its own.
serve -D sms.group_commit=false
export MINYI_BENCH_PHONE_BASE=$ONE_BASE
load "sms one by one" sms_webhooks.lua /api/v1/sms/aliyun/benchtoken
stop_server

echo "medians of $RUNS runs (sms one by one: 1 run):"
awk '{  # the median (lower middle) of each field over the runs of each label
  if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
  for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1], ++c[$1, kv[1]]] = kv[2] + 0 }
} END {
  split("ok_per_s p50_ms p99_ms", fields, " ")
  for (j = 1; j <= k; j++) {
    line = sprintf("%-30s", order[j])
    for (f = 1; f <= 3; f++) {
      n = c[order[j], fields[f]]
      for (a = 1; a <= n; a++) s[a] = v[order[j], fields[f], a]
      for (a = 2; a <= n; a++) for (b = a; b > 1 && s[b - 1] > s[b]; b--) { t = s[b]; s[b] = s[b - 1]; s[b - 1] = t }
      line = line " " fields[f] "=" s[int((n + 1) / 2)]
    }
    print line
  }
}' "$WORK/runs"
sqlite3 "$WORK/minyi.db" "SELECT 'ledger: ' || status || ' ' || COUNT(*) FROM sms_inbound GROUP BY status;"

if [ "${COUNT:-0}" = 1 ]; then
  # Statements and fsyncs per message: uprobes on the server's libsqlite3 (perf probe, root).
  LIB=$(ldd "$MINYI" | awk '/libsqlite3/ {print $3}')
  [ -n "$LIB" ] || { echo "count: minyi does not link libsqlite3 dynamically"; exit 0; }
  perf probe -q -x "$LIB" sqlite3_step 2>/dev/null || true
  count_run() {  # count_run <label> <phone base> <-D options...>
    local label=$1 base=$2
    shift 2
    serve "$@"
    export MINYI_BENCH_PHONE_BASE=$base
    sleep 3  # past the server's start-up reads
    perf stat -x, -e probe_libsqlite3:sqlite3_step -e syscalls:sys_enter_fdatasync -e syscalls:sys_enter_fsync \
      -e syscalls:sys_enter_pwrite64 -p "$SERVER_PID" -o "$WORK/perf-$label" &
    local perf_pid=$!
    sleep 0.5
    load "count $label" sms_webhooks.lua /api/v1/sms/aliyun/benchtoken
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    stop_server
    local messages steps syncs writes
    messages=$(grep "^count_${label// /_} " "$WORK/runs" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
    steps=$(awk -F, '/sqlite3_step/ {print $1}' "$WORK/perf-$label")
    syncs=$(awk -F, '/sys_enter_(fdatasync|fsync),/ {s += $1} END {print s}' "$WORK/perf-$label")
    writes=$(awk -F, '/sys_enter_pwrite64/ {print $1}' "$WORK/perf-$label")
    awk -v l="$label" -v m="$messages" -v s="$steps" -v f="$syncs" -v w="$writes" 'BEGIN {
      printf "count %-18s messages=%d statements/message=%.2f fsyncs/message=%.3f pwrites/message=%.1f\n",
        l, m, s / m, f / m, w / m }'
  }
  count_run "group commit" "$COUNT_BASE"
  count_run "one by one" "$((COUNT_BASE + PHONES))" -D sms.group_commit=false
  perf probe -q -d probe_libsqlite3:sqlite3_step 2>/dev/null || true
fi
