// Releases and exports end to end on a SQLite store in memory: freezing and revisions, index exports
// (editions, formats, byte-identical re-exports), weighted microdata (weights reproduce the indices,
// .sav/.dta read back with ReadStat's own reader, masking, formula neutralization).
#include <gtest/gtest.h>
#include <readstat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include "aggregator/run.h"
#include "core/csv.h"
#include "exports/format.h"
#include "exports/index_export.h"
#include "exports/microdata.h"
#include "exports/release.h"
#include "exports/scan_pipeline.h"
#include "exports/xlsx_cells_for_test.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::exports {
namespace {

constexpr char kSurveyJson[] = R"({
  "id": "test-survey", "title": "测试调查", "version": "t1",
  "questions": [
    {"code": "security", "text": "您觉得安全吗？", "type": "single", "required": true, "options": [
      {"code": "1", "label": "很安全"}, {"code": "2", "label": "安全"}, {"code": "3", "label": "基本安全"},
      {"code": "4", "label": "不太安全"}, {"code": "5", "label": "很不安全"},
      {"code": "9", "label": "说不清", "missing": true}]},
    {"code": "grid", "text": "您对网格员满意吗？", "type": "single", "required": true, "options": [
      {"code": "1", "label": "满意"}, {"code": "2", "label": "比较满意"}, {"code": "3", "label": "一般"},
      {"code": "4", "label": "不太满意"}, {"code": "5", "label": "不满意"},
      {"code": "9", "label": "不了解", "missing": true}]},
    {"code": "sex", "text": "性别", "type": "single", "options": [{"code": "1", "label": "男"}, {"code": "2", "label": "女"}]},
    {"code": "age_band", "text": "年龄", "type": "single", "options": [
      {"code": "18-39", "label": "18-39岁"}, {"code": "40-59", "label": "40-59岁"}, {"code": "60+", "label": "@SUM(1) 60岁及以上"}]},
    {"code": "concerns", "text": "您担心哪些问题？", "type": "multi", "options": [
      {"code": "theft", "label": "盗窃"}, {"code": "fraud", "label": "诈骗"}, {"code": "traffic", "label": "交通"}]},
    {"code": "comment", "text": "+cmd|' /C calc'!A0 意见建议", "type": "text"}
  ],
  "indices": [
    {"id": "security", "name": "群众安全感", "question": "security", "positive": ["1", "2", "3"], "min_n": 30},
    {"id": "grid", "name": "网格工作满意率", "question": "grid", "positive": ["1", "2"], "min_n": 30}
  ]
})";

const char* const kTownA = "320812001";
const char* const kTownB = "320812002";
const char* const kTownC = "320812003";  // few responses: low_n
const char* const kTownD = "320115001";  // another city

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::string text = ReadFile(path);
  EXPECT_EQ(text.substr(0, 3), std::string(kUtf8Bom));
  std::istringstream in(text.substr(3));
  CsvReader reader(in);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> fields;
  Status error;
  while (reader.Next(fields, &error)) rows.push_back(fields);
  EXPECT_TRUE(error.ok()) << error;
  return rows;
}

// Releases and exports over a real store of every backend (SQLite in memory and in a file, the
// private MariaDB): freezing, manifests and the microdata walk go through each backend's own SQL.
class ExportsTest : public testsupport::FreshStoreTest {
 protected:
  static void SetUpTestSuite() {
    auto loaded = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    areas_ = new AreaRegistry(std::move(loaded).value());
  }
  static void TearDownTestSuite() { delete areas_; }

