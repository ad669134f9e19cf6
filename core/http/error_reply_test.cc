#include "core/http/error_reply.h"

#include <gtest/gtest.h>

namespace minyi::http {
namespace {

// The one Status → HTTP mapping, every code under every kind: the README's HTTP API tables answer these.
TEST(ErrorReplyTest, EveryStatusCodeHasItsHttpStatusAndRetryAfter) {
  struct Case {
    StatusCode code;
    ErrorKind kind;
    int status;
    int retry_after;
    const char* name;
  };
  const Case cases[] = {
      {StatusCode::kOk, ErrorKind::kDefault, 200, 0, "OK"},
      {StatusCode::kInvalidInput, ErrorKind::kDefault, 400, 0, "invalid_input"},
      {StatusCode::kInvalidInput, ErrorKind::kUnprocessable, 422, 0, "invalid_input"},
      {StatusCode::kInvalidInput, ErrorKind::kUnsupportedMediaType, 415, 0, "unsupported_media_type"},
      {StatusCode::kInvalidInput, ErrorKind::kTooLarge, 400, 0, "invalid_input"},
      {StatusCode::kUnauthenticated, ErrorKind::kDefault, 401, 0, "unauthenticated"},
      {StatusCode::kPermissionDenied, ErrorKind::kDefault, 403, 0, "permission_denied"},
      {StatusCode::kNotFound, ErrorKind::kDefault, 404, 0, "not_found"},
      {StatusCode::kNotFound, ErrorKind::kTooLarge, 404, 0, "not_found"},
      {StatusCode::kConflict, ErrorKind::kDefault, 409, 0, "conflict"},
      {StatusCode::kResourceExhausted, ErrorKind::kDefault, 429, 0, "resource_exhausted"},
      {StatusCode::kResourceExhausted, ErrorKind::kTooLarge, 413, 0, "too_large"},
      {StatusCode::kResourceExhausted, ErrorKind::kUnprocessable, 429, 0, "resource_exhausted"},
      {StatusCode::kUnavailable, ErrorKind::kDefault, 503, 1, "unavailable"},
      {StatusCode::kUnavailable, ErrorKind::kUnprocessable, 503, 1, "unavailable"},
      {StatusCode::kInternal, ErrorKind::kDefault, 500, 0, "internal_error"},
  };
  for (const Case& c : cases) {
    const HttpError e = HttpErrorFor(c.code, c.kind);
    EXPECT_EQ(e.status, c.status) << StatusCodeName(c.code) << " kind " << static_cast<int>(c.kind);
    EXPECT_EQ(e.retry_after_seconds, c.retry_after) << StatusCodeName(c.code);
    EXPECT_EQ(ErrorCodeName(c.code, c.kind), c.name) << StatusCodeName(c.code);
  }
}

TEST(ErrorReplyTest, OneJsonShapeEscapedWithFieldsWhenThereAreSome) {
  EXPECT_EQ(ErrorJson("not_found", "no such page: /x"),
            R"({"error":{"code":"not_found","message":"no such page: /x"}})");
  EXPECT_EQ(
      ErrorJson("invalid_input", "bad \"row\"\n<b>", {{"answers.security", "option 8"}, {"town", "unknown"}}),
      R"({"error":{"code":"invalid_input","message":"bad \"row\"\n\u003cb\u003e","fields":[)"
      R"({"field":"answers.security","reason":"option 8"},{"field":"town","reason":"unknown"}]}})");
  EXPECT_EQ("{\"id\":7,\"error\":" + ErrorObject("conflict", "differs") + "}",
            R"({"id":7,"error":{"code":"conflict","message":"differs"}})");
}

}  // namespace
}  // namespace minyi::http
