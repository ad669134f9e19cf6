#include "exports/index_export.h"

#include <xlsxwriter.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>

#include "core/json_text.h"
#include "exports/format.h"
#include "exports/xlsx_util.h"

namespace minyi::exports {
namespace {

const char* const kLevels[] = {"province", "city", "county", "town"};
const char* const kLevelSheets[] = {"省", "市", "县市区", "乡镇街道"};

int LevelRank(const std::string& level) {
  for (int i = 0; i < 4; ++i) {
    if (level == kLevels[i]) return i;
  }
  return 4;
}

// One output row: the figures as cells (text or number or empty).
struct Cell {
  enum Kind { kEmpty, kText, kNumber, kBool } kind = kEmpty;
  std::string text;
  double number = 0;
};
Cell T(std::string s) { return {Cell::kText, std::move(s), 0}; }
Cell N(double v) { return std::isfinite(v) ? Cell{Cell::kNumber, "", v} : Cell{}; }
Cell B(bool v) { return {Cell::kBool, "", v ? 1.0 : 0.0}; }

const std::vector<std::string>& Columns() {
  // One line per group of columns, as the export lists them.
  // clang-format off
  static const std::vector<std::string> kColumns = {
      "survey", "period", "release", "level", "area_code", "area_name", "parent_code", "index_id", "index_name",
      "estimate", "se", "ci_low", "ci_high", "ci_method",
      "model_estimate", "model_se", "model_ci_low", "model_ci_high", "model_method",
      "score", "score_se", "score_ci_low", "score_ci_high",
      "n", "n_eff", "deff", "low_n", "suppressed", "change", "change_se", "change_significant", "weighting",
      "response_count", "response_hash"};
  // clang-format on
  return kColumns;
}

struct Prepared {
  std::vector<std::pair<int, std::vector<Cell>>> rows;  // (level rank, cells)
};

std::string ReleaseLabel(const IndexFigures& f) { return f.frozen ? f.release.Label() : "live"; }

Prepared Prepare(const IndexFigures& f, const SurveyDefinition& survey, const AreaRegistry& areas,
                 const IndexExportOptions& options) {
  std::map<std::string, int> index_order;
  for (std::size_t i = 0; i < survey.indices.size(); ++i) index_order[survey.indices[i].id] = static_cast<int>(i);
  std::vector<const IndexRow*> rows;
  for (const IndexRow& r : f.rows) {
    if (!options.scope.empty() &&
        std::none_of(options.scope.begin(), options.scope.end(),
                     [&](const std::string& s) { return areas.Contains(s, r.area_code); })) {
      continue;
    }
    rows.push_back(&r);
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const IndexRow* a, const IndexRow* b) {
    const int la = LevelRank(a->level), lb = LevelRank(b->level);
    if (la != lb) return la < lb;
    if (a->area_code != b->area_code) return a->area_code < b->area_code;
    const auto ia = index_order.find(a->index_id), ib = index_order.find(b->index_id);
    const int oa = ia == index_order.end() ? 1000 : ia->second, ob = ib == index_order.end() ? 1000 : ib->second;
    return oa != ob ? oa < ob : a->index_id < b->index_id;
  });
  Prepared out;
  for (const IndexRow* r : rows) {
    const bool suppressed = options.edition == Edition::kPublic && r->low_n;
    const Area* area = areas.Find(r->area_code);
    const IndexDefinition* def = survey.FindIndex(r->index_id);
    auto V = [&](double v) { return suppressed ? Cell{} : N(v); };
    // The model-based figure of a low-n town is published (it is what the model is for: the public edition
    // suppresses the direct figure only), except with method "direct", which repeats the direct figures.
    const bool model_suppressed = suppressed && r->model_method == "direct";
    auto M = [&](double v) { return model_suppressed ? Cell{} : N(v); };
    // In the order of Columns().
    // clang-format off
    std::vector<Cell> cells = {
        T(f.survey_id), T(f.period.ToString()), T(ReleaseLabel(f)), T(r->level), T(r->area_code),
        T(area ? area->name : std::string()), T(area ? area->parent_code : std::string()), T(r->index_id),
        T(def ? def->name : std::string()), V(r->estimate), V(r->se), V(r->ci_low), V(r->ci_high),
        suppressed ? Cell{} : T(r->ci_method),
        M(r->model_estimate), M(r->model_se), M(r->model_ci_low), M(r->model_ci_high),
        model_suppressed || r->model_method.empty() ? Cell{} : T(r->model_method),
        V(r->score), V(r->score_se), V(r->score_ci_low),
        V(r->score_ci_high), N(static_cast<double>(r->n)), V(r->n_eff), V(r->deff), B(r->low_n), B(suppressed),
        V(r->change), V(r->change_se), suppressed || !std::isfinite(r->change) ? Cell{} : B(r->change_significant),
        T(r->weighting), N(static_cast<double>(r->response_count)), T(r->response_hash)};
    // clang-format on
    out.rows.emplace_back(LevelRank(r->level), std::move(cells));
  }
  return out;
}

// Provenance lines (key, value), shared by the XLSX README sheet and the JSON "release" object.
std::vector<std::pair<std::string, std::string>> Provenance(const IndexFigures& f, const SurveyDefinition& survey,
                                                            const IndexExportOptions& options) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"survey", f.survey_id},
      {"survey_title", survey.title},
      {"period", f.period.ToString()},
      {"edition", std::string(EditionName(options.edition))},
      {"frozen", f.frozen ? "true" : "false"},
  };
  if (f.frozen) {
    const ReleaseRecord& r = f.release;
    p.insert(p.end(), {{"release", r.Label()},
                       {"reason", r.reason},
                       {"frozen_at", FormatTimestampUtc(r.frozen_at_ms)},
                       {"frozen_by", r.created_by},
                       {"definition_version", r.definition_version},
                       {"population_version", r.population_version},
                       {"code_version", r.code_version},
                       {"response_count", std::to_string(r.response_count)},
                       {"manifest_hash", r.manifest_hash},
                       {"content_hash", r.content_hash},
                       {"change_baseline", ChangeBaseline(r)}});
  } else {
    p.push_back({"release", "live (not frozen: figures may still change)"});
    if (!f.rows.empty()) {
      p.insert(p.end(), {{"definition_version", f.rows.front().definition_version},
                         {"population_version", f.rows.front().population_version},
                         {"code_version", f.rows.front().code_version}});
    }
  }
  return p;
}