  void SetUp() override {
    FreshStoreTest::SetUp();
    if (HasFatalFailure()) return;
    auto def = ParseSurveyDefinition(kSurveyJson);
    ASSERT_TRUE(def.ok()) << def.status();
    catalog_.Add(std::make_shared<SurveyDefinition>(def.value()));
    def_ = catalog_.Find("test-survey");
    std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test_name.begin(), test_name.end(), '/', '-');
    dir_ = std::filesystem::temp_directory_path() / ("minyi-exports-" + std::to_string(::getpid()) + "-" + test_name);
    std::filesystem::create_directories(dir_);
    std::vector<PopulationCell> cells;
    for (int year : {2024, 2025}) {
      for (const char* town : {kTownA, kTownB}) {
        cells.push_back({year, town, "", "", 50000});
        cells.push_back({year, town, "1", "", 24000});
        cells.push_back({year, town, "2", "", 25000});
      }
      cells.push_back({year, kTownC, "", "", 8000});
      cells.push_back({year, kTownD, "", "", 30000});
    }
    ASSERT_TRUE(store_->UpsertPopulation(cells).ok());
    Seed(2024, 1);
    Seed(2025, 2);
    Aggregate();
  }
  void TearDown() override {
    FreshStoreTest::TearDown();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Response MakeResponse(int year, const std::string& town, std::mt19937& rng, int n) {
    Response r;
    r.survey_id = "test-survey";
    r.period = {year, 0};
    r.town_code = town;
    r.channel = n % 3 == 0 ? Channel::kSms : Channel::kWeb;
    r.respondent_key = "key-" + std::to_string(year) + "-" + town + "-" + std::to_string(n);
    r.weight = n % 5 == 0 ? 1.5 : 1.0;
    const char* security[] = {"1", "2", "2", "3", "3", "4", "5", "9"};
    const char* grid[] = {"1", "1", "2", "3", "4", "5", "9"};
    r.answers["security"] = {security[rng() % 8]};
    r.answers["grid"] = {grid[rng() % 7]};
    if (rng() % 10 != 0) r.answers["sex"] = {rng() % 2 ? "1" : "2"};
    const char* ages[] = {"18-39", "40-59", "60+"};
    r.answers["age_band"] = {ages[rng() % 3]};
    if (rng() % 2) r.answers["concerns"] = rng() % 2 ? std::vector<std::string>{"theft", "traffic"} : std::vector<std::string>{"fraud"};
    if (n % 7 == 0) r.answers["comment"] = {"请联系我 13812345678，路灯坏了"};
    if (n % 11 == 0) r.answers["comment"] = {"=HYPERLINK(\"http://x\")"};
    if (n % 13 == 0) r.answers["comment"] = {"@SUM(A1), 建议\"多巡逻\""};
    if (n % 17 == 0) r.answers["comment"] = {"+cmd|' /C calc'!A0"};
    r.submitted_at_ms = 1700000000000LL + n;
    r.received_at_ms = r.submitted_at_ms;
    r.source_ref = "test:" + std::to_string(year) + ":" + town + ":" + std::to_string(n);
    return r;
  }

  void Seed(int year, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<Response> batch;
    const std::vector<std::pair<const char*, int>> towns = {{kTownA, 80}, {kTownB, 50}, {kTownC, 12}, {kTownD, 40}};
    for (const auto& [town, count] : towns) {
      for (int n = 0; n < count; ++n) batch.push_back(MakeResponse(year, town, rng, n));
    }
    std::vector<AppendResult> results;
    ASSERT_TRUE(store_->Append(batch, &results).ok());
  }

  void Aggregate() {
    aggregator::AggregationOptions options;
    options.survey_id = "test-survey";
    options.code_version = "test";
    auto done = aggregator::RunAggregation(options, *store_, *store_, catalog_, *areas_, *store_);
    ASSERT_TRUE(done.ok()) << done.status();
  }

  Result<FreezeResult> Freeze(int year, const std::string& reason = "", const std::string& id_salt = "") {
    FreezeOptions options;
    options.id_salt = id_salt;
    options.survey_id = "test-survey";
    options.period = {year, 0};
    options.reason = reason;
    options.created_by = "cli:test";
    options.code_version = "test";
    options.now_ms = 1750000000000LL;
    return FreezeRelease(options, *store_, *store_, *store_, *store_, catalog_, *areas_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  Result<MicrodataSummary> Microdata(MicrodataFormat format, int release, const std::string& path,
                                     std::int64_t live_time = 0) {
    MicrodataRequest req;
    req.survey_id = "test-survey";
    req.periods = {{2025, 0}};
    req.release = release;
    req.format = format;
    req.path = path;
    req.live_time_ms = live_time;
    MicrodataSources sources{store_.get(), store_.get(), store_.get(), &catalog_, areas_};
    return ExportMicrodata(req, sources);
  }

  Status Indices(int release, IndexFormat format, Edition edition, const std::string& path, std::int64_t live = 0) {
    auto figures = LoadIndexFigures("test-survey", {2025, 0}, release, *store_, *store_);
    if (!figures.ok()) return figures.status();
    IndexExportOptions options;
    options.format = format;
    options.edition = edition;
    options.live_time_ms = live;
    return WriteIndexExport(figures.value(), *def_, *areas_, options, path);
  }

  static AreaRegistry* areas_;
  SurveyCatalog catalog_;
  std::shared_ptr<const SurveyDefinition> def_;
  std::filesystem::path dir_;
};

AreaRegistry* ExportsTest::areas_ = nullptr;

INSTANTIATE_TEST_SUITE_P(Backends, ExportsTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

TEST(ExportFormat, FormulaCellsAreNeutralizedAndNumbersAreNot) {
  EXPECT_EQ(NeutralizeFormula("=1+2"), "'=1+2");
  EXPECT_EQ(NeutralizeFormula("+86"), "'+86");
  EXPECT_EQ(NeutralizeFormula("-2"), "'-2");
  EXPECT_EQ(NeutralizeFormula("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(NeutralizeFormula("安全 = 好"), "安全 = 好");
  EXPECT_EQ(CsvText("=A1,\"x\""), "\"'=A1,\"\"x\"\"\"");
  // Issue #13: a leading TAB or CR starts a formula too, and NUL was written raw.
  EXPECT_EQ(NeutralizeFormula("\t=1+2"), "'\t=1+2");
  EXPECT_EQ(CsvText("\r=1+2"), "\"'\r=1+2\"");
  EXPECT_EQ(CsvText(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(FormatNumber(-0.25), "-0.25");
  EXPECT_EQ(FormatNumber(0.1), "0.1");
  EXPECT_EQ(FormatNumber(std::nan("")), "");
  EXPECT_EQ(std::strtod(FormatNumber(1.0 / 3).c_str(), nullptr), 1.0 / 3);
}

// FormatNumber's fast paths (integers, std::to_chars) print exactly what the shortest exact
// %.15g/%.16g/%.17g of snprintf prints, so exports keep their bytes.
TEST(ExportFormat, NumbersPrintAsTheShortestExactPrintfForm) {
  auto reference = [](double v) {
    char buf[40];
    for (int precision = 15; precision <= 17; ++precision) {
      std::snprintf(buf, sizeof buf, "%.*g", precision, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
    return std::string(buf);
  };
  std::vector<double> values = {0.0, -0.0, 1, -1, 2, 7, 42, -17, 1e14, 999999999999999, 1e15, -1e15, 1e16,
                                1e300, 5e-324, 2.2250738585072014e-308, 0.5, 0.1 + 0.2, 1.0 / 3, 123456.75,
                                0.000123, 1.5e-7, 0.99, 0.992, 1234567890123456789.0};
  std::mt19937_64 random(20251203);
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t bits = random();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) values.push_back(v);
    values.push_back(std::ldexp(static_cast<double>(random() % 1000000), -static_cast<int>(random() % 40)));
    values.push_back(static_cast<double>(random() % 100000) / 1000.0);
  }
  for (double v : values) ASSERT_EQ(FormatNumber(v), reference(v)) << "printf prints " << reference(v);
}

// `count` responses in memory, with 0–2 answers each, for the pipeline's own tests.
class MemoryResponses final : public ResponseSource {
 public:
  explicit MemoryResponses(int count) {
    for (int i = 1; i <= count; ++i) {
      Response r;
      r.id = i;
      r.survey_id = "s";
      r.period = {2025, 0};
      r.town_code = "town" + std::to_string(i / 7);
      r.respondent_key = "key" + std::to_string(i);
      r.weight = 1.0 + i;
      if (i % 3 != 0) r.answers["q1"] = {std::to_string(i)};
      if (i % 2 == 0) r.answers["q2"] = {"a", std::string(static_cast<std::size_t>(i % 50), 'x')};
      rows.push_back(std::move(r));
    }
  }
  Status Scan(const ResponseQuery&, const std::function<bool(Response&)>& visit) override {
    for (Response& r : rows) {
      Response copy = r;
      if (!visit(copy)) break;
    }
    return Status::Ok();
  }
  Result<std::vector<ResponseCount>> CountResponses() override { return std::vector<ResponseCount>{}; }
  std::vector<Response> rows;
};

// The scan's pages come back whole and in order across many small pages, and a visit that stops the
// scan or throws ends it with the scan's thread joined (TSan-clean: the threads share only the handoff).
TEST(ScanPipeline, VisitsEveryResponseInOrderAndStopsWhenAsked) {
  MemoryResponses source(1000);
  ResponseQuery q;
  q.survey_id = "s";
  for (const ScanPipelineLimits limits :
       {ScanPipelineLimits{3, 1 << 20, 2}, ScanPipelineLimits{1000, 64, 3}, ScanPipelineLimits{}}) {
    std::vector<Response> seen;
    ASSERT_TRUE(PipelinedScanViews(
                    source, q,
                    [&](const ResponseView& r) {
                      seen.push_back(r.ToResponse());
                      return true;
                    },
                    limits)
                    .ok());
    ASSERT_EQ(seen.size(), source.rows.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i].CanonicalContent(), source.rows[i].CanonicalContent()) << i;
      EXPECT_EQ(seen[i].id, source.rows[i].id);
    }
    int visits = 0;
    ASSERT_TRUE(PipelinedScanViews(
                    source, q, [&](const ResponseView&) { return ++visits < 10; }, limits)
                    .ok());
    EXPECT_EQ(visits, 10);
    visits = 0;
    EXPECT_THROW(PipelinedScanViews(
                     source, q,
                     [&](const ResponseView&) -> bool {
                       if (++visits == 20) throw std::runtime_error("visitor failed");
                       return true;
                     },
                     limits),
                 std::runtime_error);
  }
}

TEST(ExportFormat, IndexRowsAndPopulationSurviveTheirCanonicalText) {
  IndexRow r;
  r.survey_id = "s";
  r.period = {2025, 2};
  r.level = "town";
  r.area_code = "320812001";
  r.index_id = "security";
  r.n = 12;
  r.estimate = 0.1 + 0.2;
  r.se = std::nan("");
  r.change = -0.0123456789012345;
  r.low_n = true;
  r.response_hash = "abc";
  r.computed_at_ms = 17;
  auto back = DecodeIndexRows(EncodeIndexRows({r}));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1U);
  EXPECT_EQ((*back)[0].estimate, r.estimate);
  EXPECT_TRUE(std::isnan((*back)[0].se));
  EXPECT_EQ((*back)[0].change, r.change);
  EXPECT_EQ((*back)[0].period, r.period);
  EXPECT_TRUE((*back)[0].low_n);
  EXPECT_EQ(EncodeIndexRows(back.value()), EncodeIndexRows({r}));
  EXPECT_FALSE(DecodeIndexRows("a\tb\n").ok());
  // The model-based figures (34 fields); a release frozen before them has 29 and reads back NaN and "".
  r.model_estimate = 0.3125;
  r.model_se = 0.0625;
  r.model_ci_low = std::nan("");
  r.model_ci_high = 0.5;
  r.model_method = "eblup";
  const std::string text = EncodeIndexRows({r});
  auto modelled = DecodeIndexRows(text);
  ASSERT_TRUE(modelled.ok()) << modelled.status();
  EXPECT_EQ((*modelled)[0].model_estimate, 0.3125);
  EXPECT_EQ((*modelled)[0].model_se, 0.0625);
  EXPECT_TRUE(std::isnan((*modelled)[0].model_ci_low));
  EXPECT_EQ((*modelled)[0].model_ci_high, 0.5);
  EXPECT_EQ((*modelled)[0].model_method, "eblup");
  std::string old_text = text.substr(0, text.size() - 1);  // without '\n'
  for (int i = 0; i < 5; ++i) old_text.erase(old_text.rfind('\t'));
  auto old = DecodeIndexRows(old_text + "\n");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ((*old)[0].estimate, r.estimate);
  EXPECT_TRUE(std::isnan((*old)[0].model_estimate));
  EXPECT_EQ((*old)[0].model_method, "");
  EXPECT_FALSE(DecodeIndexRows(old_text + "\tx\n").ok()) << "30 fields";
  auto cells = DecodePopulation(EncodePopulation({{2025, "320812001", "1", "", 1234.5}}));
  ASSERT_TRUE(cells.ok());
  EXPECT_EQ((*cells)[0].population, 1234.5);
  EXPECT_EQ((*cells)[0].sex, "1");
  EXPECT_EQ(ParseReleaseSelector("R2"), 2);
  EXPECT_EQ(ParseReleaseSelector("latest"), 0);
  EXPECT_FALSE(ParseReleaseSelector("R0").has_value());
  EXPECT_FALSE(ParseReleaseSelector("x").has_value());
}

TEST_P(ExportsTest, FreezeRecomputesTheLiveFiguresOnTheSameResponses) {
  auto frozen = Freeze(2025);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  EXPECT_FALSE(frozen->unchanged);
  EXPECT_EQ(frozen->release.revision, 1);
  EXPECT_EQ(frozen->release.response_count, 182);
  EXPECT_EQ(frozen->release.manifest_hash.size(), 64U);
  EXPECT_EQ(frozen->release.content_hash, Sha256Hex(ReleaseContentText(frozen->release)));
  EXPECT_EQ(ChangeBaseline(frozen->release), "live figures of 2024 at freezing");
  auto release = LoadIndexFigures("test-survey", {2025, 0}, 1, *store_, *store_);
  auto live = LoadIndexFigures("test-survey", {2025, 0}, -1, *store_, *store_);
  ASSERT_TRUE(release.ok() && live.ok());
  ASSERT_EQ(release->rows.size(), live->rows.size());
  std::map<std::string, const IndexRow*> by_key;
  for (const IndexRow& r : live->rows) by_key[r.level + r.area_code + r.index_id] = &r;
  for (const IndexRow& r : release->rows) {
    const IndexRow* l = by_key[r.level + r.area_code + r.index_id];
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(r.n, l->n);
    // NaN for a town without respondents (n = 0): compared as text.
    EXPECT_EQ(FormatNumber(r.estimate), FormatNumber(l->estimate)) << r.area_code;
    EXPECT_EQ(FormatNumber(r.se), FormatNumber(l->se)) << r.area_code;
    EXPECT_EQ(r.response_hash, l->response_hash);
    EXPECT_TRUE(std::isnan(r.change) ? std::isnan(l->change) : r.change == l->change);
    EXPECT_EQ(r.weighting, l->weighting);
    EXPECT_EQ(FormatNumber(r.model_estimate), FormatNumber(l->model_estimate)) << r.area_code;
    EXPECT_EQ(FormatNumber(r.model_se), FormatNumber(l->model_se)) << r.area_code;
    EXPECT_EQ(r.model_method, l->model_method) << r.area_code;
  }
}

// Issue 14: 30 more towns with shares between 0.3 and 0.9, so the small-area model is used. The model-based
// town figures are stored with the live rows, frozen with the release (equal to the live ones at freezing,
// unchanged when the live tables change), exported beside the direct ones, and published for a low-n town
// in the public edition.
TEST_P(ExportsTest, ModelBasedTownFiguresAreFrozenAndExported) {
  std::vector<std::string> extra;
  for (const Area* a : areas_->Towns()) {
    const std::string& code = a->code;
    if (extra.size() < 30 && code != kTownA && code != kTownB && code != kTownC && code != kTownD)
      extra.push_back(code);
  }
  std::vector<PopulationCell> cells;
  for (int year : {2024, 2025}) {
    std::mt19937 rng(static_cast<unsigned>(year));
    std::vector<Response> batch;
    for (std::size_t t = 0; t < extra.size(); ++t) {
      cells.push_back({year, extra[t], "", "", 20000});
      const int n = 25 + static_cast<int>((t * 11) % 40);
      // The year's pattern moves by 13 of 30 steps: the previous year's share hardly predicts this year's, so
      // the town variance is not explained away by the previous-year figure's measurement error (σ̂²ᵤ > 0).
      const double share =
          0.3 + 0.6 * static_cast<double>((t * 17 + 13 * static_cast<std::size_t>(year)) % 30) / 30;
      for (int i = 0; i < n; ++i) {
        Response r = MakeResponse(year, extra[t], rng, i);
        r.answers["security"] = {i < share * n ? "2" : "4"};
        batch.push_back(r);
      }
    }
    std::vector<AppendResult> results;
    ASSERT_TRUE(store_->Append(batch, &results).ok());
  }
  ASSERT_TRUE(store_->UpsertPopulation(cells).ok());
  Aggregate();
  auto live = LoadIndexFigures("test-survey", {2025, 0}, -1, *store_, *store_);
  ASSERT_TRUE(live.ok()) << live.status();
  int eblup = 0, synthetic = 0;
  for (const IndexRow& r : live->rows) {
    if (r.level != "town") {
      EXPECT_EQ(r.model_method, "") << r.level << " " << r.area_code;
    }
    if (r.level == "town" && r.n == 0) {  // the registry's other towns of the counties: x'β̂, stored
      // grid: the model is not used (the shares hardly differ between towns), so no figure.
      EXPECT_EQ(r.model_method, r.index_id == "security" ? "synthetic" : "none") << r.area_code << r.index_id;
      synthetic += r.model_method == "synthetic";
      continue;
    }
    if (r.level == "town" && r.index_id == "security") {
      EXPECT_EQ(r.model_method, "eblup") << r.area_code;
      eblup += r.model_method == "eblup";
    }
  }
  EXPECT_EQ(eblup, 34);
  EXPECT_GT(synthetic, 0);

  auto frozen = Freeze(2025);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  auto release = LoadIndexFigures("test-survey", {2025, 0}, 1, *store_, *store_);
  ASSERT_TRUE(release.ok()) << release.status();
  ASSERT_EQ(release->rows.size(), live->rows.size());
  std::map<std::string, const IndexRow*> live_row;
  for (const IndexRow& l : live->rows) live_row[l.level + l.area_code + l.index_id] = &l;
  for (const IndexRow& r : release->rows) {
    ASSERT_EQ(live_row.count(r.level + r.area_code + r.index_id), 1U);
    const IndexRow& l = *live_row[r.level + r.area_code + r.index_id];
    EXPECT_EQ(FormatNumber(r.model_estimate), FormatNumber(l.model_estimate)) << r.area_code;
    EXPECT_EQ(FormatNumber(r.model_ci_low), FormatNumber(l.model_ci_low)) << r.area_code;
    EXPECT_EQ(FormatNumber(r.model_ci_high), FormatNumber(l.model_ci_high)) << r.area_code;
    EXPECT_EQ(r.model_method, l.model_method) << r.area_code;
  }
  ASSERT_TRUE(Indices(1, IndexFormat::kCsv, Edition::kInternal, Path("r1.csv")).ok());
  ASSERT_TRUE(Indices(1, IndexFormat::kCsv, Edition::kPublic, Path("r1-public.csv")).ok());
  const std::string r1_before = ReadFile(Path("r1.csv"));

  // The exported cells: the model columns beside the direct ones; a low-n town keeps its model figure in
  // the public edition.
  std::map<std::string, const IndexRow*> frozen_row;
  for (const IndexRow& r : release->rows) frozen_row[r.level + r.area_code + r.index_id] = &r;
  for (const std::string& name : {std::string("r1.csv"), std::string("r1-public.csv")}) {
    const auto rows = ReadCsv(Path(name));
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
    ASSERT_EQ(col["model_estimate"], col["ci_method"] + 1) << "beside the direct figures";
    bool seen_low = false;
    int suppressed_direct = 0, without_respondents = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& c = rows[i];
      const IndexRow* r = frozen_row[c[col["level"]] + c[col["area_code"]] + c[col["index_id"]]];
      ASSERT_NE(r, nullptr);
      if (name == "r1-public.csv" && r->low_n && r->model_method == "direct") {
        // The model is not used (grid: the shares hardly differ between towns): the direct figures repeated,
        // suppressed with them.
        EXPECT_EQ(c[col["estimate"]], "");
        EXPECT_EQ(c[col["model_method"]], "");
        EXPECT_EQ(c[col["model_estimate"]], "");
        EXPECT_EQ(c[col["model_se"]], "");
        ++suppressed_direct;
        continue;
      }
      EXPECT_EQ(c[col["model_method"]], r->model_method);
      EXPECT_EQ(c[col["model_estimate"]], FormatNumber(r->model_estimate));
      EXPECT_EQ(c[col["model_se"]], FormatNumber(r->model_se));
      EXPECT_EQ(c[col["model_ci_low"]], FormatNumber(r->model_ci_low));
      EXPECT_EQ(c[col["model_ci_high"]], FormatNumber(r->model_ci_high));
      if (r->n == 0) {  // a town without respondents: no direct figure in either edition, its synthetic one
        EXPECT_EQ(c[col["n"]], "0");
        EXPECT_EQ(c[col["estimate"]], "");
        EXPECT_EQ(c[col["low_n"]], "true");
        if (r->model_method == "synthetic") {
          ++without_respondents;
          EXPECT_NE(c[col["model_estimate"]], "");
        }
      }
      if (c[col["area_code"]] == kTownC && c[col["index_id"]] == "security") {
        seen_low = true;
        EXPECT_EQ(c[col["low_n"]], "true");
        EXPECT_EQ(c[col["estimate"]].empty(), name == "r1-public.csv");
        EXPECT_NE(c[col["model_estimate"]], "");
        EXPECT_NE(c[col["model_ci_low"]], "");
      }
    }
    EXPECT_TRUE(seen_low) << name;
    EXPECT_EQ(without_respondents, synthetic) << name;
    EXPECT_EQ(suppressed_direct > 0, name == "r1-public.csv");
  }

  // New responses change the live model figures of every town; R1 does not change.
  std::mt19937 rng(99);
  std::vector<Response> late;
  for (int i = 0; i < 40; ++i) {
    Response r = MakeResponse(2025, kTownA, rng, 1000 + i);
    r.answers["security"] = {"5"};
    late.push_back(r);
  }
  std::vector<AppendResult> results;
  ASSERT_TRUE(store_->Append(late, &results).ok());
  Aggregate();
  auto after = LoadIndexFigures("test-survey", {2025, 0}, -1, *store_, *store_);
  ASSERT_TRUE(after.ok());
  const auto find = [](const std::vector<IndexRow>& rows, const std::string& area) {
    return *std::find_if(rows.begin(), rows.end(), [&](const IndexRow& r) {
      return r.level == "town" && r.area_code == area && r.index_id == "security";
    });
  };
  EXPECT_NE(find(after->rows, extra[0]).model_estimate, find(live->rows, extra[0]).model_estimate);
  EXPECT_EQ(find(after->rows, extra[0]).estimate, find(live->rows, extra[0]).estimate);
  auto release_after = LoadIndexFigures("test-survey", {2025, 0}, 1, *store_, *store_);
  ASSERT_TRUE(release_after.ok());
  EXPECT_EQ(find(release_after->rows, extra[0]).model_estimate, find(release->rows, extra[0]).model_estimate);
  ASSERT_TRUE(Indices(1, IndexFormat::kCsv, Edition::kInternal, Path("r1-after.csv")).ok());
  EXPECT_EQ(ReadFile(Path("r1-after.csv")), r1_before);
}

TEST_P(ExportsTest, LateResponsesMakeARevisionWithAReasonAndR1NeverChanges) {
  ASSERT_TRUE(Freeze(2025).ok());
  ASSERT_TRUE(Indices(1, IndexFormat::kCsv, Edition::kInternal, Path("r1-before.csv")).ok());
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, 1, Path("m1-before.csv")).ok());

  auto unchanged = Freeze(2025, "again");
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_TRUE(unchanged->unchanged);
  EXPECT_EQ(unchanged->release.revision, 1);

  std::mt19937 rng(9);
  std::vector<AppendResult> results;
  ASSERT_TRUE(store_->Append({MakeResponse(2025, kTownA, rng, 1000)}, &results).ok());
  Aggregate();
  auto no_reason = Freeze(2025);
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.status().code(), StatusCode::kInvalidInput);
  auto r2 = Freeze(2025, "late SMS replies");
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->release.revision, 2);
  EXPECT_EQ(r2->release.response_count, 183);
  auto list = store_->ListReleases("test-survey");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2U);
  EXPECT_EQ((*list)[1].reason, "late SMS replies");

  ASSERT_TRUE(Indices(1, IndexFormat::kCsv, Edition::kInternal, Path("r1-after.csv")).ok());
  EXPECT_EQ(ReadFile(Path("r1-before.csv")), ReadFile(Path("r1-after.csv")));
  auto m1 = Microdata(MicrodataFormat::kCsv, 1, Path("m1-after.csv"));
  ASSERT_TRUE(m1.ok()) << m1.status();
  EXPECT_EQ(m1->rows, 182);
  EXPECT_EQ(ReadFile(Path("m1-before.csv")), ReadFile(Path("m1-after.csv")));
  auto m2 = Microdata(MicrodataFormat::kCsv, 2, Path("m2.csv"));
  ASSERT_TRUE(m2.ok()) << m2.status();
  EXPECT_EQ(m2->rows, 183);
}

