// The nftables side of bridge networking: one table of mydock's own (`table ip mydock` by
// default) holding the outbound masquerade and every published port, regenerated as a whole
// from the lease table under the lease lock and applied as one atomic nft transaction.
#pragma once

#include <string>
#include <vector>

#include "runtime/net_ipam.h"

namespace mydock::runtime::net {

// The complete script: creates the table if missing, deletes it, recreates it with the rules
// for `leases` (one transaction, so no half state is ever visible). With no leases the
// script only removes the table.
std::string renderRuleset(const std::string& table, const std::string& bridge, const Subnet& subnet,
                          const std::vector<Lease>& leases);

// Runs `nft -f -` with `script` on stdin; throws mydock::Error with nft's message on failure.
void applyNft(const std::string& script);

}  // namespace mydock::runtime::net
