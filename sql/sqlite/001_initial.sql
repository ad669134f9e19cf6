-- minyi schema, SQLite dialect, version 1. Keep the logical schema identical to mysql/001_initial.sql.
-- Text columns use SQLite's default BINARY collation, matching utf8mb4_bin on MySQL: codes and
-- identifiers compare exactly on both backends.

CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);

-- Normalized responses, append-only. `id INTEGER PRIMARY KEY` is the rowid: ids are assigned in
-- increasing order, and since rows are never deleted AUTOINCREMENT's extra bookkeeping write per
-- insert would buy nothing.
CREATE TABLE responses (
  id              INTEGER PRIMARY KEY,
  survey_id       TEXT    NOT NULL,
  period_year     INTEGER NOT NULL,
  period_quarter  INTEGER NOT NULL CHECK (period_quarter BETWEEN 0 AND 4),  -- 0 = annual
  town_code       TEXT    NOT NULL,
  channel         TEXT    NOT NULL CHECK (channel IN ('web', 'sms', 'wechat', 'import')),
  respondent_key  TEXT    NOT NULL,
  weight          REAL    NOT NULL,
  completion      TEXT    NOT NULL CHECK (completion IN ('complete', 'partial')),
  submitted_at_ms INTEGER NOT NULL,
  received_at_ms  INTEGER NOT NULL,
  source_ref      TEXT    NOT NULL,
  content_hash    TEXT    NOT NULL,
  raw_payload     TEXT    NOT NULL,
  UNIQUE (channel, source_ref)
);
CREATE INDEX responses_by_survey_period_town
  ON responses (survey_id, period_year, period_quarter, town_code);

-- One row per answer value; a multi-choice answer has one row per chosen option, in order.
CREATE TABLE response_answers (
  response_id   INTEGER NOT NULL REFERENCES responses (id),
  question_code TEXT    NOT NULL,
  ordinal       INTEGER NOT NULL,
  value         TEXT    NOT NULL,
  PRIMARY KEY (response_id, question_code, ordinal)
) WITHOUT ROWID;

-- Population margins; '' in sex / age_band means "all".
CREATE TABLE population_cells (
  period_year INTEGER NOT NULL,
  town_code   TEXT    NOT NULL,
  sex         TEXT    NOT NULL DEFAULT '',
  age_band    TEXT    NOT NULL DEFAULT '',
  population  REAL    NOT NULL,
  PRIMARY KEY (period_year, town_code, sex, age_band)
) WITHOUT ROWID;

-- Computed indices (core/ports.h IndexRow); undefined doubles are NULL.
CREATE TABLE index_results (
  survey_id          TEXT    NOT NULL,
  period_year        INTEGER NOT NULL,
  period_quarter     INTEGER NOT NULL,
  level              TEXT    NOT NULL,
  area_code          TEXT    NOT NULL,
  index_id           TEXT    NOT NULL,
  n                  INTEGER NOT NULL,
  n_eff              REAL,
  sum_w              REAL,
  estimate           REAL,
  se                 REAL,
  ci_low             REAL,
  ci_high            REAL,
  ci_method          TEXT    NOT NULL,
  score              REAL,
  score_se           REAL,
  score_ci_low       REAL,
  score_ci_high      REAL,
  deff               REAL,
  low_n              INTEGER NOT NULL,
  weighting          TEXT    NOT NULL,
  change_value       REAL,
  change_se          REAL,
  change_significant INTEGER NOT NULL,
  definition_version TEXT    NOT NULL,
  population_version TEXT    NOT NULL,
  response_count     INTEGER NOT NULL,
  response_hash      TEXT    NOT NULL,
  code_version       TEXT    NOT NULL,
  computed_at_ms     INTEGER NOT NULL,
  PRIMARY KEY (survey_id, period_year, period_quarter, level, area_code, index_id)
) WITHOUT ROWID;
