// A small, strict JSON reader (RFC 8259) for the ingest API's request bodies: one pass over the bytes
// into a plain value tree, with the nesting limit enforced while reading. It replaces Poco's parser
// on the ingest path, where Poco's Dynamic::Var tree cost about as much as the rest of the request
// (bench/RESULTS.md, web ingest). Pure functions, no I/O.
//
// Strictness: one value with optional surrounding whitespace; no comments, trailing commas, NaN or
// leading zeros; strings must be valid UTF-8 and escapes valid (\u surrogates paired); a member name
// given twice in one object is an error (parsers disagree on which one counts). Members are sorted by
// name.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace minyi::collector {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // A number written without fraction or exponent ("12", "-3").
  bool is_integer() const { return type_ == Type::kNumber && integer_; }

  bool boolean() const { return boolean_; }
  // The decoded string, or a number as written (an integer without a leading "-0" sign: "0").
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  // Sorted by name, one per name.
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return members_; }
  // The member named `name`, or nullptr.
  const JsonValue* Find(std::string_view name) const;
  // Where the value was written in the parsed text: [begin, end) byte offsets.
  std::size_t begin() const { return begin_; }
  std::size_t end() const { return end_; }

 private:
  friend class JsonReader;
  Type type_ = Type::kNull;
  bool boolean_ = false;
  bool integer_ = false;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// kInvalidInput "JSON: <reason> at byte N" for a syntax error, invalid UTF-8, an empty body, or
// arrays/objects nested deeper than `max_depth`.
Result<JsonValue> ParseJson(std::string_view text, int max_depth);

}  // namespace minyi::collector
