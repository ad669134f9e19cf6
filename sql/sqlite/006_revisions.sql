-- minyi schema, SQLite dialect, version 6: the revision log of revisable responses (core/revisions.h).
-- Keep the logical schema identical to mysql/006_revisions.sql.
--
-- A slot (channel, source_ref) has at most one current response, in the ordinary response tables.
-- Every version it no longer holds is kept here, whole: replaced by a newer one ('revised'), arrived
-- after a newer one ('stale'), or withdrawn at the source ('withdrawn'). AUTOINCREMENT so log ids are
-- never reused: incremental aggregation follows them (RevisionActivitySince).
CREATE TABLE response_revisions (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  channel         TEXT    NOT NULL CHECK (channel IN ('web', 'sms', 'wechat', 'import')),
  source_ref      TEXT    NOT NULL,
  action          TEXT    NOT NULL CHECK (action IN ('revised', 'stale', 'withdrawn')),
  response_id     INTEGER NOT NULL,   -- the id the version had while current; 0 for 'stale'
  content_hash    TEXT    NOT NULL,
  survey_id       TEXT    NOT NULL,
  period_year     INTEGER NOT NULL,
  period_quarter  INTEGER NOT NULL,
  town_code       TEXT    NOT NULL,
  respondent_key  TEXT    NOT NULL,
  weight          REAL    NOT NULL,
  completion      TEXT    NOT NULL,
  answers_json    TEXT    NOT NULL,
  submitted_at_ms INTEGER NOT NULL,
  received_at_ms  INTEGER NOT NULL,
  recorded_at_ms  INTEGER NOT NULL,
  reason          TEXT    NOT NULL,
  raw_payload     TEXT    NOT NULL
);
-- Slot look-ups: "is this content already known in the slot?" and the slot's history.
CREATE INDEX response_revisions_by_slot ON response_revisions (channel, source_ref, content_hash);
