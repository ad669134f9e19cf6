// XLSX workbooks (table_reader.h): the zip's members inflated within TableLimits (unpacked size,
// ratio, members), the shared strings, workbook, relationships, styles and the first sheet read by
// SAX handlers, each row through RowGate.
#include <Poco/Exception.h>
#include <Poco/SAX/Attributes.h>
#include <Poco/SAX/DefaultHandler.h>
#include <Poco/SAX/InputSource.h>
#include <Poco/SAX/SAXParser.h>
#include <Poco/Zip/ZipArchive.h>
#include <Poco/Zip/ZipStream.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <sstream>
#include <streambuf>

#include "collector/questionnaire/table_reader_internal.h"

namespace minyi::collector::questionnaire::table_detail {
namespace {

// Thrown out of the SAX handlers to stop parsing when the callback asks to.
struct StopParsing {
  Status status;
};

// Why the default TableLimits (table_reader.h) are what they are:
//  - max_unpacked_bytes 64 MiB: a sheet costs ~35 bytes of XML per cell (`<c r="AB1234" t="s"><v>17
//    </v></c>`), so 64 MiB holds ~30,000 rows of 60 questions, several times the largest town's
//    export; it is also wechat.max_upload_bytes, so an upload never unpacks to more than it could
//    have sent uncompressed.
//  - max_ratio 100:1: spreadsheet XML deflates 5-20:1 (repeated tags); the bombs of issue 13 are
//    ~1000:1. Parts under 1 MiB unpacked are not held to it (a small, very regular styles or rels
//    part may compress better, and cannot hurt).
//  - max_cell_bytes 32 KiB: Excel keeps at most 32,767 characters in a cell; 32 KiB of UTF-8 is
//    ~10,900 Chinese characters, pages of text, more than any open answer a resident types.
//  - max_columns 16384: Excel's last column (XFD); a reference beyond it is forged.
//  - max_text_bytes 64 MiB: the cells of the whole table, so that a few shared strings referenced
//    from a million cells (an amplification inside the XML, not the zip) cannot multiply the text.
//  - max_zip_members 1000: an export has ~10 parts; Excel workbooks with images a few hundred.
//  - max_xls_cells 2 Mi: FreeXL allocates 16 bytes per declared cell (32 MiB here); 问卷星 .xls
//    exports of 10,000 answers x 200 columns fit. BIFF8 allows 65,536 x 256 (264 MB in FreeXL).
constexpr std::size_t kRatioFloorBytes = std::size_t{1} << 20;

// The unpacked bytes of one workbook, counted across the zip members read.
struct UnpackBudget {
  const TableLimits& limits;
  std::size_t used = 0;
};

// A zip member's inflated bytes, counted as they are read: the reader gets end-of-input, and
// status() the reason, once the workbook's unpacked total or the member's ratio is over its limit.
// Stopping by end-of-input (not an exception) because std::istream swallows exceptions thrown by
// its streambuf; the caller checks status() after parsing.
class CountingStreamBuf : public std::streambuf {
 public:
  CountingStreamBuf(std::istream& inner, std::string member, std::uint64_t compressed, UnpackBudget& budget)
      : inner_(inner), member_(std::move(member)), compressed_(compressed), budget_(budget) {}
  const Status& status() const { return status_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (!status_.ok()) return traits_type::eof();
    inner_.read(buffer_, sizeof buffer_);
    const auto got = static_cast<std::size_t>(inner_.gcount());
    if (got == 0) return traits_type::eof();
    member_bytes_ += got;
    budget_.used += got;
    const TableLimits& limits = budget_.limits;
    if (budget_.used > limits.max_unpacked_bytes) {
      status_ = Status::ResourceExhausted(member_ + ": the .xlsx unpacks to more than " +
                                          Mib(limits.max_unpacked_bytes) +
                                          " (the limit for a questionnaire workbook's parts)");
      return traits_type::eof();
    }
    if (member_bytes_ > kRatioFloorBytes &&
        member_bytes_ > limits.max_ratio * std::max<std::uint64_t>(compressed_, 1)) {
      status_ = Status::InvalidInput(member_ + ": inflates more than " + std::to_string(limits.max_ratio) +
                                     " times its compressed size of " + std::to_string(compressed_) +
                                     " bytes (a decompression bomb?)");
      return traits_type::eof();
    }
    setg(buffer_, buffer_, buffer_ + got);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::istream& inner_;
  std::string member_;
  std::uint64_t compressed_;
  UnpackBudget& budget_;
  std::uint64_t member_bytes_ = 0;
  Status status_;
  char buffer_[1 << 16];
};

// xl/sharedStrings.xml: <si> items, each the concatenation of its <t> texts (phonetic <rPh> runs
// skipped). An item over max_cell_bytes is kept empty and listed in too_long (a cell that refers to
// it makes its row an error row); the strings held count against max_unpacked_bytes, with the
// std::string each costs, so that millions of empty items cannot grow the table past the budget.
struct SharedStrings {
  std::vector<std::string> text;
  std::vector<std::size_t> too_long;  // ascending indexes
  bool TooLong(std::size_t index) const {
    return std::binary_search(too_long.begin(), too_long.end(), index);
  }
};

class SharedStringsHandler : public Poco::XML::DefaultHandler {
 public:
  SharedStringsHandler(SharedStrings& out, const TableLimits& limits) : out_(out), limits_(limits) {}
  void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                    const Poco::XML::XMLString&, const Poco::XML::Attributes&) override {
    if (local == "si") {
      current_.clear();
      too_long_ = false;
      in_si_ = true;
    } else if (local == "rPh") {
      in_phonetic_ = true;
    } else if (local == "t" && in_si_ && !in_phonetic_) {
      in_t_ = true;
    }
  }
  void endElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                  const Poco::XML::XMLString&) override {
    if (local == "si") {
      if (too_long_) {
        out_.too_long.push_back(out_.text.size());
        current_.clear();
      }
      held_ += current_.size() + sizeof(std::string);
      if (held_ > limits_.max_unpacked_bytes) {
        throw StopParsing{
            Status::ResourceExhausted("xl/sharedStrings.xml: more than " + Mib(limits_.max_unpacked_bytes) +
                                      " of shared strings (the limit for a questionnaire workbook's parts)")};
      }
      out_.text.push_back(current_);
      in_si_ = false;
    } else if (local == "rPh") {
      in_phonetic_ = false;
    } else if (local == "t") {
      in_t_ = false;
    }
  }
  void characters(const Poco::XML::XMLChar ch[], int start, int length) override {
    if (!in_t_ || too_long_) return;
    current_.append(ch + start, static_cast<std::size_t>(length));
    too_long_ = current_.size() > limits_.max_cell_bytes;
  }