TEST_P(ExportsTest, ReExportingAReleaseGivesIdenticalBytesInEveryFormat) {
  ASSERT_TRUE(Freeze(2025).ok());
  for (IndexFormat f : {IndexFormat::kCsv, IndexFormat::kJson, IndexFormat::kXlsx}) {
    const std::string ext(IndexFormatExtension(f));
    ASSERT_TRUE(Indices(1, f, Edition::kPublic, Path("a." + ext), 1000000000000LL).ok());
    ASSERT_TRUE(Indices(1, f, Edition::kPublic, Path("b." + ext), 1900000000000LL).ok());
    const std::string a = ReadFile(Path("a." + ext));
    EXPECT_GT(a.size(), 100U);
    EXPECT_EQ(a, ReadFile(Path("b." + ext))) << ext;
  }
  for (auto [f, ext] : std::vector<std::pair<MicrodataFormat, std::string>>{
           {MicrodataFormat::kCsv, "csv"}, {MicrodataFormat::kSav, "sav"}, {MicrodataFormat::kDta, "dta"},
           {MicrodataFormat::kXlsx, "xlsx"}}) {
    ASSERT_TRUE(Microdata(f, 1, Path("ma." + ext), 1000000000000LL).ok()) << ext;
    ASSERT_TRUE(Microdata(f, 1, Path("mb." + ext), 1900000000000LL).ok()) << ext;
    const std::string a = ReadFile(Path("ma." + ext));
    EXPECT_GT(a.size(), 1000U);
    EXPECT_EQ(a, ReadFile(Path("mb." + ext))) << ext;
  }
  // Live exports draw a new salt: the respondent ids differ between two exports.
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, -1, Path("l1.csv"), 1).ok());
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, -1, Path("l2.csv"), 1).ok());
  EXPECT_NE(ReadCsv(Path("l1.csv"))[1][0], ReadCsv(Path("l2.csv"))[1][0]);
}

