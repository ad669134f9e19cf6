#include "collector/questionnaire/xls_limits.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minyi::collector::questionnaire {
namespace {

constexpr std::uint32_t kEndOfChain = 0xFFFFFFFE;
constexpr std::uint32_t kMaxRegularSector = 0xFFFFFFFA;

std::uint32_t U32(std::string_view b, std::size_t at) {
  if (at + 4 > b.size()) return kEndOfChain;
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint16_t U16(std::string_view b, std::size_t at) {
  if (at + 2 > b.size()) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

// The bytes of a chain of sectors of `size` bytes at `base + n * size` in `data`, at most `max`
// bytes; nullopt when the chain leaves the data or loops.
std::optional<std::string> Chain(std::string_view data, std::size_t base, std::size_t size,
                                 const std::vector<std::uint32_t>& fat, std::uint32_t start,
                                 std::size_t max) {
  std::string out;
  std::size_t steps = 0;
  for (std::uint32_t n = start; n != kEndOfChain && out.size() < max; n = fat[n]) {
    if (n > kMaxRegularSector || n >= fat.size() || ++steps > fat.size()) return std::nullopt;
    const std::size_t at = base + static_cast<std::size_t>(n) * size;
    if (at + size > data.size()) return std::nullopt;
    out.append(data.substr(at, size));
  }
  if (out.size() > max) out.resize(max);
  return out;
}

// The Workbook (BIFF8) or Book (BIFF5) stream; nullopt when the compound file cannot be followed.
std::optional<std::string> WorkbookStream(std::string_view file) {
  if (file.size() < 512) return std::nullopt;
  const unsigned shift = U16(file, 0x1E);
  if (shift != 9 && shift != 12) return std::nullopt;
  const std::size_t size = std::size_t{1} << shift;
  // The FAT: its sectors from the 109 header entries, then the DIFAT chain.
  std::vector<std::uint32_t> fat_sectors;
  const std::uint32_t fat_count = U32(file, 0x2C);
  for (std::size_t i = 0; i < 109 && fat_sectors.size() < fat_count; ++i)
    fat_sectors.push_back(U32(file, 0x4C + 4 * i));
  std::uint32_t difat = U32(file, 0x44);
  for (std::size_t guard = 0; difat <= kMaxRegularSector && fat_sectors.size() < fat_count; ++guard) {
    const std::size_t at = (static_cast<std::size_t>(difat) + 1) * size;
    if (at + size > file.size() || guard > file.size() / size) return std::nullopt;
    for (std::size_t i = 0; i + 1 < size / 4 && fat_sectors.size() < fat_count; ++i) {
      fat_sectors.push_back(U32(file, at + 4 * i));
    }
    difat = U32(file, at + size - 4);
  }
  std::vector<std::uint32_t> fat;
  for (std::uint32_t s : fat_sectors) {
    const std::size_t at = (static_cast<std::size_t>(s) + 1) * size;
    if (s > kMaxRegularSector || at + size > file.size()) return std::nullopt;
    for (std::size_t i = 0; i < size / 4; ++i) fat.push_back(U32(file, at + 4 * i));
  }
  auto directory = Chain(file, size, size, fat, U32(file, 0x30), file.size());
  if (!directory || directory->size() < 128) return std::nullopt;
  const std::string_view dir(*directory);
  for (std::size_t e = 0; e + 128 <= dir.size(); e += 128) {
    if (dir[e + 0x42] != 2) continue;  // a stream
    const std::u16string name16 = [&] {
      std::u16string n;
      for (std::size_t i = 0; i + 2 <= std::min<std::size_t>(U16(dir, e + 0x40), 64); i += 2) {
        if (const char16_t c = U16(dir, e + i)) n.push_back(c);
      }
      return n;
    }();
    if (name16 != u"Workbook" && name16 != u"Book") continue;
    const std::uint32_t start = U32(dir, e + 0x74);
    const std::size_t length = std::min<std::size_t>(U32(dir, e + 0x78), file.size());
    if (length >= U32(file, 0x38)) return Chain(file, size, size, fat, start, length);
    // In the mini stream: 64-byte sectors inside the root entry's stream, chained by the mini FAT.
    auto mini_fat_bytes = Chain(file, size, size, fat, U32(file, 0x3C), file.size());
    auto mini_stream = Chain(file, size, size, fat, U32(dir, 0x74), file.size());
    if (!mini_fat_bytes || !mini_stream) return std::nullopt;
    std::vector<std::uint32_t> mini_fat;
    for (std::size_t i = 0; i + 4 <= mini_fat_bytes->size(); i += 4)
      mini_fat.push_back(U32(*mini_fat_bytes, i));
    return Chain(*mini_stream, 0, 64, mini_fat, start, length);
  }
  return std::nullopt;
}

// FreeXL 1.0.6 (get_workbook_stream/parse_dir_entry) reads the first directory sector into a
// 4096-byte stack buffer and converts each entry's name with iconv over the entry's declared name
// size (16 bits at 0x40), never checked against the 64-byte name field, until an entry named
// Workbook or Book: a size of 35,246 read that far past the buffer (the fuzz crash of issue 13).
// So the entries FreeXL will convert are walked the way it walks them (its sector size, its 32-bit
// offset arithmetic, its stop at the Workbook entry) and any name size over 64 is refused.
Status CheckDirectoryNameSizes(std::string_view file) {
  constexpr std::size_t kEntry = 128;
  constexpr std::size_t kNameField = 64;
  if (file.size() < 512) return Status::Ok();
  const std::size_t size = U16(file, 0x1E) == 12 ? 4096 : 512;  // FreeXL: any other shift is 512
  const std::uint32_t where = (U32(file, 0x30) + 1) * static_cast<std::uint32_t>(size);  // wraps
  if (std::size_t{where} + size > file.size()) return Status::Ok();  // FreeXL's read fails
  for (std::size_t e = 0; e < size / kEntry; ++e) {
    const std::size_t at = where + e * kEntry;
    const std::size_t name_size = U16(file, at + 0x40);
    if (name_size > kNameField) {
      return Status::InvalidInput("the .xls directory entry " + std::to_string(e) + " (at byte " +
                                  std::to_string(at) + ") declares a name of " + std::to_string(name_size) +
                                  " bytes, more than its " + std::to_string(kNameField) + "-byte name field");
    }
    std::u16string name;
    for (std::size_t i = 0; i + 2 <= name_size; i += 2) {
      const char16_t c = U16(file, at + i);
      if (c == 0) break;
      name.push_back(c);
    }
    if (name == u"Workbook" || name == u"Book") break;  // FreeXL reads no further entry
  }
  return Status::Ok();
}

}  // namespace

Status CheckXlsDeclaredSizes(std::string_view bytes, std::size_t max_cells, std::size_t max_strings) {
  MINYI_RETURN_IF_ERROR(CheckDirectoryNameSizes(bytes));
  const auto stream = WorkbookStream(bytes);
  if (!stream) return Status::Ok();
  const std::string_view biff(*stream);
  for (std::size_t at = 0; at + 4 <= biff.size();) {
    const std::uint16_t type = U16(biff, at);
    const std::size_t length = U16(biff, at + 2);
    const std::string_view data = biff.substr(at + 4, length);
    if (type == 0x0200) {  // DIMENSION: BIFF8 rows as 32 bits, BIFF5 as 16
      const bool biff8 = data.size() >= 14;
      const std::uint64_t rows = biff8 ? U32(data, 4) : U16(data, 2);
      const std::uint64_t columns = biff8 ? U16(data, 10) : U16(data, 6);
      if (rows * columns > max_cells) {
        return Status::InvalidInput("the .xls worksheet declares " + std::to_string(rows) + " rows x " +
                                    std::to_string(columns) + " columns, more than " +
                                    std::to_string(max_cells) +
                                    " cells (the limit for a questionnaire workbook)");
      }
    } else if (type == 0x00FC && data.size() >= 8 && U32(data, 4) > max_strings) {  // SST: unique strings
      return Status::InvalidInput("the .xls shared string table declares " + std::to_string(U32(data, 4)) +
                                  " strings, more than " + std::to_string(max_strings) +
                                  " (the limit for a questionnaire workbook)");
    }
    at += 4 + length;
  }
  return Status::Ok();
}

}  // namespace minyi::collector::questionnaire
