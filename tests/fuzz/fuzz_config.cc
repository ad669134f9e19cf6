// Configuration files (cli/config.h LoadConfig, which only takes a path): the input is written to a
// temporary .properties, .ini or .json file (the first byte picks which) and loaded with the built-in
// defaults beneath it, as `minyi --config FILE` does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* const kExtensions[] = {".properties", ".ini", ".json"};
  minyi::fuzz::TempFile file(minyi::fuzz::AsText(data + 1, size - 1), kExtensions[data[0] % 3]);
  minyi::cli::ConfigSources sources;
  sources.file = file.path();
  auto config = minyi::cli::LoadConfig(sources);
  if (config.ok()) (void)minyi::cli::DescribeConfig(*config);
  return 0;
}