// The lines of a text, sorted.
std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The whole microdata files of a release (fixed salt and freezing time) against reviewed copies in
// tests/golden/exports: the export's speed work must not change a byte (numbers, masking, quoting,
// weights, missing values, the .sav/.dta encodings). MINYI_UPDATE_GOLDEN=1 rewrites the copies from
// SQLite in memory (review the diff of the CSV; the binary files follow the same rows). MariaDB numbers
// the seeded responses in another order, so its rows (in id order within a town) are compared as a set
// of CSV lines.
TEST_P(ExportsTest, MicrodataFilesEqualTheGoldenCopies) {
  ASSERT_TRUE(Freeze(2025, "", std::string(64, 'a')).ok());
  const std::string golden = std::string(MINYI_SOURCE_DIR) + "/tests/golden/exports/";
  const bool update =
      std::getenv("MINYI_UPDATE_GOLDEN") != nullptr && GetParam() == testsupport::StoreBackend::kSqliteMemory;
  if (GetParam() == testsupport::StoreBackend::kMariaDb) {
    ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, 1, Path("m.csv")).ok());
    EXPECT_EQ(SortedLines(ReadFile(Path("m.csv"))), SortedLines(ReadFile(golden + "microdata_2025_R1.csv")));
    return;
  }
  for (auto [f, ext] : std::vector<std::pair<MicrodataFormat, std::string>>{
           {MicrodataFormat::kCsv, "csv"}, {MicrodataFormat::kSav, "sav"}, {MicrodataFormat::kDta, "dta"}}) {
    ASSERT_TRUE(Microdata(f, 1, Path("m." + ext)).ok()) << ext;
    const std::string path = golden + "microdata_2025_R1." + ext;
    if (update) {
      std::filesystem::create_directories(golden);
      std::ofstream(path, std::ios::binary) << ReadFile(Path("m." + ext));
    }
    const std::string expected = ReadFile(path);
    EXPECT_GT(expected.size(), 1000U) << path;
    EXPECT_TRUE(ReadFile(Path("m." + ext)) == expected) << ext << " differs from " << path;
  }
}

