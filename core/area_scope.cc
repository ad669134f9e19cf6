#include "core/area_scope.h"

#include <algorithm>
#include <utility>

namespace minyi {
namespace {

bool IsOneOf(const std::vector<std::string>& codes, std::string_view code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

// "南京市 玄武区（320102）": the area as a refusal names it.
std::string Named(const AreaRegistry& areas, std::string_view code) {
  return areas.FullName(code) + "（" + std::string(code) + "）";
}

}  // namespace

Result<const Area*> AuthorizeView(const User& user, const AreaRegistry& areas, std::string_view code) {
  const Area* area = areas.Find(code);
  if (area == nullptr) return Status::InvalidInput("area: unknown division code '" + std::string(code) + "'");
  if (!InScope(user, areas, code)) {
    return Status::PermissionDenied("无权查看该地区的数据：" + area->name + "（" + area->code + "）");
  }
  return area;
}

UploadTarget::UploadTarget(const User& user, const AreaRegistry& areas, std::string town, std::string area)
    : user_(user), areas_(&areas), town_(std::move(town)), area_(std::move(area)) {
  user_.password_hash.clear();
}

std::string UploadTarget::RefuseTown(const std::string& town) const {
  const std::string named = "town " + town + " (" + areas_->FullName(town) + ")";
  if (area_.empty()) return town == town_ ? std::string() : named + " is not the upload's town " + town_;
  if (!areas_->Contains(area_, town)) {
    return named + " is not inside the upload's area " + area_ + " (" + areas_->FullName(area_) + ")";
  }
  if (user_.role == Role::kGridWorker) {
    if (!IsOneOf(user_.areas, town)) return named + " is not one of your towns";
  } else if (!InScope(user_, *areas_, town)) {
    return named + " is outside your areas";
  }
  return std::string();
}

Result<UploadTarget> AuthorizeUpload(const User& user, const AreaRegistry& areas, std::string town,
                                     std::string area) {
  if (user.disabled ||
      (user.role != Role::kGridWorker && user.role != Role::kOfficial && user.role != Role::kAdmin)) {
    return Status::PermissionDenied("该账号无权导入微信群记录");
  }
  if (!town.empty() && !area.empty()) {
    return Status::InvalidInput(
        "give town (one town) or area (a county- or city-wide questionnaire), not both");
  }
  if (area.empty() && !areas.IsTown(town))
    return Status::InvalidInput("town: a 9-digit town code is required");
  if (!area.empty() && (areas.Find(area) == nullptr || areas.IsTown(area))) {
    return Status::InvalidInput("area: a county, city or province code is required (a town goes in town=)");
  }
  const std::string& code = area.empty() ? town : area;
  if (user.role == Role::kGridWorker) {
    // Grid workers see no dashboards (InScope is false for them): their towns are their scope.
    const bool holds_own_town =
        std::any_of(user.areas.begin(), user.areas.end(),
                    [&](const std::string& own) { return areas.Contains(code, own); });
    if (!holds_own_town) {
      return Status::PermissionDenied("只能导入本人负责的乡镇（街道），不能导入 " + Named(areas, code));
    }
  } else if (!InScope(user, areas, code)) {
    return Status::PermissionDenied("无权导入该地区的数据：" + Named(areas, code));
  }
  return UploadTarget(user, areas, std::move(town), std::move(area));
}

}  // namespace minyi
