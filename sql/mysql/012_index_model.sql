-- minyi schema, MySQL/MariaDB dialect, version 12: the model-based town figures beside the direct ones
-- (issue 14, docs/small_area.md; core/ports.h IndexRow model_*). Keep the logical schema identical to
-- sqlite/012_index_model.sql, which explains the columns. Re-runnable (ADD COLUMN IF NOT EXISTS, MariaDB),
-- since MySQL commits DDL implicitly.
ALTER TABLE index_results
  ADD COLUMN IF NOT EXISTS model_estimate DOUBLE      NULL,
  ADD COLUMN IF NOT EXISTS model_se       DOUBLE      NULL,
  ADD COLUMN IF NOT EXISTS model_ci_low   DOUBLE      NULL,
  ADD COLUMN IF NOT EXISTS model_ci_high  DOUBLE      NULL,
  ADD COLUMN IF NOT EXISTS model_method   VARCHAR(16) NULL;
