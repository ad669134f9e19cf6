#include "core/http/error_reply.h"

#include "core/http/router.h"

namespace minyi::http {

HttpError HttpErrorFor(StatusCode code, ErrorKind kind) {
  switch (code) {
    case StatusCode::kOk:
      return {200};
    case StatusCode::kInvalidInput:
      if (kind == ErrorKind::kUnprocessable) return {422};
      if (kind == ErrorKind::kUnsupportedMediaType) return {415};
      return {400};
    case StatusCode::kNotFound:
      return {404};
    case StatusCode::kConflict:
      return {409};
    case StatusCode::kPermissionDenied:
      return {403};
    case StatusCode::kUnauthenticated:
      return {401};
    case StatusCode::kResourceExhausted:
      return {kind == ErrorKind::kTooLarge ? 413 : 429};
    case StatusCode::kUnavailable:
      return {503, 1};
    case StatusCode::kInternal:
      return {500};
  }
  return {500};
}

std::string ErrorCodeName(StatusCode code, ErrorKind kind) {
  if (kind == ErrorKind::kTooLarge && code == StatusCode::kResourceExhausted) return "too_large";
  if (kind == ErrorKind::kUnsupportedMediaType && code == StatusCode::kInvalidInput)
    return "unsupported_media_type";
  std::string name(StatusCodeName(code));
  for (char& c : name) c = c == ' ' ? '_' : c;
  return name;
}

std::string ErrorObject(std::string_view code, std::string_view message,
                        const std::vector<FieldError>& fields) {
  std::string out = "{\"code\":\"" + JsonEscape(code) + "\",\"message\":\"" + JsonEscape(message) + "\"";
  if (!fields.empty()) {
    out += ",\"fields\":[";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"field\":\"" + JsonEscape(fields[i].field) + "\",\"reason\":\"" +
             JsonEscape(fields[i].reason) + "\"}";
    }
    out += "]";
  }
  return out + "}";
}

std::string ErrorJson(std::string_view code, std::string_view message,
                      const std::vector<FieldError>& fields) {
  return "{\"error\":" + ErrorObject(code, message, fields) + "}";
}

void SendError(Response& response, const ErrorReply& error) {
  const StatusCode code = error.status.code();
  const HttpError http = HttpErrorFor(code, error.kind);
  if (http.retry_after_seconds > 0) response.set("Retry-After", std::to_string(http.retry_after_seconds));
  // Internal errors never echo details to the client.
  const std::string message =
      code == StatusCode::kInternal ? std::string("internal error") : error.status.message();
  SendJson(
      response, http.status,
      ErrorJson(error.code.empty() ? ErrorCodeName(code, error.kind) : error.code, message, error.fields));
}

void SendError(Response& response, const Status& status, ErrorKind kind) {
  SendError(response, ErrorReply{status, kind, {}, {}});
}

}  // namespace minyi::http
