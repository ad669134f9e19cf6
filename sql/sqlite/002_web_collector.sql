-- minyi schema, SQLite dialect, version 2: the web collector (collector/web_*, core/web_ports.h). Keep
-- the logical schema identical to mysql/002_web_collector.sql. No secret is stored: tokens and API
-- keys are kept as the hex SHA-256 of their text. One response per invitation token is enforced by
-- responses' UNIQUE (channel, source_ref) with source_ref 'token:<token_hash>'.

CREATE TABLE invitation_tokens (
  token_hash    TEXT    NOT NULL PRIMARY KEY,
  survey_id     TEXT    NOT NULL,
  town_code     TEXT    NOT NULL DEFAULT '',  -- '' = the resident chooses the town
  batch_id      TEXT    NOT NULL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX invitation_tokens_by_batch ON invitation_tokens (batch_id);

CREATE TABLE api_keys (
  key_id        TEXT    NOT NULL PRIMARY KEY,
  key_hash      TEXT    NOT NULL UNIQUE,
  name          TEXT    NOT NULL,
  surveys       TEXT    NOT NULL,  -- survey ids, comma-separated, sorted
  created_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER NOT NULL DEFAULT 0  -- 0 = active
);
