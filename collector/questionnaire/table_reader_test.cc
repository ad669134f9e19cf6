#include "collector/questionnaire/table_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minyi::collector::questionnaire {
namespace {

const std::string kDir = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/";

struct Read {
  Status status;
  TableInfo info;
  std::vector<TableRow> rows;
};

Read ReadAll(const std::string& name) {
  Read r;
  r.status = ReadTableFile(kDir + name, [&](const TableRow& row) {
    r.rows.push_back(row);
    return Status::Ok();
  }, &r.info);
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
  EXPECT_EQ(xls.rows[0].cells[6], "1、总体来说，您觉得您所在的乡镇（街道）安全吗？  ");  // trailing spaces kept
  EXPECT_EQ(xls.rows[1].cells[0], "1");  // a NUMBER cell, without ".0"
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

}  // namespace
}  // namespace minyi::collector::questionnaire
