-- minyi schema, MySQL/MariaDB dialect, version 6: access control for the dashboards (core/access.h).
-- Keep the logical schema identical to sqlite/005_access.sql. No secret is stored: passwords as
-- Argon2id strings (libsodium crypto_pwhash_str), session ids as the hex SHA-256 of 256 random bits.

CREATE TABLE IF NOT EXISTS users (
  id            BIGINT       NOT NULL AUTO_INCREMENT,
  username      VARCHAR(32)  NOT NULL,
  role          VARCHAR(16)  NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  disabled      TINYINT      NOT NULL DEFAULT 0,
  created_at_ms BIGINT       NOT NULL,
  updated_at_ms BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY users_by_name (username),
  CONSTRAINT users_role CHECK (role IN ('admin', 'statistician', 'official', 'grid_worker'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The areas a user is scoped to (officials, grid workers); everything below an area is included.
CREATE TABLE IF NOT EXISTS user_areas (
  user_id   BIGINT      NOT NULL,
  area_code VARCHAR(12) NOT NULL,
  PRIMARY KEY (user_id, area_code),
  CONSTRAINT user_areas_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS sessions (
  id_hash        CHAR(64)     NOT NULL,
  user_id        BIGINT       NOT NULL,
  csrf_token     VARCHAR(64)  NOT NULL,
  created_at_ms  BIGINT       NOT NULL,
  expires_at_ms  BIGINT       NOT NULL,
  remote_address VARCHAR(64)  NOT NULL,
  PRIMARY KEY (id_hash),
  KEY sessions_by_user (user_id),
  KEY sessions_by_expiry (expires_at_ms),
  CONSTRAINT sessions_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Append-only: logins, failed logins, views of areas other than a user's own, exports, account changes.
CREATE TABLE IF NOT EXISTS audit_log (
  id             BIGINT       NOT NULL AUTO_INCREMENT,
  at_ms          BIGINT       NOT NULL,
  username       VARCHAR(64)  NOT NULL,
  action         VARCHAR(32)  NOT NULL,
  area_code      VARCHAR(12)  NOT NULL,
  remote_address VARCHAR(64)  NOT NULL,
  detail         VARCHAR(512) NOT NULL,
  PRIMARY KEY (id),
  KEY audit_log_by_user (username, at_ms)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
