#include "collector/questionnaire/table_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "collector/questionnaire/xls_limits.h"
#include "collector/questionnaire/xlsx_for_test.h"
#include "tests/support/proc_status.h"

namespace minyi::collector::questionnaire {
namespace {

using testing::Part;
using testing::Sheet;
using testing::Strings;
using testing::Zip;

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/";

struct Read {
  Status status;
  TableInfo info;
  std::vector<TableRow> rows;
};

Read ReadAll(const std::string& name) {
  Read r;
  r.status = ReadTableFile(
      kDir + name,
      [&](const TableRow& row) {
        r.rows.push_back(row);
        return Status::Ok();
      },
      &r.info);
  return r;
}

TEST(SniffFormatTest, ByContentNotName) {
  EXPECT_EQ(SniffFormat(std::string("PK\x03\x04rest", 8)).value(), FileFormat::kXlsx);
  EXPECT_EQ(SniffFormat(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8)).value(), FileFormat::kXls);
  EXPECT_EQ(SniffFormat("序号,提交答卷时间").value(), FileFormat::kCsv);
  EXPECT_EQ(SniffFormat("").status().code(), StatusCode::kInvalidInput);
  const auto binary = SniffFormat(std::string("ab\0cd", 5));
  ASSERT_FALSE(binary.ok());
  EXPECT_NE(binary.status().message().find("binary"), std::string::npos);
}

TEST(DecodeTextTest, BomStrictUtf8ThenGb18030) {
  struct Case {
    std::string bytes;
    TextEncoding encoding;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"\xEF\xBB\xBF序号", TextEncoding::kUtf8Bom, "序号"},
      {"序号,很安全", TextEncoding::kUtf8, "序号,很安全"},
      {"\xD0\xF2\xBA\xC5,\xBA\xDC\xB0\xB2\xC8\xAB", TextEncoding::kGb18030, "序号,很安全"},  // GBK bytes
      {"plain ascii", TextEncoding::kUtf8, "plain ascii"},
  };
  for (const Case& c : cases) {
    TextEncoding got = TextEncoding::kUtf8;
    auto text = DecodeText(c.bytes, &got);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(text.value(), c.text);
    EXPECT_EQ(got, c.encoding) << c.text;
  }
  EXPECT_FALSE(DecodeText("\xEF\xBB\xBF\xFF\xFE").ok());  // a BOM, then not UTF-8
  EXPECT_FALSE(DecodeText("\x81\x30").ok());              // truncated GB18030 four-byte sequence
}

TEST(ReadTableTest, WjxXlsCsvBomAndGbkGiveTheSameCells) {
  const Read xls = ReadAll("wjx_text.xls");
  ASSERT_TRUE(xls.status.ok()) << xls.status;
  EXPECT_EQ(xls.info.format, FileFormat::kXls);
  ASSERT_EQ(xls.rows.size(), 7u);
  EXPECT_EQ(xls.rows[0].cells[0], "序号");
  EXPECT_EQ(xls.rows[0].cells[6],
            "1、总体来说，您觉得您所在的乡镇（街道）安全吗？  ");  // trailing spaces kept
  EXPECT_EQ(xls.rows[1].cells[0], "1");                            // a NUMBER cell, without ".0"
  EXPECT_EQ(xls.rows[1].cells[8], "运动┋读书");
  EXPECT_EQ(xls.rows[1].number, 2u);

  for (const char* name : {"wjx_text.csv", "wjx_text_bom.csv", "wjx_text_gbk.csv"}) {
    const Read csv = ReadAll(name);
    ASSERT_TRUE(csv.status.ok()) << name << ": " << csv.status;
    EXPECT_EQ(csv.info.format, FileFormat::kCsv);
    ASSERT_EQ(csv.rows.size(), xls.rows.size()) << name;
    for (std::size_t r = 0; r < csv.rows.size(); ++r) {
      for (std::size_t c = 0; c < xls.rows[r].cells.size(); ++c) {
        const std::string want = xls.rows[r].cells[c];
        const std::string got = c < csv.rows[r].cells.size() ? csv.rows[r].cells[c] : "";
        if (c == 1 && r > 0 && std::string(name) == "wjx_text_gbk.csv") {
          EXPECT_EQ(got.substr(0, 10), "2026/06/16");  // the GBK export writes slashes
          continue;
        }
        EXPECT_EQ(got, want) << name << " row " << r << " col " << c;
      }
    }
  }
  EXPECT_EQ(ReadAll("wjx_text_bom.csv").info.encoding, TextEncoding::kUtf8Bom);
  EXPECT_EQ(ReadAll("wjx_text_gbk.csv").info.encoding, TextEncoding::kGb18030);
  EXPECT_EQ(ReadAll("wjx_text.csv").info.encoding, TextEncoding::kUtf8);
}

