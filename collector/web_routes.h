// The web collector's HTTP handlers: resident pages (/s/<survey>), the JSON ingest API
// (/api/v1/responses, /api/v1/responses:batch), the pages' static files, and an optional echo route
// for benchmarks. Handlers stay thin: read (with limits), adapt, hand to the IngestService, map the
// result to a status. Routes are documented in README "HTTP API".
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "collector/ingest.h"
#include "collector/rate_limit.h"
#include "collector/web_access.h"
#include "collector/web_pages.h"
#include "core/http/router.h"

namespace minyi::collector {

struct WebOptions {
  std::size_t max_body_bytes = 1 << 20;  // API request bodies; larger: 413
  int max_json_depth = 8;                // deeper nesting: 400
  std::size_t max_batch = 500;           // items per batch request; more: 413
  std::size_t max_form_bytes = 64 << 10; // resident page form posts; larger: 413
  bool trust_forwarded_for = false;      // rate-limit by X-Forwarded-For (behind a trusted proxy)
  bool secure_cookies = false;           // add Secure to cookies (the public URL is https)
  bool bench_routes = false;             // register POST /bench/echo (benchmarks only)
  PrivacyNotice privacy;
};

// The fields of a resident page's application/x-www-form-urlencoded post, in order (repeated names
// kept); a field with a malformed percent escape is dropped. Exposed for tests/fuzz.
std::vector<std::pair<std::string, std::string>> ParsePageForm(const std::string& body);

// Owns nothing: every reference must outlive the router's server.
class WebCollector {
 public:
  WebCollector(IngestService& ingest, ApiKeyAuthenticator& auth, RateLimiter& page_limiter, WebOptions options)
      : ingest_(ingest), auth_(auth), limiter_(page_limiter), options_(std::move(options)) {}

  void Register(http::Router& router);

 private:
  void PostResponse(http::Request& request, http::Response& response);
  void PostBatch(http::Request& request, http::Response& response);
  void GetPage(http::Request& request, http::Response& response, const std::string& survey_id);
  void PostPage(http::Request& request, http::Response& response, const std::string& survey_id);

  IngestService& ingest_;
  ApiKeyAuthenticator& auth_;
  RateLimiter& limiter_;
  WebOptions options_;
};

}  // namespace minyi::collector
