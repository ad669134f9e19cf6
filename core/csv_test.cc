#include "core/csv.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace minyi {
namespace {

struct Record {
  Record(std::size_t line_in, std::vector<std::string> fields_in, std::string error_in = "", std::string raw_in = "")
      : line(line_in), fields(std::move(fields_in)), error(std::move(error_in)), raw(std::move(raw_in)) {}
  std::size_t line = 0;
  std::vector<std::string> fields;
  std::string error;  // substring of the error message; empty: no error
  std::string raw;
};

std::vector<Record> ReadAll(const std::string& text, CsvReader::Options options = {}) {
  std::istringstream in(text);
  CsvReader reader(in, options);
  std::vector<Record> out;
  std::vector<std::string> fields;
  Status error;
  while (reader.Next(fields, &error)) {
    out.emplace_back(reader.line(), fields, error.ok() ? "" : error.message(), reader.raw());
    if (out.size() > 10000) break;  // guards the test against a reader that never ends
  }
  return out;
}

struct Case {
  const char* name;
  std::string input;
  std::vector<Record> expected;  // raw is not compared here
};

class CsvTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(CsvTableTest, ReadsRecords) {
  const Case& c = GetParam();
  const std::vector<Record> got = ReadAll(c.input);
  ASSERT_EQ(got.size(), c.expected.size()) << c.name;
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(std::string(c.name) + " record " + std::to_string(i));
    EXPECT_EQ(got[i].line, c.expected[i].line);
    EXPECT_EQ(got[i].fields, c.expected[i].fields);
    if (c.expected[i].error.empty()) {
      EXPECT_EQ(got[i].error, "");
    } else {
      EXPECT_NE(got[i].error.find(c.expected[i].error), std::string::npos) << got[i].error;
      EXPECT_EQ(got[i].error.rfind("line " + std::to_string(c.expected[i].line) + ":", 0), 0u) << got[i].error;
    }
  }
}

const std::string kBom = "\xEF\xBB\xBF";

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvTableTest,
    ::testing::Values(
        Case{"empty input", "", {}},
        Case{"only a BOM", kBom, {}},
        Case{"simple LF", "a,b,c\n1,2,3\n", {{1, {"a", "b", "c"}}, {2, {"1", "2", "3"}}}},
        Case{"CRLF", "a,b\r\n1,2\r\n", {{1, {"a", "b"}}, {2, {"1", "2"}}}},
        Case{"lone CR", "a,b\r1,2\r", {{1, {"a", "b"}}, {2, {"1", "2"}}}},
        Case{"no final newline", "a,b\n1,2", {{1, {"a", "b"}}, {2, {"1", "2"}}}},
        Case{"BOM then header", kBom + "code,name\n1,x\n", {{1, {"code", "name"}}, {2, {"1", "x"}}}},
        Case{"BOM only at start", "a\n" + kBom + "b\n", {{1, {"a"}}, {2, {kBom + "b"}}}},
        Case{"empty fields", ",,\n,\n", {{1, {"", "", ""}}, {2, {"", ""}}}},
        Case{"trailing delimiter at EOF", "a,", {{1, {"a", ""}}}},
        Case{"blank lines give no fields", "a\n\n\r\nb\n", {{1, {"a"}}, {2, {}}, {3, {}}, {4, {"b"}}}},
        Case{"quoted comma and quote", "\"a,b\",\"say \"\"hi\"\"\"\n", {{1, {"a,b", "say \"hi\""}}}},
        Case{"empty quoted field", "\"\",x\n", {{1, {"", "x"}}}},
        Case{"quoted newline LF", "\"l1\nl2\",x\ny,z\n", {{1, {"l1\nl2", "x"}}, {3, {"y", "z"}}}},
        Case{"quoted newline CRLF kept", "\"l1\r\nl2\",x\r\ny\r\n", {{1, {"l1\r\nl2", "x"}}, {3, {"y"}}}},
        Case{"quote inside unquoted field is literal", "ab\"c,d\n", {{1, {"ab\"c", "d"}}}},
        Case{"UTF-8 content", "夜间照明,\"电动车，噪音\"\n", {{1, {"夜间照明", "电动车，噪音"}}}},
        Case{"stray char after closing quote: rest of line is the bad record",
             "\"ab\"c,d\nok,1\n",
             {{1, {"ab"}, "unexpected character after a closing quote"}, {2, {"ok", "1"}}}},
        Case{"unterminated quote at EOF resumes at next line",
             "h1,h2\nx,\"oops\ny,1\nz,2\n",
             {{1, {"h1", "h2"}}, {2, {"x", "oops\ny,1\nz,2\n"}, "unterminated quoted field"}, {3, {"y", "1"}},
              {4, {"z", "2"}}}},
        Case{"unterminated quote on the last line", "a\n\"b", {{1, {"a"}}, {2, {"b"}, "unterminated quoted field"}}},
        Case{"stray quote pairs with a later quoted field: cut back to the first line",
             "r5,\"abc\nr6,\"hello, world\"\nr7,x\n",
             {{1, {"r5", "abc\nr6,"}, "unexpected character after a closing quote"},
              {2, {"r6", "hello, world"}},
              {3, {"r7", "x"}}}},
        Case{"tab delimiter is data with the default options", "a\tb\n", {{1, {"a\tb"}}}},
        Case{"fewer fields after more",
             "a,b,c\nx\n\ny,z\n",
             {{1, {"a", "b", "c"}}, {2, {"x"}}, {3, {}}, {4, {"y", "z"}}}},
        Case{"lone CR inside a CRLF file", "a\rb\r\nc\r\n", {{1, {"a"}}, {2, {"b"}}, {3, {"c"}}}},
        Case{"quoted record between plain ones",
             "a,b\n\"x\ny\",z\nc,d\n",
             {{1, {"a", "b"}}, {2, {"x\ny", "z"}}, {4, {"c", "d"}}}}));

