#!/usr/bin/env bash
# Microdata export benchmark (bench/RESULTS.md, "Exports"). Usage:
#   bench/export_bench.sh MINYI DB [RUNS] [FORMATS] [LIMITS]
# DB: a SQLite store seeded with `minyi demo seed --responses N` (7 periods, 2019-2025).
# FORMATS: default "csv sav".
# LIMITS: the build's bench/microdata_limits_bench; when given, it runs RUNS times after the exports (the
# store's scan alone over every period, the store's measure of a .sav alone (count and text answers), then
# ReadStat alone writing as many rows of the same shape), and
# the all-period exports' medians are printed as a fraction of those two limits as well.
# For each format: exports every period (`--period all`) and one period (2025) RUNS times (default 3),
# printing wall time, rows/s, CPU time (user + sys) and peak RSS (GNU time) of each run and their medians. Flat memory shows as
# the same peak RSS for one period and for all seven.
# The limit measured in the same run: right after each export, `cat FILE FILE FILE FILE FILE > /dev/null` reads the exported
# file from the page cache (five times over, the time divided by five); its rate, in the file's own rows per second, is what merely reading those
# bytes costs. Each export's rate is printed as a fraction of that limit.
set -euo pipefail
MINYI=$1; DB=$2; RUNS=${3:-3}; FORMATS=${4:-"csv sav"}; LIMITS=${5:-}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
echo "machine: nproc $(nproc), $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(date -u +%FT%TZ)"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for fmt in $FORMATS; do
  for period in all 2025; do
    : > "$WORK/runs"
    for i in $(seq 1 "$RUNS"); do
      load=$(cut -d' ' -f1 /proc/loadavg)
      /usr/bin/time -o "$WORK/time" -f "%e %M %U %S" \
        "$MINYI" -D store.sqlite.path="$DB" -D log.level=warn export microdata --period "$period" --format "$fmt" \
        --out "$WORK/m.$fmt" --no-codebook > "$WORK/out" 2>&1
      read -r wall rss user sys < "$WORK/time"; cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')
      rows=$(grep -o 'wrote [0-9]*' "$WORK/out" | cut -d' ' -f2)
      bytes=$(stat -c %s "$WORK/m.$fmt")
      f="$WORK/m.$fmt"; start=$(date +%s.%N); cat "$f" "$f" "$f" "$f" "$f" > /dev/null; end=$(date +%s.%N)
      end=$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.9f", s + (e - s) / 5}')
      awk -v f="$fmt" -v p="$period" -v i="$i" -v w="$wall" -v r="$rows" -v b="$bytes" -v s="$start" -v e="$end" \
        -v m="$rss" -v l="$load" -v c="$cpu" 'BEGIN {
          cat_rows = r / (e - s); rate = r / w;
          printf "microdata %s period=%s run %d: %d rows in %.2f s = %.0f rows/s, CPU %.2f s; cat %.0f MB/s = %.0f rows/s; export/cat %.1f%%; peak RSS %.1f MB; file %.1f MB; load %s\n",
            f, p, i, r, w, rate, c, b / 1e6 / (e - s), cat_rows, 100 * rate / cat_rows, m / 1024, b / 1e6, l }'
      printf '%s %s %s %s %s %s\n' "$wall" "$rows" "$rss" "$bytes" "$(awk -v s="$start" -v e="$end" 'BEGIN {print e - s}')" "$cpu" >> "$WORK/runs"
    done
    w=$(cut -d' ' -f1 "$WORK/runs" | median); c=$(cut -d' ' -f5 "$WORK/runs" | median)
    r=$(head -1 "$WORK/runs" | cut -d' ' -f2); m=$(cut -d' ' -f3 "$WORK/runs" | median); b=$(head -1 "$WORK/runs" | cut -d' ' -f4); u=$(cut -d' ' -f6 "$WORK/runs" | median)
    [ "$period" = all ] && awk -v w="$w" -v r="$r" 'BEGIN {printf "%.0f", r / w}' > "$WORK/all.$fmt"
    awk -v f="$fmt" -v p="$period" -v n="$RUNS" -v w="$w" -v c="$c" -v r="$r" -v m="$m" -v b="$b" -v u="$u" 'BEGIN {
      printf "median of %d, %s period=%s: %.2f s, %.0f rows/s, CPU %.2f s (%.0f rows per CPU-second); cat %.0f MB/s (%.0f rows/s): export/cat %.1f%%; peak RSS %.1f MB; file %.1f MB\n",
        n, f, p, w, r / w, u, r / u, b / 1e6 / c, r / c, 100 * (r / w) / (r / c), m / 1024, b / 1e6 }'
  done
done
if [ -n "$LIMITS" ]; then
  "$LIMITS" "$DB" jiangsu-safety "$WORK/limit.sav" "$RUNS" | tee "$WORK/limits"
  read -r scan_rate sav_rate measure_rate < <(grep '^median' "$WORK/limits" | grep -o '= [0-9]* rows/s' | cut -d' ' -f2 | paste -sd' ')
  for fmt in $FORMATS; do
    [ -f "$WORK/all.$fmt" ] || continue
    rate=$(cat "$WORK/all.$fmt")
    awk -v f="$fmt" -v r="$rate" -v s="$scan_rate" -v v="$sav_rate" -v m="$measure_rate" 'BEGIN {
      printf "limits, %s period=all: export %.0f rows/s = %.1f%% of the scan alone (%.0f rows/s)", f, r, 100 * r / s, s
      if (f == "sav") printf "; %.1f%% of ReadStat alone (%.0f rows/s); the measure (%.0f rows/s), one scan and ReadStat in sequence: %.0f rows/s (export %.1f%% of that)", 100 * r / v, v, m, 1 / (1 / m + 1 / s + 1 / v), 100 * r * (1 / m + 1 / s + 1 / v)
      printf "\n" }'
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
