-- minyi schema, MySQL/MariaDB dialect, version 1. Keep the logical schema identical to
-- sqlite/001_initial.sql. InnoDB, utf8mb4 throughout. Collation utf8mb4_bin everywhere: every column
-- holds either a code / identifier that must compare exactly (as SQLite's BINARY collation does) or
-- free text that is never compared, so the two backends agree on equality and order.
-- CREATE TABLE IF NOT EXISTS: MySQL commits DDL implicitly, so a migration interrupted half-way is
-- re-run from its start.

CREATE TABLE IF NOT EXISTS meta (
  `key`   VARCHAR(191) NOT NULL,
  `value` MEDIUMTEXT   NOT NULL,
  PRIMARY KEY (`key`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Normalized responses, append-only.
CREATE TABLE IF NOT EXISTS responses (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  survey_id       VARCHAR(64)  NOT NULL,
  period_year     SMALLINT     NOT NULL,
  period_quarter  TINYINT      NOT NULL,  -- 0 = annual
  town_code       CHAR(9)      NOT NULL,
  channel         VARCHAR(16)  NOT NULL,
  respondent_key  VARCHAR(191) NOT NULL,
  weight          DOUBLE       NOT NULL,
  completion      VARCHAR(16)  NOT NULL,
  submitted_at_ms BIGINT       NOT NULL,
  received_at_ms  BIGINT       NOT NULL,
  source_ref      VARCHAR(191) NOT NULL,
  content_hash    CHAR(64)     NOT NULL,
  raw_payload     MEDIUMTEXT   NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY responses_channel_source_ref (channel, source_ref),
  KEY responses_by_survey_period_town (survey_id, period_year, period_quarter, town_code),
  CONSTRAINT responses_quarter CHECK (period_quarter BETWEEN 0 AND 4),
  CONSTRAINT responses_channel CHECK (channel IN ('web', 'sms', 'wechat', 'import')),
  CONSTRAINT responses_completion CHECK (completion IN ('complete', 'partial'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per answer value; a multi-choice answer has one row per chosen option, in order.
CREATE TABLE IF NOT EXISTS response_answers (
  response_id   BIGINT      NOT NULL,
  question_code VARCHAR(64) NOT NULL,
  ordinal       INT         NOT NULL,
  value         TEXT        NOT NULL,
  PRIMARY KEY (response_id, question_code, ordinal),
  CONSTRAINT response_answers_response FOREIGN KEY (response_id) REFERENCES responses (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Population margins; '' in sex / age_band means "all".
CREATE TABLE IF NOT EXISTS population_cells (
  period_year SMALLINT    NOT NULL,
  town_code   CHAR(9)     NOT NULL,
  sex         VARCHAR(16) NOT NULL DEFAULT '',
  age_band    VARCHAR(16) NOT NULL DEFAULT '',
  population  DOUBLE      NOT NULL,
  PRIMARY KEY (period_year, town_code, sex, age_band)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Computed indices (core/ports.h IndexRow); undefined doubles are NULL.
CREATE TABLE IF NOT EXISTS index_results (
  survey_id          VARCHAR(64)  NOT NULL,
  period_year        SMALLINT     NOT NULL,
  period_quarter     TINYINT      NOT NULL,
  level              VARCHAR(16)  NOT NULL,
  area_code          VARCHAR(16)  NOT NULL,
  index_id           VARCHAR(64)  NOT NULL,
  n                  BIGINT       NOT NULL,
  n_eff              DOUBLE       NULL,
  sum_w              DOUBLE       NULL,
  estimate           DOUBLE       NULL,
  se                 DOUBLE       NULL,
  ci_low             DOUBLE       NULL,
  ci_high            DOUBLE       NULL,
  ci_method          VARCHAR(32)  NOT NULL,
  score              DOUBLE       NULL,
  score_se           DOUBLE       NULL,
  score_ci_low       DOUBLE       NULL,
  score_ci_high      DOUBLE       NULL,
  deff               DOUBLE       NULL,
  low_n              TINYINT      NOT NULL,
  weighting          VARCHAR(32)  NOT NULL,
  change_value       DOUBLE       NULL,
  change_se          DOUBLE       NULL,
  change_significant TINYINT      NOT NULL,
  definition_version VARCHAR(191) NOT NULL,
  population_version VARCHAR(64)  NOT NULL,
  response_count     BIGINT       NOT NULL,
  response_hash      VARCHAR(128) NOT NULL,
  code_version       VARCHAR(191) NOT NULL,
  computed_at_ms     BIGINT       NOT NULL,
  PRIMARY KEY (survey_id, period_year, period_quarter, level, area_code, index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
