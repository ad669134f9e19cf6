// The microdata writers (CSV, XLSX, .sav, .dta) and the codebook files.
#include <readstat.h>
#include <sys/types.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>

#include "exports/format.h"
#include "exports/microdata_layout.h"
#include "exports/xlsx_util.h"

namespace minyi::exports::detail {
namespace {

// Cuts UTF-8 text to at most `max_chars` code points.
std::string ShortenChars(const std::string& text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return text.substr(0, i);
      ++chars;
    }
  }
  return text;
}

// The text of fractional numbers already printed, by their bits. A town's calibrated weights take a
// handful of values (one per weighting cell), so most `weight` cells repeat one of the last few: printing
// each again (three std::to_chars and from_chars round trips for a 17-digit weight) was 5 % of the CSV
// export (perf, 1M demo). Direct-mapped, so a clash only costs a print; no library offers this.
class NumberTexts {
 public:
  void Append(std::string* out, double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    Slot& slot = slots_[(bits * 0x9E3779B97F4A7C15ULL) >> (64 - kBits)];
    if (!slot.used || slot.bits != bits) {
      slot.text.clear();
      AppendNumber(&slot.text, value);
      slot.bits = bits;
      slot.used = true;
    }
    out->append(slot.text);
  }

 private:
  static constexpr int kBits = 8;
  struct Slot {
    bool used = false;
    std::uint64_t bits = 0;
    std::string text;
  };
  std::array<Slot, 1U << kBits> slots_;
};

class CsvWriter final : public RowWriter {
 public:
  explicit CsvWriter(std::string path) : path_(std::move(path)) {}
  ~CsvWriter() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Begin(const std::vector<Variable>& variables, std::int64_t, const FileMeta&) override {
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) return Status::Unavailable("cannot write " + path_);
    block_.reserve(kBlockBytes + 4096);
    block_.append(kUtf8Bom);
    for (std::size_t i = 0; i < variables.size(); ++i) {
      if (i) block_ += ',';
      block_ += variables[i].name;
    }
    block_ += '\n';
    return Status::Ok();
  }
  Status Write(const std::vector<Cell>& cells) override {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) block_ += ',';
      const Cell& c = cells[i];
      if (c.missing) continue;
      const Column kind = i < columns_.size() ? columns_[i] : Column::kNumber;
      if (kind == Column::kCode && c.number >= 0 && c.number <= 9 && c.number == std::trunc(c.number) &&
          !std::signbit(c.number)) {
        block_ += static_cast<char>('0' + static_cast<int>(c.number));  // most codes and every 0/1 flag
      } else if (kind != Column::kText) {
        if (c.number == std::trunc(c.number)) {
          AppendNumber(&block_,
                       c.number);  // codes and flags: AppendNumber's integer path is cheaper than a lookup
        } else {
          numbers_.Append(&block_, c.number);
        }
      } else if (IsPlainField(c.text)) {
        block_ += c.text;
      } else {
        block_ += CsvText(c.text);
      }
    }
    block_ += '\n';
    return block_.size() >= kBlockBytes ? Flush() : Status::Ok();
  }
  Status Finish() override {
    MINYI_RETURN_IF_ERROR(Flush());
    const int closed = std::fclose(file_);
    file_ = nullptr;
    return closed == 0 ? Status::Ok() : Status::Unavailable("writing " + path_ + " failed");
  }
  // What each column holds: texts (quoted and neutralised as needed), whole codes (int32 in .sav/.dta) or
  // other numbers.
  enum class Column : std::uint8_t { kText, kCode, kNumber };
  void set_columns(std::vector<Column> columns) { columns_ = std::move(columns); }

 private:
  // Rows are gathered into blocks of about this many bytes, each written with one fwrite.
  static constexpr std::size_t kBlockBytes = 1 << 20;
  Status Flush() {
    if (file_ == nullptr) return Status::Unavailable("writing " + path_ + " failed");
    const std::size_t written = block_.empty() ? 0 : std::fwrite(block_.data(), 1, block_.size(), file_);
    const bool ok = written == block_.size();
    block_.clear();
    return ok ? Status::Ok() : Status::Unavailable("writing " + path_ + " failed");
  }
  // Whether CsvText would return `text` unchanged (no NUL, nothing to quote, no formula start): the
  // common case (ids, area names, codes) is appended as is instead of through CsvText's two temporary
  // strings per cell (7 % of the CSV export's time in a perf profile of the 1M demo). One table lookup a
  // byte: std::string_view::find_first_of calls memchr over the five bytes for every byte of the text
  // (memchr was 3-4 % of the export, perf, 1M demo).
  static bool IsPlainField(std::string_view text) {
    if (StartsLikeFormula(text)) return false;
    for (const char c : text) {
      if (kSpecial[static_cast<unsigned char>(c)]) return false;
    }
    return true;
  }
  // The bytes that make CsvText change a field: NUL (dropped), and what it quotes.
  static constexpr std::array<bool, 256> kSpecial = [] {
    std::array<bool, 256> special{};
    for (const char c : {',', '"', '\r', '\n', '\0'}) special[static_cast<unsigned char>(c)] = true;
    return special;
  }();
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string block_;
  NumberTexts numbers_;
  std::vector<Column> columns_;
};

