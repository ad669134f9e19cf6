# Sourced by the scripts that drive a real `minyi serve` under POST load (faults.sh, drain.sh, soak.sh):
# a temp dir, a store (SQLite file or a private MariaDB on a socket in the temp dir, as tests/support/
# mariadb_server.cc starts it), an API key, the server on port 0 (--port-file), request bodies, and a
# clean-up trap for every process started here. Loopback only; every wait has a deadline.
#
# Before sourcing: BUILD (the build directory) and BACKEND (sqlite|mariadb); HARNESS_NAME for messages.
# After: MINYI, WORK, GLOBAL (the -D options of the store), KEY (an API key), and the functions below.
set -euo pipefail
export LC_ALL=C  # one sort order for sort and join
HARNESS_NAME=${HARNESS_NAME:-harness}
MINYI="$(cd "$BUILD" && pwd)/cli/minyi"
[ -x "$MINYI" ] || { echo "$HARNESS_NAME: build $MINYI first" >&2; exit 2; }
case "$BACKEND" in sqlite | mariadb) ;; *) echo "$HARNESS_NAME: BACKEND is sqlite or mariadb" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/minyi-$HARNESS_NAME-XXXXXX)
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
  [ "$up" = 1 ] || { echo "$HARNESS_NAME: mariadbd did not answer within 30 s" >&2; tail "$WORK/mariadbd.log" >&2; exit 2; }
  GLOBAL+=(-D store.backend=mysql -D store.mysql.socket="$WORK/mysql.sock" -D store.mysql.user=root
    -D store.mysql.database=minyi_faults -D store.mysql.create_database=true)
fi

KEY=$("$MINYI" "${GLOBAL[@]}" apikey create --name "$HARNESS_NAME" --survey jiangsu-safety 2>"$WORK/apikey.err") ||
  { cat "$WORK/apikey.err" >&2; exit 2; }

PORT=""
start_server() {  # start_server [-D k=v ...]: starts serve, waits (30 s at most) for /healthz 200; sets SERVER_PID, PORT
  rm -f "$WORK/port"
  "$MINYI" "${GLOBAL[@]}" "$@" -D http.port=0 serve --port-file "$WORK/port" 2>>"$WORK/serve.log" &
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
  echo "$HARNESS_NAME: serve did not come up; log tail:" >&2
  tail "$WORK/serve.log" >&2
  exit 2
}

stop_server() {  # SIGTERM, then wait for the exit
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
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

batch_config() {  # batch_config <file> <key>...: a curl config posting each key in turn on one kept-alive
  # connection (`next` between transfers), one status line each: a process per post would measure fork.
  local cfg=$1 first=1 k
  shift
  : >"$cfg"
  for k in "$@"; do
    [ "$first" = 1 ] || echo next >>"$cfg"
    first=0
    body "$k"  # it has no whitespace, so it needs no quoting in the config file
    printf 'url = "http://127.0.0.1:%s/api/v1/responses"\nrequest = "POST"\nheader = "Content-Type: application/json"\nheader = "Authorization: Bearer %s"\ndata-binary = %s\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 10\n' \
      "$PORT" "$KEY" "$BODY" >>"$cfg"
  done
}

# post_until_refused <key prefix> <out file>: posts keys <prefix>0, <prefix>1, ... in batches of 50
# (batch_config) until a post gets no answer (the server was killed or stopped; the rest of that batch is
# refused and not recorded) or 20,000 posts; appends "<key> <status>" for each answered post and
# "<key> 000" for the first one without an answer.
post_until_refused() {
  local b i status key failed=0 keys cfg="$WORK/batch-${2##*/}"
  for ((b = 0; b < 20000; b += 50)); do
    keys=()
    for ((i = b; i < b + 50; i++)); do keys+=("$1$i"); done
    batch_config "$cfg" "${keys[@]}"
    i=$b
    while read -r status; do
      key="$1$i"
      i=$((i + 1))
      if [ "$status" != 000 ]; then
        echo "$key $status" >>"$2"
      elif [ "$failed" = 0 ]; then
        echo "$key 000" >>"$2"
        failed=1
      fi
    done < <(curl -s -K "$cfg" || true)
    [ "$failed" = 0 ] || return 0
  done
}

# Stored idempotency keys, one line per row (source_ref is 'api:<key id>:<idempotency key>'), sorted.
stored_keys() {
  local query="SELECT source_ref FROM responses WHERE source_ref LIKE 'api:%'"
  if [ "$BACKEND" = sqlite ]; then
    sqlite3 "$WORK/minyi.db" "$query;"
  else
    mariadb --no-defaults --socket="$WORK/mysql.sock" --user=root -N -B minyi_faults -e "$query"
  fi | sed 's/^api:[^:]*://' | sort
}

# check_acknowledged <acked file>: sets STORED, LOST, DUPLICATED, UNACKED_STORED from the store
# (acked: one key a line, sorted); writes $WORK/acked-counts (key, rows).
check_acknowledged() {
  stored_keys >"$WORK/stored-rows"
  uniq -c "$WORK/stored-rows" | awk '{print $2, $1}' >"$WORK/stored-counts"
  join -a1 -e 0 -o 0,2.2 "$1" "$WORK/stored-counts" >"$WORK/acked-counts"
  STORED=$(awk '$2 > 0' "$WORK/acked-counts" | wc -l)
  LOST=$(awk '$2 == 0' "$WORK/acked-counts" | wc -l)
  DUPLICATED=$(awk '$2 > 1' "$WORK/acked-counts" | wc -l)
  UNACKED_STORED=$(($(wc -l <"$WORK/stored-counts") - STORED))
  awk '$2 == 0 {print "lost: " $1} $2 > 1 {print "duplicated: " $1 " x" $2}' "$WORK/acked-counts" | head -20
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
