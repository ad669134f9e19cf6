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
BUILD=${1:?usage: bench/faults.sh BUILD_DIR [CYCLES] [sqlite|mariadb]}
CYCLES=${2:-10}
BACKEND=${3:-sqlite}
WORKERS=${FAULTS_WORKERS:-4}
SAMPLE=${FAULTS_REPLAY_SAMPLE:-200}
HARNESS_NAME=faults
# shellcheck source=bench/serve_harness.sh
source "$(dirname "$0")/serve_harness.sh"

start_server
: >"$WORK/recovery"
for ((c = 1; c <= CYCLES; c++)); do
  WORKER_PIDS=()
  for ((w = 1; w <= WORKERS; w++)); do
    post_until_refused "f$c-w$w-" "$WORK/answers-$c-$w" &
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
  printf 'cycle %d: answered so far %d, recovery %d ms\n' "$c" "$(cat "$WORK"/answers-* 2>/dev/null | wc -l)" \
    "$(tail -n1 "$WORK/recovery")"
done

cat "$WORK"/answers-* 2>/dev/null | awk '$2 == 200 || $2 == 201 {print $1}' | sort >"$WORK/acked"
cat "$WORK"/answers-* 2>/dev/null | awk '$2 != 200 && $2 != 201 && $2 != "000"' >"$WORK/other"
ACKED=$(wc -l <"$WORK/acked")
stop_server

# Counted before the replays, which would store a lost key again.
check_acknowledged "$WORK/acked"

# Replays of a sample of the acknowledged keys, on a server restarted once more: each must answer 200.
start_server
replayed=0
replay_ok=0
while read -r key; do
  replayed=$((replayed + 1))
  status=$(post "$key")
  if [ "$status" = 200 ]; then replay_ok=$((replay_ok + 1)); else echo "replay $key: $status" >>"$WORK/other"; fi
done < <(shuf -n "$SAMPLE" "$WORK/acked")
stop_server
MEDIAN=$(median <"$WORK/recovery")
[ -s "$WORK/other" ] && { echo "other statuses (first 10):"; head -n 10 "$WORK/other"; }
echo "stored but never acknowledged (in flight at a kill): $UNACKED_STORED"
echo "FAULTS backend=$BACKEND cycles=$CYCLES acknowledged=$ACKED stored=$STORED lost=$LOST" \
  "duplicated=$DUPLICATED replays_200=$replay_ok/$replayed recovery_median_ms=$MEDIAN"
[ "$LOST" = 0 ] && [ "$DUPLICATED" = 0 ] && [ "$replay_ok" = "$replayed" ]
