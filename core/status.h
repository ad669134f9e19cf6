// Errors as values across component boundaries (after leveldb's Status).
//
// A Status is either OK or carries a code and a human-readable message. Bad input is reported as
// kInvalidInput and is never a bug; kInternal is reserved for broken invariants and failed
// dependencies that the caller cannot fix by changing its input. Status and Result are cheap to
// move, not thread-safe to share mutably (copy them instead).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace minyi {

enum class StatusCode {
  kOk = 0,
  kInvalidInput,      // the caller's input is malformed or violates the survey definition
  kNotFound,          // the named thing does not exist
  kConflict,          // same identity, different content (idempotency violation)
  kPermissionDenied,  // authenticated but not allowed
  kUnauthenticated,   // no or bad credentials
  kResourceExhausted, // a limit was hit (size, rate)
  kUnavailable,       // a dependency (database, disk) failed; retrying may help
  kInternal,          // a broken invariant in our own code
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string msg) { return {StatusCode::kInvalidInput, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {StatusCode::kConflict, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) { return {StatusCode::kPermissionDenied, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) { return {StatusCode::kUnauthenticated, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid input: town 3208 is not a 9-digit town code"; "OK" when ok().
  std::string ToString() const;

  // Prefixes the message with context ("line 17: ...") keeping the code.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

// Result<T>: a value or a non-OK Status. Accessing value() of an error is a programming error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {}       // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace minyi

// Propagates a non-OK Status from an expression returning Status.
#define MINYI_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::minyi::Status minyi_status_ = (expr);      \
    if (!minyi_status_.ok()) return minyi_status_; \
  } while (false)
