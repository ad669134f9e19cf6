#!/usr/bin/env bash
# minyi aggregate vs R survey (bench/RESULTS.md, "Aggregation"). Usage:
#   bench/aggregate_bench.sh MINYI DB_1M [DB_10M] [TOWNS...]
# DB_1M / DB_10M: SQLite stores seeded with `minyi demo seed` (--responses 10000000 for the second).
# 1. Whole runs: `minyi aggregate` on each store, 3 runs, wall time and peak RSS (GNU time).
# 2. Same work for both: period 2025 of DB_1M restricted to the first N towns (each of TOWNS, default
#    100 and 300), post-stratification on town totals only (the sex/age margins are dropped from a
#    copy of the store), every town's share and score of both indices plus the province figures. R
#    `survey` (bench/aggregate_bench.R) times its estimation only (reading excluded); minyi is timed as
#    a whole process (reading the store and writing the rows included, and it also computes the
#    county and city roll-ups).
set -euo pipefail
MINYI=$1; DB1=$2; DB10=${3:-}; shift $(( $# >= 3 ? 3 : 2 )); TOWNS=("${@:-100 300}")
[ ${#TOWNS[@]} -eq 0 ] && TOWNS=(100 300)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
run3() {  # label db args...
  local label=$1 db=$2; shift 2
  for i in 1 2 3; do
    /usr/bin/time -f "$label run $i: wall %e s, peak RSS %M KB" "$MINYI" -D store.sqlite.path="$db" aggregate "$@" 2>&1 \
      | grep -E "time:|wall"
  done
}
echo "machine: nproc $(nproc), $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
run3 "1M" "$DB1"
[ -n "$DB10" ] && run3 "10M" "$DB10"
for n in ${TOWNS[@]}; do
  cp "$DB1" "$WORK/sub.db"
  sqlite3 "$WORK/sub.db" "
    CREATE TEMP TABLE keep AS SELECT DISTINCT town_code FROM analysis_responses
      WHERE survey_id = 'jiangsu-safety' AND period_year = 2025 ORDER BY town_code LIMIT $n;
    DELETE FROM analysis_responses WHERE period_year <> 2025 OR town_code NOT IN (SELECT town_code FROM keep);
    DELETE FROM population_cells WHERE sex <> '' OR age_band <> '';
    DELETE FROM index_results;"
  sqlite3 -header -csv "$WORK/sub.db" "SELECT s.response_id AS id, s.town_code AS town, s.weight AS weight,
      MAX(CASE WHEN a.question_code = 'security' THEN a.value END) AS security,
      MAX(CASE WHEN a.question_code = 'grid' THEN a.value END) AS grid
    FROM analysis_responses s JOIN response_answers a ON a.response_id = s.response_id AND a.ordinal = 0
    GROUP BY s.response_id ORDER BY s.town_code, s.response_id" > "$WORK/r.csv"
  sqlite3 -header -csv "$WORK/sub.db" "SELECT town_code AS town, population FROM population_cells
    WHERE period_year = 2025 AND sex = '' AND age_band = ''" > "$WORK/p.csv"
  run3 "minyi $n towns" "$WORK/sub.db" --period 2025
  Rscript "$HERE/aggregate_bench.R" "$WORK/r.csv" "$WORK/p.csv" 2>/dev/null
done
