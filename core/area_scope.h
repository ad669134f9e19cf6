// Who may see and who may upload for which area: the scope rules of core/access.h applied to a code a
// request names, deny by default. Pure functions of the user and the area registry, shared by the
// dashboards' guard (dashboards/guard.h: which areas a signed-in user may view) and the export upload
// (collector/wechat/upload_routes.h: into which town or area a user may upload).
//
// Upload scope (issue 5):
//   grid_worker   its own towns, or an area holding one of them (rows of the area's other towns are
//                 then refused one by one, UploadTarget::RefuseTown)
//   official      within its areas (InScope)
//   admin         anywhere
//   statistician  nowhere
//
// Thread-safe: pure functions; an UploadTarget is a value.
#pragma once

#include <string>
#include <string_view>

#include "core/access.h"
#include "core/areas.h"
#include "core/status.h"

namespace minyi {

// The area `code` when `user` may view its figures: kInvalidInput for an unknown code, kPermissionDenied
// outside the user's scope (InScope), naming the area and its code.
Result<const Area*> AuthorizeView(const User& user, const AreaRegistry& areas, std::string_view code);

// Where an upload goes, checked against its uploader; made only by AuthorizeUpload, so a store call that
// needs one cannot be reached with an unchecked target. Exactly one of town and area is set: a town
// takes every row of a chat or questionnaire export; an area (county, city or the province) takes a
// questionnaire export whose rows are placed by the file's town column.
class UploadTarget {
 public:
  const std::string& town() const { return town_; }
  const std::string& area() const { return area_; }

  // Why the uploader may not place a row of this area upload into `town` ("" when it may): the town
  // must lie inside the target's area and inside the uploader's scope (grid workers: their towns).
  std::string RefuseTown(const std::string& town) const;

 private:
  friend Result<UploadTarget> AuthorizeUpload(const User& user, const AreaRegistry& areas, std::string town,
                                              std::string area);
  UploadTarget(const User& user, const AreaRegistry& areas, std::string town, std::string area);

  User user_;  // without its password hash
  const AreaRegistry* areas_;
  std::string town_;
  std::string area_;
};

// The target a request names (town=CODE or area=CODE, the other empty) when `user` may upload there
// (the rules above); `areas` must outlive the target. kInvalidInput naming the field for both or
// neither given, an unknown code, a town in area= or an area in town=; kPermissionDenied naming the code
// for a role that may not upload or a code outside the uploader's scope.
Result<UploadTarget> AuthorizeUpload(const User& user, const AreaRegistry& areas, std::string town,
                                     std::string area);

}  // namespace minyi
