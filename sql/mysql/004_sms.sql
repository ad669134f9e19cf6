-- minyi schema, MySQL/MariaDB dialect, version 5: the SMS channel (collector/sms, core/sms_ports.h).
-- Keep the logical schema identical to sqlite/004_sms.sql. No column holds a plaintext phone number:
-- phone_key is the keyed hash (HMAC-SHA256, secret outside the database), phone_enc the number
-- encrypted with libsodium secretbox (key outside the database); both are erased by purges.

-- Every inbound SMS once: gateways retry, and the UNIQUE key makes a retry a no-op.
CREATE TABLE IF NOT EXISTS sms_inbound (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  provider        VARCHAR(16)  NOT NULL,
  message_ref     VARCHAR(128) NOT NULL,
  phone_key       VARCHAR(128) NOT NULL,
  text            MEDIUMTEXT   NOT NULL,
  sent_at_ms      BIGINT       NOT NULL,
  received_at_ms  BIGINT       NOT NULL,
  status          VARCHAR(16)  NOT NULL,
  detail          TEXT         NOT NULL,
  survey_id       VARCHAR(64)  NOT NULL DEFAULT '',
  period_year     SMALLINT     NOT NULL DEFAULT 0,
  period_quarter  TINYINT      NOT NULL DEFAULT 0,
  conversation_id BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  UNIQUE KEY sms_inbound_provider_ref (provider, message_ref),
  KEY sms_inbound_by_survey (survey_id, period_year, period_quarter, status)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One conversation per phone per survey and period.
CREATE TABLE IF NOT EXISTS sms_conversations (
  id             BIGINT       NOT NULL AUTO_INCREMENT,
  survey_id      VARCHAR(64)  NOT NULL,
  period_year    SMALLINT     NOT NULL,
  period_quarter TINYINT      NOT NULL,
  phone_key      VARCHAR(128) NOT NULL,
  phone_enc      TEXT         NOT NULL,
  town_code      VARCHAR(16)  NOT NULL,
  county_code    VARCHAR(16)  NOT NULL,
  state          VARCHAR(16)  NOT NULL,
  step           INT          NOT NULL,
  reasks         INT          NOT NULL,
  unparsed       INT          NOT NULL,
  answers_json   MEDIUMTEXT   NOT NULL,
  started_at_ms  BIGINT       NOT NULL,
  updated_at_ms  BIGINT       NOT NULL,
  expires_at_ms  BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY sms_conversations_identity (survey_id, period_year, period_quarter, phone_key),
  KEY sms_conversations_by_phone (phone_key, state, updated_at_ms),
  KEY sms_conversations_by_expiry (state, expires_at_ms),
  CONSTRAINT sms_conversations_state CHECK (state IN ('open', 'complete', 'expired', 'optout', 'closed'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS sms_outbox (
  id                 BIGINT       NOT NULL AUTO_INCREMENT,
  conversation_id    BIGINT       NOT NULL,
  survey_id          VARCHAR(64)  NOT NULL,
  phone_key          VARCHAR(128) NOT NULL,
  phone_enc          TEXT         NOT NULL,
  body               TEXT         NOT NULL,
  status             VARCHAR(16)  NOT NULL,
  attempts           INT          NOT NULL,
  created_at_ms      BIGINT       NOT NULL,
  next_attempt_at_ms BIGINT       NOT NULL,
  sent_at_ms         BIGINT       NOT NULL,
  gateway_ref        VARCHAR(191) NOT NULL,
  last_error         TEXT         NOT NULL,
  PRIMARY KEY (id),
  KEY sms_outbox_due (status, next_attempt_at_ms, id),
  CONSTRAINT sms_outbox_status CHECK (status IN ('pending', 'sent', 'failed'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Opted-out numbers (退订): never messaged again.
CREATE TABLE IF NOT EXISTS sms_suppression (
  phone_key     VARCHAR(128) NOT NULL,
  created_at_ms BIGINT       NOT NULL,
  reason        VARCHAR(64)  NOT NULL,
  PRIMARY KEY (phone_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Invitation rosters: phone (encrypted, plus the keyed hash for look-ups) and town or county.
CREATE TABLE IF NOT EXISTS sms_roster (
  survey_id      VARCHAR(64)  NOT NULL,
  phone_key      VARCHAR(128) NOT NULL,
  phone_enc      TEXT         NOT NULL,
  area_code      VARCHAR(16)  NOT NULL,
  imported_at_ms BIGINT       NOT NULL,
  PRIMARY KEY (survey_id, phone_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
