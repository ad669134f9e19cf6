-- minyi schema, SQLite dialect, version 11: login throttling counted in the database, so that several
-- servers on one database share one count per account and per client address (issue 15; core/access.h
-- LoginThrottle). Keep the logical schema identical to mysql/011_login_attempts.sql.
--
-- One row per attempt that took a slot: in_flight 1 while its password is checked, 0 once it failed (a
-- successful attempt's row is deleted). Rows older than the window are purged.
CREATE TABLE login_attempts (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  throttle_key TEXT    NOT NULL,
  at_ms        INTEGER NOT NULL,
  in_flight    INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_key ON login_attempts (throttle_key, at_ms);
CREATE INDEX login_attempts_by_time ON login_attempts (at_ms);

-- One row per key being counted: a reservation writes it first, which serializes the reservations of
-- one key (a row lock on one server; a certification conflict between Galera nodes).
CREATE TABLE login_throttle_keys (
  throttle_key  TEXT    NOT NULL PRIMARY KEY,
  uses          INTEGER NOT NULL,
  touched_at_ms INTEGER NOT NULL
);
CREATE INDEX login_throttle_keys_by_time ON login_throttle_keys (touched_at_ms);
