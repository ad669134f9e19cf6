#!/usr/bin/env bash
# Faults, measured (issue 13): kill -9 of `minyi serve` at a random moment under POST load, restart on
# the same store, CYCLES times. Every response acknowledged (201, or 200 for a replay) must then be
# stored exactly once, and replaying a sample of them must answer 200.
#
#   bench/faults.sh BUILD_DIR [CYCLES] [BACKEND]      (defaults: -, 10, sqlite; BACKEND sqlite|mariadb)
#
# The load is a few parallel bash workers running curl, each posting responses with unique idempotency
# keys; a worker stops at its first failed connection (the kill). Recovery time is measured from the
# kill to the first 200 of /healthz on the restarted server. Loopback only (port 0, --port-file); the
# MariaDB backend is a private mariadbd on a socket in the temp dir (no TCP), as tests/support/
# mariadb_server.cc starts it. Every wait has a deadline; processes and the temp dir go on exit.
# Prints one summary line:
#   FAULTS backend=.. cycles=.. acknowledged=.. stored=.. lost=.. duplicated=.. replays_200=../..
#          recovery_median_ms=..
# and exits 1 when anything acknowledged is lost or duplicated or a replay does not answer 200.
set -euo pipefail
export LC_ALL=C  # one sort order for sort and join
BUILD=${1:?usage: bench/faults.sh BUILD_DIR [CYCLES] [sqlite|mariadb]}
CYCLES=${2:-10}
BACKEND=${3:-sqlite}
WORKERS=${FAULTS_WORKERS:-4}
SAMPLE=${FAULTS_REPLAY_SAMPLE:-200}
MINYI="$(cd "$BUILD" && pwd)/cli/minyi"
[ -x "$MINYI" ] || { echo "faults.sh: build $MINYI first" >&2; exit 2; }
case "$BACKEND" in sqlite | mariadb) ;; *) echo "faults.sh: BACKEND is sqlite or mariadb" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/minyi-faults-XXXXXX)
SERVER_PID=""
DB_PID=""
WORKER_PIDS=()
cleanup() {
  for p in "${WORKER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$SERVER_PID" ]; then kill -9 "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$DB_PID" ]; then
    kill "$DB_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$DB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$DB_PID" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

GLOBAL=(-D collector.open_periods=2025 -D collector.secret_file="$WORK/secret" -D log.level=warn)
if [ "$BACKEND" = sqlite ]; then
  GLOBAL+=(-D store.sqlite.path="$WORK/minyi.db" -D store.sqlite.synchronous=FULL)
else
  command -v mariadbd >/dev/null || PATH="$PATH:/usr/sbin"
  mariadb-install-db --no-defaults --datadir="$WORK/mysql" --tmpdir="$WORK" --user=root \
    --auth-root-authentication-method=normal >"$WORK/mysql-install.log" 2>&1
  mariadbd --no-defaults --datadir="$WORK/mysql" --tmpdir="$WORK" --socket="$WORK/mysql.sock" --skip-networking \
    --user=root --pid-file="$WORK/mariadbd.pid" --log-error="$WORK/mariadbd.log" \
    --innodb-flush-log-at-trx-commit=1 >/dev/null 2>&1 &
  DB_PID=$!
  up=0
  for _ in $(seq 1 150); do
    mariadb-admin --no-defaults --socket="$WORK/mysql.sock" --user=root ping >/dev/null 2>&1 && { up=1; break; }
    sleep 0.2
  done
  [ "$up" = 1 ] || { echo "faults.sh: mariadbd did not answer within 30 s" >&2; tail "$WORK/mariadbd.log" >&2; exit 2; }
  GLOBAL+=(-D store.backend=mysql -D store.mysql.socket="$WORK/mysql.sock" -D store.mysql.user=root
    -D store.mysql.database=minyi_faults -D store.mysql.create_database=true)
fi

KEY=$("$MINYI" "${GLOBAL[@]}" apikey create --name faults --survey jiangsu-safety 2>"$WORK/apikey.err") ||
  { cat "$WORK/apikey.err" >&2; exit 2; }