// CSV needs to know which columns are text (an empty text is an empty field, a number never is).
class TypedCsvWriter final : public RowWriter {
 public:
  explicit TypedCsvWriter(std::string path) : csv_(std::move(path)) {}
  Status Begin(const std::vector<Variable>& variables, std::int64_t rows, const FileMeta& meta) override {
    std::vector<CsvWriter::Column> columns;
    for (const Variable& v : variables) {
      columns.push_back(!v.numeric  ? CsvWriter::Column::kText
                        : v.integer ? CsvWriter::Column::kCode
                                    : CsvWriter::Column::kNumber);
    }
    csv_.set_columns(std::move(columns));
    return csv_.Begin(variables, rows, meta);
  }
  Status Write(const std::vector<Cell>& cells) override { return csv_.Write(cells); }
  Status Finish() override { return csv_.Finish(); }

 private:
  CsvWriter csv_;
};

class XlsxWriter final : public RowWriter {
 public:
  explicit XlsxWriter(std::string path) : path_(std::move(path)) {}
  Status Begin(const std::vector<Variable>& variables, std::int64_t, const FileMeta& meta) override {
    variables_ = &variables;
    book_ = std::make_unique<XlsxBook>(path_, true, meta.created_ms, meta.label);
    if (!book_->ok()) return Status::Unavailable("cannot create " + path_);
    NewSheet();
    return Status::Ok();
  }
  Status Write(const std::vector<Cell>& cells) override {
    if (row_ > static_cast<std::uint32_t>(kXlsxRowsPerSheet)) NewSheet();
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const Cell& c = cells[i];
      if (c.missing) continue;
      const auto col = static_cast<lxw_col_t>(i);
      if ((*variables_)[i].numeric) {
        book_->Number(sheet_, row_, col, c.number);
      } else {
        book_->Text(sheet_, row_, col, c.text, nullptr);
      }
    }
    ++row_;
    return Status::Ok();
  }
  Status Finish() override { return book_->Close(); }

 private:
  void NewSheet() {
    ++sheets_;
    sheet_ = book_->AddSheet(sheets_ == 1 ? "data" : "data_" + std::to_string(sheets_));
    for (std::size_t i = 0; i < variables_->size(); ++i) {
      book_->Text(sheet_, 0, static_cast<lxw_col_t>(i), (*variables_)[i].name, book_->Bold());
    }
    row_ = 1;
  }
  std::string path_;
  const std::vector<Variable>* variables_ = nullptr;
  std::unique_ptr<XlsxBook> book_;
  lxw_worksheet* sheet_ = nullptr;
  std::uint32_t row_ = 0;
  int sheets_ = 0;
};

ssize_t WriteBytes(const void* data, size_t len, void* ctx) {
  std::FILE* f = static_cast<std::FILE*>(ctx);
  const size_t written = std::fwrite(data, 1, len, f);
  return written == len ? static_cast<ssize_t>(len) : -1;
}

class StatWriter final : public RowWriter {
 public:
  StatWriter(std::string path, bool dta) : path_(std::move(path)), dta_(dta) {}
  ~StatWriter() override {
    if (writer_ != nullptr) readstat_writer_free(writer_);
    if (file_ != nullptr) std::fclose(file_);
  }

