#include "core/areas.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <fstream>
#include <utility>

namespace minyi {

std::string_view AreaLevelName(AreaLevel level) {
  switch (level) {
    case AreaLevel::kProvince:
      return "province";
    case AreaLevel::kCity:
      return "city";
    case AreaLevel::kCounty:
      return "county";
    case AreaLevel::kTown:
      return "town";
  }
  return "unknown";
}

std::optional<AreaLevel> ParseAreaLevel(std::string_view name) {
  for (AreaLevel level : {AreaLevel::kProvince, AreaLevel::kCity, AreaLevel::kCounty, AreaLevel::kTown}) {
    if (AreaLevelName(level) == name) return level;
  }
  return std::nullopt;
}

namespace {

// Code lengths by level: province 2, city 4, county 6, town 9.
std::size_t CodeLength(AreaLevel level) {
  switch (level) {
    case AreaLevel::kProvince:
      return 2;
    case AreaLevel::kCity:
      return 4;
    case AreaLevel::kCounty:
      return 6;
    case AreaLevel::kTown:
      return 9;
  }
  return 0;
}

std::optional<AreaLevel> LevelOfLength(std::size_t length) {
  switch (length) {
    case 2:
      return AreaLevel::kProvince;
    case 4:
      return AreaLevel::kCity;
    case 6:
      return AreaLevel::kCounty;
    case 9:
      return AreaLevel::kTown;
    default:
      return std::nullopt;
  }
}

std::optional<AreaLevel> ParentLevel(AreaLevel level) {
  switch (level) {
    case AreaLevel::kProvince:
      return std::nullopt;
    case AreaLevel::kCity:
      return AreaLevel::kProvince;
    case AreaLevel::kCounty:
      return AreaLevel::kCity;
    case AreaLevel::kTown:
      return AreaLevel::kCounty;
  }
  return std::nullopt;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Splits one CSV line (RFC 4180 quoting, no embedded line breaks: the division files have none).
// Returns false on an unterminated quote or text after a closing quote.
bool SplitCsvLine(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  std::size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return false;  // unterminated
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') return false;
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') return false;  // a quote inside an unquoted field
        field += line[i++];
      }
    }
    fields.push_back(field);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return c != ' ' && c != '\t'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

struct FileSpec {
  const char* file;
  AreaLevel level;
  // The column holding the direct parent's code (nullptr for provinces), then the columns of further
  // ancestors, which must agree with the code's prefix.
  const char* parent_column;
  std::vector<std::pair<const char*, AreaLevel>> ancestor_columns;
};

const std::array<FileSpec, 4>& Files() {
  static const std::array<FileSpec, 4> kFiles = {{
      {"provinces.csv", AreaLevel::kProvince, nullptr, {}},
      {"cities.csv", AreaLevel::kCity, "provinceCode", {}},
      {"counties.csv", AreaLevel::kCounty, "cityCode", {{"provinceCode", AreaLevel::kProvince}}},
      {"towns.csv",
       AreaLevel::kTown,
       "areaCode",
       {{"cityCode", AreaLevel::kCity}, {"provinceCode", AreaLevel::kProvince}}},
  }};
  return kFiles;
}

// Checks that `value` (from column `column`) is the code's prefix for `level`.
std::optional<std::string> CheckPrefixColumn(const std::string& code, const std::string& value,
                                             std::string_view column, AreaLevel level) {
  const std::size_t length = CodeLength(level);
  if (value.size() != length || !AllDigits(value)) {
    return std::string(column) + " \"" + value + "\" is not a " + std::to_string(length) + "-digit " +
           std::string(AreaLevelName(level)) + " code";
  }
  if (code.size() >= length && !StartsWith(code, value)) {
    return std::string(column) + " " + value + " is not the first " + std::to_string(length) +
           " digits of code " + code;
  }
  return std::nullopt;
}

constexpr std::size_t kMaxReportedErrors = 100;

Status ErrorsToStatus(const std::vector<std::string>& errors) {
  std::string message;
  const std::size_t shown = std::min(errors.size(), kMaxReportedErrors);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) message += '\n';
    message += errors[i];
  }
  if (errors.size() > shown) {
    message += "\n... and " + std::to_string(errors.size() - shown) + " more problems";
  }
  return Status::InvalidInput(std::move(message));
}

}  // namespace

