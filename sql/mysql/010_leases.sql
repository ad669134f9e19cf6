-- minyi schema, MySQL/MariaDB dialect, version 10: leases for the singleton jobs of several
-- `minyi serve` on one database (issue 15; core/lease_ports.h, sql/lease_store.cc). Keep the logical
-- schema identical to sqlite/010_leases.sql.
--
-- One row per job ever leased; the row is never deleted (a release only ends its expiry), so the
-- fencing token only grows. Times are the database's clock in ms since the epoch. IF NOT EXISTS:
-- `db migrate` creates this table before it takes the 'migrate' lease (cli/commands.cc), i.e.
-- before this migration is recorded. A primary key, as Galera requires of every table.
CREATE TABLE IF NOT EXISTS leases (
  name           VARCHAR(64)  NOT NULL,
  holder         VARCHAR(128) NOT NULL,
  fencing_token  BIGINT       NOT NULL,
  acquired_at_ms BIGINT       NOT NULL,
  renewed_at_ms  BIGINT       NOT NULL,
  expires_at_ms  BIGINT       NOT NULL,
  PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
