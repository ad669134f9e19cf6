// XLS workbooks (table_reader.h) through FreeXL, run in a child process (isolated_reader.h).
#include <freexl.h>

#include <memory>
#include <string>

#include "collector/questionnaire/isolated_reader.h"
#include "collector/questionnaire/table_reader_internal.h"

namespace minyi::collector::questionnaire::table_detail {
namespace {

std::string FreexlError(int code) {
  switch (code) {
    case FREEXL_INVALID_CFBF_HEADER:
    case FREEXL_CFBF_INVALID_SIGNATURE:
      return "not an OLE2 compound file";
    case FREEXL_CFBF_READ_ERROR:
    case FREEXL_CFBF_SEEK_ERROR:
    case FREEXL_CFBF_EMPTY_FAT_CHAIN:
    case FREEXL_CFBF_ILLEGAL_FAT_ENTRY:
      return "the compound file ends early or its sector chain is broken";
    case FREEXL_BIFF_WORKBOOK_NOT_FOUND:
      return "no Workbook stream";
    case FREEXL_BIFF_INVALID_BOF:
      return "not a BIFF workbook";
    case FREEXL_BIFF_INVALID_SST:
    case FREEXL_BIFF_ILLEGAL_SST_INDEX:
      return "broken shared string table";
    case FREEXL_UNSUPPORTED_CHARSET:
    case FREEXL_INVALID_CHARACTER:
      return "text in an unsupported or invalid code page";
    case FREEXL_INVALID_MINI_STREAM:
    case FREEXL_CFBF_ILLEGAL_MINI_FAT_ENTRY:
      return "broken mini stream";
    default:
      return "FreeXL error " + std::to_string(code);
  }
}

// In the reading child process (ReadXls below): FreeXL itself.
Status ReadXlsWithFreexl(const std::string& path, const RowCallback& on_row, const TableLimits& limits) {
  const void* handle = nullptr;
  const int opened = freexl_open(path.c_str(), &handle);
  std::unique_ptr<const void, void (*)(const void*)> guard(handle, [](const void* h) {
    if (h != nullptr) freexl_close(h);
  });
  if (opened != FREEXL_OK) {
    return Status::InvalidInput("truncated or damaged .xls file (" + FreexlError(opened) + ")");
  }
  unsigned int password = 0;
  if (freexl_get_info(handle, FREEXL_BIFF_PASSWORD, &password) == FREEXL_OK &&
      password == FREEXL_BIFF_OBFUSCATED) {
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
  RowGate gate(limits, on_row);
  for (unsigned int r = 0; r < rows; ++r) {
    TableRow row;
    row.number = r + 1;
    row.cells.resize(columns);
    for (unsigned short c = 0; c < columns; ++c) {
      FreeXL_CellValue cell;
      if (freexl_get_cell_value(handle, r, c, &cell) != FREEXL_OK) continue;
      switch (cell.type) {
        case FREEXL_CELL_INT:
          row.cells[c] = std::to_string(cell.value.int_value);
          break;
        case FREEXL_CELL_DOUBLE:
          row.cells[c] = FormatNumber(cell.value.double_value);
          break;
        case FREEXL_CELL_TEXT:
        case FREEXL_CELL_SST_TEXT:
        case FREEXL_CELL_DATE:
        case FREEXL_CELL_DATETIME:
        case FREEXL_CELL_TIME:
          if (cell.value.text_value != nullptr) row.cells[c] = cell.value.text_value;
          break;
        default:
          break;
      }
    }
    if (AllEmpty(row.cells)) continue;
    MINYI_RETURN_IF_ERROR(gate.Deliver(row));
  }
  return Status::Ok();
}
}  // namespace

// FreeXL runs in a child process (isolated_reader.h): a fault inside it ends the child and refuses the
// file, never the server. The rows come back through the limits once more (RowGate).
Status ReadXls(const std::string& path, const RowCallback& on_row, const TableLimits& limits) {
  IsolationLimits isolation;
  isolation.seconds = limits.max_xls_seconds;
  // The rows' text within max_text_bytes, plus the record framing: 4 bytes per cell, 16 per row.
  isolation.max_bytes = limits.max_text_bytes + 4 * limits.max_xls_cells + (std::size_t{16} << 20);
  RowGate gate(limits, on_row);
  return ReadIsolated([&](const RowCallback& emit) { return ReadXlsWithFreexl(path, emit, limits); },
                      [&](const TableRow& row) {
                        TableRow copy = row;
                        return gate.Deliver(copy);
                      },
                      isolation, "the .xls file");
}

}  // namespace minyi::collector::questionnaire::table_detail
