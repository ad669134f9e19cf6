#include "collector/questionnaire/table_reader.h"

#include <Poco/DigestEngine.h>
#include <Poco/Exception.h>
#include <Poco/SAX/Attributes.h>
#include <Poco/SAX/DefaultHandler.h>
#include <Poco/SAX/InputSource.h>
#include <Poco/SAX/SAXParser.h>
#include <Poco/SHA2Engine.h>
#include <Poco/Zip/ZipArchive.h>
#include <Poco/Zip/ZipStream.h>
#include <freexl.h>
#include <unicode/ucnv.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/csv.h"

namespace minyi::collector::questionnaire {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool AllEmpty(const std::vector<std::string>& cells) {
  return std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
    return c.find_first_not_of(" \t\r\n") == std::string::npos;
  });
}

std::string Sha256Hex(std::string_view bytes) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(bytes.data(), static_cast<unsigned>(bytes.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

// Integral values without a decimal point (Excel stores every number as a double).
std::string FormatNumber(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.15g", v);
  }
  return buf;
}

bool IsStrictUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    unsigned cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      extra = 1;
      cp = b & 0x1Fu;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2;
      cp = b & 0x0Fu;
    } else if (b >= 0xF0 && b <= 0xF4) {
      extra = 3;
      cp = b & 0x07u;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

Result<std::string> Gb18030ToUtf8(std::string_view bytes) {
  UErrorCode error = U_ZERO_ERROR;
  UConverter* conv = ucnv_open("GB18030", &error);
  if (U_FAILURE(error)) return Status::Internal("ICU has no GB18030 converter");
  std::unique_ptr<UConverter, void (*)(UConverter*)> guard(conv, ucnv_close);
  ucnv_setToUCallBack(conv, UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &error);
  UConverter* utf8 = ucnv_open("UTF-8", &error);
  if (U_FAILURE(error)) return Status::Internal("ICU has no UTF-8 converter");
  std::unique_ptr<UConverter, void (*)(UConverter*)> guard8(utf8, ucnv_close);
  std::string out(bytes.size() * 2 + 16, '\0');
  const char* source = bytes.data();
  char* target = out.data();
  ucnv_convertEx(utf8, conv, &target, out.data() + out.size(), &source, bytes.data() + bytes.size(), nullptr,
                 nullptr, nullptr, nullptr, true, true, &error);
  if (U_FAILURE(error)) {
    return Status::InvalidInput("the text is neither UTF-8 nor GB18030/GBK (invalid byte at offset " +
                                std::to_string(source - bytes.data()) + ")");
  }
  out.resize(static_cast<std::size_t>(target - out.data()));
  return out;
}

// Thrown out of the SAX handlers to stop parsing when the callback asks to.
struct StopParsing {
  Status status;
};

// xl/sharedStrings.xml: <si> items, each the concatenation of its <t> texts (phonetic <rPh> runs
// skipped).
class SharedStringsHandler : public Poco::XML::DefaultHandler {
 public:
  explicit SharedStringsHandler(std::vector<std::string>& out) : out_(out) {}
  void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local, const Poco::XML::XMLString&,
                    const Poco::XML::Attributes&) override {
    if (local == "si") {
      current_.clear();
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
      out_.push_back(current_);
      in_si_ = false;
    } else if (local == "rPh") {
      in_phonetic_ = false;
    } else if (local == "t") {
      in_t_ = false;
    }
  }
  void characters(const Poco::XML::XMLChar ch[], int start, int length) override {
    if (in_t_) current_.append(ch + start, static_cast<std::size_t>(length));
  }

 private:
  std::vector<std::string>& out_;
  std::string current_;
  bool in_si_ = false;
  bool in_t_ = false;
  bool in_phonetic_ = false;
};

// "AB12" → 27 (0-based column 27); -1 when there are no letters.
long ColumnOf(const std::string& ref) {
  long col = 0;
  std::size_t i = 0;
  for (; i < ref.size() && ref[i] >= 'A' && ref[i] <= 'Z'; ++i) col = col * 26 + (ref[i] - 'A' + 1);
  return i == 0 ? -1 : col - 1;
}