// options.progress after every 1,000th row and the last.
void ReportRows(const IndexExportOptions& options, std::size_t done, std::size_t total) {
  if (options.progress && (done % 1000 == 0 || done == total)) options.progress(done, total);
}

Status WriteCsv(const Prepared& prepared, const IndexExportOptions& options, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Unavailable("cannot write " + path);
  out << kUtf8Bom;
  const auto& columns = Columns();
  for (std::size_t i = 0; i < columns.size(); ++i) out << (i ? "," : "") << columns[i];
  out << "\n";
  std::size_t done = 0;
  for (const auto& [level, cells] : prepared.rows) {
    ReportRows(options, ++done, prepared.rows.size());
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out << ',';
      const Cell& c = cells[i];
      if (c.kind == Cell::kText) out << CsvText(c.text);
      if (c.kind == Cell::kNumber) out << FormatNumber(c.number);
      if (c.kind == Cell::kBool) out << (c.number != 0 ? "true" : "false");
    }
    out << "\n";
  }
  out.close();
  return out ? Status::Ok() : Status::Unavailable("writing " + path + " failed");
}

Status WriteJson(const Prepared& prepared, const IndexFigures& f, const SurveyDefinition& survey,
                 const IndexExportOptions& options, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Unavailable("cannot write " + path);
  out << "{\"provenance\":{";
  const auto provenance = Provenance(f, survey, options);
  for (std::size_t i = 0; i < provenance.size(); ++i) {
    out << (i ? "," : "") << JsonString(provenance[i].first) << ":" << JsonString(provenance[i].second);
  }
  out << "},\"indices\":[";
  for (std::size_t i = 0; i < survey.indices.size(); ++i) {
    const IndexDefinition& d = survey.indices[i];
    out << (i ? "," : "") << "{\"id\":" << JsonString(d.id) << ",\"name\":" << JsonString(d.name)
        << ",\"min_n\":" << d.min_n << "}";
  }
  out << "],\"rows\":[";
  const auto& columns = Columns();
  bool first = true;
  std::size_t done = 0;
  for (const auto& [level, cells] : prepared.rows) {
    ReportRows(options, ++done, prepared.rows.size());
    out << (first ? "" : ",") << "\n{";
    first = false;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out << (i ? "," : "") << JsonString(columns[i]) << ":";
      const Cell& c = cells[i];
      if (c.kind == Cell::kEmpty) out << "null";
      if (c.kind == Cell::kText) out << JsonString(c.text);
      if (c.kind == Cell::kNumber) out << FormatNumber(c.number);
      if (c.kind == Cell::kBool) out << (c.number != 0 ? "true" : "false");
    }
    out << "}";
  }
  out << "\n]}\n";
  out.close();
  return out ? Status::Ok() : Status::Unavailable("writing " + path + " failed");
}

