#include "core/csv_cell.h"

#include <gtest/gtest.h>

#include <string>

namespace minyi {
namespace {

using namespace std::string_literals;

struct CellCase {
  std::string in;
  std::string neutralized;
  std::string csv;
};

TEST(CsvCellTest, FormulaStartsAreNeutralizedAndQuoted) {
  const CellCase cases[] = {
      {"=1+2", "'=1+2", "'=1+2"},
      {"+86", "'+86", "'+86"},
      {"-2", "'-2", "'-2"},
      {"@SUM(A1)", "'@SUM(A1)", "'@SUM(A1)"},
      // Issue #13: a leading TAB or CR was written as is.
      {"\t=cmd|' /C calc'!A0", "'\t=cmd|' /C calc'!A0", "'\t=cmd|' /C calc'!A0"},
      {"\r=HYPERLINK(\"x\")", "'\r=HYPERLINK(\"x\")", "\"'\r=HYPERLINK(\"\"x\"\")\""},
      {"安全 = 好", "安全 = 好", "安全 = 好"},
      {"a,b", "a,b", "\"a,b\""},
      {"line\nbreak", "line\nbreak", "\"line\nbreak\""},
      {"", "", ""},
      // Issue #13: NUL was written raw; it is removed, also where it hid a formula start.
      {"a\0b"s, "ab", "ab"},
      {"\0=1"s, "'=1", "'=1"},
  };
  for (const CellCase& c : cases) {
    EXPECT_EQ(NeutralizeFormula(c.in), c.neutralized) << c.in;
    EXPECT_EQ(CsvText(c.in), c.csv) << c.in;
  }
}

TEST(CsvCellTest, CanonicalQuotingIsNotNeutralizedButDropsNul) {
  EXPECT_EQ(CsvQuote("=1+2"), "=1+2");
  EXPECT_EQ(CsvQuote("-2"), "-2");
  EXPECT_EQ(CsvQuote("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
  EXPECT_EQ(CsvQuote("a\0b\r"s), "\"ab\r\"");
}

}  // namespace
}  // namespace minyi
