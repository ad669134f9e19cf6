#include "collector/sms/phone_privacy.h"

#include <fcntl.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "collector/common/crypto.h"

namespace minyi::collector::sms {
namespace {

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

Result<std::string> NormalizePhone(std::string_view input) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const std::string text(input);
  if (text.size() > 64 || util->Parse(text, "CN", &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util->IsValidNumber(number)) {
    return Status::InvalidInput("'" + MaskPhone(input) + "' is not a valid phone number");
  }
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

PhoneCipher PhoneCipher::FromKey(const std::array<unsigned char, 32>& key) {
  (void)SodiumReady();
  PhoneCipher c;
  c.key_ = key;
  return c;
}

Result<PhoneCipher> PhoneCipher::Load(const std::string& key_hex, const std::string& key_file) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialize");
  static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key size");
  std::array<unsigned char, 32> key{};
  if (!key_hex.empty()) {
    std::size_t length = 0;
    if (key_hex.size() != 64 ||
        sodium_hex2bin(key.data(), key.size(), key_hex.data(), key_hex.size(), nullptr, &length, nullptr) != 0 ||
        length != key.size()) {
      return Status::InvalidInput("the SMS encryption key (MINYI_SMS_ENCRYPTION_KEY or sms.encryption_key) must be "
                                  "64 hex digits");
    }
    return FromKey(key);
  }
  if (key_file.empty()) return Status::InvalidInput("no SMS encryption key and no key file configured");
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(key_file, ec)) {
    const fs::path parent = fs::path(key_file).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    randombytes_buf(key.data(), key.size());
    const std::string hex = HexOf(key.data(), key.size()) + "\n";
    // O_EXCL: two processes starting at once must not both write a key.
    const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      const auto written = ::write(fd, hex.data(), hex.size());
      ::fsync(fd);
      ::close(fd);
      if (written != static_cast<ssize_t>(hex.size())) {
        return Status::Unavailable("cannot write the SMS key file " + key_file);
      }
      return FromKey(key);
    }
    if (errno != EEXIST) {
      return Status::Unavailable("cannot create the SMS key file " + key_file + ": " + std::strerror(errno));
    }
  }
  struct stat info {};
  if (::stat(key_file.c_str(), &info) != 0) {
    return Status::Unavailable("cannot read the SMS key file " + key_file + ": " + std::strerror(errno));
  }
  if ((info.st_mode & 0077) != 0) {
    return Status::PermissionDenied("the SMS key file " + key_file +
                                    " is readable by other users; chmod 600 it (the key protects phone numbers)");
  }
  std::ifstream in(key_file);
  std::string hex;
  in >> hex;
  if (!in && hex.empty()) return Status::Unavailable("cannot read the SMS key file " + key_file);
  auto loaded = Load(hex, "");
  if (!loaded.ok()) return loaded.status().WithContext("key file " + key_file);
  return loaded;
}

std::string PhoneCipher::Encrypt(std::string_view plaintext) const {
  std::vector<unsigned char> buffer(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size());
  unsigned char* nonce = buffer.data();
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        plaintext.size(), nonce, key_.data());
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(buffer.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), buffer.data(), buffer.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<std::string> PhoneCipher::Decrypt(std::string_view ciphertext) const {
  std::vector<unsigned char> buffer(ciphertext.size());
  std::size_t length = 0;
  if (ciphertext.empty() ||
      sodium_base642bin(buffer.data(), buffer.size(), ciphertext.data(), ciphertext.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      length < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Status::InvalidInput("not an encrypted phone number (purged or corrupt)");
  }
  std::string plain(length - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 buffer.data() + crypto_secretbox_NONCEBYTES, length - crypto_secretbox_NONCEBYTES,
                                 buffer.data(), key_.data()) != 0) {
    return Status::InvalidInput("encrypted phone number does not open with this key");
  }
  return plain;
}

}  // namespace minyi::collector::sms