Status WriteXlsx(const Prepared& prepared, const IndexFigures& f, const SurveyDefinition& survey,
                 const IndexExportOptions& options, const std::string& path) {
  const std::int64_t created_ms = f.frozen ? f.release.frozen_at_ms
                                           : (options.live_time_ms > 0 ? options.live_time_ms : NowMillis());
  XlsxBook book(path, false, created_ms, survey.title + " " + f.period.ToString() + " 指数");
  if (!book.ok()) return Status::Unavailable("cannot create " + path);
  lxw_worksheet* readme = book.AddSheet("README");
  lxw_format* bold = book.Bold();
  std::uint32_t row = 0;
  auto line = [&](const std::string& key, const std::string& value) {
    book.Text(readme, row, 0, key, bold);
    book.Text(readme, row, 1, value, nullptr);
    ++row;
  };
  line("说明", "民意 minyi 年度指数导出：每一级地区、每个指数的估计值、标准误、95%置信区间、样本量等。");
  for (const auto& [k, v] : Provenance(f, survey, options)) line(k, v);
  ++row;
  line("指数", "定义");
  for (const IndexDefinition& d : survey.indices) {
    std::string positive;
    for (const std::string& p : d.positive) positive += (positive.empty() ? "" : "/") + p;
    line(d.id, d.name + (d.IsComposite() ? "（综合得分指数）" : "：正向选项 " + positive) + "；n < " +
                   std::to_string(d.min_n) + " 标记为 low_n");
  }
  ++row;
  line("列", "含义");
  const std::vector<std::pair<std::string, std::string>> definitions = {
      {"estimate", "正向选项加权占比（0–1，Hájek 比估计）"},
      {"se", "标准误（泰勒线性化，含校准残差；分层=乡镇）"},
      {"ci_low / ci_high", "95% 置信区间（logit 区间，t 分布；全正/全负时为 n_eff 下的 Clopper–Pearson）"},
      {"ci_method", "logit / exact-neff / none"},
      {"model_estimate / model_se",
       "模型估计：乡镇的小区域估计（Fay–Herriot EBLUP，按指数和期次在全部乡镇上拟合，"
       "协变量为所属县的直接估计和本乡镇上年的直接估计），及其基于 MSE 的标准误（Prasad–Rao，REML）；"
       "仅乡镇、仅有占比的指数"},
      {"model_ci_low / model_ci_high",
       "模型估计的 95% 区间（在反正弦平方根尺度上构造后反变换，落在 0–1 内）"},
      {"model_method",
       "eblup 模型估计 / synthetic 合成估计（无受访者）/ direct 模型未采用，重复直接估计（无区间）/ "
       "none 无估计；县及以上为空。公开版中样本过少的乡镇仍给出模型估计（direct 除外）"},
      {"score", "得分指数（0–100，加权平均）及其标准误、正态区间"},
      {"n",
       "回答该指数的受访者数（不含“说不清/"
       "不了解”）；0：该乡镇本期无受访者，无直接估计，只有合成估计（model_*）"},
      {"n_eff", "有效样本量 (Σw)²/Σw²"},
      {"deff", "得分指数的设计效应"},
      {"low_n", "n 低于该指数的 min_n"},
      {"suppressed", "公开版中因样本过少而隐藏数值"},
      {"change / change_se / change_significant", "与上一期相比的变化、其标准误、5% 水平是否显著"},
      {"weighting",
       "加权方式：poststrat 事后分层 / raking 迭代比例拟合 / fallback 退回事后分层 / mixed 汇总"},
  };
  for (const auto& [k, v] : definitions) line(k, v);
  ++row;
  line("方法", "权数按乡镇人口边际校准（仅总数：事后分层；有性别/年龄段边际：raking）。估计与 R survey 4.1 一致，见 docs/methodology.md。");
  line("模型估计",
       "乡镇的小区域估计（model_*）：Fay–Herriot 模型、REML、EBLUP 与 Prasad–Rao MSE，见 "
       "docs/small_area.md。");

  const auto& columns = Columns();
  lxw_worksheet* sheets[4];
  std::uint32_t next_row[4] = {1, 1, 1, 1};
  for (int l = 0; l < 4; ++l) {
    sheets[l] = book.AddSheet(kLevelSheets[l]);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      book.Text(sheets[l], 0, static_cast<lxw_col_t>(c), columns[c], bold);
    }
  }
  std::size_t done = 0;
  for (const auto& [level, cells] : prepared.rows) {
    ReportRows(options, ++done, prepared.rows.size());
    if (level > 3) continue;
    const std::uint32_t r = next_row[level]++;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const Cell& cell = cells[c];
      const auto col = static_cast<lxw_col_t>(c);
      if (cell.kind == Cell::kText) book.Text(sheets[level], r, col, cell.text, nullptr);
      if (cell.kind == Cell::kNumber) book.Number(sheets[level], r, col, cell.number);
      if (cell.kind == Cell::kBool) book.Boolean(sheets[level], r, col, cell.number != 0);
    }
  }
  return book.Close();
}

}  // namespace

