// The address allow-lists of the webhooks every channel serves (SMS gateways, 问卷星 pushes) and of the
// metrics endpoint: a peer address against a list of IPv4 addresses and CIDR blocks. Pure functions.
#pragma once

#include <string>
#include <vector>

namespace minyi::collector {

// True when `address` (dotted IPv4, or IPv4-mapped IPv6 "::ffff:a.b.c.d") matches an entry of
// `allow` ("10.0.0.1", "10.0.0.0/8"). An address that is not IPv4 matches only an identical entry;
// malformed entries match nothing.
bool AddressAllowed(const std::string& address, const std::vector<std::string>& allow);

}  // namespace minyi::collector
