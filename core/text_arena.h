// Texts kept back to back in one reused buffer and referred to by offset (the buffer moves as it grows,
// so views are taken once it is filled). The microdata export's scan pages and towns hold their texts
// so: no allocation per text once the buffer has grown (sql/sqlite_store.cc, exports/microdata.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace minyi {

class TextArena {
 public:
  struct Ref {
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  // One answer value (AnswerView's texts, by reference).
  struct AnswerRef {
    Ref question;
    Ref value;
  };

  Ref Add(std::string_view text) {
    const Ref ref{text_.size(), text.size()};
    text_.append(text.data(), text.size());
    return ref;
  }
  std::string_view View(Ref ref) const { return std::string_view(text_).substr(ref.offset, ref.size); }
  // For text appended straight to the buffer: the text from `start` to its end.
  std::string* buffer() { return &text_; }
  Ref Since(std::size_t start) const { return {start, text_.size() - start}; }
  std::size_t size() const { return text_.size(); }
  void clear() { text_.clear(); }

 private:
  std::string text_;
};

}  // namespace minyi
