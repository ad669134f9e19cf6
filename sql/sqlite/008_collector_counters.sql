-- minyi schema, SQLite dialect, version 8: what the collectors refused, counted for the dashboards
-- (core/collector_counters.h), and indexes for the response-rate queries over the SMS tables
-- (core/dashboard_ports.h ResponseRateQueries). Keep the logical schema identical to
-- mysql/008_collector_counters.sql. No personal data: reasons are codes, files base names.

-- Rejected submissions, summed per key ('' / 0 = not known: the submission named no valid survey,
-- period or town).
CREATE TABLE collector_rejections (
  channel        TEXT    NOT NULL,
  reason         TEXT    NOT NULL,
  survey_id      TEXT    NOT NULL,
  period_year    INTEGER NOT NULL,
  period_quarter INTEGER NOT NULL,
  town_code      TEXT    NOT NULL,
  rejected_count INTEGER NOT NULL,
  last_at_ms     INTEGER NOT NULL,
  PRIMARY KEY (channel, reason, survey_id, period_year, period_quarter, town_code)
) WITHOUT ROWID;

-- One row per imported file (CLI imports, uploads).
CREATE TABLE import_runs (
  id             INTEGER PRIMARY KEY,
  command        TEXT    NOT NULL,
  actor          TEXT    NOT NULL,
  file_name      TEXT    NOT NULL,
  survey_id      TEXT    NOT NULL,
  area_code      TEXT    NOT NULL,  -- the narrowest area holding every stored row; '' unknown
  started_at_ms  INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL,
  rows_read      INTEGER NOT NULL,
  rows_stored    INTEGER NOT NULL,
  rows_duplicate INTEGER NOT NULL,
  rows_rejected  INTEGER NOT NULL
);
CREATE INDEX import_runs_by_area ON import_runs (area_code, id);

-- Response rates: a conversation's outbox messages and replies.
CREATE INDEX sms_outbox_by_conversation ON sms_outbox (conversation_id, status);
CREATE INDEX sms_inbound_by_conversation ON sms_inbound (conversation_id, status);
