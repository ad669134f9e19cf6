-- minyi schema, MySQL/MariaDB dialect, version 13: a conversation step no longer rewrites index entries
-- (issue 16). Keep the logical schema identical to sqlite/013_sms_conversation_indexes.sql, which explains
-- the column and the indexes. Re-runnable (IF EXISTS / IF NOT EXISTS, MariaDB), since MySQL commits DDL
-- implicitly.
ALTER TABLE sms_conversations
  DROP INDEX IF EXISTS sms_conversations_by_phone,
  DROP INDEX IF EXISTS sms_conversations_by_expiry,
  ADD COLUMN IF NOT EXISTS expiry_check_at_ms BIGINT NOT NULL DEFAULT 0;
UPDATE sms_conversations SET expiry_check_at_ms = expires_at_ms WHERE state = 'open' AND expiry_check_at_ms = 0;
ALTER TABLE sms_conversations
  ADD INDEX IF NOT EXISTS sms_conversations_by_phone (phone_key, state),
  ADD INDEX IF NOT EXISTS sms_conversations_expiry_check (state, expiry_check_at_ms);
