// The streaming CSV reader (core/csv.h). The first byte picks small limits, so the error paths for
// long records and quoted fields running over many lines are reached with small inputs.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "core/csv.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  minyi::CsvReader::Options options;
  const std::uint8_t mode = data[0];
  if ((mode & 1) != 0) options.delimiter = ';';
  if ((mode & 2) != 0) options.max_record_bytes = 64;
  if ((mode & 4) != 0) options.max_record_lines = 3;
  std::istringstream in(std::string(minyi::fuzz::AsText(data + 1, size - 1)));
  minyi::CsvReader reader(in, options);
  std::vector<std::string> fields;
  minyi::Status error;
  std::size_t records = 0;
  while (reader.Next(fields, &error)) {
    // Every record costs at least one byte of input: more records than bytes means the reader loops.
    if (++records > size + 1) __builtin_trap();
    if (reader.raw().size() > options.max_record_bytes + 2) __builtin_trap();
  }
  return 0;
}
