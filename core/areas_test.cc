#include "core/areas.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace minyi {
namespace {

const std::string kDataDir = std::string(MINYI_SOURCE_DIR) + "/data";

static_assert(!std::is_copy_constructible_v<AreaRegistry>);
static_assert(!std::is_copy_assignable_v<AreaRegistry>);
static_assert(std::is_nothrow_move_constructible_v<AreaRegistry>);

const AreaRegistry& Jiangsu() {
  static const AreaRegistry* registry = [] {
    Result<AreaRegistry> loaded = AreaRegistry::LoadDirectory(kDataDir);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new AreaRegistry(loaded.ok() ? std::move(loaded).value() : AreaRegistry());
  }();
  return *registry;
}

std::vector<std::string> Codes(const std::vector<const Area*>& areas) {
  std::vector<std::string> codes;
  for (const Area* a : areas) codes.push_back(a->code);
  return codes;
}

TEST(AreaRegistryTest, LoadsTheRealDivisions) {
  const AreaRegistry& r = Jiangsu();
  EXPECT_EQ(r.Children("32").size(), 13u);
  std::size_t counties = 0;
  for (const Area* city : r.Children("32")) counties += r.Children(city->code).size();
  EXPECT_EQ(counties, 104u);
  EXPECT_EQ(r.Towns().size(), 1487u);
  EXPECT_EQ(r.TownsWithin("32").size(), 1487u);
  EXPECT_EQ(r.size(), 1u + 13u + 104u + 1487u);
  EXPECT_EQ(r.Find("32")->name, "江苏省");
  EXPECT_EQ(r.Find("32")->level, AreaLevel::kProvince);
  EXPECT_EQ(r.Find("32")->parent_code, "");
}

TEST(AreaRegistryTest, FindsATownAndItsAncestors) {
  const AreaRegistry& r = Jiangsu();
  const Area* town = r.Find("320812007");
  ASSERT_NE(town, nullptr);
  EXPECT_EQ(town->name, "长西街道");
  EXPECT_EQ(town->level, AreaLevel::kTown);
  EXPECT_EQ(town->parent_code, "320812");
  EXPECT_TRUE(r.IsTown("320812007"));
  EXPECT_FALSE(r.IsTown("320812"));
  EXPECT_FALSE(r.IsTown("320812999"));
  EXPECT_EQ(r.Parent("320812007")->name, "清江浦区");
  EXPECT_EQ(r.Parent("320812")->name, "淮安市");
  EXPECT_EQ(r.Parent("3208")->code, "32");
  EXPECT_EQ(r.Parent("32"), nullptr);
  EXPECT_EQ(r.Parent("99"), nullptr);
  EXPECT_EQ(r.FullName("320812007"), "江苏省 淮安市 清江浦区 长西街道");
  EXPECT_EQ(r.FullName("3208"), "江苏省 淮安市");
  EXPECT_EQ(r.FullName("320899"), "");
  EXPECT_EQ(r.Find(""), nullptr);
}

TEST(AreaRegistryTest, ContainsIsAncestry) {
  const AreaRegistry& r = Jiangsu();
  EXPECT_TRUE(r.Contains("32", "320812007"));
  EXPECT_TRUE(r.Contains("3208", "320812007"));
  EXPECT_TRUE(r.Contains("320812", "320812007"));
  EXPECT_TRUE(r.Contains("320812007", "320812007"));
  EXPECT_FALSE(r.Contains("3201", "320812007"));
  EXPECT_FALSE(r.Contains("320812007", "320812"));
  EXPECT_FALSE(r.Contains("320", "320812007"));   // not an area, though a prefix
  EXPECT_FALSE(r.Contains("3208", "320812999"));  // unknown town
}

TEST(AreaRegistryTest, ChildrenAndTownsWithinAreOrderedByCode) {
  const AreaRegistry& r = Jiangsu();
  const std::vector<const Area*> counties = r.Children("3208");
  ASSERT_FALSE(counties.empty());
  for (const Area* c : counties) {
    EXPECT_EQ(c->level, AreaLevel::kCounty);
    EXPECT_EQ(c->parent_code, "3208");
  }
  const std::vector<std::string> codes = Codes(counties);
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  EXPECT_NE(std::find(codes.begin(), codes.end(), "320812"), codes.end());

  const std::vector<const Area*> towns = r.TownsWithin("320812");
  ASSERT_FALSE(towns.empty());
  const std::vector<std::string> town_codes = Codes(towns);
  EXPECT_TRUE(std::is_sorted(town_codes.begin(), town_codes.end()));
  EXPECT_EQ(Codes(r.Children("320812")), town_codes);  // a county's children are its towns
  std::size_t in_city = 0;
  for (const Area* county : counties) in_city += r.TownsWithin(county->code).size();
  EXPECT_EQ(r.TownsWithin("3208").size(), in_city);
  EXPECT_EQ(Codes(r.TownsWithin("320812007")), std::vector<std::string>{"320812007"});
  EXPECT_TRUE(r.TownsWithin("320").empty());
  EXPECT_TRUE(r.Children("320812007").empty());
  EXPECT_TRUE(r.Children("99").empty());
}

TEST(AreaRegistryTest, RepeatedTownNamesAreDisambiguatedByCountyOrCity) {
  const AreaRegistry& r = Jiangsu();
  const std::vector<const Area*> all = r.FindTownsByName("文峰街道");
  ASSERT_GE(all.size(), 2u);
  std::vector<std::string> counties;
  for (const Area* town : all) {
    EXPECT_EQ(town->name, "文峰街道");
    counties.push_back(town->parent_code);
  }
  EXPECT_EQ(std::set<std::string>(counties.begin(), counties.end()).size(), all.size())
      << "each 文峰街道 lies in a different county";
  for (const Area* town : all) {
    const std::vector<const Area*> in_county = r.FindTownsByName("文峰街道", town->parent_code);
    ASSERT_EQ(in_county.size(), 1u);
    EXPECT_EQ(in_county[0]->code, town->code);
    const std::string city = town->code.substr(0, 4);
    for (const Area* found : r.FindTownsByName("文峰街道", city)) EXPECT_TRUE(r.Contains(city, found->code));
    EXPECT_FALSE(r.FindTownsByName("文峰街道", city).empty());
  }
  EXPECT_EQ(r.FindTownsByName("文峰街道", "32").size(), all.size());
  EXPECT_TRUE(r.FindTownsByName("文峰街道", "320812").empty());
  EXPECT_TRUE(r.FindTownsByName("文峰街道", "3299").empty());
  EXPECT_TRUE(r.FindTownsByName("文峰").empty());  // exact names only

  const std::vector<const Area*> changxi = r.FindTownsByName("长西街道", "320812");
  ASSERT_EQ(changxi.size(), 1u);
  EXPECT_EQ(changxi[0]->code, "320812007");
}

TEST(AreaRegistryTest, LevelNamesRoundTrip) {
  for (AreaLevel level : {AreaLevel::kProvince, AreaLevel::kCity, AreaLevel::kCounty, AreaLevel::kTown}) {
    EXPECT_EQ(ParseAreaLevel(AreaLevelName(level)), level);
  }
  EXPECT_EQ(ParseAreaLevel("village"), std::nullopt);
}

TEST(AreaRegistryTest, MovedRegistryKeepsWorking) {
  Result<AreaRegistry> loaded = AreaRegistry::LoadDirectory(kDataDir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  AreaRegistry moved = std::move(loaded).value();
  AreaRegistry again;
  again = std::move(moved);
  EXPECT_EQ(again.FullName("320812007"), "江苏省 淮安市 清江浦区 长西街道");
  EXPECT_EQ(again.Towns().size(), 1487u);
  EXPECT_EQ(again.FindTownsByName("长西街道").size(), 1u);
}

// ---------------------------------------------------------------- bad files

class TempData {
 public:
  TempData() {
    path_ = std::filesystem::temp_directory_path() /
            ("minyi-areas-test-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
    Write("provinces.csv", "code,name\n32,\"江苏省\"\n");
    Write("cities.csv", "code,name,provinceCode\n3208,\"淮安市\",32\n3210,\"扬州市\",32\n");
    Write("counties.csv", "code,name,cityCode,provinceCode\n320812,\"清江浦区\",3208,32\n321003,\"邗江区\",3210,32\n");
    Write("towns.csv",
          "code,name,areaCode,provinceCode,cityCode\n"
          "320812007,\"长西街道\",320812,32,3208\n"
          "321003001,\"文峰街道\",321003,32,3210\n");
  }
  ~TempData() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(AreaRegistryFileTest, SmallValidSetLoads) {
  TempData data;
  Result<AreaRegistry> r = AreaRegistry::LoadDirectory(data.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 7u);
  EXPECT_EQ(r->FullName("321003001"), "江苏省 扬州市 邗江区 文峰街道");
}

TEST(AreaRegistryFileTest, AcceptsBomCrlfQuotesAndBlankLines) {
  TempData data;
  data.Write("towns.csv",
             "\xEF\xBB\xBF" "code,name,areaCode,provinceCode,cityCode\r\n"
             "320812007,\"长西\"\"老\"\"街道, 东\",320812,32,3208\r\n"
             "\r\n"
             "321003001,文峰街道,321003,32,3210\r\n");
  Result<AreaRegistry> r = AreaRegistry::LoadDirectory(data.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Find("320812007")->name, "长西\"老\"街道, 东");
  EXPECT_EQ(r->Find("321003001")->name, "文峰街道");
}

struct BadFileCase {
  const char* name;
  const char* file;
  std::string text;
  std::string expected;  // a line of the error message
};

void PrintTo(const BadFileCase& c, std::ostream* os) { *os << c.name; }

class BadAreaFileTest : public ::testing::TestWithParam<BadFileCase> {};

TEST_P(BadAreaFileTest, NamesFileAndLine) {
  const BadFileCase& c = GetParam();
  TempData data;
  data.Write(c.file, c.text);
  Result<AreaRegistry> r = AreaRegistry::LoadDirectory(data.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
      << "expected: " << c.expected << "\ngot:\n" << r.status().message();
}

const char* const kTownHeader = "code,name,areaCode,provinceCode,cityCode\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, BadAreaFileTest,
    ::testing::Values(
        BadFileCase{"ShortTownCode", "towns.csv", std::string(kTownHeader) + "32081200,\"x\",320812,32,3208\n",
                    "towns.csv:2: code \"32081200\" is not a 9-digit town code"},
        BadFileCase{"NonDigitCode", "towns.csv", std::string(kTownHeader) + "32081200A,\"x\",320812,32,3208\n",
                    "towns.csv:2: code \"32081200A\" is not a 9-digit town code"},
        BadFileCase{"ParentNotPrefix", "towns.csv",
                    std::string(kTownHeader) + "320812007,\"长西街道\",320812,32,3208\n320812008,\"x\",321003,32,3210\n",
                    "towns.csv:3: areaCode 321003 is not the first 6 digits of code 320812008"},
        BadFileCase{"CityColumnDisagrees", "towns.csv", std::string(kTownHeader) + "320812008,\"x\",320812,32,3210\n",
                    "towns.csv:2: cityCode 3210 is not the first 4 digits of code 320812008"},
        BadFileCase{"ParentMissing", "towns.csv", std::string(kTownHeader) + "320899001,\"x\",320899,32,3208\n",
                    "towns.csv:2: town 320899001 (x) names county 320899, which does not exist"},
        BadFileCase{"DuplicateCode", "towns.csv",
                    std::string(kTownHeader) + "320812007,\"a\",320812,32,3208\n320812007,\"b\",320812,32,3208\n",
                    "towns.csv:3: duplicate code 320812007 (first at towns.csv:2)"},
        BadFileCase{"WrongFieldCount", "towns.csv", std::string(kTownHeader) + "320812007,\"a\",320812,32\n",
                    "towns.csv:2: expected 5 fields, got 4"},
        BadFileCase{"UnbalancedQuote", "towns.csv", std::string(kTownHeader) + "320812007,\"a,320812,32,3208\n",
                    "towns.csv:2: malformed CSV (unbalanced quotes)"},
        BadFileCase{"EmptyName", "towns.csv", std::string(kTownHeader) + "320812007,\"\",320812,32,3208\n",
                    "towns.csv:2: empty name for code 320812007"},
        BadFileCase{"MissingColumn", "towns.csv", "code,name,countyCode,provinceCode,cityCode\n",
                    "towns.csv:1: header lacks the column \"areaCode\""},
        BadFileCase{"EmptyFile", "counties.csv", "", "counties.csv:1: empty file"},
        BadFileCase{"CityInUnknownProvince", "cities.csv", "code,name,provinceCode\n3208,\"淮安市\",32\n3301,\"x\",33\n",
                    "cities.csv:3: city 3301 (x) names province 33, which does not exist"},
        BadFileCase{"LongProvinceCode", "provinces.csv", "code,name\n320,\"江苏省\"\n",
                    "provinces.csv:2: code \"320\" is not a 2-digit province code"}),
    [](const ::testing::TestParamInfo<BadFileCase>& param_info) { return std::string(param_info.param.name); });

TEST(AreaRegistryFileTest, ReportsEveryBadLine) {
  TempData data;
  data.Write("towns.csv", std::string(kTownHeader) + "1,\"a\",320812,32,3208\n" + "320812007,\"ok\",320812,32,3208\n" +
                              "2,\"b\",320812,32,3208\n");
  Result<AreaRegistry> r = AreaRegistry::LoadDirectory(data.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "towns.csv:2: code \"1\" is not a 9-digit town code\n"
            "towns.csv:4: code \"2\" is not a 9-digit town code");
}

TEST(AreaRegistryFileTest, MissingFileIsNotFound) {
  TempData data;
  std::filesystem::remove(std::filesystem::path(data.path()) / "counties.csv");
  Result<AreaRegistry> r = AreaRegistry::LoadDirectory(data.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("counties.csv"), std::string::npos);
}

TEST(AreaRegistryFromAreasTest, BuildsAndChecks) {
  std::vector<Area> areas = {{"320812007", "长西街道", AreaLevel::kTown, "320812"},
                             {"32", "江苏省", AreaLevel::kProvince, ""},
                             {"3208", "淮安市", AreaLevel::kCity, "32"},
                             {"320812", "清江浦区", AreaLevel::kCounty, "3208"}};
  Result<AreaRegistry> r = AreaRegistry::FromAreas(areas);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->FullName("320812007"), "江苏省 淮安市 清江浦区 长西街道");

  areas.push_back({"3208120", "x", AreaLevel::kTown, "320812"});
  areas.push_back({"320812008", "y", AreaLevel::kTown, "320813"});
  areas.push_back({"320813", "z", AreaLevel::kTown, "3208"});
  Result<AreaRegistry> bad = AreaRegistry::FromAreas(areas);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "area \"3208120\": a code has 2, 4, 6 or 9 digits\n"
            "area 320812008: parent_code 320813 is not the first 6 digits of code 320812008\n"
            "area 320813: a town code has 9 digits");
}

}  // namespace
}  // namespace minyi
