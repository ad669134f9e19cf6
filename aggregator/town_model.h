// The model-based town figures stored with the index rows (issue 14, docs/small_area.md "Where the figures
// appear"): one Fay–Herriot fit (small_area.h) per index and period over the registry's towns, written into
// the model_* fields of IndexRow. The batch run (run.h), the live aggregator (live.h), a release freeze
// (exports/release.h) and so `minyi aggregate --csv` all go through ApplySmallAreaModel, so the fit's inputs
// are prepared in one place and the stored, exported and frozen figures agree.
//
// The fit of a (period, index) depends on every town of the period (the GVF, β̂, σ̂²ᵤ): a change in one town
// changes every town's model figure of that period, and of the next year's period, whose previous-year
// covariate it is. Cost: about 130 ms per period of 1,487 towns with two indices, one modelled, almost all
// of it the parametric bootstrap (measured by town_model_test's ARefitOverEveryRegistryTown;
// docs/small_area.md).
//
// Pure functions on value types; thread-safe.
#pragma once

#include <vector>

#include "aggregator/small_area.h"
#include "core/areas.h"
#include "core/ports.h"
#include "core/status.h"

namespace minyi::aggregator {

// The model-based figures for `rows` (one or more periods of one survey), parallel to `rows`: one fit per
// (period, index) over the registry's towns (towns without a row enter with n = 0), with the county rows of
// that period and index as the county covariate, and as the previous-year covariate the town rows of the
// year-earlier period (same quarter) from `rows` itself, else from `previous` (the column is dropped when
// neither holds them). kNone for rows that are not towns, for towns outside the registry and for indices
// without a share (composites). Errors: kInvalidInput from FitFayHerriot, naming the period and index.
// (The overload without `previous`, declared in small_area.h, passes none.)
Result<std::vector<SmallAreaEstimate>> ModelTownRows(const std::vector<IndexRow>& rows,
                                                     const std::vector<IndexRow>& previous,
                                                     const AreaRegistry& areas,
                                                     const SmallAreaOptions& options = {});

// The model_* fields of one row from its estimate: the town row of an index with a share (estimate not
// NaN) and a town row without respondents (n = 0) get the share, SE, interval and SmallAreaMethodName
// (also "none"); every other row NaN and "".
void SetModelFigures(const SmallAreaEstimate& model, IndexRow* row);

// Adds the town rows without respondents (issue 14: they carry the synthetic estimate): for every (period,
// index) of `rows` and every county row there with respondents and a share (n > 0, estimate not NaN), an
// n = 0 row for each registry town of that county without a row — n, n_eff, sum_w 0; the direct figures,
// score, deff and change NaN; ci_method and weighting "none"; low_n true (suppressed like any low-n town);
// response_count 0; survey, versions and time from the county row. Counties without respondents and
// indices without a share (composites) get none. The rows are merged into the period's town rows in code
// order. The set depends only on which counties have respondents, so a live rewrite never leaves one behind.
void AddTownsWithoutRespondents(const AreaRegistry& areas, std::vector<IndexRow>* rows);

// Adds the town rows without respondents (AddTownsWithoutRespondents), then sets the model_* fields of
// every row (ModelTownRows with `previous`, then SetModelFigures), as ApplyChange (aggregate.h) sets the
// change fields: an n = 0 row gets "synthetic" (x'β̂, its interval from the bootstrap) or "none" (the model
// is not used for that period and index). On error the rows are left unchanged.
Status ApplySmallAreaModel(const std::vector<IndexRow>& previous, std::vector<IndexRow>* rows,
                           const AreaRegistry& areas, const SmallAreaOptions& options = {});

// True when two rows hold the same model figures (NaN equal to NaN): the live aggregator rewrites a row of
// an unchanged town when its period's refit moved its model figure.
bool SameModelFigures(const IndexRow& a, const IndexRow& b);

}  // namespace minyi::aggregator
