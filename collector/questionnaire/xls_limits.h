// What an .xls will make FreeXL allocate, read before FreeXL opens it (issue 13). FreeXL allocates
// every cell of a worksheet by the dimensions its DIMENSION record declares (rows x columns x 16
// bytes, even in freexl_open_info), and the shared string table by its declared count: a 7 KB file
// declaring 65,536 x 256 cells took 264 MB. So the OLE2 compound file is walked here (header, FAT,
// directory, the Workbook stream, also in the mini stream) and the BIFF records of that stream are
// scanned for DIMENSION and SST. Hand-written because FreeXL offers no limit and no other OLE2
// reader is a dependency; it reads only the few fields named here, bounded by the file's size.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/status.h"

namespace minyi::collector::questionnaire {

// kInvalidInput when a worksheet declares more than `max_cells` cells or the shared string table
// more than `max_strings` strings (naming the record and the limit), or when a directory entry
// FreeXL converts declares a name longer than its 64-byte field (naming the entry and its offset:
// FreeXL would read that many bytes from a stack buffer), or when a BOUNDSHEET, FORMAT, LABEL or
// SST/CONTINUE string runs past the record(s) FreeXL reads it from (naming the record and its
// offset in the Workbook stream: FreeXL would copy the bytes after its record buffer into text).
// Also refused: a Workbook stream whose sector chain is longer than its declared size needs, or
// cannot be followed (FreeXL would read past its sector buffer). A compound
// file this walk cannot follow is left to FreeXL (which reports it as damaged): OK.
Status CheckXlsDeclaredSizes(std::string_view bytes, std::size_t max_cells, std::size_t max_strings);

}  // namespace minyi::collector::questionnaire
