#include "exports/format.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "core/hex.h"

namespace minyi::exports {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string_view> Split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = line.find(sep, pos);
    if (end == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return out;
    }
    out.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
}

template <typename Fn>
Status ForEachLine(std::string_view text, Fn&& fn) {
  std::size_t pos = 0;
  std::size_t number = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++number;
    MINYI_RETURN_IF_ERROR(fn(text.substr(pos, end - pos), number));
    pos = end + 1;
  }
  return Status::Ok();
}

bool ParseDouble(std::string_view field, double* out) {
  if (field.empty()) {
    *out = kNaN;
    return true;
  }
  const std::string copy(field);
  char* end = nullptr;
  *out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

bool ParseInt(std::string_view field, std::int64_t* out) {
  if (field.empty()) return false;
  const std::string copy(field);
  char* end = nullptr;
  *out = std::strtoll(copy.c_str(), &end, 10);
  return end == copy.c_str() + copy.size();
}

void Clean(std::string* s) {
  for (char& c : *s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
}

}  // namespace

void AppendNumber(std::string* out, double value) {
  if (!std::isfinite(value)) return;
  char buf[40];
  // Integers (codes, flags, counts: most cells of a microdata row) exactly as %.17g prints them.
  if (value == std::trunc(value) && std::fabs(value) < 1e15 && !(value == 0 && std::signbit(value))) {
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
    out->append(buf, end);
    return;
  }
  // The shortest of %.15g / %.16g / %.17g that reads back exactly: readable and lossless.
  // std::to_chars with a precision prints what printf's %.*g prints, without printf's arbitrary-
  // precision arithmetic (a fifth of an export's time when it went through snprintf).
  char* end = buf;
  for (int precision = 15; precision <= 17; ++precision) {
    end = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, precision).ptr;
    double back = 0;
    std::from_chars(buf, end, back);
    if (back == value) break;
  }
  out->append(buf, end);
}

std::string FormatNumber(double value) {
  std::string out;
  AppendNumber(&out, value);
  return out;
}

std::string RandomHex(std::size_t bytes) {
  std::random_device device;
  std::vector<unsigned char> raw(bytes);
  for (unsigned char& b : raw) b = static_cast<unsigned char>(device() & 0xffU);
  return HexOf(raw.data(), raw.size());
}