  Status Begin(const std::vector<Variable>& variables, std::int64_t rows, const FileMeta& meta) override {
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) return Status::Unavailable("cannot write " + path_);
    writer_ = readstat_writer_init();
    readstat_set_data_writer(writer_, WriteBytes);
    label_ = ShortenChars(meta.label, 80);
    readstat_writer_set_file_label(writer_, label_.c_str());
    readstat_writer_set_file_timestamp(writer_, static_cast<time_t>(meta.created_ms / 1000));
    if (dta_) {
      readstat_writer_set_file_format_version(writer_, 118);  // Stata 14+: UTF-8 strings and labels
    } else {
      readstat_writer_set_compression(writer_, READSTAT_COMPRESS_ROWS);
    }
    for (const Variable& v : variables) {
      readstat_label_set_t* set = nullptr;
      if (!v.value_labels.empty()) {
        const std::string set_name = ("l_" + v.name).substr(0, 32);
        set = readstat_add_label_set(writer_, READSTAT_TYPE_INT32, set_name.c_str());
        for (const ValueLabel& l : v.value_labels) readstat_label_int32_value(set, l.value, l.label.c_str());
      }
      readstat_variable_t* var = nullptr;
      if (!v.numeric) {
        var = readstat_add_variable(writer_, v.name.c_str(), READSTAT_TYPE_STRING, std::max<std::size_t>(v.width, 1));
      } else {
        var = readstat_add_variable(writer_, v.name.c_str(), v.integer ? READSTAT_TYPE_INT32 : READSTAT_TYPE_DOUBLE, 0);
      }
      labels_.push_back(ShortenChars(v.label, 80));
      readstat_variable_set_label(var, labels_.back().c_str());
      if (set != nullptr) readstat_variable_set_label_set(var, set);
      if (!dta_) {
        for (std::int32_t m : v.user_missing) readstat_variable_add_missing_double_value(var, m);
      }
      readstat_variable_set_measure(var, v.integer && !v.value_labels.empty() ? READSTAT_MEASURE_NOMINAL
                                         : v.numeric                          ? READSTAT_MEASURE_SCALE
                                                                              : READSTAT_MEASURE_NOMINAL);
      if (v.is_weight && !dta_) readstat_writer_set_fweight_variable(writer_, var);
      vars_.push_back(var);
      numeric_.push_back(v.numeric);
      integer_.push_back(v.integer);
      widths_.push_back(v.width);
    }
    // SPSS document lines hold at most 80 bytes (ReadStat refuses longer ones).
    for (const std::string& n : meta.notes) notes_.push_back(ShortenChars(n, 80).substr(0, 80));
    for (const std::string& n : notes_) readstat_add_note(writer_, n.c_str());
    const readstat_error_t e = dta_ ? readstat_begin_writing_dta(writer_, file_, rows)
                                    : readstat_begin_writing_sav(writer_, file_, rows);
    return Check(e, "begin");
  }

  Status Write(const std::vector<Cell>& cells) override {
    MINYI_RETURN_IF_ERROR(Check(readstat_begin_row(writer_), "row"));
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const Cell& c = cells[i];
      readstat_error_t e = READSTAT_OK;
      if (!numeric_[i]) {
        e = readstat_insert_string_value(writer_, vars_[i], c.missing ? "" : c.text.c_str());
      } else if (c.missing) {
        e = readstat_insert_missing_value(writer_, vars_[i]);
      } else if (integer_[i]) {
        e = readstat_insert_int32_value(writer_, vars_[i], static_cast<std::int32_t>(c.number));
      } else {
        e = readstat_insert_double_value(writer_, vars_[i], c.number);
      }
      MINYI_RETURN_IF_ERROR(Check(e, "value"));
    }
    return Check(readstat_end_row(writer_), "row");
  }

  Status Finish() override {
    MINYI_RETURN_IF_ERROR(Check(readstat_end_writing(writer_), "finish"));
    readstat_writer_free(writer_);
    writer_ = nullptr;
    const int closed = std::fclose(file_);
    file_ = nullptr;
    return closed == 0 ? Status::Ok() : Status::Unavailable("writing " + path_ + " failed");
  }

 private:
  Status Check(readstat_error_t e, const char* what) const {
    if (e == READSTAT_OK) return Status::Ok();
    return Status::Unavailable(std::string(dta_ ? "Stata" : "SPSS") + " writer (" + what + "): " + readstat_error_message(e));
  }

  std::string path_;
  bool dta_;
  std::FILE* file_ = nullptr;
  readstat_writer_t* writer_ = nullptr;
  std::string label_;
  std::vector<std::string> notes_;
  std::vector<std::string> labels_;  // kept alive until the header is written
  std::vector<readstat_variable_t*> vars_;
  std::vector<bool> numeric_;
  std::vector<bool> integer_;
  std::vector<std::size_t> widths_;
};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string KindLabel(const std::string& kind) {
  if (kind == "single") return "单选";
  if (kind == "multi") return "多选（0/1）";
  if (kind == "text") return "文本（已脱敏）";
  if (kind == "weight") return "权数";
  if (kind == "id") return "匿名编号";
  if (kind == "area") return "地区";
  return "元数据";
}

}  // namespace

