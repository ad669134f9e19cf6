-- minyi schema, MySQL/MariaDB dialect, version 9: chat and questionnaire slots name their town
-- (issue 13). Keep the logical schema identical to sqlite/009_town_slots.sql.
--
-- The slots of WeChat chat members ('wechat:<survey>:<period>:<key>') and of questionnaire answers
-- ('wjx:<questionnaire>:<序号>', 'txwj:<survey_id>:<answer id>') now end in '@<town code>'
-- (core/revisions.h TownSlot), so that an import into one town never revises another town's
-- response. Existing slots are renamed after the town of each row, so that re-importing the same
-- export into the same town still adds nothing. A log row keeps the town it was stored with (a
-- version that an earlier import moved to another town stays with the town it left). A reference
-- that would grow past 191 characters, or already ends in its town, is left as it was.
UPDATE responses SET source_ref = CONCAT(source_ref, '@', town_code)
 WHERE channel = 'wechat'
   AND (source_ref LIKE 'wechat:%' OR source_ref LIKE 'wjx:%' OR source_ref LIKE 'txwj:%')
   AND CHAR_LENGTH(source_ref) <= 181
   AND RIGHT(source_ref, 10) <> CONCAT('@', town_code);
UPDATE response_revisions SET source_ref = CONCAT(source_ref, '@', town_code)
 WHERE channel = 'wechat'
   AND (source_ref LIKE 'wechat:%' OR source_ref LIKE 'wjx:%' OR source_ref LIKE 'txwj:%')
   AND CHAR_LENGTH(source_ref) <= 181
   AND RIGHT(source_ref, 10) <> CONCAT('@', town_code);