 private:
  SharedStrings& out_;
  const TableLimits& limits_;
  std::string current_;
  std::size_t held_ = 0;
  bool too_long_ = false;
  bool in_si_ = false;
  bool in_t_ = false;
  bool in_phonetic_ = false;
};

// "AB12" → 27 (0-based column 27); -1 when there are no letters; kBeyondColumns for a column past
// `max_columns` (counting stops there: a reference of a thousand letters cannot overflow).
constexpr long kBeyondColumns = -2;
long ColumnOf(const std::string& ref, std::size_t max_columns) {
  long col = 0;
  std::size_t i = 0;
  for (; i < ref.size() && ref[i] >= 'A' && ref[i] <= 'Z'; ++i) {
    col = col * 26 + (ref[i] - 'A' + 1);
    if (static_cast<std::size_t>(col) > max_columns) return kBeyondColumns;
  }
  return i == 0 ? -1 : col - 1;
}

// What the workbook says about reading its first sheet: xl/workbook.xml (sheets in workbook order,
// the date system), its relationships (where each sheet is) and xl/styles.xml (which cell styles
// are dates).
struct WorkbookInfo {
  std::string first_sheet_rid;    // r:id of the first <sheet>
  std::string first_sheet_path;   // from the relationships: "xl/worksheets/sheet1.xml"
  bool date1904 = false;          // <workbookPr date1904="1"/>
  std::vector<bool> date_styles;  // by cellXfs index: the style formats a date or time
};

constexpr char kRelationshipsNs[] = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

bool TrueAttr(const std::string& v) { return v == "1" || v == "true"; }

class WorkbookHandler : public Poco::XML::DefaultHandler {
 public:
  explicit WorkbookHandler(WorkbookInfo& info) : info_(info) {}
  void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                    const Poco::XML::XMLString&, const Poco::XML::Attributes& attrs) override {
    if (local == "sheet" && info_.first_sheet_rid.empty()) {
      info_.first_sheet_rid = attrs.getValue(kRelationshipsNs, "id");
    } else if (local == "workbookPr") {
      info_.date1904 = TrueAttr(attrs.getValue("", "date1904"));
    }
  }

 private:
  WorkbookInfo& info_;
};