std::unique_ptr<RowWriter> MakeWriter(MicrodataFormat format, const std::string& path) {
  switch (format) {
    case MicrodataFormat::kCsv: return std::make_unique<TypedCsvWriter>(path);
    case MicrodataFormat::kXlsx: return std::make_unique<XlsxWriter>(path);
    case MicrodataFormat::kSav: return std::make_unique<StatWriter>(path, false);
    case MicrodataFormat::kDta: return std::make_unique<StatWriter>(path, true);
  }
  return nullptr;
}

Status WriteCodebookMarkdown(const std::vector<Variable>& variables, const CodebookInfo& info, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Unavailable("cannot write " + path);
  out << "# 码本 Codebook — " << info.survey_title << " (" << info.survey_id << ")\n\n"
      << "| | |\n|---|---|\n"
      << "| 调查 survey | " << Escape(info.survey_id) << "（定义版本 " << Escape(info.definition_version) << "）|\n"
      << "| 调查期 periods | " << Escape(info.periods) << " |\n"
      << "| 版本 release | " << Escape(info.release) << " |\n"
      << "| 记录数 rows | " << info.rows << " |\n"
      << "| 格式 format | " << Escape(info.format) << " |\n"
      << "| 人口边际 population margins | " << Escape(info.population) << " |\n\n"
      << "## 加权方法 Weighting\n\n"
      << "`weight` 是聚合器所用的最终校准权数 w_i（docs/methodology.md §3）：每个乡镇（街道）为一层，基础权数 `base_weight`"
         "（d_i）按该乡镇的人口边际校准——只有总人口时事后分层 w = d·N/Σd；有性别、年龄段边际时按乡镇分别做迭代比例拟合"
         "（raking，收敛容差 1e-10，最多 100 轮）；无法 raking 的乡镇退回事后分层并标记 fallback；没有人口数的乡镇保留基础权数"
         "（none）。各乡镇的方法见变量 `weighting`。对某一地区（乡镇、县区、市、全省）回答了某指数的记录，Σ w·y / Σ w 即导出的指数估计值"
         "（y = 是否属于正向选项，或选项得分）。标准误需按分层（乡镇）设计并考虑校准计算，例如 R：`svydesign(ids=~1, strata=~town_code, "
         "weights=~weight)`；Stata：`svyset _n [pweight=weight], strata(town_code)`。SPSS 文件已设置 WEIGHT BY weight"
         "（频数权重语义，普通过程的标准误不适用，请用 Complex Samples）。\n\n"
      << "## 缺失值 Missing values\n\n"
      << "- 未回答的问题、或回答了问题中不存在的代码：系统缺失（CSV/XLSX 空单元格，SPSS sysmis，Stata `.`）。\n"
      << "- “说不清 / 不了解”等无回答选项保留其代码，在 SPSS 中声明为用户缺失值（下表 missing = yes），在任何指数中都不计入分母。\n\n"
      << "## 其他说明 Notes\n\n";
  for (const std::string& n : info.notes) out << "- " << Escape(n) << "\n";
  out << "\n## 变量 Variables\n\n| # | 变量 name | 类型 type | 标签 label | 取值 values |\n|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < variables.size(); ++i) {
    const Variable& v = variables[i];
    std::string values;
    if (!v.options.empty()) {
      for (const CodebookOption& o : v.options) {
        values += (values.empty() ? "" : "; ") + std::to_string(o.value) + " = " + o.label + " (code " + o.code +
                  (o.score.empty() ? "" : ", score " + o.score) + (o.missing ? ", missing" : "") + ")";
      }
    } else {
      for (const ValueLabel& l : v.value_labels) values += (values.empty() ? "" : "; ") + std::to_string(l.value) + " = " + l.label;
    }
    if (values.empty()) values = v.numeric ? "数值" : "文本（最长 " + std::to_string(v.width) + " 字节）";
    out << "| " << i + 1 << " | `" << v.name << "` | " << KindLabel(v.kind) << " | " << Escape(v.label) << " | "
        << Escape(values) << " |\n";
  }
  out.close();
  return out ? Status::Ok() : Status::Unavailable("writing " + path + " failed");
}

