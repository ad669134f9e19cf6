#include "collector/questionnaire/isolated_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "collector/questionnaire/table_reader.h"

namespace minyi::collector::questionnaire {
namespace {

TableRow MakeRow(std::size_t number, std::vector<std::string> cells) {
  TableRow row;
  row.number = number;
  row.cells = std::move(cells);
  return row;
}

struct Outcome {
  Status status;
  std::vector<TableRow> rows;
};

Outcome ReadThroughChild(const std::function<Status(const RowCallback&)>& read, IsolationLimits limits = {}) {
  Outcome out;
  out.status = ReadIsolated(
      read,
      [&](const TableRow& row) {
        out.rows.push_back(row);
        return Status::Ok();
      },
      limits, "the test file");
  return out;
}

TEST(ReadIsolatedTest, RowsCellsAndRowErrorsComeBackAsTheReaderGaveThem) {
  const Outcome out = ReadThroughChild([](const RowCallback& emit) {
    MINYI_RETURN_IF_ERROR(emit(MakeRow(1, {"序号", "", "提交答卷时间"})));
    TableRow flagged = MakeRow(7, {"3", std::string("a\0b", 3)});
    flagged.error = Status::InvalidInput("column 2: too long");
    return emit(flagged);
  });
  ASSERT_TRUE(out.status.ok()) << out.status;
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0].number, 1u);
  EXPECT_EQ(out.rows[0].cells, (std::vector<std::string>{"序号", "", "提交答卷时间"}));
  EXPECT_TRUE(out.rows[0].error.ok());
  EXPECT_EQ(out.rows[1].number, 7u);
  EXPECT_EQ(out.rows[1].cells[1], std::string("a\0b", 3));
  EXPECT_EQ(out.rows[1].error.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(out.rows[1].error.message(), "column 2: too long");
}

TEST(ReadIsolatedTest, TheReadersOwnErrorIsReturnedAsItWas) {
  const Outcome out = ReadThroughChild([](const RowCallback& emit) {
    MINYI_RETURN_IF_ERROR(emit(MakeRow(1, {"a"})));
    return Status::InvalidInput("truncated or damaged .xls file (x)");
  });
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(out.status.message(), "truncated or damaged .xls file (x)");
  EXPECT_EQ(out.rows.size(), 1u);
}

// The regression for the FreeXL fault the fuzzer found: a reader that crashes takes only its child
// process down; this process gets the rows sent before and a clear refusal of the file.
TEST(ReadIsolatedTest, AReaderThatCrashesRefusesTheFileAndThisProcessGoesOn) {
  const Outcome out = ReadThroughChild([](const RowCallback& emit) {
    MINYI_RETURN_IF_ERROR(emit(MakeRow(1, {"header"})));
    MINYI_RETURN_IF_ERROR(emit(MakeRow(2, {"1"})));
    std::raise(SIGSEGV);
    return Status::Ok();
  });
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidInput) << out.status;
  EXPECT_NE(out.status.message().find("the test file could not be read ("), std::string::npos) << out.status;
  EXPECT_EQ(out.rows.size(), 2u);
}

TEST(ReadIsolatedTest, AReaderThatHangsIsKilledAtTheDeadline) {
  IsolationLimits limits;
  limits.seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  const Outcome out = ReadThroughChild(
      [](const RowCallback&) {
        for (;;) ::pause();
        return Status::Ok();
      },
      limits);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.status.code(), StatusCode::kResourceExhausted) << out.status;
  EXPECT_NE(out.status.message().find("longer than 1 s"), std::string::npos) << out.status;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(ReadIsolatedTest, MoreBytesThanTheBudgetStopTheReader) {
  IsolationLimits limits;
  limits.max_bytes = 1 << 20;
  const Outcome out = ReadThroughChild(
      [](const RowCallback& emit) {
        for (std::size_t r = 1;; ++r) MINYI_RETURN_IF_ERROR(emit(MakeRow(r, {std::string(4096, 'x')})));
      },
      limits);
  EXPECT_EQ(out.status.code(), StatusCode::kResourceExhausted) << out.status;
  EXPECT_GT(out.rows.size(), 100u);
  EXPECT_LT(out.rows.size(), 300u);
}

TEST(ReadIsolatedTest, AnErrorOfTheCallbackStopsTheChildAndIsReturned) {
  int seen = 0;
  const Status s = ReadIsolated(
      [](const RowCallback& emit) {
        for (std::size_t r = 1;; ++r) MINYI_RETURN_IF_ERROR(emit(MakeRow(r, {"v"})));
      },
      [&](const TableRow&) { return ++seen == 3 ? Status::ResourceExhausted("enough") : Status::Ok(); }, {},
      "the test file");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "enough");
  EXPECT_EQ(seen, 3);
}

// The input the fuzzer kept (tests/fuzz/crashes/README.md): under ASan FreeXL's memcpy-param-overlap
// aborts the reading child; without ASan the overlap may pass unnoticed. Either way this process
// reads on: the file is read or refused as damaged, never a crash.
TEST(ReadIsolatedTest, TheFreexlInputTheFuzzerKeptNoLongerTakesTheProcessDown) {
  std::vector<TableRow> rows;
  const Status s = ReadTableFile(
      std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/questionnaire/wjx_freexl_memcpy_overlap.xls",
      [&](const TableRow& row) {
        rows.push_back(row);
        return Status::Ok();
      });
  EXPECT_TRUE(s.ok() || s.code() == StatusCode::kInvalidInput) << s;
}

}  // namespace
}  // namespace minyi::collector::questionnaire
