-- minyi schema, MySQL/MariaDB dialect, version 7: frozen annual releases (core/release_ports.h, issue 8).
-- Keep the logical schema identical to sqlite/007_releases.sql.

-- One row per release. `revision` is NULL while the release is being built (invisible to readers) and
-- set when it is frozen; a frozen row is never updated or deleted.
CREATE TABLE IF NOT EXISTS releases (
  id                 BIGINT       NOT NULL AUTO_INCREMENT,
  survey_id          VARCHAR(64)  NOT NULL,
  period_year        INT          NOT NULL,
  period_quarter     INT          NOT NULL,
  revision           INT          NULL,
  state              VARCHAR(16)  NOT NULL,
  reason             VARCHAR(255) NOT NULL,
  created_by         VARCHAR(191) NOT NULL,
  frozen_at_ms       BIGINT       NOT NULL,
  definition_version VARCHAR(191) NOT NULL,
  code_version       VARCHAR(191) NOT NULL,
  population_version VARCHAR(64)  NOT NULL,
  response_count     BIGINT       NOT NULL,
  manifest_hash      CHAR(64)     NOT NULL,
  content_hash       CHAR(64)     NOT NULL,
  id_salt            CHAR(64)     NOT NULL,
  population_text    LONGTEXT     NOT NULL,
  indices_text       LONGTEXT     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY releases_by_revision (survey_id, period_year, period_quarter, revision),
  CONSTRAINT releases_state CHECK (state IN ('building', 'frozen'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The responses a release covers, in (town, id) order, with their content hash at freezing.
CREATE TABLE IF NOT EXISTS release_responses (
  release_id   BIGINT      NOT NULL,
  town_code    VARCHAR(16) NOT NULL,
  response_id  BIGINT      NOT NULL,
  content_hash CHAR(64)    NOT NULL,
  PRIMARY KEY (release_id, town_code, response_id),
  CONSTRAINT release_responses_release FOREIGN KEY (release_id) REFERENCES releases (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