TEST_P(ExportsTest, PublicEditionSuppressesLowNRowsAndInternalFlagsThem) {
  ASSERT_TRUE(Indices(-1, IndexFormat::kCsv, Edition::kPublic, Path("pub.csv")).ok());
  ASSERT_TRUE(Indices(-1, IndexFormat::kCsv, Edition::kInternal, Path("int.csv")).ok());
  for (const std::string& name : {std::string("pub.csv"), std::string("int.csv")}) {
    const auto rows = ReadCsv(Path(name));
    ASSERT_GT(rows.size(), 1U);
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
    bool seen_low = false, seen_normal = false;
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      EXPECT_EQ(r[col["release"]], "live");
      if (r[col["area_code"]] == kTownC) {
        seen_low = true;
        EXPECT_EQ(r[col["low_n"]], "true");
        EXPECT_FALSE(r[col["n"]].empty());
        if (name == "pub.csv") {
          EXPECT_EQ(r[col["suppressed"]], "true");
          EXPECT_EQ(r[col["estimate"]], "");
          EXPECT_EQ(r[col["se"]], "");
          EXPECT_EQ(r[col["ci_low"]], "");
          EXPECT_EQ(r[col["change"]], "");
        } else {
          EXPECT_EQ(r[col["suppressed"]], "false");
          EXPECT_NE(r[col["estimate"]], "");
        }
      }
      if (r[col["area_code"]] == kTownA) {
        seen_normal = true;
        EXPECT_EQ(r[col["low_n"]], "false");
        EXPECT_NE(r[col["estimate"]], "");
        // A negative change is a number, never neutralized.
        if (!r[col["change"]].empty()) {
          EXPECT_NE(r[col["change"]][0], '\'');
        }
      }
    }
    EXPECT_TRUE(seen_low && seen_normal);
  }
  // Levels: one row per area and index, from the province down.
  const auto rows = ReadCsv(Path("int.csv"));
  EXPECT_EQ(rows[1][3], "province");
  EXPECT_EQ(rows.back()[3], "town");
}

TEST_P(ExportsTest, WeightedMeansOfTheMicrodataEqualTheExportedIndices) {
  ASSERT_TRUE(Freeze(2025).ok());
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, 1, Path("m.csv")).ok());
  auto figures = LoadIndexFigures("test-survey", {2025, 0}, 1, *store_, *store_);
  ASSERT_TRUE(figures.ok());
  const auto rows = ReadCsv(Path("m.csv"));
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
  struct Sums {
    double w = 0, wy = 0, ws = 0;
  };
  std::map<std::string, Sums> security, grid;  // by area (town codes and "32")
  const std::map<std::string, double> score = {{"1", 100}, {"2", 75}, {"3", 50}, {"4", 25}, {"5", 0}};
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const double w = std::stod(r[col["weight"]]);
    for (auto [name, sums, positive] : {std::make_tuple("security", &security, 3), std::make_tuple("grid", &grid, 2)}) {
      const std::string v = r[col[name]];
      if (score.count(v) == 0) continue;  // 9 (missing) or unanswered
      for (const std::string& area : {r[col["town_code"]], std::string("32")}) {
        Sums& s = (*sums)[area];
        s.w += w;
        s.wy += std::stoi(v) <= positive ? w : 0;
        s.ws += w * score.at(v);
      }
    }
  }
  int checked = 0;
  for (const IndexRow& row : figures->rows) {
    if (row.level != "town" && row.level != "province") continue;
    if (row.n == 0) {  // a town without respondents: no microdata, no direct figure, only the model's
      EXPECT_TRUE(std::isnan(row.estimate)) << row.area_code;
      EXPECT_EQ(security.count(row.area_code), 0u) << row.area_code;
      continue;
    }
    const Sums& s = (row.index_id == "security" ? security : grid)[row.area_code];
    ASSERT_GT(s.w, 0) << row.area_code;
    EXPECT_NEAR(s.wy / s.w, row.estimate, 1e-12 * std::max(1.0, row.estimate)) << row.level << " " << row.area_code;
    EXPECT_NEAR(s.ws / s.w, row.score, 1e-10) << row.level << " " << row.area_code;
    ++checked;
  }
  EXPECT_EQ(checked, 10);  // 4 towns + province, 2 indices
}

TEST_P(ExportsTest, MicrodataHasNoIdentifiersMasksTextAndNeutralizesFormulas) {
  ASSERT_TRUE(Freeze(2025).ok());
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, 1, Path("m.csv")).ok());
  const std::string text = ReadFile(Path("m.csv"));
  EXPECT_EQ(text.find("13812345678"), std::string::npos);
  EXPECT_EQ(text.find("key-2025"), std::string::npos);
  EXPECT_EQ(text.find("test:2025"), std::string::npos);
  EXPECT_NE(text.find("'=HYPERLINK"), std::string::npos);
  EXPECT_EQ(text.find(",=HYPERLINK"), std::string::npos);
  EXPECT_NE(text.find("'@SUM"), std::string::npos);
  EXPECT_NE(text.find(",'+cmd|"), std::string::npos);
  EXPECT_EQ(text.find(",+cmd|"), std::string::npos);
  const auto rows = ReadCsv(Path("m.csv"));
  ASSERT_EQ(rows.size(), 183U);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
  for (const char* name : {"respondent_id", "town_code", "county", "city", "weight", "base_weight", "security",
                           "concerns_theft", "concerns_fraud", "concerns_traffic", "comment", "channel"}) {
    EXPECT_EQ(col.count(name), 1U) << name;
  }
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][col["respondent_id"]].size(), 16U);
    const std::string theft = rows[i][col["concerns_theft"]];
    EXPECT_TRUE(theft == "" || theft == "0" || theft == "1");
  }
  // Codebook beside the data: every variable, the weighting and the margins.
  MicrodataRequest req;
  req.survey_id = "test-survey";
  req.periods = {{2025, 0}};
  req.release = 1;
  req.path = Path("m2.csv");
  req.codebook_md_path = Path("cb.md");
  req.codebook_xlsx_path = Path("cb.xlsx");
  MicrodataSources sources{store_.get(), store_.get(), store_.get(), &catalog_, areas_};
  ASSERT_TRUE(ExportMicrodata(req, sources).ok());
  const std::string md = ReadFile(Path("cb.md"));
  for (const char* needle : {"`concerns_fraud`", "说不清", "score 75", "raking", "R1", "minyi import population", "`weight`"}) {
    EXPECT_NE(md.find(needle), std::string::npos) << needle;
  }
  EXPECT_GT(ReadFile(Path("cb.xlsx")).size(), 1000U);
}

// What ReadStat's reader gives back for a .sav or .dta file.
struct StatFile {
  std::vector<std::string> names, labels, label_sets;
  std::map<std::string, std::map<double, std::string>> value_labels;
  std::vector<std::vector<std::string>> rows;  // values as text ("" when missing)
  std::string fweight;
};

