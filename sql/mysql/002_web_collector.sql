-- minyi schema, MySQL/MariaDB dialect, version 2: the web collector. Keep the logical schema
-- identical to sqlite/002_web_collector.sql (see there). CREATE TABLE IF NOT EXISTS: DDL commits
-- implicitly, so an interrupted migration is re-run from its start.

CREATE TABLE IF NOT EXISTS invitation_tokens (
  token_hash    CHAR(64)     NOT NULL,
  survey_id     VARCHAR(64)  NOT NULL,
  town_code     VARCHAR(9)   NOT NULL DEFAULT '',
  batch_id      VARCHAR(64)  NOT NULL,
  created_at_ms BIGINT       NOT NULL,
  PRIMARY KEY (token_hash),
  KEY invitation_tokens_by_batch (batch_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS api_keys (
  key_id        VARCHAR(64)  NOT NULL,
  key_hash      CHAR(64)     NOT NULL,
  name          VARCHAR(191) NOT NULL,
  surveys       TEXT         NOT NULL,
  created_at_ms BIGINT       NOT NULL,
  revoked_at_ms BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id),
  UNIQUE KEY api_keys_by_hash (key_hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
