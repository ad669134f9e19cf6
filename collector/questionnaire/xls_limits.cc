#include "collector/questionnaire/xls_limits.h"

#include <algorithm>
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
// The entry is chosen as FreeXL chooses it (get_workbook_stream): the first named Workbook or Book
// (up to the first NUL, any entry type) whose start sector is not 0xFFFFFFFF, in the mini stream
// when its size is at most the cutoff. `refusal` is set when FreeXL would read past the stream.
std::optional<std::string> WorkbookStream(std::string_view file, Status* refusal) {
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
    const std::u16string name16 = [&] {
      std::u16string n;
      for (std::size_t i = 0; i + 2 <= std::min<std::size_t>(U16(dir, e + 0x40), 64); i += 2) {
        const char16_t c = U16(dir, e + i);
        if (c == 0) break;
        n.push_back(c);
      }
      return n;
    }();
    if (name16 != u"Workbook" && name16 != u"Book") continue;
    const std::uint32_t start = U32(dir, e + 0x74);
    if (start == 0xFFFFFFFF) continue;
    const std::uint32_t declared = U32(dir, e + 0x78);
    const std::size_t length = std::min<std::size_t>(declared, file.size());
    if (declared > U32(file, 0x38)) {
      // FreeXL reads the chain sector by sector while it lasts, trusting the declared size for the
      // end of the last one: with more sectors than the size needs, its 16-bit end of buffer wraps
      // and it copies records from past its sector buffer (the ASan memcpy-param-overlap fuzz find).
      auto chain = Chain(file, size, size, fat, start, file.size());
      const std::uint64_t needed = (std::uint64_t{declared} + size - 1) / size * size;
      if (!chain) {  // FreeXL follows a looping chain too
        *refusal = Status::InvalidInput("the .xls Workbook stream's sector chain cannot be followed");
        return std::nullopt;
      }
      if (chain->size() > needed) {
        *refusal = Status::InvalidInput("the .xls Workbook stream declares " + std::to_string(declared) +
                                        " bytes but its sector chain holds " + std::to_string(chain->size()) +
                                        " (FreeXL would read past the declared end)");
        return std::nullopt;
      }
      return Chain(file, size, size, fat, start, length);
    }
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
    // FreeXL reads no further entry once one so named has a start sector other than 0xFFFFFFFF.
    if ((name == u"Workbook" || name == u"Book") && U32(file, at + 0x74) != 0xFFFFFFFF) break;
  }
  return Status::Ok();
}

// FreeXL 1.0.6 (parse_biff_record, parse_SST) copies and converts the strings of BOUNDSHEET, FORMAT,
// LABEL and SST/CONTINUE records over their declared lengths without checking them against the
// record (an 8 KB buffer): a LABEL of 65,535 UTF-16 characters reads 128 KB past it, and the bytes
// read become cell text. So each of those strings is located as FreeXL locates it and refused when
// it runs past its record; the SST is followed record by record with FreeXL's own bookkeeping (a
// string's characters may continue into ONE following CONTINUE, which starts with a flags byte; the
// bytes of rich-text runs and extended data are skipped, into the next record if they overflow).
constexpr std::uint16_t kBof = 0x0809, kBoundSheet = 0x0085, kFormat = 0x041E, kLabel = 0x0204, kSst = 0x00FC,
                        kContinue = 0x003C;
constexpr std::size_t kFreexlMaxRecord = 8192;  // FreeXL stops at a record this long

struct Record {
  std::uint16_t type;
  std::size_t offset;  // in the Workbook stream
  std::string_view data;
};

std::string Where(const char* name, std::size_t offset) {
  return std::string("the .xls record ") + name + " at byte " + std::to_string(offset) +
         " of the Workbook stream";
}

// The records FreeXL reads: up to the first truncated or over-long one.
std::vector<Record> Records(std::string_view biff) {
  std::vector<Record> out;
  for (std::size_t at = 0; at + 4 <= biff.size();) {
    const std::size_t length = U16(biff, at + 2);
    if (length >= kFreexlMaxRecord || at + 4 + length > biff.size()) break;
    out.push_back({U16(biff, at), at, biff.substr(at + 4, length)});
    at += 4 + length;
  }
  return out;
}

// A BIFF8 string whose flags byte is at `at` (FreeXL's get_unicode_params): where its characters
// start, their bytes, and the bytes of rich-text runs and extended data after them (32-bit sum,
// wrapping as FreeXL's does).
struct Biff8String {
  std::size_t chars_at;
  std::size_t char_bytes;
  std::uint32_t skip;
};
Biff8String LocateBiff8String(std::string_view data, std::size_t at, std::size_t chars) {
  const unsigned flags = at < data.size() ? static_cast<unsigned char>(data[at]) : 0;
  std::size_t p = at + 1;
  std::uint32_t runs = 0, ext = 0;
  if (flags & 0x08) runs = U16(data, p), p += 2;
  if (flags & 0x04) ext = U32(data, p), p += 4;
  return {p, chars * ((flags & 0x01) ? 2 : 1), ext + runs * 4};
}

Status StringPastRecord(const Record& r, const char* name, std::size_t chars, std::size_t end) {
  return Status::InvalidInput(Where(name, r.offset) + " declares a string of " + std::to_string(chars) +
                              " characters ending at byte " + std::to_string(end) + " of a record of " +
                              std::to_string(r.data.size()) + " bytes");
}

