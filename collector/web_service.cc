#include "collector/web_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace minyi::collector {

Result<std::string> LoadRespondentSecret(const std::string& configured, const std::string& secret_file,
                                         bool* created) {
  if (created != nullptr) *created = false;
  std::string secret = configured;
  if (secret.empty()) {
    if (secret_file.empty()) {
      return Status::InvalidInput(
          "no respondent-key secret: set MINYI_RESPONDENT_KEY_SECRET in the environment, or "
          "collector.secret_file to a file holding it (created when missing)");
    }
    std::error_code ec;
    if (!std::filesystem::exists(secret_file, ec)) {
      const auto parent = std::filesystem::path(secret_file).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      const int fd = ::open(secret_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) {
        return Status::Unavailable("cannot create secret file " + secret_file + ": " + std::strerror(errno));
      }
      const std::string fresh = RandomUrlToken(32) + "\n";
      const bool written = ::write(fd, fresh.data(), fresh.size()) == static_cast<ssize_t>(fresh.size()) &&
                           ::fsync(fd) == 0;
      ::close(fd);
      if (!written) return Status::Unavailable("cannot write secret file " + secret_file);
      if (created != nullptr) *created = true;
    }
    std::ifstream in(secret_file);
    if (!in) return Status::Unavailable("cannot read secret file " + secret_file);
    std::getline(in, secret);
    while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  }
  if (secret.size() < kMinSecretLength) {
    return Status::InvalidInput("the respondent-key secret must be at least " + std::to_string(kMinSecretLength) +
                                " characters");
  }
  return secret;
}

WebService::WebService(const SurveyCatalog& surveys, const AreaRegistry& areas, ResponseSink& sink,
                       WebAccessStore& access, std::string secret, WebServiceOptions options)
    : hasher_(std::move(secret)),
      writer_(sink, options.group_commit),
      ingest_(surveys, areas, access, writer_, hasher_, options.ingest),
      auth_(access, options.key_cache_ttl),
      limiter_(options.rate_per_minute, options.rate_burst),
      web_(ingest_, auth_, limiter_, options.web) {}

}  // namespace minyi::collector
