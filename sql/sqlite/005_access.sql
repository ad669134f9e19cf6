-- minyi schema, SQLite dialect, version 6: access control for the dashboards (core/access.h). Keep the
-- logical schema identical to mysql/005_access.sql. No secret is stored: passwords as Argon2id strings
-- (libsodium crypto_pwhash_str), session ids as the hex SHA-256 of 256 random bits.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT    NOT NULL UNIQUE,
  role          TEXT    NOT NULL CHECK (role IN ('admin', 'statistician', 'official', 'grid_worker')),
  password_hash TEXT    NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);

-- The areas a user is scoped to (officials, grid workers); everything below an area is included.
CREATE TABLE user_areas (
  user_id   INTEGER NOT NULL REFERENCES users (id),
  area_code TEXT    NOT NULL,
  PRIMARY KEY (user_id, area_code)
) WITHOUT ROWID;

CREATE TABLE sessions (
  id_hash        TEXT    NOT NULL PRIMARY KEY,
  user_id        INTEGER NOT NULL REFERENCES users (id),
  csrf_token     TEXT    NOT NULL,
  created_at_ms  INTEGER NOT NULL,
  expires_at_ms  INTEGER NOT NULL,
  remote_address TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);

-- Append-only: logins, failed logins, views of areas other than a user's own, exports, account changes.
CREATE TABLE audit_log (
  id             INTEGER PRIMARY KEY,
  at_ms          INTEGER NOT NULL,
  username       TEXT    NOT NULL,
  action         TEXT    NOT NULL,
  area_code      TEXT    NOT NULL,
  remote_address TEXT    NOT NULL,
  detail         TEXT    NOT NULL
);
CREATE INDEX audit_log_by_user ON audit_log (username, at_ms);