int OnVariable(int, readstat_variable_t* v, const char* val_labels, void* ctx) {
  auto* f = static_cast<StatFile*>(ctx);
  f->names.push_back(readstat_variable_get_name(v));
  const char* label = readstat_variable_get_label(v);
  f->labels.push_back(label ? label : "");
  f->label_sets.push_back(val_labels ? val_labels : "");
  return READSTAT_HANDLER_OK;
}
int OnValue(int obs, readstat_variable_t* v, readstat_value_t value, void* ctx) {
  auto* f = static_cast<StatFile*>(ctx);
  if (static_cast<std::size_t>(obs) >= f->rows.size()) f->rows.resize(static_cast<std::size_t>(obs) + 1);
  auto& row = f->rows[static_cast<std::size_t>(obs)];
  const auto index = static_cast<std::size_t>(readstat_variable_get_index(v));
  if (row.size() <= index) row.resize(index + 1);
  if (readstat_value_is_system_missing(value)) return READSTAT_HANDLER_OK;
  const readstat_type_t type = readstat_value_type(value);
  if (type == READSTAT_TYPE_STRING) {
    const char* s = readstat_string_value(value);
    row[index] = s ? s : "";
  } else {
    row[index] = FormatNumber(readstat_double_value(value));
  }
  return READSTAT_HANDLER_OK;
}
int OnValueLabel(const char* set, readstat_value_t value, const char* label, void* ctx) {
  static_cast<StatFile*>(ctx)->value_labels[set][readstat_double_value(value)] = label;
  return READSTAT_HANDLER_OK;
}
int OnFweight(readstat_variable_t* v, void* ctx) {
  static_cast<StatFile*>(ctx)->fweight = readstat_variable_get_name(v);
  return READSTAT_HANDLER_OK;
}

StatFile ReadStatFile(const std::string& path, bool dta) {
  StatFile f;
  readstat_parser_t* parser = readstat_parser_init();
  readstat_set_variable_handler(parser, OnVariable);
  readstat_set_value_handler(parser, OnValue);
  readstat_set_value_label_handler(parser, OnValueLabel);
  readstat_set_fweight_handler(parser, OnFweight);
  const readstat_error_t e = dta ? readstat_parse_dta(parser, path.c_str(), &f) : readstat_parse_sav(parser, path.c_str(), &f);
  readstat_parser_free(parser);
  EXPECT_EQ(e, READSTAT_OK) << readstat_error_message(e);
  return f;
}

TEST_P(ExportsTest, SavAndDtaReadBackWithTheSameValuesAndChineseLabels) {
  ASSERT_TRUE(Freeze(2025).ok());
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, 1, Path("m.csv")).ok());
  const auto csv = ReadCsv(Path("m.csv"));
  for (bool dta : {false, true}) {
    const std::string path = Path(dta ? "m.dta" : "m.sav");
    auto summary = Microdata(dta ? MicrodataFormat::kDta : MicrodataFormat::kSav, 1, path);
    ASSERT_TRUE(summary.ok()) << summary.status();
    const StatFile f = ReadStatFile(path, dta);
    ASSERT_EQ(f.names, csv[0]) << (dta ? "dta" : "sav");
    ASSERT_EQ(f.rows.size() + 1, csv.size());
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < f.names.size(); ++i) col[f.names[i]] = i;
    EXPECT_EQ(f.labels[col["security"]], "您觉得安全吗？");
    EXPECT_EQ(f.labels[col["concerns_fraud"]], "您担心哪些问题？：诈骗");
    const auto& security_labels = f.value_labels.at(f.label_sets[col["security"]]);
    EXPECT_EQ(security_labels.at(1), "很安全");
    EXPECT_EQ(security_labels.at(9), "说不清");
    EXPECT_EQ(f.value_labels.at(f.label_sets[col["channel"]]).at(2), "短信");
    if (!dta) {
      EXPECT_EQ(f.fweight, "weight");
    }
    for (std::size_t r = 0; r < f.rows.size(); ++r) {
      std::vector<std::string> row = f.rows[r];
      row.resize(f.names.size());
      for (std::size_t c = 0; c < row.size(); ++c) {
        std::string expected = csv[r + 1][c];
        if (!expected.empty() && expected[0] == '\'' && row[c].size() + 1 == expected.size()) expected = expected.substr(1);
        EXPECT_EQ(row[c], expected) << (dta ? "dta" : "sav") << " row " << r << " " << f.names[c];
      }
    }
  }
}

// What R's haven (exports/haven_readback.R) reads from a .sav or .dta: records by their first field.
std::multimap<std::string, std::vector<std::string>> ReadWithHaven(const std::string& path) {
  // Only standard output is parsed: R's messages on standard error (shown in the test log) must not
  // interleave with the records.
  const std::string command = "Rscript '" MINYI_HAVEN_SCRIPT "' '" + path + "'";
  std::multimap<std::string, std::vector<std::string>> out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::string text;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << "Rscript with haven (Debian r-cran-haven, installed by minyi.sh) failed; its output: " << text;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      fields.push_back(line.substr(start, tab - start));
    }
    fields.push_back(line.substr(start));
    const std::string kind = fields.front();
    fields.erase(fields.begin());
    out.emplace(kind, fields);
  }
  return out;
}

// The same files read by a reader that did not write them: R's haven sees the CSV's variables,
// labels, value labels and every value.
TEST_P(ExportsTest, SavAndDtaReadBackWithRHaven) {
  ASSERT_TRUE(Freeze(2025).ok());
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, 1, Path("m.csv")).ok());
  const auto csv = ReadCsv(Path("m.csv"));
  for (bool dta : {false, true}) {
    const std::string kind = dta ? "dta" : "sav";
    const std::string path = Path("m." + kind);
    ASSERT_TRUE(Microdata(dta ? MicrodataFormat::kDta : MicrodataFormat::kSav, 1, path).ok());
    const auto got = ReadWithHaven(path);
    ASSERT_EQ(got.count("names"), 1U) << kind;
    const std::vector<std::string>& names = got.find("names")->second;
    ASSERT_EQ(names, csv[0]) << kind;
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < names.size(); ++i) col[names[i]] = i;
    const std::vector<std::string>& labels = got.find("labels")->second;
    ASSERT_EQ(labels.size(), names.size());
    EXPECT_EQ(labels[col["security"]], "您觉得安全吗？") << kind;
    EXPECT_EQ(labels[col["concerns_fraud"]], "您担心哪些问题？：诈骗") << kind;
    std::map<std::string, std::vector<std::string>> value_labels;
    for (auto [it, end] = got.equal_range("value_labels"); it != end; ++it) {
      value_labels[it->second.front()] = std::vector<std::string>(it->second.begin() + 1, it->second.end());
    }
    const auto has = [](const std::vector<std::string>& v, const std::string& x) {
      return std::find(v.begin(), v.end(), x) != v.end();
    };
    EXPECT_TRUE(has(value_labels["security"], "1=很安全")) << kind;
    EXPECT_TRUE(has(value_labels["security"], "9=说不清")) << kind;
    EXPECT_TRUE(has(value_labels["channel"], "2=短信")) << kind;
    std::size_t r = 0;
    for (auto [it, end] = got.equal_range("row"); it != end; ++it, ++r) {
      ASSERT_LT(r + 1, csv.size()) << kind;
      const std::vector<std::string>& row = it->second;
      ASSERT_EQ(row.size(), names.size()) << kind << " row " << r;
      for (std::size_t c = 0; c < row.size(); ++c) {
        std::string expected = csv[r + 1][c];
        if (!expected.empty() && expected[0] == '\'' && row[c].size() + 1 == expected.size())
          expected = expected.substr(1);
        if (row[c] == expected) continue;  // text, and numbers haven prints as the CSV does
        // Otherwise a number printed differently (15 significant digits): compare the values. A text
        // that only looks like a number (a hex id such as "8e40…") is equal as text above.
        char* end_num = nullptr;
        const double want = std::strtod(expected.c_str(), &end_num);
        if (!expected.empty() && *end_num == '\0') {
          char* end_got = nullptr;
          const double got = std::strtod(row[c].c_str(), &end_got);
          ASSERT_TRUE(!row[c].empty() && *end_got == '\0')
              << kind << " row " << r << " " << names[c] << ": '" << row[c] << "' is not a number";
          EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << kind << " row " << r << " " << names[c];
        } else {
          EXPECT_EQ(row[c], expected) << kind << " row " << r << " " << names[c];
        }
      }
    }
    EXPECT_EQ(r + 1, csv.size()) << kind;
  }
}