Result<AreaRegistry> AreaRegistry::LoadDirectory(const std::string& directory) {
  std::vector<Area> areas;
  std::vector<std::string> where;
  std::vector<std::string> errors;
  for (const FileSpec& spec : Files()) {
    const std::string path = directory + "/" + spec.file;
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::NotFound(std::string(spec.file) + ": cannot open " + path);

    std::vector<std::string> header;
    std::vector<std::string> fields;
    std::size_t code_col = 0;
    std::size_t name_col = 0;
    std::optional<std::size_t> parent_col;
    std::vector<std::pair<std::size_t, AreaLevel>> ancestor_cols;
    bool header_ok = false;
    std::size_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line_no == 1 && StartsWith(line, "\xEF\xBB\xBF")) line.erase(0, 3);
      const std::string at = std::string(spec.file) + ":" + std::to_string(line_no) + ": ";
      if (line_no == 1) {
        if (!SplitCsvLine(line, header)) {
          errors.push_back(at + "malformed header line");
          break;
        }
        for (std::string& h : header) h = Trim(h);
        auto column = [&](std::string_view name) -> std::optional<std::size_t> {
          auto it = std::find(header.begin(), header.end(), name);
          if (it == header.end()) {
            errors.push_back(at + "header lacks the column \"" + std::string(name) + "\"");
            return std::nullopt;
          }
          return static_cast<std::size_t>(it - header.begin());
        };
        header_ok = true;
        if (auto c = column("code")) code_col = *c; else header_ok = false;
        if (auto c = column("name")) name_col = *c; else header_ok = false;
        if (spec.parent_column != nullptr) {
          parent_col = column(spec.parent_column);
          if (!parent_col) header_ok = false;
        }
        for (const auto& [name, level] : spec.ancestor_columns) {
          if (auto c = column(name)) ancestor_cols.emplace_back(*c, level); else header_ok = false;
        }
        if (!header_ok) break;
        continue;
      }
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      if (!SplitCsvLine(line, fields)) {
        errors.push_back(at + "malformed CSV (unbalanced quotes)");
        continue;
      }
      if (fields.size() != header.size()) {
        errors.push_back(at + "expected " + std::to_string(header.size()) + " fields, got " +
                         std::to_string(fields.size()));
        continue;
      }
      Area area;
      area.level = spec.level;
      area.code = Trim(fields[code_col]);
      area.name = Trim(fields[name_col]);
      const std::size_t length = CodeLength(spec.level);
      bool ok = true;
      if (area.code.size() != length || !AllDigits(area.code)) {
        errors.push_back(at + "code \"" + area.code + "\" is not a " + std::to_string(length) + "-digit " +
                         std::string(AreaLevelName(spec.level)) + " code");
        ok = false;
      }
      if (area.name.empty()) {
        errors.push_back(at + "empty name for code " + area.code);
        ok = false;
      }
      if (parent_col && ok) {
        area.parent_code = Trim(fields[*parent_col]);
        if (auto problem = CheckPrefixColumn(area.code, area.parent_code, spec.parent_column,
                                             *ParentLevel(spec.level))) {
          errors.push_back(at + *problem);
          ok = false;
        }
        for (std::size_t k = 0; k < ancestor_cols.size() && ok; ++k) {
          const auto& [col, level] = ancestor_cols[k];
          if (auto problem = CheckPrefixColumn(area.code, Trim(fields[col]), spec.ancestor_columns[k].first, level)) {
            errors.push_back(at + *problem);
            ok = false;
          }
        }
      }
      if (!ok) continue;
      areas.push_back(std::move(area));
      where.push_back(std::string(spec.file) + ":" + std::to_string(line_no));
    }
    if (in.bad()) return Status::Unavailable(std::string(spec.file) + ": read error on " + path);
    if (line_no == 0) errors.push_back(std::string(spec.file) + ":1: empty file (a header line is required)");
  }
  if (!errors.empty()) return ErrorsToStatus(errors);
  return Build(std::move(areas), where);
}

Result<AreaRegistry> AreaRegistry::FromAreas(std::vector<Area> areas) {
  std::vector<std::string> where;
  std::vector<std::string> errors;
  where.reserve(areas.size());
  for (const Area& area : areas) {
    where.push_back("area " + area.code);
    const std::optional<AreaLevel> level = LevelOfLength(area.code.size());
    if (!AllDigits(area.code) || !level) {
      errors.push_back("area \"" + area.code + "\": a code has 2, 4, 6 or 9 digits");
    } else if (*level != area.level) {
      errors.push_back("area " + area.code + ": a " + std::string(AreaLevelName(area.level)) + " code has " +
                       std::to_string(CodeLength(area.level)) + " digits");
    } else if (area.name.empty()) {
      errors.push_back("area " + area.code + ": empty name");
    } else if (auto parent = ParentLevel(area.level)) {
      if (auto problem = CheckPrefixColumn(area.code, area.parent_code, "parent_code", *parent)) {
        errors.push_back("area " + area.code + ": " + *problem);
      }
    } else if (!area.parent_code.empty()) {
      errors.push_back("area " + area.code + ": a province has no parent");
    }
  }
  if (!errors.empty()) return ErrorsToStatus(errors);
  return Build(std::move(areas), where);
}

