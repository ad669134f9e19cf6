// The population CSV import (collector/population_import.h) into the in-memory store of the
// collector's unit tests, with the real area registry and the codes of the survey catalog.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "collector/fake_store_for_test.h"
#include "collector/population_import.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto codes = minyi::collector::DemographicCodesFromCatalog(minyi::fuzz::Surveys());
  std::istringstream in(std::string(minyi::fuzz::AsText(data, size)));
  minyi::collector::FakeStore store;
  minyi::collector::PopulationImportOptions options;
  options.max_issues = 20;
  auto report = minyi::collector::ImportPopulationCsv(in, minyi::fuzz::Areas(), codes, store, store, options);
  if (report.ok()) {
    const std::string text = minyi::collector::FormatPopulationImportReport(*report, "fuzz.csv");
    if (report->issues.size() > options.max_issues) __builtin_trap();
  }
  return 0;
}
