// The canonical response CSV import (collector/response_import.h) into the in-memory store of the
// collector's unit tests, with the real area registry and survey catalog.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "collector/fake_store_for_test.h"
#include "collector/response_import.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(minyi::fuzz::AsText(data, size)));
  minyi::collector::FakeStore store;
  minyi::collector::ImportOptions options;
  options.batch_size = 7;
  options.max_issues = 20;
  auto report =
      minyi::collector::ImportResponsesCsv(in, minyi::fuzz::Surveys(), minyi::fuzz::Areas(), store, options);
  if (report.ok()) {
    const std::string text = minyi::collector::FormatImportReport(*report, "fuzz.csv");
    if (report->issues.size() > options.max_issues) __builtin_trap();
  }
  return 0;
}