// BOUNDSHEET, FORMAT and LABEL: one string inside one record, at the offsets FreeXL reads.
Status CheckRecordString(const Record& r, bool biff8) {
  const std::string_view d = r.data;
  const char* name = nullptr;
  std::size_t chars = 0, end = 0;
  if (r.type == kBoundSheet) {  // length byte at 6; BIFF8: flags byte at 7, 0 = one byte a character
    name = "BOUNDSHEET";
    chars = d.size() > 6 ? static_cast<unsigned char>(d[6]) : 0;
    const bool wide = d.size() > 7 && d[7] != 0;
    end = biff8 ? 8 + chars * (wide ? 2 : 1) : 7 + chars;
  } else if (r.type == kFormat) {  // BIFF5: FreeXL takes the byte at 3 as length, text from 3
    name = "FORMAT";
    chars = biff8 ? U16(d, 2) : (d.size() > 3 ? static_cast<unsigned char>(d[3]) : 0);
    const Biff8String s = LocateBiff8String(d, 4, chars);
    end = biff8 ? s.chars_at + s.char_bytes : 3 + chars;
  } else if (r.type == kLabel) {  // length at 6, text (BIFF8: flags) at 8
    name = "LABEL";
    chars = U16(d, 6);
    const Biff8String s = LocateBiff8String(d, 8, chars);
    end = biff8 ? s.chars_at + s.char_bytes : 8 + chars;
  } else {
    return Status::Ok();
  }
  return end > d.size() ? StringPastRecord(r, name, chars, end) : Status::Ok();
}

// The SST at records[first] and the CONTINUE records right after it, read as parse_SST reads them.
Status CheckSharedStrings(const std::vector<Record>& records, std::size_t first) {
  std::vector<const Record*> parts{&records[first]};
  for (std::size_t i = first + 1; i < records.size() && records[i].type == kContinue; ++i)
    parts.push_back(&records[i]);
  if (parts[0]->data.size() < 8) {
    return Status::InvalidInput(Where("SST", parts[0]->offset) + " is shorter than its 8-byte header");
  }
  const std::uint32_t count = U32(parts[0]->data, 4);
  std::size_t part = 0;
  std::uint64_t p = 8;      // in parts[part]
  std::uint64_t carry = 0;  // FreeXL's next_utf16_skip: added before the next string is read
  for (std::uint32_t n = 0; n < count;) {
    const Record& r = *parts[part];
    if (p >= r.data.size()) {  // FreeXL waits for the next record
      if (++part == parts.size()) return Status::Ok();
      p = 0;
      continue;
    }
    p += carry;
    carry = 0;
    const std::size_t at = static_cast<std::size_t>(std::min<std::uint64_t>(p, r.data.size()));
    const std::size_t len = U16(r.data, at);
    const Biff8String s = LocateBiff8String(r.data, at + 2, len);
    if (p + 2 > r.data.size() || s.chars_at > r.data.size()) {
      return Status::InvalidInput(Where(part == 0 ? "SST" : "CONTINUE", r.offset) +
                                  ": the header of string " + std::to_string(n) + " runs past the record's " +
                                  std::to_string(r.data.size()) + " bytes");
    }
    if (len == 0) return Status::Ok();  // FreeXL refuses the workbook itself
    ++n;
    const std::size_t have = r.data.size() - s.chars_at;
    if (s.char_bytes <= have) {
      p = s.chars_at + s.char_bytes + std::uint64_t{s.skip};
      if (p > r.data.size()) carry = p - r.data.size();
      continue;
    }
    // The rest of the characters come from the next record, after a flags byte; FreeXL reads them
    // unchecked from that one record only, then drops any overflow of the skipped bytes.
    if (++part == parts.size()) return Status::Ok();  // never completed: FreeXL reads no further
    const Record& next = *parts[part];
    const std::size_t done = s.char_bytes == len ? have : have / 2;
    const bool wide = !next.data.empty() && (static_cast<unsigned char>(next.data[0]) & 0x01);
    const std::uint64_t end = 1 + std::uint64_t{len - done} * (wide ? 2 : 1);
    if (end > next.data.size()) {
      return Status::InvalidInput(Where("CONTINUE", next.offset) + " continues string " +
                                  std::to_string(n - 1) + " of the SST with " + std::to_string(len - done) +
                                  " more characters than its " + std::to_string(next.data.size()) +
                                  " bytes hold (FreeXL reads a string from at most two records)");
    }
    p = end + s.skip;
  }
  return Status::Ok();
}

Status CheckStrings(std::string_view biff) {
  const std::vector<Record> records = Records(biff);
  if (records.empty() || records[0].type != kBof) return Status::Ok();  // FreeXL refuses it
  const std::uint16_t version = U16(records[0].data, 0);
  if (version != 0x0500 && version != 0x0600) return Status::Ok();  // FreeXL refuses it
  const bool biff8 = version == 0x0600;
  bool sst_seen = false;
  for (std::size_t i = 0; i < records.size(); ++i) {
    MINYI_RETURN_IF_ERROR(CheckRecordString(records[i], biff8));
    if (records[i].type != kSst) continue;
    // A second SST would be read by FreeXL as a continuation of the first.
    if (sst_seen)
      return Status::InvalidInput(Where("SST", records[i].offset) + " is a second shared string table");
    sst_seen = true;
    MINYI_RETURN_IF_ERROR(CheckSharedStrings(records, i));
  }
  return Status::Ok();
}

}  // namespace

Status CheckXlsDeclaredSizes(std::string_view bytes, std::size_t max_cells, std::size_t max_strings) {
  MINYI_RETURN_IF_ERROR(CheckDirectoryNameSizes(bytes));
  Status refusal = Status::Ok();
  const auto stream = WorkbookStream(bytes, &refusal);
  if (!stream) return refusal;
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
  return CheckStrings(biff);
}

}  // namespace minyi::collector::questionnaire
