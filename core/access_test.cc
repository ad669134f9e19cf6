#include "core/access.h"

#include <gtest/gtest.h>

#include "core/access_for_test.h"

namespace minyi {
namespace {

TEST(RoleTest, NamesRoundTrip) {
  for (Role r : {Role::kAdmin, Role::kStatistician, Role::kOfficial, Role::kGridWorker}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
    EXPECT_FALSE(RoleLabel(r).empty());
  }
  EXPECT_FALSE(ParseRole("resident").has_value());
  EXPECT_FALSE(ParseRole("Admin").has_value());
}

TEST(UsernameTest, AcceptsAndRejects) {
  for (const char* good : {"abc", "zhang.san", "county_320812", "a-1", "0ab"}) {
    EXPECT_TRUE(ValidateUsername(good).ok()) << good;
  }
  // The over-long name lives beside the loop: a temporary's c_str() in the list dangled (ASan).
  const std::string too_long(33, 'a');
  for (const char* bad : {"", "ab", "_abc", "Zhang", "张三", "a b c", "a;drop", too_long.c_str()}) {
    EXPECT_EQ(ValidateUsername(bad).code(), StatusCode::kInvalidInput) << bad;
  }
}

TEST(NormalizeUserTest, RoleSpecificAreaRules) {
  const AreaRegistry areas = TestAreas();
  struct Case {
    Role role;
    std::vector<std::string> areas;
    bool ok;
  };
  const std::vector<Case> cases = {
      {Role::kOfficial, {"320812"}, true},
      {Role::kOfficial, {"32"}, true},
      {Role::kOfficial, {}, false},
      {Role::kOfficial, {"999999"}, false},
      {Role::kGridWorker, {"320812001"}, true},
      {Role::kGridWorker, {"320812"}, false},
      {Role::kAdmin, {}, true},
      {Role::kAdmin, {"32"}, false},
      {Role::kStatistician, {}, true},
  };
  for (const auto& c : cases) {
    User u = MakeUser(c.role, c.areas);
    EXPECT_EQ(NormalizeUser(&u, areas).ok(), c.ok) << RoleName(c.role) << " " << c.areas.size();
  }
  User dup = MakeUser(Role::kOfficial, {"320812", "320803", "320812"});
  ASSERT_TRUE(NormalizeUser(&dup, areas).ok());
  EXPECT_EQ(dup.areas, (std::vector<std::string>{"320803", "320812"}));
}

TEST(ScopeTest, CountyOfficialSeesItsCountyAndTownsOnly) {
  const AreaRegistry areas = TestAreas();
  const User official = MakeUser(Role::kOfficial, {"320812"});
  EXPECT_TRUE(InScope(official, areas, "320812"));
  EXPECT_TRUE(InScope(official, areas, "320812001"));
  EXPECT_FALSE(InScope(official, areas, "320803"));     // another county
  EXPECT_FALSE(InScope(official, areas, "320803001"));  // a town in it
  EXPECT_FALSE(InScope(official, areas, "3208"));       // its own city
  EXPECT_FALSE(InScope(official, areas, "32"));         // the province total
  EXPECT_FALSE(InScope(official, areas, "3208120"));    // not a code
  EXPECT_TRUE(IsHomeArea(official, "320812"));
  EXPECT_FALSE(IsHomeArea(official, "320812001"));
  EXPECT_FALSE(SeesLowN(official.role));
}

TEST(ScopeTest, RolesAndDisabledUsers) {
  const AreaRegistry areas = TestAreas();
  for (Role r : {Role::kAdmin, Role::kStatistician}) {
    const User u = MakeUser(r, {});
    EXPECT_TRUE(InScope(u, areas, "32"));
    EXPECT_TRUE(InScope(u, areas, "320102001"));
    EXPECT_FALSE(InScope(u, areas, "33"));
    EXPECT_EQ(HomeAreas(u, areas), std::vector<std::string>{"32"});
    EXPECT_TRUE(IsHomeArea(u, "32"));
    EXPECT_FALSE(IsHomeArea(u, "3208"));
  }
  EXPECT_TRUE(SeesLowN(Role::kStatistician));
  EXPECT_FALSE(SeesLowN(Role::kAdmin));

  const User grid = MakeUser(Role::kGridWorker, {"320812001"});
  EXPECT_FALSE(InScope(grid, areas, "320812001"));  // no dashboard access at all

  User province_official = MakeUser(Role::kOfficial, {"32"});
  EXPECT_TRUE(InScope(province_official, areas, "320102001"));
  province_official.disabled = true;
  EXPECT_FALSE(InScope(province_official, areas, "32"));

  const User two = MakeUser(Role::kOfficial, {"320102", "320812001"});
  EXPECT_TRUE(InScope(two, areas, "320102001"));
  EXPECT_TRUE(InScope(two, areas, "320812001"));
  EXPECT_FALSE(InScope(two, areas, "320812"));
  EXPECT_EQ(HomeAreas(two, areas), (std::vector<std::string>{"320102", "320812001"}));
}

}  // namespace
}  // namespace minyi
