#!/bin/sh
# HAProxy's external check of one MariaDB Galera node (deploy/cluster/cluster.sh, conf/cluster/haproxy.cfg):
# exits 0 when the node is Synced (wsrep_local_state 4), 1 otherwise. HAProxy passes
# <proxy_address> <proxy_port> <server_address> <server_port>. The user (HAPROXY_CHECK_USER, default
# haproxy_check, with no password and no privileges: SHOW STATUS needs none) must exist on the cluster.
# A donor (state 2) is not Synced: with mariabackup SST it could serve, but a writer that is donating
# slows down every write, so a backup node takes over while it donates.
state=$(mariadb --no-defaults --connect-timeout=2 --host="$3" --port="$4" \
  --user="${HAPROXY_CHECK_USER:-haproxy_check}" -N -B \
  -e "SHOW GLOBAL STATUS LIKE 'wsrep_local_state'" 2>/dev/null | cut -f2)
[ "$state" = 4 ]