PORT=""
start_server() {  # starts serve, waits (30 s at most) for /healthz 200; sets SERVER_PID and PORT
  rm -f "$WORK/port"
  "$MINYI" "${GLOBAL[@]}" -D http.port=0 serve --port-file "$WORK/port" 2>>"$WORK/serve.log" &
  SERVER_PID=$!
  local deadline=$(($(now_ms) + 30000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    if [ -s "$WORK/port" ]; then
      PORT=$(cat "$WORK/port")
      [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/healthz")" = 200 ] && return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.02
  done
  echo "faults.sh: serve did not come up; log tail:" >&2
  tail "$WORK/serve.log" >&2
  exit 2
}

BODY=""
body() {  # sets BODY for an idempotency key: a function of the key, so that a replay sends the same.
  # printf -v, not $(...): a subshell per post would make the load generator the bottleneck.
  printf -v BODY '{"survey":"jiangsu-safety","period":2025,"town":"320812007","idempotency_key":"%s","answers":{"security":"%d","grid":"2","age_band":"60+"}}' \
    "$1" $((${#1} % 5 + 1))
}

post() {  # post <key>: prints the HTTP status (000 when the connection failed)
  body "$1"
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $KEY" --data-binary "$BODY" "http://127.0.0.1:$PORT/api/v1/responses" || true
}

BATCH=${FAULTS_BATCH:-50}
worker() {  # worker <cycle> <n>: posts until the first failed connection (or 20,000 posts)
  # One curl process per batch of BATCH posts on a kept-alive connection (a config file with `next`
  # between transfers, one status line each): a process per post would measure fork, not the server.
  local b i status key failed=0 cfg="$WORK/batch-$1-$2"
  for ((b = 0; b < 20000; b += BATCH)); do
    : >"$cfg"
    for ((i = b; i < b + BATCH; i++)); do
      [ "$i" = "$b" ] || echo next >>"$cfg"
      body "f$1-w$2-$i"  # it has no whitespace, so it needs no quoting in the config file
      printf 'url = "http://127.0.0.1:%s/api/v1/responses"\nrequest = "POST"\nheader = "Content-Type: application/json"\nheader = "Authorization: Bearer %s"\ndata-binary = %s\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 10\n' \
        "$PORT" "$KEY" "$BODY" >>"$cfg"
    done
    i=$b
    while read -r status; do
      key="f$1-w$2-$i"
      i=$((i + 1))
      case "$status" in
        200 | 201) echo "$key" >>"$WORK/acked-$1-$2" ;;
        000) failed=1 ;;
        *) echo "$key $status" >>"$WORK/other" ;;
      esac
    done < <(curl -s -K "$cfg" || true)
    [ "$failed" = 0 ] || return 0  # a connection failed in this batch: the kill
  done
}

start_server
: >"$WORK/recovery"
for ((c = 1; c <= CYCLES; c++)); do
  WORKER_PIDS=()
  for ((w = 1; w <= WORKERS; w++)); do
    worker "$c" "$w" &
    WORKER_PIDS+=($!)
  done
  delay=$((RANDOM % 2500 + 500))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"  # the kill lands 0.5 to 3 s into the load
  kill -9 "$SERVER_PID"
  killed=$(now_ms)
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  for p in "${WORKER_PIDS[@]}"; do wait "$p" || true; done  # each stops at its next failed connection
  WORKER_PIDS=()
  start_server
  echo $(($(now_ms) - killed)) >>"$WORK/recovery"
  printf 'cycle %d: acknowledged so far %d, recovery %d ms\n' "$c" "$(cat "$WORK"/acked-* 2>/dev/null | wc -l)" \
    "$(tail -n1 "$WORK/recovery")"
done

cat "$WORK"/acked-* 2>/dev/null | sort >"$WORK/acked"
ACKED=$(wc -l <"$WORK/acked")
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

# Counted before the replays, which would store a lost key again. The stored idempotency keys, one
# line per row: source_ref is 'api:<key id>:<idempotency key>'.
QUERY="SELECT source_ref FROM responses WHERE source_ref LIKE 'api:%'"
if [ "$BACKEND" = sqlite ]; then
  sqlite3 "$WORK/minyi.db" "$QUERY;"
else
  mariadb --no-defaults --socket="$WORK/mysql.sock" --user=root -N -B minyi_faults -e "$QUERY"
fi | sed 's/^api:[^:]*://' | sort >"$WORK/stored-rows"
uniq -c "$WORK/stored-rows" | awk '{print $2, $1}' >"$WORK/stored-counts"
# Acknowledged keys with their stored row count (0 when missing).
join -a1 -e 0 -o 0,2.2 "$WORK/acked" "$WORK/stored-counts" >"$WORK/acked-counts"
STORED=$(awk '$2 > 0' "$WORK/acked-counts" | wc -l)
LOST=$(awk '$2 == 0' "$WORK/acked-counts" | wc -l)
DUPLICATED=$(awk '$2 > 1' "$WORK/acked-counts" | wc -l)
UNACKED_STORED=$(($(wc -l <"$WORK/stored-counts") - STORED))

# Replays of a sample of the acknowledged keys, on a server restarted once more: each must answer 200.
start_server
replayed=0
replay_ok=0
while read -r key; do
  replayed=$((replayed + 1))
  status=$(post "$key")
  if [ "$status" = 200 ]; then replay_ok=$((replay_ok + 1)); else echo "replay $key: $status" >>"$WORK/other"; fi
done < <(shuf -n "$SAMPLE" "$WORK/acked")
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
MEDIAN=$(sort -n "$WORK/recovery" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
awk '$2 == 0 {print "lost: " $1} $2 > 1 {print "duplicated: " $1 " x" $2}' "$WORK/acked-counts" | head -20
[ -s "$WORK/other" ] && { echo "other statuses (first 10):"; head -n 10 "$WORK/other"; }
echo "stored but never acknowledged (in flight at a kill): $UNACKED_STORED"
echo "FAULTS backend=$BACKEND cycles=$CYCLES acknowledged=$ACKED stored=$STORED lost=$LOST" \
  "duplicated=$DUPLICATED replays_200=$replay_ok/$replayed recovery_median_ms=$MEDIAN"
[ "$LOST" = 0 ] && [ "$DUPLICATED" = 0 ] && [ "$replay_ok" = "$replayed" ]
