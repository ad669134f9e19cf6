// Small cryptographic helpers of the web collector, on libsodium: SHA-256, HMAC-SHA256 (keyed
// hashes of respondents, signed form tokens), random URL-safe tokens, constant-time comparison.
// All functions are thread-safe (libsodium is initialised once, on first use).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace minyi::collector {

// Lower-case hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

// Lower-case hex HMAC-SHA256 of `message` under `key` (any length).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// `bytes` random bytes from the OS CSPRNG as unpadded URL-safe base64 ([A-Za-z0-9_-]).
std::string RandomUrlToken(std::size_t bytes);
// `bytes` random bytes as lower-case hex.
std::string RandomHex(std::size_t bytes);

// Equality that takes the same time wherever the first difference is (for secrets).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The server's secret (from MINYI_RESPONDENT_KEY_SECRET or a secret file; never in the database) with
// domain-separated uses, so a value derived for one purpose is useless for another.
class KeyedHasher {
 public:
  explicit KeyedHasher(std::string secret) : secret_(std::move(secret)) {}

  // The respondent key stored with a response: hex HMAC-SHA256(secret, "respondent\n" + identity).
  // Under PIPL this is de-identified (去标识化), not anonymous: it is still personal information.
  std::string RespondentKey(std::string_view identity) const;
  // A MAC over `message` for `purpose` ("csrf", "device"), hex, truncated to `hex_chars`.
  std::string Mac(std::string_view purpose, std::string_view message, std::size_t hex_chars = 64) const;

 private:
  std::string secret_;
};

}  // namespace minyi::collector
