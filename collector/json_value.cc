#include "collector/json_value.h"

#include <algorithm>

namespace minyi::collector {

const JsonValue* JsonValue::Find(std::string_view name) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), name,
                             [](const auto& member, std::string_view n) { return member.first < n; });
  return it != members_.end() && it->first == name ? &it->second : nullptr;
}

// Recursive descent over the bytes; `depth` counts the open arrays and objects.
class JsonReader {
 public:
  JsonReader(std::string_view text, int max_depth) : s_(text), max_depth_(max_depth) {}

  Status ReadDocument(JsonValue& out) {
    SkipSpace();
    if (pos_ == s_.size()) return Error("empty body");
    MINYI_RETURN_IF_ERROR(ReadValue(out, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("unexpected text after the value");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) const {
    return Status::InvalidInput("JSON: " + what + " at byte " + std::to_string(pos_));
  }

  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status ReadValue(JsonValue& out, int depth) {
    if (pos_ >= s_.size()) return Error("unexpected end");
    out.begin_ = pos_;
    MINYI_RETURN_IF_ERROR(ReadBareValue(out, depth));
    out.end_ = pos_;
    return Status::Ok();
  }

  Status ReadBareValue(JsonValue& out, int depth) {
    const char c = s_[pos_];
    switch (c) {
      case '{': return ReadObject(out, depth + 1);
      case '[': return ReadArray(out, depth + 1);
      case '"':
        out.type_ = JsonValue::Type::kString;
        return ReadString(out.text_);
      case 't':
      case 'f':
        if (Literal("true") || Literal("false")) {
          out.type_ = JsonValue::Type::kBool;
          out.boolean_ = c == 't';
          return Status::Ok();
        }
        return Error("invalid literal");
      case 'n':
        if (Literal("null")) {
          out.type_ = JsonValue::Type::kNull;
          return Status::Ok();
        }
        return Error("invalid literal");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber(out);
        return Error("unexpected character");
    }
  }

  Status ReadObject(JsonValue& out, int depth) {
    if (depth > max_depth_) return Error("nested deeper than " + std::to_string(max_depth_) + " levels");
    out.type_ = JsonValue::Type::kObject;
    ++pos_;  // {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::Ok();
    }
    auto& members = out.members_;
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("object member name expected");
      members.emplace_back();
      MINYI_RETURN_IF_ERROR(ReadString(members.back().first));
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("':' expected");
      ++pos_;
      SkipSpace();
      MINYI_RETURN_IF_ERROR(ReadValue(members.back().second, depth));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Error("',' or '}' expected");
    }
    // Sorted by name. A name given twice is refused: parsers disagree on which one counts (a proxy
    // that checks the first "town" and a store that takes the last would see different requests).
    std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i + 1 < members.size(); ++i) {
      if (members[i + 1].first == members[i].first) {
        return Error("member \"" + members[i].first.substr(0, 64) + "\" given more than once");
      }
    }
    return Status::Ok();
  }

  Status ReadArray(JsonValue& out, int depth) {
    if (depth > max_depth_) return Error("nested deeper than " + std::to_string(max_depth_) + " levels");
    out.type_ = JsonValue::Type::kArray;
    ++pos_;  // [
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::Ok();
    }
    for (;;) {
      SkipSpace();
      out.items_.emplace_back();
      MINYI_RETURN_IF_ERROR(ReadValue(out.items_.back(), depth));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return Status::Ok();
      }
      return Error("',' or ']' expected");
    }
  }

  Status ReadNumber(JsonValue& out) {
    const std::size_t start = pos_;
    bool negative = false;
    if (s_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    const std::size_t int_start = pos_;
    const std::size_t int_digits = digits();
    if (int_digits == 0) return Error("digit expected");
    if (int_digits > 1 && s_[int_start] == '0') return Error("leading zero in a number");
    bool integer = true;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return Error("digit expected after '.'");
      integer = false;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Error("digit expected in the exponent");
      integer = false;
    }
    out.type_ = JsonValue::Type::kNumber;
    out.integer_ = integer;
    if (integer && negative && int_digits == 1 && s_[int_start] == '0') {
      out.text_ = "0";
    } else {
      out.text_.assign(s_.data() + start, pos_ - start);
    }
    return Status::Ok();
  }

  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool Hex4(unsigned& out) {
    if (pos_ + 4 > s_.size()) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = HexDigit(s_[pos_ + static_cast<std::size_t>(i)]);
      if (d < 0) return false;
      out = out * 16 + static_cast<unsigned>(d);
    }
    pos_ += 4;
    return true;
  }

  static void AppendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Length of the valid UTF-8 sequence starting at pos_ (0 when invalid): no overlong forms, no
  // surrogates, nothing above U+10FFFF.
  std::size_t Utf8Length() const {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s_[pos_ + i]); };
    const unsigned char c = b(0);
    const std::size_t left = s_.size() - pos_;
    auto cont = [&](std::size_t i) { return i < left && (b(i) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return 0;
      if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
      if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return 0;
      if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
      if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
      return 4;
    }
    return 0;
  }

  Status ReadString(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      // Copy the run of plain bytes at once.
      std::size_t run = pos_;
      while (run < s_.size()) {
        const auto c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++run;
      }
      out.append(s_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= s_.size()) return Error("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) return Error("control character in a string");
      if (c >= 0x80) {
        const std::size_t n = Utf8Length();
        if (n == 0) return Error("invalid UTF-8 in a string");
        out.append(s_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      // A backslash escape.
      if (++pos_ >= s_.size()) return Error("unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (!Hex4(cp)) return Error("invalid \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned low = 0;
            if (!Literal("\\u") || !Hex4(low) || low < 0xDC00 || low > 0xDFFF) return Error("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("unpaired surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default: return Error("invalid escape");
      }
    }
  }

  std::string_view s_;
  int max_depth_;
  std::size_t pos_ = 0;
};

Result<JsonValue> ParseJson(std::string_view text, int max_depth) {
  JsonValue value;
  JsonReader reader(text, max_depth);
  MINYI_RETURN_IF_ERROR(reader.ReadDocument(value));
  return value;
}

}  // namespace minyi::collector
