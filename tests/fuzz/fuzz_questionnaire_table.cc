// 问卷星 / 腾讯问卷 exports as `minyi import questionnaire` and the upload read them: the table reader
// (collector/questionnaire/table_reader.h: CSV in UTF-8 or GB18030 and XLSX from memory; XLS through a
// temporary file, since FreeXL opens paths, in fuzz_questionnaire_xls, which compiles this file with
// MINYI_FUZZ_XLS), then the header analysis and every row's conversion for
// the survey of the questionnaire fixtures (questionnaire_map.h), and the town of each row.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collector/questionnaire/questionnaire_map.h"
#include "collector/questionnaire/table_reader.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace q = minyi::collector::questionnaire;

minyi::Status OnRow(const q::TableRow& row, std::optional<q::Layout>& layout, bool& header_seen) {
  const minyi::SurveyDefinition& survey = minyi::fuzz::Survey("quest-test");
  if (!header_seen) {
    header_seen = true;
    (void)q::DetectProvider(row.cells);
    q::HeaderOptions options;
    auto analyzed = q::AnalyzeHeader(row.cells, survey, options);
    if (analyzed.ok()) layout = std::move(analyzed).value();
    return minyi::Status::Ok();
  }
  if (!layout || !row.error.ok()) return minyi::Status::Ok();
  auto converted = q::ConvertRow(*layout, survey, row.cells, 480);
  if (converted.ok() && !converted->town_value.empty()) {
    (void)q::ResolveTown(minyi::fuzz::Areas(), converted->town_value, "");
  }
  return minyi::Status::Ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = minyi::fuzz::AsText(data, size);
  std::optional<q::Layout> layout;
  bool header_seen = false;
  const q::RowCallback on_row = [&](const q::TableRow& row) { return OnRow(row, layout, header_seen); };
  const auto format = q::SniffFormat(bytes.substr(0, 4096));
  const bool xls = format.ok() && *format == q::FileFormat::kXls;
#ifdef MINYI_FUZZ_XLS
  if (!xls) return 0;
  minyi::fuzz::TempFile file(bytes, ".xls");
  (void)q::ReadTableFile(file.path(), on_row);
#else
  if (xls) return 0;  // fuzz_questionnaire_xls
  (void)q::ReadTableBytes(bytes, on_row);
#endif
  return 0;
}