// xl/_rels/workbook.xml.rels: the target of the first sheet's relationship, as a zip path.
class RelationshipsHandler : public Poco::XML::DefaultHandler {
 public:
  explicit RelationshipsHandler(WorkbookInfo& info) : info_(info) {}
  void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                    const Poco::XML::XMLString&, const Poco::XML::Attributes& attrs) override {
    if (local != "Relationship" || attrs.getValue("", "Id") != info_.first_sheet_rid) return;
    const std::string target = attrs.getValue("", "Target");
    info_.first_sheet_path = !target.empty() && target[0] == '/' ? target.substr(1) : "xl/" + target;
  }

 private:
  WorkbookInfo& info_;
};

// A number format that shows a date or time: the built-in ids 14-22 and 45-47, or a custom code with
// y, m, d, h or s outside quoted text, [colors]/[conditions] and backslash escapes ([h] elapsed hours
// count as a time).
bool IsDateFormat(int id, const std::string& code) {
  if ((id >= 14 && id <= 22) || (id >= 45 && id <= 47)) return true;
  bool quoted = false;
  for (std::size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (quoted) {
      quoted = c != '"';
    } else if (c == '"') {
      quoted = true;
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;  // the next character is literal (or padding)
    } else if (c == '[') {
      const std::size_t close = code.find(']', i);
      const std::string inside =
          code.substr(i + 1, close == std::string::npos ? std::string::npos : close - i - 1);
      if (!inside.empty() && (inside[0] == 'h' || inside[0] == 'H' || inside[0] == 'm' || inside[0] == 'M' ||
                              inside[0] == 's' || inside[0] == 'S')) {
        return true;
      }
      if (close == std::string::npos) break;
      i = close;
    } else if (std::string_view("yYmMdDhHsS").find(c) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

class StylesHandler : public Poco::XML::DefaultHandler {
 public:
  StylesHandler(WorkbookInfo& info, const TableLimits& limits) : info_(info), limits_(limits) {}
  void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                    const Poco::XML::XMLString&, const Poco::XML::Attributes& attrs) override {
    if (local == "numFmt") {
      custom_dates_.emplace_back(std::atoi(attrs.getValue("", "numFmtId").c_str()),
                                 IsDateFormat(-1, attrs.getValue("", "formatCode")));
    } else if (local == "cellXfs") {
      in_cell_xfs_ = true;
    } else if (local == "xf" && in_cell_xfs_ && info_.date_styles.size() < limits_.max_columns * 4) {
      const int id = std::atoi(attrs.getValue("", "numFmtId").c_str());
      bool date = IsDateFormat(id, "");
      for (const auto& [custom, is_date] : custom_dates_) date = custom == id ? is_date : date;
      info_.date_styles.push_back(date);
    }
  }
  void endElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                  const Poco::XML::XMLString&) override {
    if (local == "cellXfs") in_cell_xfs_ = false;
  }

 private:
  WorkbookInfo& info_;
  const TableLimits& limits_;
  std::vector<std::pair<int, bool>> custom_dates_;  // numFmtId, is a date (a workbook has a few dozen)
  bool in_cell_xfs_ = false;
};

// An Excel date serial as "YYYY-MM-DD HH:MM:SS" (1900 system: day 0 is 1899-12-30, which absorbs
// Excel's phantom 1900-02-29 for every date from March 1900 on; 1904 system: day 0 is 1904-01-01).
std::string FormatExcelDate(double serial, bool date1904) {
  auto days = static_cast<std::int64_t>(std::floor(serial));
  auto seconds = static_cast<std::int64_t>(std::llround((serial - static_cast<double>(days)) * 86400.0));
  if (seconds >= 86400) {
    ++days;
    seconds -= 86400;
  }
  // Days since 1970-01-01, then the civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
  const std::int64_t z = days + (date1904 ? -24107 : -25569) + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60));
  return buf;
}

// A worksheet's rows, handed to the gate as each </row> closes. A cell's text is collected up to
// max_cell_bytes and no further.
class SheetHandler : public Poco::XML::DefaultHandler {
 public:
  SheetHandler(const SharedStrings& shared, const WorkbookInfo& workbook, const TableLimits& limits,
               RowGate& gate)
      : shared_(shared), workbook_(workbook), limits_(limits), gate_(gate) {}