TEST(CsvReaderTest, RawHoldsTheRecordBytesWithoutLineEnd) {
  const auto got = ReadAll("a,\"b\"\"c\",\"x\r\ny\"\r\nnext\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].raw, "a,\"b\"\"c\",\"x\r\ny\"");
  EXPECT_EQ(got[1].raw, "next");
}

TEST(CsvReaderTest, RawOfAnUnterminatedRecordIsItsFirstLine) {
  const auto got = ReadAll("a,\"open\nb\nc\n");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].raw, "a,\"open");
  EXPECT_EQ(got[1].raw, "b");
  EXPECT_EQ(got[2].raw, "c");
}

TEST(CsvReaderTest, QuotedFieldOverTheLineLimitIsAnUnterminatedQuote) {
  CsvReader::Options options;
  options.max_record_lines = 3;
  // Lines 2..5 are inside the quote opened on line 1 when the limit is hit; line 6 closes it.
  const auto got = ReadAll("x,\"a\nb\nc\nd\ne\"\nf\n", options);
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0].line, 1u);
  EXPECT_NE(got[0].error.find("line limit"), std::string::npos) << got[0].error;
  EXPECT_EQ(got[1].line, 2u);
  EXPECT_EQ(got[1].fields, std::vector<std::string>{"b"});
  EXPECT_EQ(got.back().fields, std::vector<std::string>{"f"});
  EXPECT_EQ(got.back().line, 6u);
}

TEST(CsvReaderTest, OverlongSingleLineIsSkippedToItsEnd) {
  CsvReader::Options options;
  options.max_record_bytes = 8;
  const auto got = ReadAll("short\n0123456789abcdef,more\nok\n", options);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].fields, std::vector<std::string>{"short"});
  EXPECT_EQ(got[1].line, 2u);
  EXPECT_NE(got[1].error.find("size limit"), std::string::npos);
  EXPECT_EQ(got[1].raw.size(), 8u);
  EXPECT_EQ(got[2].line, 3u);
  EXPECT_EQ(got[2].fields, std::vector<std::string>{"ok"});
  EXPECT_EQ(got[2].error, "");
}

