// Internal to sql/: "this holder still holds this lease", as an SQL condition, for a write that must
// only happen under a lease (core/lease_ports.h LeaseFence): put in the same statement (or
// transaction) as the guarded write, it makes the database, not the server, decide. On Galera a
// takeover writes the lease row; the guarded write reads it in its WHERE, and a stale holder whose
// lease was taken is refused on every node the takeover has reached.
#pragma once

#include <string>
#include <vector>

#include "core/lease_ports.h"
#include "sql/db.h"

namespace minyi::sql::internal {

// "EXISTS (SELECT 1 FROM leases WHERE name = ? AND holder = ? AND fencing_token = ? AND expires_at_ms
// > <now>)", with LeaseFenceParams as its parameters, in this order.
std::string LeaseFenceSql(const db::Db& db);
std::vector<db::Value> LeaseFenceParams(const LeaseFence& fence);

}  // namespace minyi::sql::internal
