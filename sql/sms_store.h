// The SMS channel's tables (migrations 004, 013) over either SQL backend: an SmsStore (core/sms_ports.h)
// that shares the Store's connections (SQLite: the write connection under its mutex; MySQL: the
// pool), so it works on ":memory:" databases too and needs no second configuration.
#pragma once

#include <memory>

#include "core/sms_ports.h"
#include "sql/store.h"

namespace minyi::sql {

// An SmsStore over `store`, which must outlive it and be migrated to version 13 or later.
// kInvalidInput when `store` is neither a SqliteStore nor a MysqlStore.
Result<std::unique_ptr<SmsStore>> OpenSmsStore(Store& store);

}  // namespace minyi::sql