TEST(ReadTableTest, TxwjXlsxMatchesItsCsv) {
  const Read xlsx = ReadAll("txwj.xlsx");
  ASSERT_TRUE(xlsx.status.ok()) << xlsx.status;
  EXPECT_EQ(xlsx.info.format, FileFormat::kXlsx);
  const Read csv = ReadAll("txwj.csv");
  ASSERT_TRUE(csv.status.ok()) << csv.status;
  ASSERT_EQ(xlsx.rows.size(), 4u);
  ASSERT_EQ(csv.rows.size(), 4u);
  for (std::size_t r = 0; r < 4; ++r) {
    std::vector<std::string> a = xlsx.rows[r].cells;
    std::vector<std::string> b = csv.rows[r].cells;
    a.resize(b.size());  // the sheet omits trailing empty cells
    EXPECT_EQ(a, b) << "row " << r;
  }
  EXPECT_EQ(xlsx.rows[1].cells[3], "120");  // an inline string cell
  EXPECT_EQ(xlsx.rows[2].cells[10], "读书|其他");
}

TEST(ReadTableTest, DamagedFilesAreClearErrors) {
  struct Case {
    const char* file;
    const char* says;
  };
  for (const Case& c : {Case{"wjx_truncated.xls", ".xls"}, Case{"txwj_truncated.xlsx", ".xlsx"},
                        Case{"binary.dat", "binary"}}) {
    const Read r = ReadAll(c.file);
    EXPECT_EQ(r.status.code(), StatusCode::kInvalidInput) << c.file;
    EXPECT_NE(r.status.message().find(c.says), std::string::npos) << c.file << ": " << r.status;
    EXPECT_TRUE(r.rows.empty()) << c.file;
  }
  EXPECT_EQ(ReadAll("no_such_file.csv").status.code(), StatusCode::kNotFound);
}