TEST(CsvReaderTest, OverlongQuotedRecordResumesAtItsSecondLine) {
  CsvReader::Options options;
  options.max_record_bytes = 10;
  const auto got = ReadAll("a,\"12\n345\n6789\nz\n", options);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].line, 1u);
  EXPECT_FALSE(got[0].error.empty());
  EXPECT_EQ(got[1].fields, std::vector<std::string>{"345"});
  EXPECT_EQ(got[1].line, 2u);
  EXPECT_EQ(got[2].fields, std::vector<std::string>{"6789"});
  EXPECT_EQ(got[3].fields, std::vector<std::string>{"z"});
  EXPECT_EQ(got[3].line, 4u);
}

TEST(CsvReaderTest, SemicolonDelimiter) {
  CsvReader::Options options;
  options.delimiter = ';';
  const auto got = ReadAll("a;\"b;c\";d,e\n", options);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].fields, (std::vector<std::string>{"a", "b;c", "d,e"}));
}

TEST(CsvReaderTest, LargeInputAcrossChunkBoundaries) {
  std::string text = kBom + "id,text\n";
  for (int i = 0; i < 20000; ++i) {
    text += std::to_string(i) + ",\"line with, comma\nand \"\"quote\"\"\"\n";
  }
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<std::string> fields;
  Status error;
  ASSERT_TRUE(reader.Next(fields, &error));
  int rows = 0;
  while (reader.Next(fields, &error)) {
    ASSERT_TRUE(error.ok()) << error;
    ASSERT_EQ(fields.size(), 2u);
    ASSERT_EQ(fields[0], std::to_string(rows));
    ASSERT_EQ(fields[1], "line with, comma\nand \"quote\"");
    ASSERT_EQ(reader.line(), static_cast<std::size_t>(2 + 2 * rows));
    ++rows;
  }
  EXPECT_EQ(rows, 20000);
  EXPECT_EQ(reader.bytes_read(), text.size());
}

// Plain lines (no quote) are read whole from the buffer (CsvReader::NextPlainLine): lines of every
// length, LF and CRLF, so that line ends, and the CR and LF of a CRLF, fall on the chunk boundaries.
TEST(CsvReaderTest, PlainLinesAcrossChunkBoundaries) {
  std::string text;
  std::vector<std::string> lines;
  for (int i = 0; i < 6000; ++i) {
    lines.push_back(std::to_string(i) + "," + std::string(static_cast<std::size_t>(i % 97), 'x') + ",end");
    text += lines.back() + (i % 3 == 0 ? "\r\n" : "\n");
  }
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<std::string> fields;
  Status error;
  std::size_t rows = 0;
  while (reader.Next(fields, &error)) {
    ASSERT_TRUE(error.ok()) << error;
    ASSERT_LT(rows, lines.size());
    ASSERT_EQ(reader.raw(), lines[rows]);
    ASSERT_EQ(fields, (std::vector<std::string>{std::to_string(rows), std::string(rows % 97, 'x'), "end"}));
    ASSERT_EQ(reader.line(), rows + 1);
    ++rows;
  }
  EXPECT_EQ(rows, lines.size());
  EXPECT_EQ(reader.bytes_read(), text.size());
}

TEST(CsvReaderTest, BytesReadAccountsForReReadLines) {
  const std::string text = "a,\"open\nb\nc\n";
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<std::string> fields;
  Status error;
  ASSERT_TRUE(reader.Next(fields, &error));
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(reader.bytes_read(), std::string("a,\"open\n").size());
  while (reader.Next(fields, &error)) {
  }
  EXPECT_EQ(reader.bytes_read(), text.size());
}

TEST(CsvReaderTest, NullErrorPointerIsAllowed) {
  std::istringstream in("\"x\n");
  CsvReader reader(in);
  std::vector<std::string> fields;
  EXPECT_TRUE(reader.Next(fields, nullptr));
  EXPECT_FALSE(reader.Next(fields, nullptr));
}

}  // namespace
}  // namespace minyi
