// Lower-case hex, written once for every component (digests, random ids and tokens, respondent keys,
// pseudonymous ids). Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace minyi {

// Lower-case hex of `size` bytes: 2·size characters, the high nibble of each byte first.
std::string HexOf(const unsigned char* data, std::size_t size);

// The same written at `out`, which must hold 2·size characters (no terminator is written): for loops
// that refill one buffer per row.
void WriteHex(const unsigned char* data, std::size_t size, char* out);

}  // namespace minyi