// A worksheet's rows, handed to the callback as each </row> closes.
class SheetHandler : public Poco::XML::DefaultHandler {
 public:
  SheetHandler(const std::vector<std::string>& shared, const RowCallback& on_row)
      : shared_(shared), on_row_(on_row) {}

  void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& local, const Poco::XML::XMLString&,
                    const Poco::XML::Attributes& attrs) override {
    if (local == "row") {
      cells_.clear();
      const std::string r = attrs.getValue("", "r");
      row_number_ = r.empty() ? row_number_ + 1 : std::strtoul(r.c_str(), nullptr, 10);
      next_col_ = 0;
    } else if (local == "c") {
      type_ = attrs.getValue("", "t");
      const long col = ColumnOf(attrs.getValue("", "r"));
      col_ = col >= 0 ? static_cast<std::size_t>(col) : next_col_;
      value_.clear();
      have_value_ = false;
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
      std::string text;
      if (have_value_) {
        if (type_ == "s") {
          const unsigned long index = std::strtoul(value_.c_str(), nullptr, 10);
          if (index < shared_.size()) text = shared_[index];
        } else if (type_ == "b") {
          text = value_ == "1" ? "TRUE" : "FALSE";
        } else if (type_.empty() || type_ == "n") {
          char* end = nullptr;
          const double v = std::strtod(value_.c_str(), &end);
          text = (end != nullptr && *end == '\0' && !value_.empty()) ? FormatNumber(v) : value_;
        } else {
          text = value_;  // str, inlineStr, e (error text)
        }
      }
      if (cells_.size() <= col_) cells_.resize(col_ + 1);
      cells_[col_] = std::move(text);
      next_col_ = col_ + 1;
    } else if (local == "row") {
      if (!AllEmpty(cells_)) {
        TableRow row;
        row.number = row_number_;
        row.cells = std::move(cells_);
        Status s = on_row_(row);
        if (!s.ok()) throw StopParsing{std::move(s)};
      }
      cells_.clear();
    }
  }
  void characters(const Poco::XML::XMLChar ch[], int start, int length) override {
    if (in_value_) value_.append(ch + start, static_cast<std::size_t>(length));
  }

 private:
  const std::vector<std::string>& shared_;
  const RowCallback& on_row_;
  std::vector<std::string> cells_;
  std::size_t row_number_ = 0;
  std::size_t col_ = 0;
  std::size_t next_col_ = 0;
  std::string type_;
  std::string value_;
  bool in_value_ = false;
  bool have_value_ = false;
};

void ParseXml(std::istream& in, Poco::XML::ContentHandler& handler) {
  Poco::XML::SAXParser parser;
  parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
  parser.setContentHandler(&handler);
  Poco::XML::InputSource source(in);
  parser.parse(&source);
}

Status ReadXlsx(std::istream& in, const RowCallback& on_row) {
  try {
    Poco::Zip::ZipArchive archive(in);
    std::vector<std::string> shared;
    auto strings = archive.findHeader("xl/sharedStrings.xml");
    if (strings != archive.headerEnd()) {
      in.clear();
      Poco::Zip::ZipInputStream zin(in, strings->second);
      SharedStringsHandler handler(shared);
      ParseXml(zin, handler);
    }
    // The first worksheet: sheet1.xml in every workbook written by Excel, WPS or the survey sites;
    // otherwise the first xl/worksheets/*.xml by name.
    auto sheet = archive.findHeader("xl/worksheets/sheet1.xml");
    if (sheet == archive.headerEnd()) {
      std::string first;
      for (auto it = archive.headerBegin(); it != archive.headerEnd(); ++it) {
        if (it->first.rfind("xl/worksheets/", 0) == 0 && it->first.find('/', 14) == std::string::npos &&
            (first.empty() || it->first < first)) {
          first = it->first;
        }
      }
      if (first.empty()) return Status::InvalidInput("the .xlsx file has no worksheet (xl/worksheets/*.xml)");
      sheet = archive.findHeader(first);
    }
    in.clear();
    Poco::Zip::ZipInputStream zin(in, sheet->second);
    SheetHandler handler(shared, on_row);
    ParseXml(zin, handler);
  } catch (const StopParsing& stop) {
    return stop.status;
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("truncated or damaged .xlsx file (zip/XML): " + e.displayText());
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("truncated or damaged .xlsx file: ") + e.what());
  }
  return Status::Ok();
}

