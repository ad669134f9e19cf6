# Sourced by bench/web_ingest.sh and bench/cluster_bench.sh: start_private_mariadb starts a throwaway
# MariaDB in $WORK/mysql (socket $WORK/mysql.sock, no TCP, root without a password, a flush at every
# commit) and sets DB_PID; the caller's cleanup kills it. It waits (20 s at most) until the server answers.
start_private_mariadb() {
  mariadb-install-db --no-defaults --datadir="$WORK/mysql" --user=root --auth-root-authentication-method=normal \
    >"$WORK/mysql-install.log" 2>&1
  mariadbd --no-defaults --datadir="$WORK/mysql" --socket="$WORK/mysql.sock" --skip-networking --user=root \
    --pid-file="$WORK/mariadbd.pid" --innodb-flush-log-at-trx-commit=1 >"$WORK/mariadbd.log" 2>&1 &
  DB_PID=$!
  for _ in $(seq 1 100); do mariadb-admin --socket="$WORK/mysql.sock" ping >/dev/null 2>&1 && break; sleep 0.2; done
}
