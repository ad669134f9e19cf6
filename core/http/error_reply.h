// The one error boundary of the HTTP API: which HTTP status a failed Status answers with, whether it
// carries Retry-After, and the one JSON shape of an error. Every route of every component answers its
// failures through these (README "HTTP API"); handlers return a Status, this decides the HTTP.
//
//   kInvalidInput       400, or 422 for a route that refuses well-formed input (ErrorKind::kUnprocessable),
//                       or 415 for a body of the wrong media type (kUnsupportedMediaType)
//   kUnauthenticated    401        kPermissionDenied   403        kNotFound   404        kConflict   409
//   kResourceExhausted  429 (a rate or a cap), or 413 for a body or file over a size limit (kTooLarge)
//   kUnavailable        503 with Retry-After: 1 (a dependency failed; the same request may succeed)
//   kInternal           500, its message never sent
//
// Thread-safe: pure functions.
#pragma once

#include <Poco/Net/HTTPServerResponse.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/survey.h"  // FieldError

namespace minyi::http {

using Response = Poco::Net::HTTPServerResponse;

// What a route refused, where the Status code alone leaves the HTTP status open (see the table above).
enum class ErrorKind {
  kDefault,
  kUnprocessable,         // kInvalidInput → 422: well-formed but not acceptable (the ingest API, uploads)
  kUnsupportedMediaType,  // kInvalidInput → 415
  kTooLarge,              // kResourceExhausted → 413
};

struct HttpError {
  int status = 500;
  int retry_after_seconds = 0;  // 0: no Retry-After header
};

// The HTTP status (and Retry-After) of `code` as read by a route of `kind`; kOk is 200. A kind that does not
// apply to the code (kTooLarge for kNotFound) changes nothing.
HttpError HttpErrorFor(StatusCode code, ErrorKind kind = ErrorKind::kDefault);

// The JSON error code of `code` as read by a route of `kind`: "too_large", "unsupported_media_type", else the
// Status code's name with '_' ("invalid_input", "not_found", "permission_denied", ...).
std::string ErrorCodeName(StatusCode code, ErrorKind kind = ErrorKind::kDefault);

// The one error body: {"error":{"code":..,"message":..[,"fields":[{"field":..,"reason":..}]]}}, escaped by
// JsonEscape (router.h).
std::string ErrorJson(std::string_view code, std::string_view message,
                      const std::vector<FieldError>& fields = {});
// Its inner object {"code":..,"message":..[,"fields":..]}, for a body that carries more beside "error"
// ({"id":123,"error":{..}} of a conflicting replay; an upload's {"error":{..},"report":{..}}).
std::string ErrorObject(std::string_view code, std::string_view message,
                        const std::vector<FieldError>& fields = {});

// A failure as a route answers it: the status's HTTP status and Retry-After from HttpErrorFor, the body
// ErrorJson. `code` names the failure in the body when it is more specific than ErrorCodeName
// ("invalid_json", "busy"); empty: ErrorCodeName. A kInternal status sends "internal error", never its
// message.
struct ErrorReply {
  Status status;
  ErrorKind kind = ErrorKind::kDefault;
  std::string code;
  std::vector<FieldError> fields;
};
void SendError(Response& response, const ErrorReply& error);
// The same with ErrorCodeName(status.code()) and no fields: {"error":{"code":"not_found","message":..}}.
void SendError(Response& response, const Status& status, ErrorKind kind = ErrorKind::kDefault);

}  // namespace minyi::http