  void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                    const Poco::XML::XMLString&, const Poco::XML::Attributes& attrs) override {
    if (local == "row") {
      row_ = TableRow();
      const std::string r = attrs.getValue("", "r");
      row_number_ = r.empty() ? row_number_ + 1 : std::strtoul(r.c_str(), nullptr, 10);
      next_col_ = 0;
    } else if (local == "c") {
      type_ = attrs.getValue("", "t");
      const std::string style = attrs.getValue("", "s");
      const unsigned long xf = style.empty() ? 0 : std::strtoul(style.c_str(), nullptr, 10);
      date_ = xf < workbook_.date_styles.size() && workbook_.date_styles[xf];
      const std::string ref = attrs.getValue("", "r");
      const long col = ColumnOf(ref, limits_.max_columns);
      skip_cell_ = col == kBeyondColumns;
      if (skip_cell_) RowGate::Flag(row_, "cell " + ref.substr(0, 20) + " lies beyond column XFD");
      col_ = col >= 0 ? static_cast<std::size_t>(col) : next_col_;
      if (col_ >= limits_.max_columns) {
        skip_cell_ = true;
        RowGate::Flag(row_, "more than " + std::to_string(limits_.max_columns) + " columns");
      }
      value_.clear();
      have_value_ = false;
      too_long_ = false;
    } else if (local == "v" || (local == "t" && type_ == "inlineStr")) {
      in_value_ = true;
      have_value_ = true;
    }
  }
  void endElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local,
                  const Poco::XML::XMLString&) override {
    if (local == "v" || local == "t") {
      in_value_ = false;
    } else if (local == "c") {
      EndCell();
    } else if (local == "row") {
      if (!AllEmpty(row_.cells) || !row_.error.ok()) {
        row_.number = row_number_;
        Status s = gate_.Deliver(row_);
        if (!s.ok()) throw StopParsing{std::move(s)};
      }
      row_ = TableRow();
    }
  }
  void characters(const Poco::XML::XMLChar ch[], int start, int length) override {
    if (!in_value_ || too_long_) return;
    value_.append(ch + start, static_cast<std::size_t>(length));
    too_long_ = value_.size() > limits_.max_cell_bytes;
  }

 private:
  void EndCell() {
    if (skip_cell_) return;
    std::string text;
    if (too_long_) {
      RowGate::Flag(row_, "column " + std::to_string(col_ + 1) + ": a cell longer than " +
                              std::to_string(limits_.max_cell_bytes) + " bytes (the limit for one answer)");
    } else if (have_value_) {
      if (type_ == "s") {
        const unsigned long index = std::strtoul(value_.c_str(), nullptr, 10);
        if (shared_.TooLong(index)) {
          RowGate::Flag(row_, "column " + std::to_string(col_ + 1) + ": shared string " +
                                  std::to_string(index) + " is longer than " +
                                  std::to_string(limits_.max_cell_bytes) +
                                  " bytes (the limit for one answer)");
        } else if (index < shared_.text.size()) {
          text = shared_.text[index];
        }
      } else if (type_ == "b") {
        text = value_ == "1" ? "TRUE" : "FALSE";
      } else if (type_.empty() || type_ == "n") {
        char* end = nullptr;
        const double v = std::strtod(value_.c_str(), &end);
        const bool number = end != nullptr && *end == '\0' && !value_.empty();
        text = !number                          ? value_
               : date_ && v >= 0 && v < 2958466 ? FormatExcelDate(v, workbook_.date1904)
                                                : FormatNumber(v);
      } else {
        text = value_;  // str, inlineStr, e (error text)
      }
    }
    std::vector<std::string>& cells = row_.cells;
    if (cells.size() <= col_) cells.resize(col_ + 1);
    cells[col_] = std::move(text);
    next_col_ = col_ + 1;
  }

  const SharedStrings& shared_;
  const WorkbookInfo& workbook_;
  const TableLimits& limits_;
  RowGate& gate_;
  TableRow row_;
  std::size_t row_number_ = 0;
  std::size_t col_ = 0;
  std::size_t next_col_ = 0;
  std::string type_;
  std::string value_;
  bool in_value_ = false;
  bool have_value_ = false;
  bool too_long_ = false;
  bool skip_cell_ = false;
  bool date_ = false;  // the cell's style formats a date
};

void ParseXml(std::istream& in, Poco::XML::ContentHandler& handler) {
  Poco::XML::SAXParser parser;
  parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
  // Nothing from outside the part (expat >= 2.4 also bounds internal entity amplification).
  parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_GENERAL_ENTITIES, false);
  parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_PARAMETER_ENTITIES, false);
  parser.setContentHandler(&handler);
  Poco::XML::InputSource source(in);
  parser.parse(&source);
}

// Local file headers in a zip: Poco's ZipArchive keeps every entry it parses, so their number is
// bounded before it parses them. (A signature inside compressed data only raises the count.)
std::size_t CountZipEntries(std::string_view bytes) {
  constexpr std::string_view kLocalHeader("PK\x03\x04", 4);
  std::size_t count = 0;
  for (std::size_t at = bytes.find(kLocalHeader); at != std::string_view::npos;
       at = bytes.find(kLocalHeader, at + kLocalHeader.size())) {
    ++count;
  }
  return count;
}

