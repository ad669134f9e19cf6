-- minyi schema, SQLite dialect, version 13: a conversation step no longer rewrites index entries (issue 16,
-- SMS webhooks at thousands of messages/s). Keep the logical schema identical to
-- mysql/013_sms_conversation_indexes.sql.
--
-- Each reply changes a conversation's step, answers, update time and expiry. The indexes of 004 held the
-- update time (by_phone) and the expiry (by_expiry), so every step deleted and inserted two index entries
-- on random pages besides the row's own page. Now:
--  - by_phone is (phone_key, state): a phone has a handful of conversations, sorted in memory by time;
--  - the expirer finds conversations by expiry_check_at_ms, a lower bound of expires_at_ms that steps do
--    not change: when a conversation is due for a check but its expiry has moved on, the expirer files it
--    again at its expiry (one write per conversation and time-to-live, not one per step). 0 (rows written
--    before this migration, or by a server of version 12, which does not know the column) means "check it
--    now", so no conversation is missed.
-- Added column and indexes only ("expand, then contract", README "Cluster"); the two dropped indexes are
-- read by no statement (a server of version 12 still finds its rows, through these indexes).
DROP INDEX IF EXISTS sms_conversations_by_phone;
DROP INDEX IF EXISTS sms_conversations_by_expiry;
ALTER TABLE sms_conversations ADD COLUMN expiry_check_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sms_conversations SET expiry_check_at_ms = expires_at_ms WHERE state = 'open';
CREATE INDEX sms_conversations_by_phone ON sms_conversations (phone_key, state);
CREATE INDEX sms_conversations_expiry_check ON sms_conversations (state, expiry_check_at_ms);