TEST_P(ExportsTest, AReleaseWhoseResponseWasWithdrawnCannotBeReproduced) {
  ASSERT_TRUE(Freeze(2025).ok());
  auto withdrawn = store_->Withdraw(Channel::kWeb, "test:2025:320812001:1", "deleted by the respondent");
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.status();
  ASSERT_EQ(withdrawn.value(), WithdrawOutcome::kWithdrawn);
  auto export_result = Microdata(MicrodataFormat::kCsv, 1, Path("m.csv"));
  ASSERT_FALSE(export_result.ok());
  EXPECT_EQ(export_result.status().code(), StatusCode::kConflict);
  // The frozen figures themselves are still there.
  EXPECT_TRUE(Indices(1, IndexFormat::kJson, Edition::kInternal, Path("i.json")).ok());
}

// A ResponseSource that forwards to the store and counts the scans it serves.
class CountingResponses final : public ResponseSource {
 public:
  explicit CountingResponses(ResponseSource& store) : store_(store) {}
  Status Scan(const ResponseQuery& q, const std::function<bool(Response&)>& visit) override {
    ++scans;
    return store_.Scan(q, visit);
  }
  Status ScanViews(const ResponseQuery& q, const std::function<bool(const ResponseView&)>& visit) override {
    ++scans;
    return store_.ScanViews(q, visit);
  }
  Result<ScanMeasure> MeasureScan(const ResponseQuery& q, const std::vector<std::string>& questions,
                                  const std::function<bool(const ScanValue&)>& visit) override {
    return store_.MeasureScan(q, questions, visit);
  }
  Result<std::vector<ResponseCount>> CountResponses() override { return store_.CountResponses(); }
  int scans = 0;

 private:
  ResponseSource& store_;
};

// .sav and .dta declare their row count and text widths before the rows: the store measures them
// (MeasureScan: an aggregate and the text answers), so the export reads the responses once, live or
// released. A response stored after the freeze with a longer comment widens the live file's comment
// and leaves the release's bytes as they were.
TEST_P(ExportsTest, SavAndDtaReadTheResponsesOnce) {
  ASSERT_TRUE(Freeze(2025, "", std::string(64, 'a')).ok());
  ASSERT_TRUE(Microdata(MicrodataFormat::kSav, 1, Path("before.sav")).ok());
  std::mt19937 rng(5);
  Response late = MakeResponse(2025, kTownA, rng, 2000);
  std::string long_comment;
  for (int i = 0; i < 100; ++i) long_comment += "路灯";
  late.answers["comment"] = {long_comment};
  std::vector<AppendResult> results;
  ASSERT_TRUE(store_->Append({late}, &results).ok());

  CountingResponses counting(*store_);
  MicrodataSources sources{&counting, store_.get(), store_.get(), &catalog_, areas_};
  for (const int release : {1, -1}) {
    for (auto [format, ext] : std::vector<std::pair<MicrodataFormat, std::string>>{
             {MicrodataFormat::kSav, "sav"}, {MicrodataFormat::kDta, "dta"}}) {
      MicrodataRequest req;
      req.survey_id = "test-survey";
      req.periods = {{2025, 0}};
      req.release = release;
      req.format = format;
      req.path = Path(std::to_string(release) + "." + ext);
      counting.scans = 0;
      auto summary = ExportMicrodata(req, sources);
      ASSERT_TRUE(summary.ok()) << summary.status();
      EXPECT_EQ(counting.scans, 1) << ext << " release " << release;
      EXPECT_EQ(summary->rows, release == 1 ? 182 : 183) << ext;
      EXPECT_EQ(summary->truncated_texts, 0) << ext;
      const StatFile file = ReadStatFile(req.path, format == MicrodataFormat::kDta);
      ASSERT_EQ(file.rows.size(), static_cast<std::size_t>(summary->rows)) << ext;
      const auto comment = static_cast<std::size_t>(
          std::find(file.names.begin(), file.names.end(), "comment") - file.names.begin());
      bool whole = false;
      for (const auto& row : file.rows)
        whole = whole || (comment < row.size() && row[comment] == long_comment);
      EXPECT_EQ(whole, release == -1) << ext << ": the late comment is whole in the live file only";
    }
  }
  EXPECT_TRUE(ReadFile(Path("1.sav")) == ReadFile(Path("before.sav"))) << "the release's .sav changed";
}

// A ResponseSource that forwards to the store and fails its scan after `fail_after` responses: by
// throwing (a bug or a library's exception in a store) or with a status.
class FailingScan final : public ResponseSource {
 public:
  FailingScan(ResponseSource& store, int fail_after, bool by_throwing)
      : store_(store), fail_after_(fail_after), by_throwing_(by_throwing) {}
  Status Scan(const ResponseQuery& q, const std::function<bool(Response&)>& visit) override {
    return store_.Scan(q, visit);
  }
  Status ScanViews(const ResponseQuery& q, const std::function<bool(const ResponseView&)>& visit) override {
    int seen = 0;
    bool failed = false;
    const Status status = store_.ScanViews(q, [&](const ResponseView& r) {
      if (seen++ == fail_after_) {
        if (by_throwing_) throw std::runtime_error("disk vanished under the scan");
        failed = true;
        return false;
      }
      return visit(r);
    });
    return failed ? Status::Unavailable("disk vanished under the scan") : status;
  }
  Result<ScanMeasure> MeasureScan(const ResponseQuery& q, const std::vector<std::string>& questions,
                                  const std::function<bool(const ScanValue&)>& visit) override {
    return store_.MeasureScan(q, questions, visit);
  }
  Result<std::vector<ResponseCount>> CountResponses() override { return store_.CountResponses(); }

 private:
  ResponseSource& store_;
  int fail_after_;
  bool by_throwing_;
};

// The scan runs on a thread of its own (exports/scan_pipeline.h): when it fails half-way, by an
// exception or a status, the export fails with its message and leaves no file (neither the data file
// nor its .partial), in every format.
TEST_P(ExportsTest, AScanThatFailsHalfWayFailsTheExportAndLeavesNoFile) {
  for (const bool by_throwing : {true, false}) {
    FailingScan failing(*store_, 100, by_throwing);
    MicrodataSources sources{&failing, store_.get(), store_.get(), &catalog_, areas_};
    for (auto [format, ext] :
         std::vector<std::pair<MicrodataFormat, std::string>>{{MicrodataFormat::kCsv, "csv"},
                                                              {MicrodataFormat::kSav, "sav"},
                                                              {MicrodataFormat::kXlsx, "xlsx"}}) {
      MicrodataRequest req;
      req.survey_id = "test-survey";
      req.periods = {{2025, 0}};
      req.format = format;
      req.path = Path("failed." + ext);
      Result<MicrodataSummary> summary = Status::Internal("not run");
      EXPECT_NO_THROW(summary = ExportMicrodata(req, sources)) << ext;
      ASSERT_FALSE(summary.ok()) << ext << (by_throwing ? " (throwing)" : " (status)");
      EXPECT_EQ(summary.status().code(), by_throwing ? StatusCode::kInternal : StatusCode::kUnavailable)
          << ext;
      EXPECT_NE(summary.status().message().find("disk vanished under the scan"), std::string::npos)
          << summary.status();
      EXPECT_FALSE(std::filesystem::exists(req.path)) << req.path;
      EXPECT_FALSE(std::filesystem::exists(req.path + ".partial")) << req.path;
    }
  }
  // The same export without the failure is whole.
  ASSERT_TRUE(Microdata(MicrodataFormat::kCsv, -1, Path("whole.csv")).ok());
  EXPECT_EQ(ReadCsv(Path("whole.csv")).size(), 183U);
}

