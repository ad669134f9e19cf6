// The web collector assembled for `minyi serve`: the group-commit writer, the ingest service, API key
// authentication, the page rate limiter and the HTTP handlers, plus the respondent-key secret.
//
// Lifecycle: construct before the HTTP server starts, Register() the routes, and after the server
// stopped accepting and its requests finished, Stop() commits whatever is still queued. The service
// must outlive the server (handlers hold references into it).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "collector/common/crypto.h"
#include "collector/group_commit.h"
#include "collector/ingest.h"
#include "collector/rate_limit.h"
#include "collector/web_access.h"
#include "collector/web_routes.h"
#include "core/http/router.h"
#include "core/ports.h"

namespace minyi::collector {

struct WebServiceOptions {
  GroupCommitOptions group_commit;
  IngestOptions ingest;
  WebOptions web;
  double rate_per_minute = 60;
  double rate_burst = 20;
  std::chrono::milliseconds key_cache_ttl{30000};
};

// The minimum length of a respondent-key secret.
inline constexpr std::size_t kMinSecretLength = 16;

// The respondent-key secret: `configured` (from MINYI_RESPONDENT_KEY_SECRET) when not empty, else the
// first line of `secret_file`; a missing file is created with a fresh 256-bit random secret and mode
// 0600 (`*created` set). kInvalidInput when neither is given or the secret is shorter than
// kMinSecretLength; kUnavailable when the file cannot be read or written.
Result<std::string> LoadRespondentSecret(const std::string& configured, const std::string& secret_file,
                                         bool* created);

class WebService {
 public:
  // Every reference must outlive the service. Starts the writer thread.
  WebService(const SurveyCatalog& surveys, const AreaRegistry& areas, ResponseSink& sink, WebAccessStore& access,
             std::string secret, WebServiceOptions options);

  void Register(http::Router& router) { web_.Register(router); }
  // Commits everything queued and stops the writer; later submissions answer 503.
  void Stop() { writer_.Stop(); }
  GroupCommitStats stats() const { return writer_.stats(); }
  // Whether the last group-commit batch failed with kUnavailable and none committed since.
  bool writes_failing() const { return writer_.writes_failing(); }
  std::uint64_t unavailable_batches() const { return writer_.unavailable_batches(); }
  // The ingest service (e.g. to set its rejection tally before serving).
  IngestService& ingest() { return ingest_; }

 private:
  KeyedHasher hasher_;
  GroupCommitWriter writer_;
  IngestService ingest_;
  ApiKeyAuthenticator auth_;
  RateLimiter limiter_;
  WebCollector web_;
};

}  // namespace minyi::collector
