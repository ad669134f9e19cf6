// Files → rows (table_reader.h): the format by content, text decoding (BOM, strict UTF-8, GB18030)
// and CSV here; XLSX in table_reader_xlsx.cc, XLS in table_reader_xls.cc.
#include "collector/questionnaire/table_reader.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <unicode/ucnv.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "collector/questionnaire/table_reader_internal.h"
#include "collector/questionnaire/xls_limits.h"
#include "core/csv.h"
#include "core/text/unicode_text.h"

namespace minyi::collector::questionnaire {

// The reader's shared internals (table_reader_internal.h).
using namespace table_detail;  // NOLINT(google-build-using-namespace)

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string Sha256Hex(std::string_view bytes) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(bytes.data(), static_cast<unsigned>(bytes.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
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

Status ReadCsv(std::string_view bytes, const RowCallback& on_row, TableInfo* info,
               const TableLimits& limits) {
  TextEncoding encoding = TextEncoding::kUtf8;
  auto text = DecodeText(bytes, &encoding);
  if (!text.ok()) return text.status();
  if (info != nullptr) info->encoding = encoding;
  std::istringstream in(text.value());
  CsvReader reader(in);
  RowGate gate(limits, on_row);
  std::vector<std::string> fields;
  Status error;
  while (reader.Next(fields, &error)) {
    if (error.ok() && AllEmpty(fields)) continue;
    TableRow row;
    row.number = reader.line();
    row.cells = std::move(fields);
    row.error = error;
    MINYI_RETURN_IF_ERROR(gate.Deliver(row));
    fields.clear();
  }
  return Status::Ok();
}

}  // namespace

std::string_view FileFormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kCsv:
      return "csv";
    case FileFormat::kXls:
      return "xls";
    case FileFormat::kXlsx:
      return "xlsx";
  }
  return "csv";
}

std::string_view TextEncodingName(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kUtf8Bom:
      return "utf-8 (BOM)";
    case TextEncoding::kUtf8:
      return "utf-8";
    case TextEncoding::kGb18030:
      return "gb18030";
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
    if (!text::IsValidUtf8(bytes))
      return Status::InvalidInput("the file starts with a UTF-8 BOM but is not UTF-8");
    return std::string(bytes);
  }
  if (text::IsValidUtf8(bytes)) {
    if (encoding != nullptr) *encoding = TextEncoding::kUtf8;
    return std::string(bytes);
  }
  if (encoding != nullptr) *encoding = TextEncoding::kGb18030;
  return Gb18030ToUtf8(bytes);
}

Status ReadTableBytes(std::string_view bytes, const RowCallback& on_row, TableInfo* info,
                      const TableLimits& limits) {
  auto format = SniffFormat(bytes);
  if (!format.ok()) return format.status();
  if (info != nullptr) {
    info->format = format.value();
    info->sha256 = Sha256Hex(bytes);
  }
  switch (format.value()) {
    case FileFormat::kXlsx:
      return ReadXlsx(bytes, on_row, limits);
    case FileFormat::kXls:
      return Status::InvalidInput("an .xls workbook must be read from a file");
    case FileFormat::kCsv:
      return ReadCsv(bytes, on_row, info, limits);
  }
  return Status::Internal("unknown format");
}

Status ReadTableFile(const std::string& path, const RowCallback& on_row, TableInfo* info,
                     const TableLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::string bytes;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    bytes.append(buf, static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > limits.max_file_bytes) {
      return Status::ResourceExhausted("the file is larger than " + Mib(limits.max_file_bytes));
    }
  }
  auto format = SniffFormat(bytes);
  if (!format.ok()) return format.status();
  if (format.value() != FileFormat::kXls) return ReadTableBytes(bytes, on_row, info, limits);
  MINYI_RETURN_IF_ERROR(CheckXlsDeclaredSizes(bytes, limits.max_xls_cells, limits.max_xls_cells));
  if (info != nullptr) {
    info->format = FileFormat::kXls;
    info->sha256 = Sha256Hex(bytes);
  }
  return ReadXls(path, on_row, limits);
}

}  // namespace minyi::collector::questionnaire
