// The leases of the singleton jobs (core/lease_ports.h, migration 010) over either SQL backend,
// written once on the dialect interface of sql/db.h; it shares the Store's connections.
#pragma once

#include <memory>

#include "core/lease_ports.h"
#include "sql/store.h"

namespace minyi::sql {

// A LeaseStore over `store`, which must outlive it and hold the leases table (migration 010, or
// EnsureLeaseTable).
std::unique_ptr<LeaseStore> OpenLeaseStore(Store& store);

// Creates the leases table when it is missing, with the statements of migration 010 (CREATE TABLE IF
// NOT EXISTS): what `db migrate` runs before it takes the 'migrate' lease, so that a lease guards the
// migrations that would otherwise create its table.
Status EnsureLeaseTable(Store& store);

}  // namespace minyi::sql
