-- minyi schema, SQLite dialect, version 12: the model-based town figures beside the direct ones (issue 14,
-- docs/small_area.md; core/ports.h IndexRow model_*). Keep the logical schema identical to
-- mysql/012_index_model.sql.
--
-- Nullable columns only ("expand, then contract", README "Cluster"): a server of the previous version
-- writes its rows without them (NULL: no model-based figure) and never reads them. NULL on county, city
-- and province rows, on indices without a share, and on rows computed before this migration.
ALTER TABLE index_results ADD COLUMN model_estimate REAL;
ALTER TABLE index_results ADD COLUMN model_se REAL;
ALTER TABLE index_results ADD COLUMN model_ci_low REAL;
ALTER TABLE index_results ADD COLUMN model_ci_high REAL;
ALTER TABLE index_results ADD COLUMN model_method TEXT;
