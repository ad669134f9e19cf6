// The JSON reader of the web API (collector/json_value.h), at the API's default depth limit.
#include <cstddef>
#include <cstdint>

#include "collector/json_value.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = minyi::collector::ParseJson(minyi::fuzz::AsText(data, size), 64);
  (void)parsed;
  return 0;
}