Status ReadCsv(std::string_view bytes, const RowCallback& on_row, TableInfo* info) {
  TextEncoding encoding = TextEncoding::kUtf8;
  auto text = DecodeText(bytes, &encoding);
  if (!text.ok()) return text.status();
  if (info != nullptr) info->encoding = encoding;
  std::istringstream in(text.value());
  CsvReader reader(in);
  std::vector<std::string> fields;
  Status error;
  while (reader.Next(fields, &error)) {
    if (error.ok() && AllEmpty(fields)) continue;
    TableRow row;
    row.number = reader.line();
    row.cells = std::move(fields);
    row.error = error;
    MINYI_RETURN_IF_ERROR(on_row(row));
    fields.clear();
  }
  return Status::Ok();
}

std::string FreexlError(int code) {
  switch (code) {
    case FREEXL_INVALID_CFBF_HEADER:
    case FREEXL_CFBF_INVALID_SIGNATURE: return "not an OLE2 compound file";
    case FREEXL_CFBF_READ_ERROR:
    case FREEXL_CFBF_SEEK_ERROR:
    case FREEXL_CFBF_EMPTY_FAT_CHAIN:
    case FREEXL_CFBF_ILLEGAL_FAT_ENTRY: return "the compound file ends early or its sector chain is broken";
    case FREEXL_BIFF_WORKBOOK_NOT_FOUND: return "no Workbook stream";
    case FREEXL_BIFF_INVALID_BOF: return "not a BIFF workbook";
    case FREEXL_BIFF_INVALID_SST:
    case FREEXL_BIFF_ILLEGAL_SST_INDEX: return "broken shared string table";
    case FREEXL_UNSUPPORTED_CHARSET:
    case FREEXL_INVALID_CHARACTER: return "text in an unsupported or invalid code page";
    case FREEXL_INVALID_MINI_STREAM:
    case FREEXL_CFBF_ILLEGAL_MINI_FAT_ENTRY: return "broken mini stream";
    default: return "FreeXL error " + std::to_string(code);
  }
}

Status ReadXls(const std::string& path, const RowCallback& on_row) {
  const void* handle = nullptr;
  const int opened = freexl_open(path.c_str(), &handle);
  std::unique_ptr<const void, void (*)(const void*)> guard(handle, [](const void* h) {
    if (h != nullptr) freexl_close(h);
  });
  if (opened != FREEXL_OK) {
    return Status::InvalidInput("truncated or damaged .xls file (" + FreexlError(opened) + ")");
  }
  unsigned int password = 0;
  if (freexl_get_info(handle, FREEXL_BIFF_PASSWORD, &password) == FREEXL_OK && password == FREEXL_BIFF_OBFUSCATED) {
    return Status::InvalidInput("the .xls file is password-protected");
  }
  if (freexl_select_active_worksheet(handle, 0) != FREEXL_OK) {
    return Status::InvalidInput("the .xls file has no worksheet");
  }
  unsigned int rows = 0;
  unsigned short columns = 0;
  if (freexl_worksheet_dimensions(handle, &rows, &columns) != FREEXL_OK) {
    return Status::InvalidInput("the .xls worksheet has no dimensions");
  }
  for (unsigned int r = 0; r < rows; ++r) {
    TableRow row;
    row.number = r + 1;
    row.cells.resize(columns);
    for (unsigned short c = 0; c < columns; ++c) {
      FreeXL_CellValue cell;
      if (freexl_get_cell_value(handle, r, c, &cell) != FREEXL_OK) continue;
      switch (cell.type) {
        case FREEXL_CELL_INT: row.cells[c] = std::to_string(cell.value.int_value); break;
        case FREEXL_CELL_DOUBLE: row.cells[c] = FormatNumber(cell.value.double_value); break;
        case FREEXL_CELL_TEXT:
        case FREEXL_CELL_SST_TEXT:
        case FREEXL_CELL_DATE:
        case FREEXL_CELL_DATETIME:
        case FREEXL_CELL_TIME:
          if (cell.value.text_value != nullptr) row.cells[c] = cell.value.text_value;
          break;
        default: break;
      }
    }
    if (AllEmpty(row.cells)) continue;
    MINYI_RETURN_IF_ERROR(on_row(row));
  }
  return Status::Ok();
}

}  // namespace