std::string Sha256Hex(std::string_view text) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(text.data(), static_cast<unsigned>(text.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

std::string EncodeIndexRows(const std::vector<IndexRow>& rows) {
  std::string out;
  out.reserve(rows.size() * 300);
  for (IndexRow r : rows) {
    for (std::string* s : {&r.survey_id, &r.level, &r.area_code, &r.index_id, &r.ci_method, &r.weighting,
                           &r.definition_version, &r.population_version, &r.response_hash, &r.code_version}) {
      Clean(s);
    }
    Clean(&r.model_method);
    const std::vector<std::string> fields = {
        r.survey_id, r.period.ToString(), r.level, r.area_code, r.index_id, std::to_string(r.n),
        FormatNumber(r.n_eff), FormatNumber(r.sum_w), FormatNumber(r.estimate), FormatNumber(r.se),
        FormatNumber(r.ci_low), FormatNumber(r.ci_high), r.ci_method, FormatNumber(r.score),
        FormatNumber(r.score_se), FormatNumber(r.score_ci_low), FormatNumber(r.score_ci_high), FormatNumber(r.deff),
        r.low_n ? "1" : "0", r.weighting, FormatNumber(r.change), FormatNumber(r.change_se),
        r.change_significant ? "1" : "0", r.definition_version, r.population_version,
        std::to_string(r.response_count), r.response_hash, r.code_version, std::to_string(r.computed_at_ms)};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += '\t';
      out += fields[i];
    }
    // The model-based town figures (issue 14), after the 29 fields that releases frozen before them hold.
    for (const std::string& model :
         {FormatNumber(r.model_estimate), FormatNumber(r.model_se), FormatNumber(r.model_ci_low),
          FormatNumber(r.model_ci_high), r.model_method}) {
      out += '\t';
      out += model;
    }
    out += '\n';
  }
  return out;
}

Result<std::vector<IndexRow>> DecodeIndexRows(std::string_view text) {
  std::vector<IndexRow> rows;
  Status s = ForEachLine(text, [&](std::string_view line, std::size_t number) -> Status {
    const auto f = Split(line, '\t');
    const Status bad = Status::InvalidInput("frozen index rows, line " + std::to_string(number) + ": malformed");
    // 34 fields; 29 in releases frozen before the model-based town figures (they read back NaN and "").
    if (f.size() != 29 && f.size() != 34) return bad;
    IndexRow r;
    r.survey_id = std::string(f[0]);
    auto period = Period::Parse(f[1]);
    if (!period.ok()) return bad;
    r.period = period.value();
    r.level = std::string(f[2]);
    r.area_code = std::string(f[3]);
    r.index_id = std::string(f[4]);
    r.ci_method = std::string(f[12]);
    r.weighting = std::string(f[19]);
    r.definition_version = std::string(f[23]);
    r.population_version = std::string(f[24]);
    r.response_hash = std::string(f[26]);
    r.code_version = std::string(f[27]);
    r.low_n = f[18] == "1";
    r.change_significant = f[22] == "1";
    const bool ok = ParseInt(f[5], &r.n) && ParseDouble(f[6], &r.n_eff) && ParseDouble(f[7], &r.sum_w) &&
                    ParseDouble(f[8], &r.estimate) && ParseDouble(f[9], &r.se) && ParseDouble(f[10], &r.ci_low) &&
                    ParseDouble(f[11], &r.ci_high) && ParseDouble(f[13], &r.score) &&
                    ParseDouble(f[14], &r.score_se) && ParseDouble(f[15], &r.score_ci_low) &&
                    ParseDouble(f[16], &r.score_ci_high) && ParseDouble(f[17], &r.deff) &&
                    ParseDouble(f[20], &r.change) && ParseDouble(f[21], &r.change_se) &&
                    ParseInt(f[25], &r.response_count) && ParseInt(f[28], &r.computed_at_ms);
    if (!ok) return bad;
    if (f.size() == 34) {
      if (!ParseDouble(f[29], &r.model_estimate) || !ParseDouble(f[30], &r.model_se) ||
          !ParseDouble(f[31], &r.model_ci_low) || !ParseDouble(f[32], &r.model_ci_high)) {
        return bad;
      }
      r.model_method = std::string(f[33]);
    }
    rows.push_back(std::move(r));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return rows;
}

std::string EncodePopulation(const std::vector<PopulationCell>& cells) {
  std::string out;
  for (PopulationCell c : cells) {
    Clean(&c.town_code);
    Clean(&c.sex);
    Clean(&c.age_band);
    out += std::to_string(c.year) + '\t' + c.town_code + '\t' + c.sex + '\t' + c.age_band + '\t' +
           FormatNumber(c.population) + '\n';
  }
  return out;
}

Result<std::vector<PopulationCell>> DecodePopulation(std::string_view text) {
  std::vector<PopulationCell> cells;
  Status s = ForEachLine(text, [&](std::string_view line, std::size_t number) -> Status {
    const auto f = Split(line, '\t');
    std::int64_t year = 0;
    PopulationCell c;
    if (f.size() != 5 || !ParseInt(f[0], &year) || !ParseDouble(f[4], &c.population) || !std::isfinite(c.population)) {
      return Status::InvalidInput("frozen population, line " + std::to_string(number) + ": malformed");
    }
    c.year = static_cast<int>(year);
    c.town_code = std::string(f[1]);
    c.sex = std::string(f[2]);
    c.age_band = std::string(f[3]);
    cells.push_back(std::move(c));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return cells;
}

}  // namespace minyi::exports
