#!/usr/bin/env bash
# SIGTERM drain under load (issue 13): `minyi serve` gets SIGTERM at a random moment (0.5 to 3 s) while
# WORKERS curl workers post (batches of 50 on a kept-alive connection, every post a unique idempotency
# key), CYCLES times on the same store. Each cycle measures the drain: SIGTERM to the process's exit,
# which must be 0 and within http.drain_timeout_s. A worker stops at its first post without an answer
# (the listener is closed: refused). Then every key answered 201/200 must be stored exactly once, and
# no key without an answer may be stored: a request the server committed was answered, never cut.
#
#   bench/drain.sh BUILD_DIR [CYCLES] [sqlite|mariadb]      (defaults: -, 10, sqlite)
#
# Prints one line per cycle, then:
#   DRAIN backend=.. cycles=.. acknowledged=.. refused_503=.. unanswered=.. lost=.. duplicated=..
#         stored_unanswered=.. drain_ms_median=.. drain_ms_max=.. drain_timeout_s=..
# and exits 1 on a loss, a duplicate, a stored post without its answer, an exit code other than 0 or a
# drain longer than http.drain_timeout_s and the one second Drain grants the connections it cut then.
BUILD=${1:?usage: bench/drain.sh BUILD_DIR [CYCLES] [sqlite|mariadb]}
CYCLES=${2:-10}
BACKEND=${3:-sqlite}
WORKERS=${DRAIN_WORKERS:-4}
DRAIN_TIMEOUT_S=${DRAIN_TIMEOUT_S:-10}
HARNESS_NAME=drain
# shellcheck source=bench/serve_harness.sh
source "$(dirname "$0")/serve_harness.sh"

: >"$WORK/drain"
BAD_EXITS=0
for ((c = 1; c <= CYCLES; c++)); do
  start_server -D http.drain_timeout_s="$DRAIN_TIMEOUT_S"
  WORKER_PIDS=()
  for ((w = 1; w <= WORKERS; w++)); do
    post_until_refused "d$c-w$w-" "$WORK/answers-$c-$w" &
    WORKER_PIDS+=($!)
  done
  delay=$((RANDOM % 2500 + 500))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  kill -TERM "$SERVER_PID"
  signalled=$(now_ms)
  code=0
  wait "$SERVER_PID" || code=$?
  echo $(($(now_ms) - signalled)) >>"$WORK/drain"
  SERVER_PID=""
  [ "$code" = 0 ] || BAD_EXITS=$((BAD_EXITS + 1))
  for p in "${WORKER_PIDS[@]}"; do wait "$p" || true; done
  WORKER_PIDS=()
  printf 'cycle %d: exit %d after %d ms; answered so far %d\n' "$c" "$code" "$(tail -n1 "$WORK/drain")" \
    "$(cat "$WORK"/answers-* | wc -l)"
done

cat "$WORK"/answers-* >"$WORK/answers"
awk '$2 == 200 || $2 == 201 {print $1}' "$WORK/answers" | sort >"$WORK/acked"
awk '$2 == 503 {print $1}' "$WORK/answers" >"$WORK/refused"
awk '$2 == "000" {print $1}' "$WORK/answers" >"$WORK/unanswered"  # in flight when the listener closed
awk '$2 != 200 && $2 != 201 && $2 != 503 && $2 != "000"' "$WORK/answers" >"$WORK/other"
check_acknowledged "$WORK/acked"
# A key without an answer that is stored: committed, then cut off from its client.
STORED_UNANSWERED=$(sort "$WORK/unanswered" | join - <(cut -d' ' -f1 "$WORK/stored-counts") | wc -l)
MEDIAN=$(median <"$WORK/drain")
MAX=$(sort -n "$WORK/drain" | tail -n1)
[ -s "$WORK/other" ] && { echo "other statuses (first 10):"; head -n 10 "$WORK/other"; }
echo "DRAIN backend=$BACKEND cycles=$CYCLES acknowledged=$(wc -l <"$WORK/acked") refused_503=$(wc -l <"$WORK/refused")" \
  "unanswered=$(wc -l <"$WORK/unanswered") lost=$LOST duplicated=$DUPLICATED stored_unanswered=$STORED_UNANSWERED" \
  "bad_exits=$BAD_EXITS drain_ms_median=$MEDIAN drain_ms_max=$MAX drain_timeout_s=$DRAIN_TIMEOUT_S"
[ "$LOST" = 0 ] && [ "$DUPLICATED" = 0 ] && [ "$STORED_UNANSWERED" = 0 ] && [ "$BAD_EXITS" = 0 ] &&
  [ "$MAX" -le $((DRAIN_TIMEOUT_S * 1000 + 1000)) ]
