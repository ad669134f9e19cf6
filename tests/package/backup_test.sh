#!/usr/bin/env bash
# `minyi db backup` under write load and `minyi db restore` (label `backup`; README "Deploy"): serve takes
# API posts in a loop while the backup is made; the backup is restored into a fresh state directory;
# every response acknowledged (201) before the backup started is in it, PRAGMA integrity_check is ok,
# and indices recomputed from the restored database equal those recomputed from the backup file.
# Everything is written under a temporary directory (never into the checkout's var/).
#
# Usage: backup_test.sh MINYI_BINARY. Fails without curl or the sqlite3 command.
set -euo pipefail
minyi=$(realpath "$1")
for tool in curl sqlite3; do
  if ! command -v "$tool" >/dev/null 2>&1; then echo "FAIL: $tool is missing"; exit 1; fi
done

tmp=$(mktemp -d /tmp/minyi-backup-test.XXXXXX)
server=0
writer=0
writers=()
cleanup() {
  touch "$tmp/stop"
  if [ "$writer" != 0 ]; then wait "${writers[@]}" 2>/dev/null || true; fi
  if [ "$server" != 0 ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

common=(-D collector.open_periods=2025 -D collector.respondent_key_secret=backup-test-secret-0123456789
        -D web.rate_limit.per_minute=0)
live=(-D paths.state_dir="$tmp/live" "${common[@]}")
"$minyi" "${live[@]}" db migrate >/dev/null
"$minyi" "${live[@]}" demo seed --responses 2000 >/dev/null
key=$("$minyi" "${live[@]}" apikey create --name partner --survey jiangsu-safety | head -n 1)
"$minyi" "${live[@]}" -D http.port=0 -D aggregator.interval_ms=200 serve --port-file "$tmp/port" \
  >"$tmp/serve.log" 2>&1 &
server=$!
deadline=$((SECONDS + 60))
until [ -s "$tmp/port" ]; do
  [ $SECONDS -lt $deadline ] || { echo "serve did not start"; cat "$tmp/serve.log"; exit 1; }
  sleep 0.1
done
port=$(cat "$tmp/port")

# The write load: four writers, each posting one response after another; each key answered 201 is
# appended to acked once answered.
: >"$tmp/acked"
writers=()
for w in 1 2 3 4; do
  (
    i=0
    while [ ! -e "$tmp/stop" ]; do
      i=$((i + 1))
      body='{"survey":"jiangsu-safety","period":2025,"town":"320812007","idempotency_key":"bk-'$w-$i'","answers":{"security":"1","grid":"2","age_band":"60+"}}'
      code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $key" --data "$body" "http://127.0.0.1:$port/api/v1/responses" || true)
      if [ "$code" = 201 ]; then echo "bk-$w-$i" >>"$tmp/acked"; fi
    done
  ) &
  writers+=($!)
done
writer=1

wait_for_acked() {  # wait until at least $1 posts are acknowledged
  local deadline=$((SECONDS + 120))
  until [ "$(wc -l <"$tmp/acked")" -ge "$1" ]; do
    [ $SECONDS -lt $deadline ] || { echo "only $(wc -l <"$tmp/acked") posts acknowledged"; exit 1; }
    sleep 0.1
  done
}
wait_for_acked 100
cp "$tmp/acked" "$tmp/acked-before"  # acknowledged before the backup started
"$minyi" "${live[@]}" db backup --out "$tmp/backup.db" 2>"$tmp/backup.err"
cat "$tmp/backup.err"
grep -q "respondent-key secret" "$tmp/backup.err"
grep -q "SMS encryption key" "$tmp/backup.err"
before=$(wc -l <"$tmp/acked-before")
wait_for_acked $((before + 20))  # the load went on during and after the backup
touch "$tmp/stop"
wait "${writers[@]}"
writer=0
kill -TERM "$server"
wait "$server"
server=0

test "$(stat -c %a "$tmp/backup.db")" = 600
test ! -e "$tmp/backup.db-wal"
# A second backup to the same file is refused: nothing is overwritten.
if "$minyi" "${live[@]}" db backup --out "$tmp/backup.db" 2>/dev/null; then echo "backup overwrote a file"; exit 1; fi

restored=(-D paths.state_dir="$tmp/restored" "${common[@]}")
"$minyi" "${restored[@]}" db restore --from "$tmp/backup.db"
db="$tmp/restored/minyi.db"
test "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok
# Restoring over an existing database is refused.
if "$minyi" "${restored[@]}" db restore --from "$tmp/backup.db" 2>/dev/null; then echo "restore overwrote"; exit 1; fi

missing=$(sqlite3 "$db" <<SQL
CREATE TEMP TABLE acked(key TEXT);
.mode csv
.import $tmp/acked-before acked
SELECT count(*) FROM acked WHERE NOT EXISTS
  (SELECT 1 FROM responses WHERE source_ref LIKE 'api:%:' || acked.key);
SQL
)
stored=$(sqlite3 "$db" "SELECT count(*) FROM responses WHERE source_ref LIKE 'api:%'")
total=$(wc -l <"$tmp/acked")
echo "acknowledged before the backup: $before; API responses in the backup: $stored; acknowledged in all: $total"
test "$missing" = 0 || { echo "$missing acknowledged responses are missing from the restored database"; exit 1; }
test "$stored" -ge "$before"
test "$stored" -le "$total"

# Indices recomputed from the restored database and from the backup file itself are the same.
mkdir "$tmp/copy"
cp "$tmp/backup.db" "$tmp/copy/minyi.db"
"$minyi" "${restored[@]}" aggregate --survey jiangsu-safety >/dev/null
"$minyi" -D paths.state_dir="$tmp/copy" "${common[@]}" aggregate --survey jiangsu-safety >/dev/null
dump() {
  sqlite3 "$1" "SELECT survey_id, period_year, period_quarter, level, area_code, index_id, n, estimate, se, score
                FROM index_results ORDER BY 1, 2, 3, 4, 5, 6"
}
dump "$db" >"$tmp/indices-restored"
dump "$tmp/copy/minyi.db" >"$tmp/indices-backup"
test "$(wc -l <"$tmp/indices-restored")" -gt 100
cmp "$tmp/indices-restored" "$tmp/indices-backup"
grep -q "320812007" "$tmp/indices-restored"
echo "backup test passed"
