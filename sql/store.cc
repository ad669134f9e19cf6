#include "sql/store.h"

#include "sql/mysql_store.h"
#include "sql/sqlite_store.h"

namespace minyi::sql {

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  if (options.backend == "sqlite") {
    auto store = SqliteStore::Open(options.sqlite);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(store).value());
  }
  if (options.backend == "mysql") {
    auto store = MysqlStore::Open(options.mysql);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(store).value());
  }
  return Status::InvalidInput("store backend '" + options.backend + "' is unknown (use sqlite or mysql)");
}

}  // namespace minyi::sql
