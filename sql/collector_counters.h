// The collectors' counters (core/collector_counters.h: rejections, import runs; migration 008) and
// the response-rate queries over the invitation tables (core/dashboard_ports.h ResponseRateQueries:
// web tokens of migration 002, SMS conversations/outbox/inbound of migration 004) over either SQL
// backend. Both share the Store's connections (SQLite: the write connection under its mutex; MySQL:
// the pool), so they work on ":memory:" databases too. The SQL is written once over the access
// store's dialect interface (sql/db.h).
#pragma once

#include <memory>

#include "core/collector_counters.h"
#include "core/dashboard_ports.h"
#include "sql/store.h"

namespace minyi::sql {

// Over `store`, which must outlive the result and be migrated to version 8 or later.
// kInvalidInput when `store` is neither a SqliteStore nor a MysqlStore.
Result<std::unique_ptr<CollectorCounters>> OpenCollectorCounters(Store& store);
Result<std::unique_ptr<ResponseRateQueries>> OpenResponseRates(Store& store);

}  // namespace minyi::sql
