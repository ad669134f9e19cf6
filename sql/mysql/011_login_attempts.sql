-- minyi schema, MySQL/MariaDB dialect, version 11: login throttling counted in the database, so that
-- several servers on one database share one count per account and per client address (issue 15;
-- core/access.h LoginThrottle). Keep the logical schema identical to sqlite/011_login_attempts.sql.
--
-- One row per attempt that took a slot: in_flight 1 while its password is checked, 0 once it failed (a
-- successful attempt's row is deleted). Rows older than the window are purged.
CREATE TABLE IF NOT EXISTS login_attempts (
  id           BIGINT       NOT NULL AUTO_INCREMENT,
  throttle_key VARCHAR(191) NOT NULL,
  at_ms        BIGINT       NOT NULL,
  in_flight    TINYINT      NOT NULL,
  PRIMARY KEY (id),
  KEY login_attempts_by_key (throttle_key, at_ms),
  KEY login_attempts_by_time (at_ms)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per key being counted: a reservation writes it first, which serializes the reservations of
-- one key (a row lock on one server; a certification conflict between Galera nodes).
CREATE TABLE IF NOT EXISTS login_throttle_keys (
  throttle_key  VARCHAR(191) NOT NULL,
  uses          BIGINT       NOT NULL,
  touched_at_ms BIGINT       NOT NULL,
  PRIMARY KEY (throttle_key),
  KEY login_throttle_keys_by_time (touched_at_ms)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
