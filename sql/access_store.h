// The access-control tables (migration 005) and the dashboards' read queries over either SQL backend:
// an AccessStore (core/access.h UserStore + core/dashboard_ports.h DashboardQueries) that shares the
// Store's connections (SQLite: the write connection under its mutex; MySQL: the pool), so it works on
// ":memory:" databases too and needs no second configuration. The SQL is written once
// (sql/access_store.cc) over a two-method adapter per dialect (sql/sqlite_access.cc,
// sql/mysql_access.cc).
#pragma once

#include <memory>

#include "core/access.h"
#include "core/dashboard_ports.h"
#include "sql/store.h"

namespace minyi::sql {

class AccessStore : public UserStore, public DashboardQueries {
 public:
  ~AccessStore() override = default;
};

// An AccessStore over `store`, which must outlive it and be migrated to version 6 or later.
// kInvalidInput when `store` is neither a SqliteStore nor a MysqlStore.
Result<std::unique_ptr<AccessStore>> OpenAccessStore(Store& store);

}  // namespace minyi::sql
