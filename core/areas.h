// The area registry: Jiangsu's statistical division codes (统计用区划代码), province → city →
// county → town, loaded from data/*.csv (see data/README.md). Immutable after loading; safe to share.
//
// Codes: province 2 digits ("32"), city 4 ("3208"), county 6 ("320812"), town 9 ("320812007").
// Town names repeat across counties, so a name lookup may need the county to disambiguate.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace minyi {

enum class AreaLevel { kProvince, kCity, kCounty, kTown };
std::string_view AreaLevelName(AreaLevel level);  // "province", "city", "county", "town"
std::optional<AreaLevel> ParseAreaLevel(std::string_view name);

struct Area {
  std::string code;
  std::string name;
  AreaLevel level = AreaLevel::kTown;
  std::string parent_code;  // empty for the province
};

// Holds pointers into its own map, so it can be moved but not copied (share it by reference or
// shared_ptr). All lookups are const and safe to call from several threads.
class AreaRegistry {
 public:
  AreaRegistry() = default;  // empty
  AreaRegistry(const AreaRegistry&) = delete;
  AreaRegistry& operator=(const AreaRegistry&) = delete;
  AreaRegistry(AreaRegistry&&) noexcept = default;
  AreaRegistry& operator=(AreaRegistry&&) noexcept = default;
  ~AreaRegistry() = default;

  // Reads provinces.csv, cities.csv, counties.csv, towns.csv from `directory` (UTF-8, optional BOM,
  // header line required, names may be quoted). Every row is checked: field count, code digits and
  // length for its level, parent code present in the parent file and a prefix of the code, duplicate
  // codes, empty names. Fails with kNotFound when a file is missing, else kInvalidInput listing every
  // bad row as "towns.csv:17: ..." (one per line).
  static Result<AreaRegistry> LoadDirectory(const std::string& directory);

  // Builds a registry from areas given in any order (for tests and tools), with the same checks as
  // LoadDirectory; errors name the code instead of a line.
  static Result<AreaRegistry> FromAreas(std::vector<Area> areas);

  // nullptr when the code is unknown.
  const Area* Find(std::string_view code) const;
  bool IsTown(std::string_view code) const;

  // Towns with exactly this name; when `within` is a county or city code, only those inside it.
  std::vector<const Area*> FindTownsByName(std::string_view name, std::string_view within = {}) const;

  // Direct children, ordered by code.
  std::vector<const Area*> Children(std::string_view code) const;
  // Towns inside an area (the area itself if it is a town), ordered by code.
  std::vector<const Area*> TownsWithin(std::string_view code) const;
  // Parent area, nullptr for the province or an unknown code.
  const Area* Parent(std::string_view code) const;
  // True when `code` is `ancestor` or lies inside it.
  bool Contains(std::string_view ancestor, std::string_view code) const;
  // "江苏省 淮安市 清江浦区 长西街道"; empty for an unknown code.
  std::string FullName(std::string_view code) const;

  const std::vector<const Area*>& Towns() const { return towns_; }
  std::size_t size() const { return by_code_.size(); }

 private:
  // Checks the hierarchy and builds the indexes; `where` names each area's origin for messages.
  static Result<AreaRegistry> Build(std::vector<Area> areas, const std::vector<std::string>& where);

  std::map<std::string, Area, std::less<>> by_code_;
  std::vector<const Area*> towns_;  // ordered by code
  std::multimap<std::string, const Area*, std::less<>> towns_by_name_;
};

}  // namespace minyi