Result<AreaRegistry> AreaRegistry::Build(std::vector<Area> areas, const std::vector<std::string>& where) {
  AreaRegistry registry;
  std::vector<std::string> errors;
  std::map<std::string, std::size_t, std::less<>> first_at;
  for (std::size_t i = 0; i < areas.size(); ++i) {
    auto [it, inserted] = first_at.emplace(areas[i].code, i);
    if (!inserted) {
      errors.push_back(where[i] + ": duplicate code " + areas[i].code + " (first at " + where[it->second] + ")");
    }
  }
  for (std::size_t i = 0; i < areas.size(); ++i) {
    const Area& area = areas[i];
    if (area.parent_code.empty()) continue;
    auto parent = first_at.find(area.parent_code);
    const AreaLevel parent_level = *ParentLevel(area.level);
    if (parent == first_at.end() || areas[parent->second].level != parent_level) {
      errors.push_back(where[i] + ": " + std::string(AreaLevelName(area.level)) + " " + area.code + " (" +
                       area.name + ") names " + std::string(AreaLevelName(parent_level)) + " " + area.parent_code +
                       ", which does not exist");
    }
  }
  if (!errors.empty()) return ErrorsToStatus(errors);

  for (Area& area : areas) {
    std::string code = area.code;
    registry.by_code_.emplace(std::move(code), std::move(area));
  }
  for (const auto& [code, area] : registry.by_code_) {
    if (area.level != AreaLevel::kTown) continue;
    registry.towns_.push_back(&area);
    registry.towns_by_name_.emplace(area.name, &area);
  }
  return registry;
}

const Area* AreaRegistry::Find(std::string_view code) const {
  auto it = by_code_.find(code);
  return it == by_code_.end() ? nullptr : &it->second;
}

bool AreaRegistry::IsTown(std::string_view code) const {
  const Area* area = Find(code);
  return area != nullptr && area->level == AreaLevel::kTown;
}

std::vector<const Area*> AreaRegistry::FindTownsByName(std::string_view name, std::string_view within) const {
  std::vector<const Area*> found;
  auto [begin, end] = towns_by_name_.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    if (within.empty() || Contains(within, it->second->code)) found.push_back(it->second);
  }
  // equal_range keeps insertion order, which is code order; sort anyway so the contract does not
  // depend on how the index was filled.
  std::sort(found.begin(), found.end(), [](const Area* a, const Area* b) { return a->code < b->code; });
  return found;
}

std::vector<const Area*> AreaRegistry::Children(std::string_view code) const {
  std::vector<const Area*> children;
  if (Find(code) == nullptr) return children;
  // Descendants share the code as a prefix and sort right after it.
  for (auto it = by_code_.upper_bound(code); it != by_code_.end() && StartsWith(it->first, code); ++it) {
    if (it->second.parent_code == code) children.push_back(&it->second);
  }
  std::sort(children.begin(), children.end(), [](const Area* a, const Area* b) { return a->code < b->code; });
  return children;
}

std::vector<const Area*> AreaRegistry::TownsWithin(std::string_view code) const {
  std::vector<const Area*> towns;
  if (Find(code) == nullptr) return towns;
  for (auto it = by_code_.lower_bound(code); it != by_code_.end() && StartsWith(it->first, code); ++it) {
    if (it->second.level == AreaLevel::kTown) towns.push_back(&it->second);
  }
  return towns;
}

const Area* AreaRegistry::Parent(std::string_view code) const {
  const Area* area = Find(code);
  if (area == nullptr || area->parent_code.empty()) return nullptr;
  return Find(area->parent_code);
}

bool AreaRegistry::Contains(std::string_view ancestor, std::string_view code) const {
  // Codes are validated prefixes of their descendants' codes, so containment is a prefix test
  // between two known codes.
  return Find(ancestor) != nullptr && Find(code) != nullptr && StartsWith(code, ancestor);
}

std::string AreaRegistry::FullName(std::string_view code) const {
  std::vector<const Area*> chain;
  for (const Area* area = Find(code); area != nullptr; area = Parent(area->code)) chain.push_back(area);
  std::string name;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (!name.empty()) name += ' ';
    name += (*it)->name;
  }
  return name;
}

}  // namespace minyi
