-- minyi schema, SQLite dialect, version 7: frozen annual releases (core/release_ports.h, issue 8). Keep
-- the logical schema identical to mysql/007_releases.sql.

-- One row per release. `revision` is NULL while the release is being built (invisible to readers) and
-- set when it is frozen; a frozen row is never updated or deleted.
CREATE TABLE releases (
  id                 INTEGER PRIMARY KEY,
  survey_id          TEXT    NOT NULL,
  period_year        INTEGER NOT NULL,
  period_quarter     INTEGER NOT NULL,
  revision           INTEGER,
  state              TEXT    NOT NULL CHECK (state IN ('building', 'frozen')),
  reason             TEXT    NOT NULL,
  created_by         TEXT    NOT NULL,
  frozen_at_ms       INTEGER NOT NULL,
  definition_version TEXT    NOT NULL,
  code_version       TEXT    NOT NULL,
  population_version TEXT    NOT NULL,
  response_count     INTEGER NOT NULL,
  manifest_hash      TEXT    NOT NULL,
  content_hash       TEXT    NOT NULL,
  id_salt            TEXT    NOT NULL,
  population_text    TEXT    NOT NULL,
  indices_text       TEXT    NOT NULL,
  UNIQUE (survey_id, period_year, period_quarter, revision)
);

-- The responses a release covers, in (town, id) order, with their content hash at freezing.
CREATE TABLE release_responses (
  release_id   INTEGER NOT NULL REFERENCES releases (id),
  town_code    TEXT    NOT NULL,
  response_id  INTEGER NOT NULL,
  content_hash TEXT    NOT NULL,
  PRIMARY KEY (release_id, town_code, response_id)
) WITHOUT ROWID;
