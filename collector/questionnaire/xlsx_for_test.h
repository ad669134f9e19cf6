// Workbooks built inside tests (issue 13: decompression bombs are made by the test that uses them,
// never committed): zip parts generated as they are compressed, so a part of hundreds of MiB is
// never held. Used by table_reader_test.cc and tests/integration/questionnaire_test.cc; needs
// Poco::Zip.
#pragma once

#include <Poco/DateTime.h>
#include <Poco/Path.h>
#include <Poco/Zip/Compress.h>

#include <algorithm>
#include <istream>
#include <sstream>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

namespace minyi::collector::questionnaire::testing {

// A stream of `head`, then `unit` `times` times, then `tail`, generated as it is read: a part of
// hundreds of MiB is compressed without ever being held.
class RepeatBuf : public std::streambuf {
 public:
  RepeatBuf(std::string head, std::string unit, std::size_t times, std::string tail)
      : head_(std::move(head)), unit_(std::move(unit)), times_(times), tail_(std::move(tail)) {
    for (int i = 0; i < 4096 && !unit_.empty(); ++i) block_ += unit_;
  }

 protected:
  int_type underflow() override {
    if (stage_ == 0) {
      stage_ = 1;
      current_ = head_;
    } else if (stage_ == 1 && done_ < times_) {
      const std::size_t n = std::min<std::size_t>(4096, times_ - done_);
      done_ += n;
      current_ = n == 4096 ? block_ : block_.substr(0, n * unit_.size());
    } else if (stage_ == 1) {
      stage_ = 2;
      current_ = tail_;
    } else {
      return traits_type::eof();
    }
    if (current_.empty()) return underflow();
    setg(current_.data(), current_.data(), current_.data() + current_.size());
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::string head_, unit_, block_;
  std::size_t times_;
  std::string tail_;
  std::string current_;
  std::size_t done_ = 0;
  int stage_ = 0;
};

struct Part {
  std::string name;
  std::string head;
  std::string unit;
  std::size_t times = 0;
  std::string tail;
};

inline std::string Zip(const std::vector<Part>& parts) {
  std::ostringstream out;
  Poco::Zip::Compress zip(out, true);
  for (const Part& p : parts) {
    RepeatBuf buf(p.head, p.unit, p.times, p.tail);
    std::istream in(&buf);
    zip.addFile(in, Poco::DateTime(2026, 6, 20), Poco::Path(p.name, Poco::Path::PATH_UNIX),
                Poco::Zip::ZipCommon::CM_DEFLATE, Poco::Zip::ZipCommon::CL_MAXIMUM);
  }
  zip.close();
  return out.str();
}

inline const std::string kNs = R"( xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main")";

inline Part Sheet(std::string rows, std::string unit = "", std::size_t times = 0, std::string tail = "") {
  return {"xl/worksheets/sheet1.xml",
          "<?xml version=\"1.0\"?><worksheet" + kNs + "><sheetData>" + std::move(rows), std::move(unit),
          times, std::move(tail) + "</sheetData></worksheet>"};
}

inline Part Strings(std::string items, std::string unit = "", std::size_t times = 0) {
  return {"xl/sharedStrings.xml", "<?xml version=\"1.0\"?><sst" + kNs + ">" + std::move(items),
          std::move(unit), times, "</sst>"};
}

}  // namespace minyi::collector::questionnaire::testing
