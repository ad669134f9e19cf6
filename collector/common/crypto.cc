#include "collector/common/crypto.h"

#include <sodium.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace minyi::collector {
namespace {

void EnsureSodium() {
  // sodium_init is thread-safe and idempotent; -1 means the library cannot work at all (no
  // entropy source), which no caller can recover from.
  static const int kInit = sodium_init();
  if (kInit < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  EnsureSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return HexOf(digest, sizeof digest);
}

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  EnsureSodium();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  return HexOf(mac, sizeof mac);
}

std::string RandomUrlToken(std::size_t bytes) {
  EnsureSodium();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  const std::size_t len = sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  sodium_memzero(raw.data(), raw.size());
  return out;
}

std::string RandomHex(std::size_t bytes) {
  EnsureSodium();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  return HexOf(raw.data(), raw.size());
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  EnsureSodium();
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string KeyedHasher::RespondentKey(std::string_view identity) const {
  std::string message = "respondent\n";
  message.append(identity);
  return HmacSha256Hex(secret_, message);
}

std::string KeyedHasher::Mac(std::string_view purpose, std::string_view message, std::size_t hex_chars) const {
  std::string text(purpose);
  text += '\n';
  text.append(message);
  std::string mac = HmacSha256Hex(secret_, text);
  if (hex_chars < mac.size()) mac.resize(hex_chars);
  return mac;
}

Result<RespondentKeyer> RespondentKeyer::Create(const std::string& secret) {
  if (secret.size() < 16) {
    return Status::InvalidInput(
        "the respondent key secret (MINYI_RESPONDENT_KEY_SECRET or collector.respondent_key_secret) must be "
        "set "
        "and at least 16 bytes long");
  }
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialize");
  return RespondentKeyer(secret);
}

}  // namespace minyi::collector
