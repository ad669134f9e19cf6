-- minyi schema, SQLite dialect, version 3: the aggregator's compact read path (core/analysis.h).
-- Keep the logical schema identical to mysql/003_aggregation.sql.
--
-- One row per stored response with what the aggregator reads: town, base weight and the first value
-- of every answered question as "question=value" tokens (AnalysisCodes; values that are not of
-- option-code form are '?'). Derived data: written by Append in the same transaction as the
-- response, backfilled here from the long-and-narrow tables, which stay the source of truth. The
-- primary key clusters a period's rows by (town, id), the order the aggregator reads them in.
CREATE TABLE analysis_responses (
  survey_id      TEXT    NOT NULL,
  period_year    INTEGER NOT NULL,
  period_quarter INTEGER NOT NULL,
  town_code      TEXT    NOT NULL,
  response_id    INTEGER NOT NULL,
  weight         REAL    NOT NULL,
  codes          TEXT    NOT NULL,
  PRIMARY KEY (survey_id, period_year, period_quarter, town_code, response_id)
) WITHOUT ROWID;

INSERT INTO analysis_responses (survey_id, period_year, period_quarter, town_code, response_id, weight, codes)
SELECT r.survey_id, r.period_year, r.period_quarter, r.town_code, r.id, r.weight,
       COALESCE((SELECT group_concat(t.token, ' ') FROM (
                   SELECT a.question_code || '=' ||
                          CASE WHEN length(a.value) BETWEEN 1 AND 32 AND a.value NOT GLOB '*[^A-Za-z0-9_+-]*'
                               THEN a.value ELSE '?' END AS token
                   FROM response_answers a
                   WHERE a.response_id = r.id AND a.ordinal = 0
                   ORDER BY a.question_code) t), '')
FROM responses r;
