// Index figures against the aggregator's own CSV (`minyi aggregate --csv`, aggregator/run.h
// WriteIndexCsv): read it by "period|area|index", and compare a figure shown or published elsewhere
// (dashboards, exports, the index tables live aggregation keeps) with the computed one.
#pragma once

#include <map>
#include <string>

namespace minyi::testing {

// The CSV's rows by "period|area|index" → column → text (an undefined figure is empty).
using IndexCsvRows = std::map<std::string, std::map<std::string, std::string>>;
IndexCsvRows BatchRows(const std::string& path);

// Whether `shown` is the computed figure to 1e-9 (relative above 1, absolute below): the dashboards
// print 10 significant digits. An empty `computed` (undefined) matches only NaN.
bool SameFigure(double shown, const std::string& computed);

// SameFigure as a test expectation naming `what`; `computed` must be defined.
void ExpectFigure(double shown, const std::string& computed, const std::string& what);

}  // namespace minyi::testing
