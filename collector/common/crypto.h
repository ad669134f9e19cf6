// The cryptographic helpers every channel shares, on libsodium: SHA-256, HMAC-SHA256 (respondent keys,
// signed form tokens, webhook signatures), hex, random tokens, constant-time comparison, and the one
// respondent-key formula of every channel (KeyedHasher::RespondentKey; RespondentKeyer for the channels
// that identify residents by phone number or a channel id). All functions are thread-safe (libsodium is
// initialised once, on first use; a libsodium that cannot initialise throws std::runtime_error).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "core/hex.h"  // HexOf, the one hex encoder
#include "core/status.h"

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

  // The respondent key stored with a response: hex HMAC-SHA256(secret, "respondent\n" + identity), on
  // every channel. A person known by phone number has the identity of the number in E.164
  // ("+8613812345678"), whichever channel they answered on (ingest_test PartnerPhoneHasTheSmsChannelsRespondentKey).
  // Under PIPL this is de-identified (去标识化), not anonymous: it is still personal information.
  std::string RespondentKey(std::string_view identity) const;
  // A MAC over `message` for `purpose` ("csrf", "device"), hex, truncated to `hex_chars`.
  std::string Mac(std::string_view purpose, std::string_view message, std::size_t hex_chars = 64) const;

 private:
  std::string secret_;
};

// The respondent key of the channels that identify residents by phone (SMS: KeyFor(E.164)) or by a
// channel id (WeChat, questionnaires): KeyedHasher::RespondentKey under a checked secret. Stable for a given
// secret, so the same phone is the same respondent across messages, channels and restarts; without the
// secret it cannot be brute-forced from the ~10^10 possible numbers.
class RespondentKeyer {
 public:
  // kInvalidInput when the secret is shorter than 16 bytes (or empty: not configured).
  static Result<RespondentKeyer> Create(const std::string& secret);
  std::string KeyFor(std::string_view identity) const { return hasher_.RespondentKey(identity); }

 private:
  explicit RespondentKeyer(std::string secret) : hasher_(std::move(secret)) {}
  KeyedHasher hasher_;
};

}  // namespace minyi::collector
