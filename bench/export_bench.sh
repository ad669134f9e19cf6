#!/usr/bin/env bash
# Microdata export benchmark (bench/RESULTS.md, "Exports"). Usage:
#   bench/export_bench.sh MINYI DB [RUNS]
# DB: a SQLite store seeded with `minyi demo seed --responses 10000000` (7 periods, 2019-2025).
# For each format (csv, sav): exports every period (`--period all`, all 10M responses) and one period
# (2025) RUNS times (default 3), printing wall time and peak RSS (GNU time). Flat memory shows as the
# same peak RSS for one period and for all seven.
set -euo pipefail
MINYI=$1; DB=$2; RUNS=${3:-3}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
echo "machine: nproc $(nproc), $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for fmt in csv sav; do
  for period in all 2025; do
    for i in $(seq 1 "$RUNS"); do
      /usr/bin/time -f "microdata $fmt period=$period run $i: wall %e s, peak RSS %M KB" \
        "$MINYI" -D store.sqlite.path="$DB" -D log.level=warn export microdata --period "$period" --format "$fmt" \
        --out "$WORK/m.$fmt" --no-codebook 2>&1 | grep -E "wrote|wall"
      ls -l "$WORK/m.$fmt" | awk '{print "  file bytes: " $5}'
    done
  done
done
