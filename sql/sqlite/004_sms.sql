-- minyi schema, SQLite dialect, version 5: the SMS channel (collector/sms, core/sms_ports.h). Keep the
-- logical schema identical to mysql/004_sms.sql. No column holds a plaintext phone number:
-- phone_key is the keyed hash (HMAC-SHA256, secret outside the database), phone_enc the number
-- encrypted with libsodium secretbox (key outside the database); both are erased by purges.

-- Every inbound SMS once: gateways retry, and the UNIQUE key makes a retry a no-op.
CREATE TABLE sms_inbound (
  id              INTEGER PRIMARY KEY,
  provider        TEXT    NOT NULL,
  message_ref     TEXT    NOT NULL,
  phone_key       TEXT    NOT NULL,
  text            TEXT    NOT NULL,
  sent_at_ms      INTEGER NOT NULL,
  received_at_ms  INTEGER NOT NULL,
  status          TEXT    NOT NULL,
  detail          TEXT    NOT NULL DEFAULT '',
  survey_id       TEXT    NOT NULL DEFAULT '',
  period_year     INTEGER NOT NULL DEFAULT 0,
  period_quarter  INTEGER NOT NULL DEFAULT 0,
  conversation_id INTEGER NOT NULL DEFAULT 0,
  UNIQUE (provider, message_ref)
);
CREATE INDEX sms_inbound_by_survey ON sms_inbound (survey_id, period_year, period_quarter, status);

-- One conversation per phone per survey and period.
CREATE TABLE sms_conversations (
  id             INTEGER PRIMARY KEY,
  survey_id      TEXT    NOT NULL,
  period_year    INTEGER NOT NULL,
  period_quarter INTEGER NOT NULL,
  phone_key      TEXT    NOT NULL,
  phone_enc      TEXT    NOT NULL,
  town_code      TEXT    NOT NULL,
  county_code    TEXT    NOT NULL,
  state          TEXT    NOT NULL CHECK (state IN ('open', 'complete', 'expired', 'optout', 'closed')),
  step           INTEGER NOT NULL,
  reasks         INTEGER NOT NULL,
  unparsed       INTEGER NOT NULL,
  answers_json   TEXT    NOT NULL,
  started_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL,
  expires_at_ms  INTEGER NOT NULL,
  UNIQUE (survey_id, period_year, period_quarter, phone_key)
);
CREATE INDEX sms_conversations_by_phone ON sms_conversations (phone_key, state, updated_at_ms);
CREATE INDEX sms_conversations_by_expiry ON sms_conversations (state, expires_at_ms);

CREATE TABLE sms_outbox (
  id                 INTEGER PRIMARY KEY,
  conversation_id    INTEGER NOT NULL,
  survey_id          TEXT    NOT NULL,
  phone_key          TEXT    NOT NULL,
  phone_enc          TEXT    NOT NULL,
  body               TEXT    NOT NULL,
  status             TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts           INTEGER NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  next_attempt_at_ms INTEGER NOT NULL,
  sent_at_ms         INTEGER NOT NULL,
  gateway_ref        TEXT    NOT NULL,
  last_error         TEXT    NOT NULL
);
CREATE INDEX sms_outbox_due ON sms_outbox (status, next_attempt_at_ms, id);

-- Opted-out numbers (退订): never messaged again.
CREATE TABLE sms_suppression (
  phone_key     TEXT    NOT NULL PRIMARY KEY,
  created_at_ms INTEGER NOT NULL,
  reason        TEXT    NOT NULL
);

-- Invitation rosters: phone (encrypted, plus the keyed hash for look-ups) and town or county.
CREATE TABLE sms_roster (
  survey_id      TEXT    NOT NULL,
  phone_key      TEXT    NOT NULL,
  phone_enc      TEXT    NOT NULL,
  area_code      TEXT    NOT NULL,
  imported_at_ms INTEGER NOT NULL,
  PRIMARY KEY (survey_id, phone_key)
);
