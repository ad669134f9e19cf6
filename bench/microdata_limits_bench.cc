// The limits of the microdata export (bench/RESULTS.md, "Exports"), measured in the same run as
// bench/export_bench.sh:
//   1. the store's scan alone: ResponseSource::ScanViews over every period of the survey, each answer
//      value touched, nothing written (what reading the rows costs the export at least);
//   1b. the store's measure alone: ResponseSource::MeasureScan over every period with the demo's text
//      question (`comment`), each value touched: what a .sav/.dta export reads before its one scan;
//   2. ReadStat alone: as many rows as the scan gave, of the microdata's 18 variables (the demo's: 8
//      texts of the same widths, 7 coded integers, 2 weights, the comment text), written row-compressed
//      to a .sav file with the same per-value calls the exporter makes (what writing .sav costs at least).
// Usage: microdata_limits_bench DB SURVEY OUT.sav [RUNS]   (prints each run and the medians)
#include <readstat.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "sql/store.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

ssize_t WriteBytes(const void* data, size_t len, void* ctx) {
  return std::fwrite(data, 1, len, static_cast<std::FILE*>(ctx)) == len ? static_cast<ssize_t>(len) : -1;
}

// Writes `rows` rows shaped like the demo's microdata with ReadStat; false on an error.
bool WriteSav(const std::string& path, std::int64_t rows) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  readstat_writer_t* w = readstat_writer_init();
  readstat_set_data_writer(w, WriteBytes);
  readstat_writer_set_compression(w, READSTAT_COMPRESS_ROWS);
  struct Var {
    const char* name;
    readstat_type_t type;
    std::size_t width;
    const char* text;  // strings: the value written (a demo-like one)
  };
  const std::vector<Var> shape = {
      {"respondent_id", READSTAT_TYPE_STRING, 16, "39a10550fbb1e7c9"},
      {"period", READSTAT_TYPE_STRING, 6, "2025"},
      {"city_code", READSTAT_TYPE_STRING, 4, "3201"},
      {"city", READSTAT_TYPE_STRING, 12, "南京市"},
      {"county_code", READSTAT_TYPE_STRING, 6, "320102"},
      {"county", READSTAT_TYPE_STRING, 15, "玄武区"},
      {"town_code", READSTAT_TYPE_STRING, 9, "320102002"},
      {"town", READSTAT_TYPE_STRING, 27, "梅园新村街道"},
      {"channel", READSTAT_TYPE_INT32, 0, nullptr},
      {"completion", READSTAT_TYPE_INT32, 0, nullptr},
      {"base_weight", READSTAT_TYPE_DOUBLE, 0, nullptr},
      {"weight", READSTAT_TYPE_DOUBLE, 0, nullptr},
      {"weighting", READSTAT_TYPE_INT32, 0, nullptr},
      {"security", READSTAT_TYPE_INT32, 0, nullptr},
      {"grid", READSTAT_TYPE_INT32, 0, nullptr},
      {"sex", READSTAT_TYPE_INT32, 0, nullptr},
      {"age_band", READSTAT_TYPE_INT32, 0, nullptr},
      {"comment", READSTAT_TYPE_STRING, 200, "电动车乱停乱放，楼道里充电很危险。"},
  };
  std::vector<readstat_variable_t*> vars;
  for (const Var& v : shape) vars.push_back(readstat_add_variable(w, v.name, v.type, v.width));
  bool ok = readstat_begin_writing_sav(w, f, rows) == READSTAT_OK;
  for (std::int64_t r = 0; ok && r < rows; ++r) {
    ok = readstat_begin_row(w) == READSTAT_OK;
    for (std::size_t i = 0; ok && i < shape.size(); ++i) {
      readstat_error_t e = READSTAT_OK;
      if (shape[i].type == READSTAT_TYPE_STRING) {
        // The comment is empty on most rows, as in the demo.
        e = readstat_insert_string_value(w, vars[i],
                                         i + 1 == shape.size() && r % 8 != 0 ? "" : shape[i].text);
      } else if (shape[i].type == READSTAT_TYPE_INT32) {
        e = readstat_insert_int32_value(w, vars[i], static_cast<std::int32_t>(1 + r % 4));
      } else {
        e = readstat_insert_double_value(w, vars[i], 1000.0 + static_cast<double>(r % 13) / 7.0);
      }
      ok = e == READSTAT_OK;
    }
    ok = ok && readstat_end_row(w) == READSTAT_OK;
  }
  ok = ok && readstat_end_writing(w) == READSTAT_OK;
  readstat_writer_free(w);
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DB SURVEY OUT.sav [RUNS]\n", argv[0]);
    return 2;
  }
  const int runs = argc > 4 ? std::atoi(argv[4]) : 3;
  minyi::sql::StoreOptions options;
  options.backend = "sqlite";
  options.sqlite.path = argv[1];
  auto opened = minyi::sql::OpenStore(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    return 1;
  }
  minyi::sql::Store& store = **opened;
  std::vector<double> scan_s, measure_s, sav_s;
  // CPU seconds of each phase (std::clock: this process's user + system time), the steadier figure on a
  // shared machine whose load stretches the wall times.
  std::vector<double> scan_cpu, measure_cpu, sav_cpu;
  const auto cpu_since = [](std::clock_t start) {
    return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  };
  std::int64_t rows = 0;
  for (int run = 1; run <= runs; ++run) {
    rows = 0;
    std::size_t bytes = 0;
    auto start = std::chrono::steady_clock::now();
    std::clock_t cpu = std::clock();
    minyi::ResponseQuery q;
    q.survey_id = argv[2];
    q.include_provenance = false;  // as the live export reads
    const minyi::Status s = store.ScanViews(q, [&](const minyi::ResponseView& v) {
      ++rows;
      bytes += v.respondent_key.size() + v.town_code.size();
      for (std::size_t i = 0; i < v.answer_count; ++i) bytes += v.answers[i].value.size();
      return true;
    });
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    scan_s.push_back(Seconds(start));
    scan_cpu.push_back(cpu_since(cpu));
    start = std::chrono::steady_clock::now();
    cpu = std::clock();
    auto measured = store.MeasureScan(q, {"comment"}, [&](const minyi::ScanValue& v) {
      bytes += v.value.size();
      return true;
    });
    if (!measured.ok() || measured->responses != rows) {
      std::fprintf(
          stderr, "MeasureScan: %s\n",
          measured.ok() ? "another row count than the scan's" : measured.status().ToString().c_str());
      return 1;
    }
    measure_s.push_back(Seconds(start));
    measure_cpu.push_back(cpu_since(cpu));
    start = std::chrono::steady_clock::now();
    cpu = std::clock();
    if (!WriteSav(argv[3], rows)) {
      std::fprintf(stderr, "ReadStat failed writing %s\n", argv[3]);
      return 1;
    }
    sav_s.push_back(Seconds(start));
    sav_cpu.push_back(cpu_since(cpu));
    std::printf(
        "run %d: scan alone %lld rows (%zu bytes of texts) in %.2f s = %.0f rows/s; ReadStat alone %.2f s = "
        "%.0f rows/s; measure alone %.2f s = %.0f rows/s\n",
        run, static_cast<long long>(rows), bytes, scan_s.back(), static_cast<double>(rows) / scan_s.back(),
        sav_s.back(), static_cast<double>(rows) / sav_s.back(), measure_s.back(),
        static_cast<double>(rows) / measure_s.back());
  }
  std::printf(
      "median of %d: scan alone %.2f s = %.0f rows/s; ReadStat alone %.2f s = %.0f rows/s; measure alone "
      "%.2f s = "
      "%.0f rows/s\n",
      runs, Median(scan_s), static_cast<double>(rows) / Median(scan_s), Median(sav_s),
      static_cast<double>(rows) / Median(sav_s), Median(measure_s),
      static_cast<double>(rows) / Median(measure_s));
  std::printf(
      "cpu, median of %d: scan alone %.2f s (%.0f rows per CPU-second); measure alone %.2f s (%.0f); "
      "ReadStat alone %.2f s (%.0f)\n",
      runs, Median(scan_cpu), static_cast<double>(rows) / Median(scan_cpu), Median(measure_cpu),
      static_cast<double>(rows) / Median(measure_cpu), Median(sav_cpu),
      static_cast<double>(rows) / Median(sav_cpu));
  return 0;
}
