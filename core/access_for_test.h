// A small area registry (the province, two cities, three counties, one town each) and users in it, for
// the unit tests of the scope rules (access_test.cc, area_scope_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/access.h"
#include "core/areas.h"

namespace minyi {

inline AreaRegistry TestAreas() {
  std::vector<Area> areas = {
      {"32", "江苏省", AreaLevel::kProvince, ""},
      {"3208", "淮安市", AreaLevel::kCity, "32"},
      {"320812", "清江浦区", AreaLevel::kCounty, "3208"},
      {"320812001", "长西街道", AreaLevel::kTown, "320812"},
      {"320803", "淮安区", AreaLevel::kCounty, "3208"},
      {"320803001", "淮城街道", AreaLevel::kTown, "320803"},
      {"3201", "南京市", AreaLevel::kCity, "32"},
      {"320102", "玄武区", AreaLevel::kCounty, "3201"},
      {"320102001", "梅园新村街道", AreaLevel::kTown, "320102"},
  };
  auto r = AreaRegistry::FromAreas(std::move(areas));
  EXPECT_TRUE(r.ok()) << r.status();
  return std::move(r).value();
}

inline User MakeUser(Role role, std::vector<std::string> areas) {
  User u;
  u.username = "user1";
  u.role = role;
  u.areas = std::move(areas);
  return u;
}

}  // namespace minyi
