#include "tests/integration/index_figures.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <vector>

#include "core/csv.h"

namespace minyi::testing {

IndexCsvRows BatchRows(const std::string& path) {
  std::ifstream in(path);
  CsvReader reader(in);
  std::vector<std::string> header, fields;
  reader.Next(header, nullptr);
  IndexCsvRows rows;
  while (reader.Next(fields, nullptr)) {
    if (fields.size() != header.size()) continue;
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
    rows[row["period"] + "|" + row["area"] + "|" + row["index"]] = row;
  }
  return rows;
}

bool SameFigure(double shown, const std::string& computed) {
  if (computed.empty()) return std::isnan(shown);
  const double want = std::stod(computed);
  return std::fabs(shown - want) <= 1e-9 * std::max(1.0, std::fabs(want));
}

void ExpectFigure(double shown, const std::string& computed, const std::string& what) {
  ASSERT_FALSE(computed.empty()) << what;
  EXPECT_TRUE(SameFigure(shown, computed)) << what << ": " << shown << " shown, " << computed << " computed";
}

}  // namespace minyi::testing
