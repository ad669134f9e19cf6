#include "core/area_scope.h"

#include <gtest/gtest.h>

#include "core/access_for_test.h"

namespace minyi {
namespace {

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST(AuthorizeViewTest, UnknownCodesAreInvalidOutOfScopeCodesForbiddenNamingTheCode) {
  const AreaRegistry areas = TestAreas();
  const User official = MakeUser(Role::kOfficial, {"320812"});
  auto inside = AuthorizeView(official, areas, "320812001");
  ASSERT_TRUE(inside.ok()) << inside.status();
  EXPECT_EQ(inside.value()->code, "320812001");
  EXPECT_TRUE(AuthorizeView(official, areas, "320812").ok());

  const Status outside = AuthorizeView(official, areas, "320803").status();
  EXPECT_EQ(outside.code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Mentions(outside, "320803")) << outside;
  EXPECT_TRUE(Mentions(outside, "淮安区")) << outside;
  // The county's city is above the official's scope.
  EXPECT_EQ(AuthorizeView(official, areas, "3208").status().code(), StatusCode::kPermissionDenied);

  const Status unknown = AuthorizeView(official, areas, "320899").status();
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(Mentions(unknown, "area: unknown division code '320899'")) << unknown;

  EXPECT_TRUE(AuthorizeView(MakeUser(Role::kStatistician, {}), areas, "320102001").ok());
  EXPECT_TRUE(AuthorizeView(MakeUser(Role::kAdmin, {}), areas, "32").ok());
  // Grid workers see no dashboards, not even of their own town.
  EXPECT_EQ(AuthorizeView(MakeUser(Role::kGridWorker, {"320812001"}), areas, "320812001").status().code(),
            StatusCode::kPermissionDenied);
  User disabled = official;
  disabled.disabled = true;
  EXPECT_EQ(AuthorizeView(disabled, areas, "320812001").status().code(), StatusCode::kPermissionDenied);
}

// Every role against every kind of target: who may upload where (deny by default).
TEST(AuthorizeUploadTest, RolesAgainstTownsAndAreas) {
  const AreaRegistry areas = TestAreas();
  const User admin = MakeUser(Role::kAdmin, {});
  const User statistician = MakeUser(Role::kStatistician, {});
  const User official = MakeUser(Role::kOfficial, {"320812"});
  const User grid = MakeUser(Role::kGridWorker, {"320812001"});
  struct Case {
    const User* user;
    std::string town, area;
    StatusCode want;
  };
  const std::vector<Case> cases = {
      {&admin, "320102001", "", StatusCode::kOk},
      {&admin, "", "32", StatusCode::kOk},
      {&statistician, "320812001", "", StatusCode::kPermissionDenied},
      {&official, "320812001", "", StatusCode::kOk},
      {&official, "", "320812", StatusCode::kOk},
      {&official, "320803001", "", StatusCode::kPermissionDenied},
      {&official, "", "3208", StatusCode::kPermissionDenied},
      {&grid, "320812001", "", StatusCode::kOk},
      {&grid, "", "320812", StatusCode::kOk},  // holds its town; other towns' rows are refused one by one
      {&grid, "", "32", StatusCode::kOk},
      {&grid, "320803001", "", StatusCode::kPermissionDenied},
      {&grid, "", "320803", StatusCode::kPermissionDenied},
  };
  for (const Case& c : cases) {
    auto target = AuthorizeUpload(*c.user, areas, c.town, c.area);
    EXPECT_EQ(target.status().code(), c.want)
        << RoleName(c.user->role) << " town=" << c.town << " area=" << c.area << ": " << target.status();
    if (target.ok()) {
      EXPECT_EQ(target->town(), c.town);
      EXPECT_EQ(target->area(), c.area);
    }
  }
}

TEST(AuthorizeUploadTest, RefusalsNameTheFieldOrTheCode) {
  const AreaRegistry areas = TestAreas();
  const User official = MakeUser(Role::kOfficial, {"320812"});
  const Status outside = AuthorizeUpload(official, areas, "320803001", "").status();
  EXPECT_EQ(outside.code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Mentions(outside, "320803001")) << outside;
  const Status grid_outside =
      AuthorizeUpload(MakeUser(Role::kGridWorker, {"320812001"}), areas, "320803001", "").status();
  EXPECT_TRUE(Mentions(grid_outside, "只能导入本人负责的乡镇")) << grid_outside;
  EXPECT_TRUE(Mentions(grid_outside, "320803001")) << grid_outside;

  struct Bad {
    std::string town, area, field;
  };
  for (const Bad& b : std::vector<Bad>{{"", "", "town: "},
                                       {"320812", "", "town: "},
                                       {"320899001", "", "town: "},
                                       {"", "320812001", "area: "},
                                       {"", "3299", "area: "},
                                       {"320812001", "320812", "not both"}}) {
    const Status s = AuthorizeUpload(official, areas, b.town, b.area).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << b.town << "/" << b.area << ": " << s;
    EXPECT_TRUE(Mentions(s, b.field)) << s;
  }
  // The role is checked before anything the request says.
  EXPECT_EQ(AuthorizeUpload(MakeUser(Role::kStatistician, {}), areas, "", "").status().code(),
            StatusCode::kPermissionDenied);
  User disabled = official;
  disabled.disabled = true;
  EXPECT_EQ(AuthorizeUpload(disabled, areas, "320812001", "").status().code(), StatusCode::kPermissionDenied);
}

TEST(UploadTargetTest, RefuseTownKeepsRowsInsideTheAreaAndTheUploadersScope) {
  const AreaRegistry areas = TestAreas();
  auto grid = AuthorizeUpload(MakeUser(Role::kGridWorker, {"320812001"}), areas, "", "3208");
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_EQ(grid->RefuseTown("320812001"), "");
  EXPECT_NE(grid->RefuseTown("320803001").find("is not one of your towns"), std::string::npos);
  EXPECT_NE(grid->RefuseTown("320102001").find("is not inside the upload's area 3208"), std::string::npos);

  auto official = AuthorizeUpload(MakeUser(Role::kOfficial, {"320812", "320803001"}), areas, "", "320812");
  ASSERT_TRUE(official.ok()) << official.status();
  EXPECT_EQ(official->RefuseTown("320812001"), "");
  EXPECT_NE(official->RefuseTown("320803001").find("is not inside the upload's area"), std::string::npos);

  auto wide = AuthorizeUpload(MakeUser(Role::kOfficial, {"320812", "320803001"}), areas, "", "3208");
  EXPECT_EQ(wide.status().code(), StatusCode::kPermissionDenied);  // the city is above both areas
  auto admin = AuthorizeUpload(MakeUser(Role::kAdmin, {}), areas, "", "3208");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->RefuseTown("320803001"), "");

  auto town = AuthorizeUpload(MakeUser(Role::kAdmin, {}), areas, "320812001", "");
  ASSERT_TRUE(town.ok());
  EXPECT_EQ(town->RefuseTown("320812001"), "");
  EXPECT_NE(town->RefuseTown("320803001").find("is not the upload's town 320812001"), std::string::npos);
}

}  // namespace
}  // namespace minyi
