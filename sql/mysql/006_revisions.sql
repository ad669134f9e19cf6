-- minyi schema, MySQL/MariaDB dialect, version 6: the revision log of revisable responses
-- (core/revisions.h). Keep the logical schema identical to sqlite/006_revisions.sql, which explains
-- the table. InnoDB never hands out an AUTO_INCREMENT id twice (MariaDB ≥ 10.2.4 persists the
-- counter), which RevisionActivitySince relies on.
CREATE TABLE IF NOT EXISTS response_revisions (
  id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  channel         VARCHAR(16)  NOT NULL,
  source_ref      VARCHAR(191) NOT NULL,
  action          VARCHAR(16)  NOT NULL,
  response_id     BIGINT       NOT NULL,
  content_hash    CHAR(64)     NOT NULL,
  survey_id       VARCHAR(64)  NOT NULL,
  period_year     SMALLINT     NOT NULL,
  period_quarter  TINYINT      NOT NULL,
  town_code       CHAR(9)      NOT NULL,
  respondent_key  VARCHAR(191) NOT NULL,
  weight          DOUBLE       NOT NULL,
  completion      VARCHAR(16)  NOT NULL,
  answers_json    MEDIUMTEXT   NOT NULL,
  submitted_at_ms BIGINT       NOT NULL,
  received_at_ms  BIGINT       NOT NULL,
  recorded_at_ms  BIGINT       NOT NULL,
  reason          VARCHAR(255) NOT NULL,
  raw_payload     MEDIUMTEXT   NOT NULL,
  KEY response_revisions_by_slot (channel, source_ref, content_hash),
  CONSTRAINT response_revisions_channel CHECK (channel IN ('web', 'sms', 'wechat', 'import')),
  CONSTRAINT response_revisions_action CHECK (action IN ('revised', 'stale', 'withdrawn'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