TEST(ReadTableTest, MalformedCsvRecordIsReportedAndReadingGoesOn) {
  std::vector<TableRow> rows;
  const Status s = ReadTableBytes("序号,a\n1,\"x\"y\n2,ok\n", [&](const TableRow& row) {
    rows.push_back(row);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_FALSE(rows[1].error.ok());
  EXPECT_EQ(rows[1].number, 2u);
  EXPECT_TRUE(rows[2].error.ok());
  EXPECT_EQ(rows[2].cells[1], "ok");
}

TEST(ReadTableTest, CallbackErrorStopsReading) {
  int calls = 0;
  const Status s = ReadTableFile(kDir + "txwj.xlsx", [&](const TableRow&) {
    ++calls;
    return Status::InvalidInput("stop");
  });
  EXPECT_EQ(s.message(), "stop");
  EXPECT_EQ(calls, 1);
}

// ---- hostile workbooks (issue 13): built here, never committed

const std::string kHeaderRow =
    R"(<row r="1"><c r="A1" t="inlineStr"><is><t>编号</t></is></c><c r="B1" t="inlineStr"><is><t>q</t></is></c></row>)";

std::string InlineRow(int r, const std::string& b) {
  return "<row r=\"" + std::to_string(r) + "\"><c r=\"A" + std::to_string(r) + "\"><v>" + std::to_string(r) +
         "</v></c><c r=\"B" + std::to_string(r) + "\" t=\"inlineStr\"><is><t>" + b + "</t></is></c></row>";
}

struct Outcome {
  Status status;
  std::vector<TableRow> rows;
  std::size_t peak_growth_kib = 0;
};

Outcome ReadMeasured(const std::string& bytes, const TableLimits& limits = TableLimits()) {
  Outcome o;
  // The growth of the peak over the resident memory before reading.
  const bool reset = minyi::testing::ResetPeakMemory();
  const std::size_t before = minyi::testing::ProcStatusKib(reset ? "VmRSS" : "VmHWM");
  o.status = ReadTableBytes(
      bytes,
      [&](const TableRow& row) {
        o.rows.push_back(row);
        return Status::Ok();
      },
      nullptr, limits);
  const std::size_t peak = minyi::testing::ProcStatusKib("VmHWM");
  o.peak_growth_kib = peak > before ? peak - before : 0;
  return o;
}

constexpr std::size_t kBoundKib = 48 * 1024;  // far under the hundreds of MiB a bomb unpacks to

TEST(XlsxBombTest, SheetThatInflatesToHundredsOfMibIsRefusedWithBoundedMemory) {
  // ~300 MiB of valid rows in a zip of about 1 MiB (the bomb of issue 13).
  const std::string row = InlineRow(2, "ok");
  const std::string zip = Zip({Sheet(kHeaderRow, row, (300u << 20) / row.size())});
  ASSERT_LT(zip.size(), 2u << 20);
  const Outcome o = ReadMeasured(zip);
  EXPECT_EQ(o.status.code(), StatusCode::kResourceExhausted) << o.status;
  EXPECT_NE(o.status.message().find("xl/worksheets/sheet1.xml"), std::string::npos) << o.status;
  EXPECT_NE(o.status.message().find("64 MiB"), std::string::npos) << o.status;
  EXPECT_TRUE(o.rows.empty()) << "no row is handed out before the bomb is refused";
  EXPECT_LT(o.peak_growth_kib, kBoundKib);
}

TEST(XlsxBombTest, SheetThatInflatesAThousandFoldIsRefused) {
  // 40 MiB (under the size limit) from some 40 KiB: rows of long runs of one letter.
  const std::string row = InlineRow(2, std::string(30000, 'x'));
  const std::string zip = Zip({Sheet(kHeaderRow, row, (40u << 20) / row.size())});
  const Outcome o = ReadMeasured(zip);
  EXPECT_EQ(o.status.code(), StatusCode::kInvalidInput) << o.status;
  EXPECT_NE(o.status.message().find("xl/worksheets/sheet1.xml"), std::string::npos) << o.status;
  EXPECT_NE(o.status.message().find("100 times"), std::string::npos) << o.status;
  EXPECT_TRUE(o.rows.empty());
  EXPECT_LT(o.peak_growth_kib, kBoundKib);
}

TEST(XlsxBombTest, UnpackedTotalOverTheLimitIsTooLarge) {
  // Parts that compress modestly (under the ratio) but add up to more than the limit.
  TableLimits limits;
  limits.max_unpacked_bytes = 2 << 20;
  std::string rows;
  for (int r = 2; rows.size() < (3u << 20); ++r) rows += InlineRow(r, std::to_string(r * 7919 % 100003));
  const Outcome o = ReadMeasured(Zip({Sheet(kHeaderRow + rows)}), limits);
  EXPECT_EQ(o.status.code(), StatusCode::kResourceExhausted) << o.status;
  EXPECT_NE(o.status.message().find("xl/worksheets/sheet1.xml"), std::string::npos) << o.status;
  EXPECT_NE(o.status.message().find("2 MiB"), std::string::npos) << o.status;
  EXPECT_TRUE(o.rows.empty());
  limits.max_unpacked_bytes = 64 << 20;
  EXPECT_TRUE(ReadMeasured(Zip({Sheet(kHeaderRow + rows)}), limits).status.ok());
}

TEST(XlsxBombTest, HighRatioSharedStringsAreRefusedWithBoundedMemory) {
  // ~250 MiB of tiny shared strings: held as std::string, they would take GiBs.
  const std::string zip = Zip({Strings("", "<si><t>x</t></si>", (250u << 20) / 17),
                               Sheet(R"(<row r="1"><c r="A1" t="s"><v>0</v></c></row>)")});
  const Outcome o = ReadMeasured(zip);
  EXPECT_EQ(o.status.code(), StatusCode::kInvalidInput) << o.status;
  EXPECT_NE(o.status.message().find("xl/sharedStrings.xml"), std::string::npos) << o.status;
  EXPECT_TRUE(o.rows.empty());
  EXPECT_LT(o.peak_growth_kib, kBoundKib);
}

TEST(XlsxBombTest, OversizedCellRejectsItsRowOnly) {
  const std::string big(40 << 10, 'y');  // over 32 KiB
  const std::string zip = Zip({Strings("<si><t>short</t></si><si><t>" + big + "</t></si>"),
                               Sheet(kHeaderRow + InlineRow(2, big) + InlineRow(3, "fine") +
                                     R"(<row r="4"><c r="A4" t="s"><v>1</v></c></row>)" +
                                     R"(<row r="5"><c r="A5" t="s"><v>0</v></c></row>)")});
  const Outcome o = ReadMeasured(zip);
  ASSERT_TRUE(o.status.ok()) << o.status;
  ASSERT_EQ(o.rows.size(), 5u);
  EXPECT_TRUE(o.rows[0].error.ok());
  EXPECT_EQ(o.rows[1].number, 2u);
  EXPECT_EQ(o.rows[1].error.code(), StatusCode::kInvalidInput);
  EXPECT_NE(o.rows[1].error.message().find("column 2"), std::string::npos) << o.rows[1].error;
  EXPECT_NE(o.rows[1].error.message().find("32768"), std::string::npos) << o.rows[1].error;
  EXPECT_TRUE(o.rows[1].cells[1].empty());
  EXPECT_TRUE(o.rows[2].error.ok());
  EXPECT_EQ(o.rows[2].cells[1], "fine");
  EXPECT_NE(o.rows[3].error.message().find("shared string 1"), std::string::npos) << o.rows[3].error;
  EXPECT_TRUE(o.rows[4].error.ok());
  EXPECT_EQ(o.rows[4].cells[0], "short");
}

TEST(XlsxBombTest, ForgedColumnReferenceDoesNotAllocate) {
  const std::string zip = Zip(
      {Sheet(kHeaderRow + R"(<row r="2"><c r="ZZZZZZZZZZZZ2"><v>1</v></c></row>)" + InlineRow(3, "fine"))});
  const Outcome o = ReadMeasured(zip);
  ASSERT_TRUE(o.status.ok()) << o.status;
  ASSERT_EQ(o.rows.size(), 3u);
  EXPECT_NE(o.rows[1].error.message().find("beyond column XFD"), std::string::npos) << o.rows[1].error;
  EXPECT_EQ(o.rows[2].cells[1], "fine");
  EXPECT_LT(o.peak_growth_kib, kBoundKib);
}

TEST(XlsxBombTest, SharedStringReferencedByEveryCellStopsAtTheTextBudget) {
  TableLimits limits;
  limits.max_text_bytes = 4 << 20;
  const std::string cell = R"(<c t="s"><v>0</v></c>)";
  std::string row = "<row>";
  for (int i = 0; i < 100; ++i) row += cell;
  row += "</row>";
  const Outcome o = ReadMeasured(
      Zip({Strings("<si><t>" + std::string(30 << 10, 'z') + "</t></si>"), Sheet("", row, 300)}), limits);
  EXPECT_EQ(o.status.code(), StatusCode::kResourceExhausted) << o.status;
  EXPECT_NE(o.status.message().find("4 MiB"), std::string::npos) << o.status;
  EXPECT_LE(o.rows.size(), 2u);
}

// FreeXL allocates every cell an .xls declares: the fixture's DIMENSION set to 65,536 x 256 took
// 264 MB from a 7 KB file.
TEST(XlsLimitsTest, DeclaredDimensionsOverTheLimitAreRefusedBeforeFreexlAllocates) {
  std::ifstream in(kDir + "wjx_text.xls", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t at =
      bytes.find(std::string("\x00\x02\x0E\x00\x00\x00\x00\x00", 8));  // DIMENSION, rows from 0
  ASSERT_NE(at, std::string::npos);
  const std::string rows("\x00\x00\x01\x00", 4);  // 65,536
  bytes.replace(at + 8, 4, rows);
  bytes[at + 14] = '\x00';  // 256 columns
  bytes[at + 15] = '\x01';
  const std::string path = ::testing::TempDir() + "/wide.xls";
  std::ofstream(path, std::ios::binary) << bytes;
  const bool reset = minyi::testing::ResetPeakMemory();
  const std::size_t before = minyi::testing::ProcStatusKib(reset ? "VmRSS" : "VmHWM");
  std::size_t rows_read = 0;
  const Status s = ReadTableFile(path, [&](const TableRow&) {
    ++rows_read;
    return Status::Ok();
  });
  const std::size_t peak = minyi::testing::ProcStatusKib("VmHWM");
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s;
  EXPECT_NE(s.message().find("65536 rows x 256 columns"), std::string::npos) << s;
  EXPECT_EQ(rows_read, 0u);
  EXPECT_LT(peak - std::min(peak, before), kBoundKib);
  // The fixture as exported passes the check (ReadTableTest reads it).
}

// FreeXL converts each directory entry's name over its declared size, unchecked against the 64-byte
// field, from a stack buffer: the fuzz find (the fixture with its directory overwritten) declares
// 35,246 bytes for entry 0, and ASan saw iconv read 35,246 bytes past FreeXL's buffer.
TEST(XlsLimitsTest, DirectoryNameLongerThanItsFieldIsRefusedBeforeFreexlReadsIt) {
  std::size_t rows_read = 0;
  const Status s = ReadTableFile(kDir + "wjx_freexl_dir_name_overread.xls", [&](const TableRow&) {
    ++rows_read;
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s;
  EXPECT_NE(s.message().find("directory entry 0 (at byte 8192) declares a name of 35246 bytes"),
            std::string::npos)
      << s;
  EXPECT_EQ(rows_read, 0u);
}

// The name size alone decides, and only for the entries FreeXL converts (up to the Workbook entry).
TEST(XlsLimitsTest, OnlyNameSizesFreexlConvertsAreChecked) {
  std::ifstream in(kDir + "wjx_text.xls", std::ios::binary);
  const std::string fixture((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr std::size_t kDirectory = 8192;  // sector 15 of 512 bytes: entries Root Entry, Workbook, 2 free
  ASSERT_EQ(fixture.substr(kDirectory, 4), std::string("R\0o\0", 4));
  const auto with_name_size = [&](std::size_t entry, std::uint16_t size) {
    std::string bytes = fixture;
    bytes[kDirectory + entry * 128 + 0x40] = static_cast<char>(size & 0xFF);
    bytes[kDirectory + entry * 128 + 0x41] = static_cast<char>(size >> 8);
    return CheckXlsDeclaredSizes(bytes, 1000, 1000);
  };
  const Status root = with_name_size(0, 66);
  EXPECT_EQ(root.code(), StatusCode::kInvalidInput) << root;
  EXPECT_NE(root.message().find("entry 0 (at byte 8192) declares a name of 66 bytes"), std::string::npos)
      << root;
  const Status workbook = with_name_size(1, 0xFFFF);
  EXPECT_NE(workbook.message().find("entry 1 (at byte 8320) declares a name of 65535 bytes"),
            std::string::npos)
      << workbook;
  EXPECT_TRUE(with_name_size(0, 64).ok());     // the whole field: FreeXL stays inside the entry
  EXPECT_TRUE(with_name_size(2, 40000).ok());  // after the Workbook entry: FreeXL never reads it
  // ... unless the Workbook entry's start sector is 0xFFFFFFFF: then FreeXL reads on (a fuzz find).
  std::string no_start = fixture;
  no_start.replace(kDirectory + 128 + 0x74, 4, std::string("\xFF\xFF\xFF\xFF", 4));
  no_start[kDirectory + 2 * 128 + 0x40] = '\x40';
  no_start[kDirectory + 2 * 128 + 0x41] = '\x9C';
  const Status after = CheckXlsDeclaredSizes(no_start, 1000, 1000);
  EXPECT_NE(after.message().find("entry 2 (at byte 8448) declares a name of 40000 bytes"), std::string::npos)
      << after;
  EXPECT_TRUE(CheckXlsDeclaredSizes(fixture, 1000, 1000).ok());
}

// FreeXL copies the strings of BOUNDSHEET, LABEL, FORMAT and SST records over their declared
// lengths from its 8 KB record buffer; each is edited here in the fixture's Workbook stream (which
// starts at sector 1, byte 1024 of the file) without changing the stream's length.
std::string FixtureWith(const std::function<void(std::string&)>& edit) {
  std::ifstream in(kDir + "wjx_text.xls", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  edit(bytes);
  return bytes;
}
std::size_t Find(const std::string& bytes, const std::string& what) {
  const std::size_t at = bytes.find(what);
  EXPECT_NE(at, std::string::npos);
  return at == std::string::npos ? 0 : at;
}
constexpr std::size_t kStream = 1024;  // sector 1

TEST(XlsLimitsTest, RecordStringsLongerThanTheirRecordAreRefused) {
  // BOUNDSHEET "Sheet1" (UTF-16): its length byte (at 6) from 6 to 200 characters.
  const Status sheet = CheckXlsDeclaredSizes(
      FixtureWith([](std::string& b) { b[Find(b, std::string("\x85\x00\x14\x00", 4)) + 4 + 6] = '\xC8'; }),
      1000, 1000);
  EXPECT_EQ(sheet.code(), StatusCode::kInvalidInput) << sheet;
  EXPECT_NE(sheet.message().find("record BOUNDSHEET at byte 5050 of the Workbook stream declares a string of "
                                 "200 characters ending at byte 408 of a record of 20 bytes"),
            std::string::npos)
      << sheet;
  // The first LABELSST made a LABEL (length at 6, flags at 8) of 65,535 one-byte characters.
  const Status label = CheckXlsDeclaredSizes(FixtureWith([](std::string& b) {
                                               const std::size_t at =
                                                   Find(b, std::string("\xFD\x00\x0A\x00", 4));
                                               b.replace(at, 2, std::string("\x04\x02", 2));
                                               b.replace(at + 4 + 6, 4, std::string("\xFF\xFF\x00\x00", 4));
                                             }),
                                             1000, 1000);
  EXPECT_NE(label.message().find("record LABEL at byte"), std::string::npos) << label;
  EXPECT_NE(
      label.message().find("declares a string of 65535 characters ending at byte 65544 of a record of 10"),
      std::string::npos)
      << label;
}

TEST(XlsLimitsTest, SharedStringContinuedPastItsOneContinueRecordIsRefused) {
  // The SST (991 bytes at stream byte 5074) cut after 21 bytes into SST + CONTINUE (966 bytes, its
  // flags byte saying UTF-16); its first string "序号" given 32,767 characters. FreeXL keeps the
  // 5 characters the SST holds and copies the other 65,524 bytes from the CONTINUE's 966.
  const std::string bytes = FixtureWith([](std::string& b) {
    const std::size_t sst = kStream + 5074;
    ASSERT_EQ(b.substr(sst, 4), std::string("\xFC\x00\xDF\x03", 4));
    b[sst + 2] = 21;
    b[sst + 3] = 0;
    b[sst + 4 + 8] = '\xFF';  // the first string's length, 2 -> 32,767
    b[sst + 4 + 9] = '\x7F';
    b.replace(sst + 4 + 21, 5, std::string("\x3C\x00\xC6\x03\x01", 5));
  });
  const Status s = CheckXlsDeclaredSizes(bytes, 1000, 1000);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s;
  EXPECT_NE(
      s.message().find("record CONTINUE at byte 5099 of the Workbook stream continues string 0 of the SST "
                       "with 32762 more characters than its 966 bytes hold"),
      std::string::npos)
      << s;
}

// FreeXL reads the Workbook stream's sectors while its chain lasts and computes the end of the last
// one from the declared size in 16 bits: the fixture's 14 sectors with a declared size of 4543
// wrapped it, and FreeXL copied an 8224-byte "record" from past its sector buffer (fuzz find).
TEST(XlsLimitsTest, WorkbookChainLongerThanItsDeclaredSizeIsRefused) {
  const auto with_size = [](std::uint32_t size) {
    return CheckXlsDeclaredSizes(FixtureWith([&](std::string& b) {
                                   const std::size_t at = 8192 + 128 + 0x78;  // the Workbook entry's size
                                   ASSERT_EQ(b.substr(at, 4), std::string("\xF9\x1B\x00\x00", 4));  // 7161
                                   for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(size >> (8 * i));
                                 }),
                                 1000, 1000);
  };
  const Status s = with_size(4543);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s;
  EXPECT_NE(s.message().find("Workbook stream declares 4543 bytes but its sector chain holds 7168"),
            std::string::npos)
      << s;
  EXPECT_EQ(with_size(6656).code(), StatusCode::kInvalidInput);  // 13 sectors' worth
  EXPECT_TRUE(with_size(6657).ok());                             // 14 sectors, the last one partly
}

// ---- issue 16: the first sheet in workbook order, date cells by their number format

TEST(XlsxWorkbookTest, FirstSheetInWorkbookOrderAndDatesByNumberFormat) {
  const std::string rels_ns =
      R"( xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships")";
  auto cell = [](const std::string& style, const std::string& v) {
    return "<c s=\"" + style + "\"><v>" + v + "</v></c>";
  };
  const std::vector<Part> parts = {
      {"xl/workbook.xml",
       "<?xml version=\"1.0\"?><workbook" + testing::kNs + rels_ns +
           R"(><sheets><sheet name="答卷" sheetId="2" r:id="rId7"/><sheet name="旧" sheetId="1" r:id="rId1"/></sheets></workbook>)",
       "", 0, ""},
      {"xl/_rels/workbook.xml.rels",
       R"(<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
       R"(<Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId7" Target="/xl/worksheets/sheet2.xml"/>)"
       R"(</Relationships>)",
       "", 0, ""},
      {"xl/styles.xml",
       "<?xml version=\"1.0\"?><styleSheet" + testing::kNs +
           R"(><numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy/m/d\ h:mm"/>)"
           R"(<numFmt numFmtId="165" formatCode="0.00&quot;d&quot;"/><numFmt numFmtId="166" formatCode="[Red]0"/></numFmts>)"
           R"(<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/>)"
           R"(<xf numFmtId="166"/></cellXfs></styleSheet>)",
       "", 0, ""},
      Sheet(R"(<row r="1"><c t="inlineStr"><is><t>sheet1</t></is></c></row>)"),
      {"xl/worksheets/sheet2.xml",
       "<?xml version=\"1.0\"?><worksheet" + testing::kNs + "><sheetData><row r=\"1\">" + cell("1", "46189") +
           cell("2", "46189.5") + cell("3", "12.5") + cell("4", "7") + cell("0", "46189") +
           "</row></sheetData></worksheet>",
       "", 0, ""},
  };
  const Outcome o = ReadMeasured(Zip(parts));
  ASSERT_TRUE(o.status.ok()) << o.status;
  ASSERT_EQ(o.rows.size(), 1u);
  EXPECT_EQ(o.rows[0].cells,
            (std::vector<std::string>{"2026-06-16 00:00:00", "2026-06-16 12:00:00", "12.5", "7", "46189"}));
}

TEST(CsvLimitsTest, OversizedCellRejectsItsRowOnly) {
  std::vector<TableRow> rows;
  const Status s =
      ReadTableBytes("序号,a\n1," + std::string(40 << 10, 'x') + "\n2,ok\n", [&](const TableRow& row) {
        rows.push_back(row);
        return Status::Ok();
      });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_NE(rows[1].error.message().find("column 2"), std::string::npos) << rows[1].error;
  EXPECT_EQ(rows[2].cells[1], "ok");
}

}  // namespace
}  // namespace minyi::collector::questionnaire