std::string_view FileFormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kCsv: return "csv";
    case FileFormat::kXls: return "xls";
    case FileFormat::kXlsx: return "xlsx";
  }
  return "csv";
}

std::string_view TextEncodingName(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kUtf8Bom: return "utf-8 (BOM)";
    case TextEncoding::kUtf8: return "utf-8";
    case TextEncoding::kGb18030: return "gb18030";
  }
  return "utf-8";
}

Result<FileFormat> SniffFormat(std::string_view head) {
  if (head.empty()) return Status::InvalidInput("the file is empty");
  if (head.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return FileFormat::kXlsx;
  if (head.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8)) return FileFormat::kXls;
  if (head.substr(0, 4096).find('\0') != std::string_view::npos) {
    return Status::InvalidInput(
        "a binary file that is not a questionnaire export (expected .xls, .xlsx or CSV text)");
  }
  return FileFormat::kCsv;
}

Result<std::string> DecodeText(std::string_view bytes, TextEncoding* encoding) {
  if (bytes.substr(0, 3) == kUtf8Bom) {
    if (encoding != nullptr) *encoding = TextEncoding::kUtf8Bom;
    bytes.remove_prefix(3);
    if (!IsStrictUtf8(bytes)) return Status::InvalidInput("the file starts with a UTF-8 BOM but is not UTF-8");
    return std::string(bytes);
  }
  if (IsStrictUtf8(bytes)) {
    if (encoding != nullptr) *encoding = TextEncoding::kUtf8;
    return std::string(bytes);
  }
  if (encoding != nullptr) *encoding = TextEncoding::kGb18030;
  return Gb18030ToUtf8(bytes);
}

Status ReadTableBytes(std::string_view bytes, const RowCallback& on_row, TableInfo* info) {
  auto format = SniffFormat(bytes);
  if (!format.ok()) return format.status();
  if (info != nullptr) {
    info->format = format.value();
    info->sha256 = Sha256Hex(bytes);
  }
  switch (format.value()) {
    case FileFormat::kXlsx: {
      std::istringstream in{std::string(bytes)};
      return ReadXlsx(in, on_row);
    }
    case FileFormat::kXls:
      return Status::InvalidInput("an .xls workbook must be read from a file");
    case FileFormat::kCsv:
      return ReadCsv(bytes, on_row, info);
  }
  return Status::Internal("unknown format");
}

Status ReadTableFile(const std::string& path, const RowCallback& on_row, TableInfo* info, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::string bytes;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    bytes.append(buf, static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > max_bytes) {
      return Status::ResourceExhausted("the file is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  auto format = SniffFormat(bytes);
  if (!format.ok()) return format.status();
  if (format.value() != FileFormat::kXls) return ReadTableBytes(bytes, on_row, info);
  if (info != nullptr) {
    info->format = FileFormat::kXls;
    info->sha256 = Sha256Hex(bytes);
  }
  return ReadXls(path, on_row);
}

}  // namespace minyi::collector::questionnaire
