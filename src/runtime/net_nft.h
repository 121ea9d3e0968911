// The nftables side of bridge networking: one table of mydock's own (`table ip mydock` by
// default). The table, its base chains and the rules that belong to the bridge itself (the
// jumps to `publish`, the route_localnet guard in `input`) are made once and stay, like the
// bridge (kernel hooks are registered and unregistered only then). What comes and goes with
// containers are the rules of two chains: `publish` (a DNAT per published port) and
// `postrouting` (the masquerades, present while at least one container is on the bridge).
#pragma once

#include <string>
#include <vector>

#include "runtime/net_ipam.h"

namespace mydock::runtime::net {

// The script that creates the table with its chains and fixed rules (applied when the table is
// missing, in the same transaction as the rules).
std::string renderBase(const std::string& table, const std::string& bridge);

// The rules of `leases` as `add rule ip <table> <chain> ...` lines (no newline), in a fixed
// order; empty with no leases.
std::vector<std::string> renderRules(const std::string& table, const std::string& bridge, const Subnet& subnet,
                                     const std::vector<Lease>& leases);

// The script that turns a table holding `have` into one holding `want`: only the new rules'
// `add` lines when nothing is to go (adding rules is cheap), else both chains flushed and
// refilled (removing anything costs the kernel an RCU grace period, whatever the form: one
// transaction pays it once). With `tableExists` false the base is created first.
std::string renderChange(const std::string& table, const std::string& bridge, const std::vector<std::string>& have,
                         const std::vector<std::string>& want, bool tableExists);

// The script that removes the table (no error when it is missing).
std::string renderDeleteTable(const std::string& table);

// Runs `nft -f -` with `script` on stdin; throws mydock::Error with nft's message on failure.
void applyNft(const std::string& script);

// Whether `table ip <name>` exists, asked of the kernel over NETLINK_NETFILTER (no nft
// process). Throws mydock::Error when the kernel cannot be asked.
bool nftTableExists(const std::string& name);

// Brings the table to `rules` (renderRules()) with one nft run, or none when nothing changes:
// `cacheFile` keeps the rules last applied (callers serialise through their lock). nft runs
// when they differ from `rules`, or when the table is missing (deleted by hand, a reboot),
// which recreates it whole. Most starts and stops run no nft at all; the first container and
// the last one run one each (the masquerade comes and goes), so do published ports.
void syncNft(const std::string& table, const std::string& bridge, const std::vector<std::string>& rules,
             const std::string& cacheFile);

// Removes the table and forgets `cacheFile` (`system prune`).
void deleteNft(const std::string& table, const std::string& cacheFile);

}  // namespace mydock::runtime::net
