// Phone numbers in the SMS channel: normalization to E.164 (libphonenumber), and encryption at rest
// (libsodium crypto_secretbox) for rosters, conversations and the outbox. The respondent key of a phone
// (RespondentKeyer, HMAC-SHA256 with a secret kept outside the database) is every channel's, in
// collector/common/crypto.h; masking for display is core/privacy.h's.
//
// Keys come from the environment or configuration, never from the database:
//   respondent key secret: MINYI_RESPONDENT_KEY_SECRET / collector.respondent_key_secret (>= 16 bytes);
//   encryption key: MINYI_SMS_ENCRYPTION_KEY / sms.encryption_key (64 hex digits), else the key file
//   sms.encryption_key_file (default var/sms_encryption.key), created on first use with mode 0600.
// All objects are immutable after creation and safe to share between threads.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/privacy.h"  // MaskPhone, for every component
#include "core/status.h"

namespace minyi::collector::sms {

// "+8613812345678" from "13812345678", "+8613812345678", "008613812345678", "86 138-1234-5678",
// "(0)138 1234 5678"; numbers without a country code are read as Chinese (region CN). kInvalidInput
// (with the masked input) when the text is not a valid phone number.
Result<std::string> NormalizePhone(std::string_view input);

// Authenticated encryption of phone numbers (XSalsa20-Poly1305, a fresh random nonce per value).
class PhoneCipher {
 public:
  // `key_hex`: 64 hex digits, or empty to use `key_file` (created with 32 random bytes, mode 0600,
  // when missing; its directory is created). kInvalidInput for a malformed key; kUnavailable when the
  // file cannot be read or written; kPermissionDenied when an existing key file is readable by others.
  static Result<PhoneCipher> Load(const std::string& key_hex, const std::string& key_file);
  static PhoneCipher FromKey(const std::array<unsigned char, 32>& key);

  // base64(nonce || ciphertext).
  std::string Encrypt(std::string_view plaintext) const;
  // kInvalidInput when the text is not a ciphertext of this key (tampered, other key, purged "").
  Result<std::string> Decrypt(std::string_view ciphertext) const;

 private:
  PhoneCipher() = default;
  std::array<unsigned char, 32> key_{};
};

}  // namespace minyi::collector::sms
