-- minyi schema, MySQL/MariaDB dialect, version 8: what the collectors refused, counted for the
-- dashboards (core/collector_counters.h), and indexes for the response-rate queries over the SMS
-- tables (core/dashboard_ports.h ResponseRateQueries). Keep the logical schema identical to
-- sqlite/008_collector_counters.sql. No personal data: reasons are codes, files base names.

-- Rejected submissions, summed per key ('' / 0 = not known: the submission named no valid survey,
-- period or town).
CREATE TABLE IF NOT EXISTS collector_rejections (
  channel        VARCHAR(16) NOT NULL,
  reason         VARCHAR(64) NOT NULL,
  survey_id      VARCHAR(64) NOT NULL,
  period_year    SMALLINT    NOT NULL,
  period_quarter TINYINT     NOT NULL,
  town_code      VARCHAR(16) NOT NULL,
  rejected_count BIGINT      NOT NULL,
  last_at_ms     BIGINT      NOT NULL,
  PRIMARY KEY (channel, reason, survey_id, period_year, period_quarter, town_code)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per imported file (CLI imports, uploads).
CREATE TABLE IF NOT EXISTS import_runs (
  id             BIGINT       NOT NULL AUTO_INCREMENT,
  command        VARCHAR(64)  NOT NULL,
  actor          VARCHAR(128) NOT NULL,
  file_name      VARCHAR(255) NOT NULL,
  survey_id      VARCHAR(64)  NOT NULL,
  area_code      VARCHAR(16)  NOT NULL,
  started_at_ms  BIGINT       NOT NULL,
  finished_at_ms BIGINT       NOT NULL,
  rows_read      BIGINT       NOT NULL,
  rows_stored    BIGINT       NOT NULL,
  rows_duplicate BIGINT       NOT NULL,
  rows_rejected  BIGINT       NOT NULL,
  PRIMARY KEY (id),
  KEY import_runs_by_area (area_code, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Response rates: a conversation's outbox messages and replies.
CREATE INDEX sms_outbox_by_conversation ON sms_outbox (conversation_id, status);
CREATE INDEX sms_inbound_by_conversation ON sms_inbound (conversation_id, status);
