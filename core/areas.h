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

class AreaRegistry {
 public:
  // Reads provinces.csv, cities.csv, counties.csv, towns.csv from `directory`. Every row is checked
  // (code length and prefix against its parent); errors name the file and line.
  static Result<AreaRegistry> LoadDirectory(const std::string& directory);

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
  // "江苏省 淮安市 清江浦区 长西街道".
  std::string FullName(std::string_view code) const;

  const std::vector<const Area*>& Towns() const { return towns_; }
  std::size_t size() const { return by_code_.size(); }

 private:
  std::map<std::string, Area, std::less<>> by_code_;
  std::vector<const Area*> towns_;
};

}  // namespace minyi