TEST_P(ExportsTest, XlsxAndJsonCarryTheProvenance) {
  auto frozen = Freeze(2025);
  ASSERT_TRUE(frozen.ok());
  ASSERT_TRUE(Indices(1, IndexFormat::kJson, Edition::kInternal, Path("i.json")).ok());
  const std::string json = ReadFile(Path("i.json"));
  for (const std::string& needle : {frozen->release.content_hash, std::string("\"release\":\"R1\""),
                                    std::string("\"n_eff\":"), std::string("\"deff\":"), std::string("\"change_se\":")}) {
    EXPECT_NE(json.find(needle), std::string::npos) << needle;
  }
  ASSERT_TRUE(Indices(-1, IndexFormat::kJson, Edition::kInternal, Path("live.json")).ok());
  EXPECT_NE(ReadFile(Path("live.json")).find("live (not frozen"), std::string::npos);
  ASSERT_TRUE(Indices(1, IndexFormat::kXlsx, Edition::kInternal, Path("i.xlsx")).ok());
  const std::string xlsx = ReadFile(Path("i.xlsx"));
  EXPECT_EQ(xlsx.substr(0, 2), "PK");
}

// The workbook read back cell by cell (independently of libxlsxwriter): the README sheet with the
// provenance, the definitions and the method; one sheet per level whose header is the CSV's and
// whose rows carry the CSV's figures as numbers.
TEST_P(ExportsTest, IndexWorkbookCellsAreTheCsvFigures) {
  auto frozen = Freeze(2025);
  ASSERT_TRUE(frozen.ok());
  ASSERT_TRUE(Indices(1, IndexFormat::kXlsx, Edition::kInternal, Path("i.xlsx")).ok());
  ASSERT_TRUE(Indices(1, IndexFormat::kCsv, Edition::kInternal, Path("i.csv")).ok());
  const testing::XlsxSheets book = testing::ReadXlsxSheets(Path("i.xlsx"));
  std::vector<std::string> names;
  for (const auto& [name, cells] : book) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"README", "乡镇街道", "县市区", "市", "省"}));
  const auto& readme = book.at("README");
  std::map<std::string, std::string> readme_lines;  // column A → column B
  for (const auto& [ref, cell] : readme) {
    if (ref[0] == 'A')
      readme_lines[cell.text] = readme.count("B" + ref.substr(1)) ? readme.at("B" + ref.substr(1)).text : "";
  }
  EXPECT_NE(readme_lines["方法"].find("methodology"), std::string::npos);
  EXPECT_NE(readme_lines["estimate"].find("0–1"), std::string::npos);
  EXPECT_NE(readme_lines["model_estimate / model_se"].find("模型估计"), std::string::npos);
  EXPECT_NE(readme_lines["model_estimate / model_se"].find("Fay–Herriot EBLUP"), std::string::npos);
  EXPECT_NE(readme_lines["model_estimate / model_se"].find("MSE"), std::string::npos);
  bool hash_shown = false;
  for (const auto& [key, value] : readme_lines)
    hash_shown = hash_shown || value == frozen->release.content_hash;
  EXPECT_TRUE(hash_shown) << "the release's content hash is in the README sheet";

  const auto csv = ReadCsv(Path("i.csv"));
  ASSERT_GT(csv.size(), 4U);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < csv[0].size(); ++i) col[csv[0][i]] = i;
  const std::map<std::string, std::string> sheet_of = {
      {"province", "省"}, {"city", "市"}, {"county", "县市区"}, {"town", "乡镇街道"}};
  auto column_letter = [](std::size_t c) {
    return c < 26 ? std::string(1, char('A' + c))
                  : std::string(1, char('A' + c / 26 - 1)) + char('A' + c % 26);
  };
  for (std::size_t c = 0; c < csv[0].size(); ++c) {
    EXPECT_EQ(book.at("乡镇街道").at(column_letter(c) + "1").text, csv[0][c]);
  }
  std::map<std::string, int> next_row;
  std::size_t numbers = 0;
  for (std::size_t i = 1; i < csv.size(); ++i) {
    const std::string& sheet = sheet_of.at(csv[i][col["level"]]);
    const int row = ++next_row[sheet] + 1;
    const auto& cells = book.at(sheet);
    EXPECT_EQ(cells.at("E" + std::to_string(row)).text, csv[i][col["area_code"]]);
    for (const char* name :
         {"estimate", "se", "ci_low", "ci_high", "model_estimate", "model_se", "score", "n_eff"}) {
      const std::string& want = csv[i][col[name]];
      const std::string ref = column_letter(col[name]) + std::to_string(row);
      if (want.empty()) {
        EXPECT_EQ(cells.count(ref), 0U) << sheet << " " << ref;
        continue;
      }
      ASSERT_EQ(cells.count(ref), 1U) << sheet << " " << ref;
      EXPECT_FALSE(cells.at(ref).is_string) << sheet << " " << ref << ": a number, not text";
      EXPECT_NEAR(std::stod(cells.at(ref).text), std::stod(want), 1e-12) << sheet << " " << ref;
      ++numbers;
    }
  }
  EXPECT_GT(numbers, 20U);
}

// In the microdata workbook a comment that looks like a formula (=, @, +) is text with the apostrophe in
// front (as in the CSV), and weights are numbers; in its codebook workbook so are a question text and an
// option label that look like formulas.
TEST_P(ExportsTest, MicrodataWorkbookNeutralizesFormulasInItsCells) {
  ASSERT_TRUE(Freeze(2025).ok());
  MicrodataRequest req;
  req.survey_id = "test-survey";
  req.periods = {{2025, 0}};
  req.release = 1;
  req.format = MicrodataFormat::kXlsx;
  req.path = Path("m.xlsx");
  req.codebook_xlsx_path = Path("cb.xlsx");
  MicrodataSources sources{store_.get(), store_.get(), store_.get(), &catalog_, areas_};
  ASSERT_TRUE(ExportMicrodata(req, sources).ok());
  const testing::XlsxSheets codebook = testing::ReadXlsxSheets(Path("cb.xlsx"));
  ASSERT_EQ(codebook.count("variables"), 1U);
  ASSERT_EQ(codebook.count("values"), 1U);
  const auto& variables = codebook.at("variables");
  const auto& values = codebook.at("values");
  const auto text_at = [](const auto& sheet, const std::string& ref) {
    auto it = sheet.find(ref);
    return it == sheet.end() ? std::string() : it->second.text;
  };
  std::string comment_label, age_label;
  for (const auto& [ref, cell] : variables) {
    if (ref[0] == 'B' && cell.text == "comment") comment_label = text_at(variables, "D" + ref.substr(1));
  }
  for (const auto& [ref, cell] : values) {
    if (ref[0] == 'A' && cell.text == "age_band" && text_at(values, "C" + ref.substr(1)) == "60+")
      age_label = text_at(values, "D" + ref.substr(1));
  }
  EXPECT_EQ(comment_label, "'+cmd|' /C calc'!A0 意见建议");
  EXPECT_EQ(age_label, "'@SUM(1) 60岁及以上");

  const testing::XlsxSheets book = testing::ReadXlsxSheets(Path("m.xlsx"));
  ASSERT_EQ(book.count("data"), 1U);
  const auto& data = book.at("data");
  std::map<std::string, std::string> header;  // column letters → name
  for (const auto& [ref, cell] : data) {
    const std::size_t digits = ref.find_first_of("0123456789");
    if (ref.substr(digits) == "1") header[ref.substr(0, digits)] = cell.text;
  }
  std::map<std::string, std::size_t> neutralized;  // by the neutralised prefix
  std::size_t weights = 0;
  for (const auto& [ref, cell] : data) {
    const std::size_t digits = ref.find_first_of("0123456789");
    if (ref.substr(digits) == "1") continue;
    const std::string& name = header[ref.substr(0, digits)];
    if (cell.is_string) {
      EXPECT_TRUE(cell.text.empty() || std::string("=+-@\t\r").find(cell.text[0]) == std::string::npos)
          << ref << " " << name << ": " << cell.text;
      for (const char* prefix : {"'=HYPERLINK", "'@SUM", "'+cmd"}) {
        if (cell.text.rfind(prefix, 0) == 0) ++neutralized[prefix];
      }
    }
    if (name == "weight") {
      EXPECT_FALSE(cell.is_string) << ref;
      EXPECT_GT(std::stod(cell.text), 0.0) << ref;
      ++weights;
    }
  }
  for (const char* prefix : {"'=HYPERLINK", "'@SUM", "'+cmd"}) EXPECT_GT(neutralized[prefix], 2U) << prefix;
  EXPECT_EQ(weights, 182U);
}

}  // namespace
}  // namespace minyi::exports
