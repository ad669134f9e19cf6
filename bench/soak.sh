#!/usr/bin/env bash
# Soak (issue 13): steady POST load on `minyi serve` for SECONDS (default 600), with the server's resident
# memory (VmRSS, and its anonymous part RssAnon: heap, not mapped files), open file descriptors and
# threads sampled every 10 s from /proc, /healthz timed and the store's size on disk (du) at each sample. The load is WORKERS bash workers (default 2), each posting batches of 50 new idempotency
# keys plus 5 replays of keys it posted before (which must answer 200) on one kept-alive curl connection,
# then pausing SOAK_PAUSE seconds (default 0.1): a steady, modest load that leaves the shared machine's
# cores to others. At the end every acknowledged key is counted in the store (lost, duplicated).
#
#   bench/soak.sh BUILD_DIR [SECONDS] [sqlite|mariadb]
#
# Prints the samples (elapsed_s rss_kb fds threads healthz_ms rss_anon_kb store_kb), then one line:
#   SOAK backend=.. seconds=.. requests=.. per_s=.. statuses=201:..,200:..,.. errors=.. rss_kb=start/end/max
#        rss_anon_kb=.. fds=start/end/max threads=start/end/max healthz_ms_max=.. store_kb=start/end/max
#        acknowledged=.. lost=.. duplicated=..
# and exits 1 when anything acknowledged is lost or duplicated, or a request was not answered 201/200.
BUILD=${1:?usage: bench/soak.sh BUILD_DIR [SECONDS] [sqlite|mariadb]}
DURATION=${2:-600}
BACKEND=${3:-sqlite}
WORKERS=${SOAK_WORKERS:-2}
PAUSE=${SOAK_PAUSE:-0.1}
HARNESS_NAME=soak
# shellcheck source=bench/serve_harness.sh
source "$(dirname "$0")/serve_harness.sh"

worker() {  # worker <n>: batches until $WORK/stop exists
  local b=0 i keys replays status k cfg="$WORK/batch-$1"
  while [ ! -e "$WORK/stop" ]; do
    keys=()
    for ((i = 0; i < 50; i++)); do keys+=("s-w$1-$((b * 50 + i))"); done
    replays=()
    if [ "$b" -gt 0 ]; then
      for ((i = 0; i < 5; i++)); do replays+=("s-w$1-$(((b - 1) * 50 + i * 10))"); done
    fi
    batch_config "$cfg" "${keys[@]}" "${replays[@]}"
    i=0
    while read -r status; do
      if [ "$i" -lt 50 ]; then
        k=${keys[$i]}
        [ "$status" = 201 ] || [ "$status" = 200 ] && echo "$k" >>"$WORK/acked-$1"
      else
        k="replay:${replays[$((i - 50))]}"
        # A replay of an acknowledged key answers 200; of a refused one, 201 is fine too.
      fi
      echo "$status" >>"$WORK/statuses-$1"
      [ "$status" = 201 ] || [ "$status" = 200 ] || echo "$k $status" >>"$WORK/other"
      i=$((i + 1))
    done < <(curl -s -K "$cfg" || true)
    b=$((b + 1))
    sleep "$PAUSE"
  done
}

sample() {  # one line: elapsed_s rss_kb fds threads healthz_ms rss_anon_kb store_kb
  local rss anon fds threads t0 ms store
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
  anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$SERVER_PID/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$SERVER_PID/status")
  fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  t0=$(now_ms)
  curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/healthz" || true
  ms=$(($(now_ms) - t0))
  if [ "$BACKEND" = sqlite ]; then store=$(du -ck "$WORK"/minyi.db* | tail -n1); else store=$(du -sk "$WORK/mysql"); fi
  store=${store%%[[:space:]]*}
  echo "$((($(now_ms) - START) / 1000)) $rss $fds $threads $ms $anon $store"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%Y-%m-%dT%H:%MZ);" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_server
: >"$WORK/other"
START=$(now_ms)
echo "elapsed_s rss_kb fds threads healthz_ms rss_anon_kb store_kb"
sample | tee "$WORK/samples"
for ((w = 1; w <= WORKERS; w++)); do
  worker "$w" &
  WORKER_PIDS+=($!)
done
while [ $(($(now_ms) - START)) -lt $((DURATION * 1000)) ]; do
  sleep 10
  sample | tee -a "$WORK/samples"
done
touch "$WORK/stop"
for p in "${WORKER_PIDS[@]}"; do wait "$p" || true; done
WORKER_PIDS=()
ELAPSED_MS=$(($(now_ms) - START))
sample | tee -a "$WORK/samples"
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
stop_server

cat "$WORK"/acked-* 2>/dev/null | sort >"$WORK/acked"
ACKED=$(wc -l <"$WORK/acked")
check_acknowledged "$WORK/acked"
REQUESTS=$(cat "$WORK"/statuses-* | wc -l)
STATUSES=$(cat "$WORK"/statuses-* | sort | uniq -c | awk '{printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1}')
ERRORS=$(wc -l <"$WORK/other")
if [ "$ERRORS" -gt 0 ]; then echo "not 201/200 (first 10):"; head -n 10 "$WORK/other"; fi
triple() {  # triple <column>: start/end/max of a sample column
  awk -v c="$1" '{v = $c; if (NR == 1) s = v; e = v; if (v > m) m = v} END {print s "/" e "/" m}' "$WORK/samples"
}
echo "SOAK backend=$BACKEND seconds=$((ELAPSED_MS / 1000)) requests=$REQUESTS per_s=$((REQUESTS * 1000 / ELAPSED_MS))" \
  "statuses=$STATUSES errors=$ERRORS rss_kb=$(triple 2) rss_anon_kb=$(triple 6) fds=$(triple 3) threads=$(triple 4)" \
  "healthz_ms_max=$(awk '$5 > m {m = $5} END {print m}' "$WORK/samples")" \
  "store_kb=$(triple 7) acknowledged=$ACKED lost=$LOST duplicated=$DUPLICATED"
[ "$LOST" = 0 ] && [ "$DUPLICATED" = 0 ] && [ "$ERRORS" = 0 ]