std::optional<Edition> ParseEdition(std::string_view text) {
  if (text == "public") return Edition::kPublic;
  if (text == "internal") return Edition::kInternal;
  return std::nullopt;
}
std::string_view EditionName(Edition edition) { return edition == Edition::kPublic ? "public" : "internal"; }

std::optional<IndexFormat> ParseIndexFormat(std::string_view text) {
  if (text == "csv") return IndexFormat::kCsv;
  if (text == "xlsx") return IndexFormat::kXlsx;
  if (text == "json") return IndexFormat::kJson;
  return std::nullopt;
}
std::string_view IndexFormatExtension(IndexFormat format) {
  switch (format) {
    case IndexFormat::kCsv: return "csv";
    case IndexFormat::kXlsx: return "xlsx";
    case IndexFormat::kJson: return "json";
  }
  return "csv";
}
std::string_view IndexFormatMime(IndexFormat format) {
  switch (format) {
    case IndexFormat::kCsv: return "text/csv; charset=utf-8";
    case IndexFormat::kXlsx: return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    case IndexFormat::kJson: return "application/json; charset=utf-8";
  }
  return "application/octet-stream";
}

Status WriteIndexExport(const IndexFigures& figures, const SurveyDefinition& survey, const AreaRegistry& areas,
                        const IndexExportOptions& options, const std::string& path, std::int64_t* rows_written) {
  if (figures.survey_id != survey.id) {
    return Status::InvalidInput("figures of survey '" + figures.survey_id + "' exported with definition '" + survey.id + "'");
  }
  const Prepared prepared = Prepare(figures, survey, areas, options);
  if (rows_written != nullptr) *rows_written = static_cast<std::int64_t>(prepared.rows.size());
  switch (options.format) {
    case IndexFormat::kCsv:
      return WriteCsv(prepared, options, path);
    case IndexFormat::kJson: return WriteJson(prepared, figures, survey, options, path);
    case IndexFormat::kXlsx: return WriteXlsx(prepared, figures, survey, options, path);
  }
  return Status::InvalidInput("unknown format");
}

}  // namespace minyi::exports