// Inflates one zip member through the budget, into `handler` or (nullptr) into nothing but the
// count. The budget's refusal wins over the XML error its early end of input causes.
Status ReadMember(std::istream& in, const Poco::Zip::ZipLocalFileHeader& header, std::uint64_t archive_bytes,
                  UnpackBudget& budget, Poco::XML::ContentHandler* handler) {
  in.clear();
  Poco::Zip::ZipInputStream zin(in, header);
  CountingStreamBuf counted(zin, header.getFileName(),
                            std::min<std::uint64_t>(header.getCompressedSize(), archive_bytes), budget);
  std::istream stream(&counted);
  try {
    if (handler != nullptr) {
      ParseXml(stream, *handler);
    } else {
      char buffer[1 << 16];
      while (stream.read(buffer, sizeof buffer) || stream.gcount() > 0) {
      }
    }
  } catch (const Poco::Exception&) {
    if (!counted.status().ok()) return counted.status();
    throw;
  }
  return counted.status();
}

}  // namespace

Status ReadXlsx(std::string_view bytes, const RowCallback& on_row, const TableLimits& limits) {
  if (CountZipEntries(bytes) > limits.max_zip_members) {
    return Status::InvalidInput("the .xlsx zip has more than " + std::to_string(limits.max_zip_members) +
                                " entries (the limit for a questionnaire workbook)");
  }
  std::istringstream in{std::string(bytes)};
  try {
    Poco::Zip::ZipArchive archive(in);
    const auto none = archive.headerEnd();
    UnpackBudget check{limits};  // every part is inflated into this counter before a row is read
    // The first worksheet in workbook order (xl/workbook.xml, then its relationships); without
    // them, sheet1.xml, else the first xl/worksheets/*.xml by name.
    WorkbookInfo workbook;
    if (auto part = archive.findHeader("xl/workbook.xml"); part != none) {
      WorkbookHandler handler(workbook);
      MINYI_RETURN_IF_ERROR(ReadMember(in, part->second, bytes.size(), check, &handler));
    }
    if (auto part = archive.findHeader("xl/_rels/workbook.xml.rels");
        part != none && !workbook.first_sheet_rid.empty()) {
      RelationshipsHandler handler(workbook);
      MINYI_RETURN_IF_ERROR(ReadMember(in, part->second, bytes.size(), check, &handler));
    }
    auto sheet = workbook.first_sheet_path.empty() ? none : archive.findHeader(workbook.first_sheet_path);
    if (sheet == none) sheet = archive.findHeader("xl/worksheets/sheet1.xml");
    if (sheet == none) {
      std::string first;
      for (auto it = archive.headerBegin(); it != none; ++it) {
        if (it->first.rfind("xl/worksheets/", 0) == 0 && it->first.find('/', 14) == std::string::npos &&
            (first.empty() || it->first < first)) {
          first = it->first;
        }
      }
      if (first.empty()) return Status::InvalidInput("the .xlsx file has no worksheet (xl/worksheets/*.xml)");
      sheet = archive.findHeader(first);
    }
    const auto styles = archive.findHeader("xl/styles.xml");
    const auto strings = archive.findHeader("xl/sharedStrings.xml");
    for (const auto& part : {styles, strings, sheet}) {
      if (part != none) MINYI_RETURN_IF_ERROR(ReadMember(in, part->second, bytes.size(), check, nullptr));
    }

    UnpackBudget budget{limits};  // the same parts again, parsed
    if (styles != none) {
      StylesHandler handler(workbook, limits);
      MINYI_RETURN_IF_ERROR(ReadMember(in, styles->second, bytes.size(), budget, &handler));
    }
    SharedStrings shared;
    if (strings != none) {
      SharedStringsHandler handler(shared, limits);
      MINYI_RETURN_IF_ERROR(ReadMember(in, strings->second, bytes.size(), budget, &handler));
    }
    RowGate gate(limits, on_row);
    SheetHandler handler(shared, workbook, limits, gate);
    MINYI_RETURN_IF_ERROR(ReadMember(in, sheet->second, bytes.size(), budget, &handler));
  } catch (const StopParsing& stop) {
    return stop.status;
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("truncated or damaged .xlsx file (zip/XML): " + e.displayText());
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("truncated or damaged .xlsx file: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace minyi::collector::questionnaire::table_detail
