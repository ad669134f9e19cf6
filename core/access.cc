#include "core/access.h"

#include <algorithm>

namespace minyi {
namespace {

constexpr std::string_view kProvinceCode = "32";

bool HasDashboardScopeEverywhere(Role role) { return role == Role::kAdmin || role == Role::kStatistician; }

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kStatistician: return "statistician";
    case Role::kOfficial: return "official";
    case Role::kGridWorker: return "grid_worker";
  }
  return "official";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kStatistician, Role::kOfficial, Role::kGridWorker}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string_view RoleLabel(Role role) {
  switch (role) {
    case Role::kAdmin: return "管理员";
    case Role::kStatistician: return "统计人员";
    case Role::kOfficial: return "领导干部";
    case Role::kGridWorker: return "网格员";
  }
  return "";
}

Status ValidateUsername(std::string_view username) {
  if (username.size() < 3 || username.size() > 32) {
    return Status::InvalidInput("username: 3 to 32 characters expected, got " + std::to_string(username.size()));
  }
  for (std::size_t i = 0; i < username.size(); ++i) {
    const char c = username[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) {
      return Status::InvalidInput("username: only a-z, 0-9 and _ . - allowed, starting with a letter or digit");
    }
  }
  return Status::Ok();
}

Status NormalizeUser(User* user, const AreaRegistry& areas) {
  MINYI_RETURN_IF_ERROR(ValidateUsername(user->username));
  std::sort(user->areas.begin(), user->areas.end());
  user->areas.erase(std::unique(user->areas.begin(), user->areas.end()), user->areas.end());
  for (const std::string& code : user->areas) {
    const Area* area = areas.Find(code);
    if (area == nullptr) return Status::InvalidInput("area: unknown division code '" + code + "'");
    if (user->role == Role::kGridWorker && area->level != AreaLevel::kTown) {
      return Status::InvalidInput("area: a grid worker is assigned towns (9 digits), not '" + code + "'");
    }
  }
  switch (user->role) {
    case Role::kAdmin:
    case Role::kStatistician:
      if (!user->areas.empty()) {
        return Status::InvalidInput("area: role " + std::string(RoleName(user->role)) +
                                    " sees every area; give no --area");
      }
      break;
    case Role::kOfficial:
    case Role::kGridWorker:
      if (user->areas.empty()) {
        return Status::InvalidInput("area: role " + std::string(RoleName(user->role)) +
                                    " needs at least one area");
      }
      break;
  }
  return Status::Ok();
}

bool InScope(const User& user, const AreaRegistry& areas, std::string_view area_code) {
  if (user.disabled || areas.Find(area_code) == nullptr) return false;
  if (!MayViewDashboards(user.role)) return false;
  if (HasDashboardScopeEverywhere(user.role)) return true;
  return std::any_of(user.areas.begin(), user.areas.end(),
                     [&](const std::string& home) { return areas.Contains(home, area_code); });
}

bool IsHomeArea(const User& user, std::string_view area_code) {
  if (HasDashboardScopeEverywhere(user.role)) return area_code == kProvinceCode;
  return std::find(user.areas.begin(), user.areas.end(), area_code) != user.areas.end();
}

std::vector<std::string> HomeAreas(const User& user, const AreaRegistry& areas) {
  if (HasDashboardScopeEverywhere(user.role)) {
    if (areas.Find(kProvinceCode) != nullptr) return {std::string(kProvinceCode)};
    return {};
  }
  return user.areas;
}

bool SeesLowN(Role role) { return role == Role::kStatistician; }

bool MayViewDashboards(Role role) { return role != Role::kGridWorker; }

}  // namespace minyi