Status WriteCodebookXlsx(const std::vector<Variable>& variables, const CodebookInfo& info, std::int64_t created_ms,
                         const std::string& path) {
  XlsxBook book(path, false, created_ms, "码本 " + info.survey_title);
  if (!book.ok()) return Status::Unavailable("cannot create " + path);
  lxw_worksheet* about = book.AddSheet("README");
  std::uint32_t row = 0;
  auto line = [&](const std::string& k, const std::string& v) {
    book.Text(about, row, 0, k, book.Bold());
    book.Text(about, row, 1, v, nullptr);
    ++row;
  };
  line("survey", info.survey_id + " " + info.survey_title + "（定义版本 " + info.definition_version + "）");
  line("periods", info.periods);
  line("release", info.release);
  line("rows", std::to_string(info.rows));
  line("format", info.format);
  line("population margins", info.population);
  line("weighting", "weight = 聚合器的最终校准权数：按乡镇事后分层或 raking（性别、年龄段边际），无法 raking 时退回事后分层（fallback）；见 docs/methodology.md §3");
  line("missing", "未回答或未知代码：系统缺失；无回答选项（说不清/不了解）保留代码，SPSS 中为用户缺失值");
  for (const std::string& n : info.notes) line("note", n);

  lxw_worksheet* vars = book.AddSheet("variables");
  const char* head[] = {"#", "name", "kind", "label", "question", "width"};
  for (lxw_col_t c = 0; c < 6; ++c) book.Text(vars, 0, c, head[c], book.Bold());
  lxw_worksheet* values = book.AddSheet("values");
  const char* vhead[] = {"name", "value", "code", "label", "score", "missing"};
  for (lxw_col_t c = 0; c < 6; ++c) book.Text(values, 0, c, vhead[c], book.Bold());
  std::uint32_t vrow = 1;
  for (std::size_t i = 0; i < variables.size(); ++i) {
    const Variable& v = variables[i];
    const auto r = static_cast<std::uint32_t>(i + 1);
    book.Number(vars, r, 0, static_cast<double>(i + 1));
    book.Text(vars, r, 1, v.name, nullptr);
    book.Text(vars, r, 2, KindLabel(v.kind), nullptr);
    book.Text(vars, r, 3, v.label, nullptr);
    book.Text(vars, r, 4, v.question, nullptr);
    if (!v.numeric) book.Number(vars, r, 5, static_cast<double>(v.width));
    if (!v.options.empty()) {
      for (const CodebookOption& o : v.options) {
        book.Text(values, vrow, 0, v.name, nullptr);
        book.Number(values, vrow, 1, o.value);
        book.Text(values, vrow, 2, o.code, nullptr);
        book.Text(values, vrow, 3, o.label, nullptr);
        book.Text(values, vrow, 4, o.score, nullptr);
        book.Text(values, vrow, 5, o.missing ? "yes" : "", nullptr);
        ++vrow;
      }
    } else {
      for (const ValueLabel& l : v.value_labels) {
        book.Text(values, vrow, 0, v.name, nullptr);
        book.Number(values, vrow, 1, l.value);
        book.Text(values, vrow, 3, l.label, nullptr);
        ++vrow;
      }
    }
  }
  return book.Close();
}

}  // namespace minyi::exports::detail
