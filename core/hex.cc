#include "core/hex.h"

namespace minyi {

// Hand-written: core may not depend on libsodium (sodium_bin2hex), and Poco's DigestEngine::digestToHex
// wants a std::vector copy while Poco's HexBinaryEncoder is a stream that breaks lines; a table lookup per
// nibble is all that is needed.
void WriteHex(const unsigned char* data, std::size_t size, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15U];
  }
}

std::string HexOf(const unsigned char* data, std::size_t size) {
  std::string out(2 * size, '\0');
  WriteHex(data, size, out.data());
  return out;
}

}  // namespace minyi
