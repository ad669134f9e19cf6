#include "collector/common/address_allow.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace minyi::collector {
namespace {

// A dotted quad of four decimal octets, nothing else. Hand-written rather than inet_aton, which also reads
// "10.1" and octal "010.0.0.1": forms that would silently widen or shift an allow-list entry.
bool ParseIpv4(const std::string& text, std::uint32_t* out) {
  std::uint32_t value = 0;
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    unsigned octet = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 4) {
      octet = octet * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
      ++digits;
    }
    if (octet > 255) return false;
    value = (value << 8) | octet;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
  }
  if (i != text.size()) return false;
  *out = value;
  return true;
}

}  // namespace

bool AddressAllowed(const std::string& address, const std::vector<std::string>& allow) {
  std::string a = address;
  if (a.rfind("::ffff:", 0) == 0) a = a.substr(7);
  std::uint32_t ip = 0;
  if (!ParseIpv4(a, &ip)) return std::find(allow.begin(), allow.end(), address) != allow.end();
  for (const std::string& entry : allow) {
    const std::size_t slash = entry.find('/');
    std::uint32_t net = 0;
    if (!ParseIpv4(entry.substr(0, slash), &net)) continue;
    int bits = 32;
    if (slash != std::string::npos) {
      try {
        bits = std::stoi(entry.substr(slash + 1));
      } catch (const std::exception&) {
        continue;
      }
      if (bits < 0 || bits > 32) continue;
    }
    const std::uint32_t mask = bits == 0 ? 0U : (0xFFFFFFFFU << (32 - bits));
    if ((ip & mask) == (net & mask)) return true;
  }
  return false;
}

}  // namespace minyi::collector
