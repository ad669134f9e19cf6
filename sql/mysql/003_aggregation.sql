-- minyi schema, MySQL/MariaDB dialect, version 3: the aggregator's compact read path
-- (core/analysis.h). Keep the logical schema identical to sqlite/003_aggregation.sql, which
-- explains the table. Re-runnable from its start (CREATE TABLE IF NOT EXISTS, INSERT IGNORE), since
-- MySQL commits DDL implicitly.
CREATE TABLE IF NOT EXISTS analysis_responses (
  survey_id      VARCHAR(64) NOT NULL,
  period_year    SMALLINT    NOT NULL,
  period_quarter TINYINT     NOT NULL,
  town_code      CHAR(9)     NOT NULL,
  response_id    BIGINT      NOT NULL,
  weight         DOUBLE      NOT NULL,
  codes          TEXT        NOT NULL,
  PRIMARY KEY (survey_id, period_year, period_quarter, town_code, response_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

INSERT IGNORE INTO analysis_responses (survey_id, period_year, period_quarter, town_code, response_id, weight, codes)
SELECT r.survey_id, r.period_year, r.period_quarter, r.town_code, r.id, r.weight,
       COALESCE((SELECT GROUP_CONCAT(CONCAT(a.question_code, '=',
                                            CASE WHEN a.value REGEXP '^[A-Za-z0-9_+-]{1,32}$' THEN a.value ELSE '?' END)
                                     ORDER BY a.question_code SEPARATOR ' ')
                 FROM response_answers a
                 WHERE a.response_id = r.id AND a.ordinal = 0), '')
FROM responses r;
