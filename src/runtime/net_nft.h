// The nftables side of bridge networking: one table of mydock's own (`table ip mydock` by
// default). The table, its base chains and the rules that belong to the bridge itself (the
// jumps to `publish`, the route_localnet guard in `input`) are made once and stay, like the
// bridge (kernel hooks are registered and unregistered only then). What comes and goes with
// containers are the rules of two chains: `publish` (a DNAT per published port) and
// `postrouting` (the masquerades, present while at least one container is on the bridge).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/net_ipam.h"
#include "runtime/net_nftnl.h"

namespace mydock::runtime::net {

// The script that creates the table with its chains and fixed rules (applied when the table is
// missing, in the same transaction as the rules).
std::string renderBase(const std::string& table, const std::string& bridge);

// One rule of the per-container chains, in a form that renders both to nft's text (the cache
// file, the `nft -f` path, messages) and to the kernel's expressions (the native batch, the same
// ones nft makes of the text, so `nft list` prints both alike). Matches come in this order.
struct NftRule {
    std::string table, chain;
    std::optional<Subnet> saddr;              // ip saddr NET/PREFIX
    std::optional<std::uint32_t> daddr;       // ip daddr ADDR (host byte order)
    std::string oifname;                      // oifname "NAME" ("" = no match)
    bool oifnameNot = false;                  //   != instead
    std::string proto;                        // tcp|udp dport PORT ("" = no match)
    std::uint16_t dport = 0;
    bool ctStatusDnat = false;                // ct status dnat
    // dnat to ADDR:PORT (host byte order); none = masquerade
    std::optional<std::pair<std::uint32_t, std::uint16_t>> dnatTo;
    std::string comment;                      // comment "TEXT" ("" = none)

    std::string text() const;                 // "add rule ip TABLE CHAIN ..." (no newline)
    std::vector<NftExpr> exprs() const;       // throws mydock::Error on what cannot be encoded
};

// The rules of `leases` for the chains `publish` and `postrouting`, in a fixed order; empty
// with no leases. Throws mydock::Error on an address that does not parse.
std::vector<NftRule> renderRules(const std::string& table, const std::string& bridge, const Subnet& subnet,
                                 const std::vector<Lease>& leases);

// The script that turns a table holding `have` into one holding `want`: only the new rules'
// `add` lines when nothing is to go (adding rules is cheap), else both chains flushed and
// refilled (removing anything costs the kernel an RCU grace period, whatever the form: one
// transaction pays it once). With `tableExists` false the base is created first.
std::string renderChange(const std::string& table, const std::string& bridge, const std::vector<std::string>& have,
                         const std::vector<std::string>& want, bool tableExists);

// The same change as a native batch, for a table that exists: `have` is the text of the rules
// in the kernel (the cache), `want` the rules to reach.
NftBatch renderChangeBatch(const std::string& table, const std::vector<std::string>& have,
                           const std::vector<NftRule>& want);

// The script that removes the table (no error when it is missing).
std::string renderDeleteTable(const std::string& table);

// Runs `nft -f -` with `script` on stdin; throws mydock::Error with nft's message on failure.
void applyNft(const std::string& script);

// Whether `table ip <name>` exists, asked of the kernel over NETLINK_NETFILTER (no nft
// process). Throws mydock::Error when the kernel cannot be asked.
bool nftTableExists(const std::string& name);

// Brings the table to `rules` (renderRules()) with one transaction, or none when nothing
// changes: `cacheFile` keeps the text of the rules last applied (callers serialise through their
// lock). A change goes to the kernel as one native nfnetlink batch (no nft process) when the
// table exists; a missing table (first use, deleted by hand, a reboot) is created whole, base and
// rules, by one `nft -f` run. Most starts and stops change nothing; the first container and the
// last one change the masquerades, so do published ports. A removal's close of the netlink
// socket (an RCU grace period in the kernel) happens in a detached process (net_nftnl.h).
void syncNft(const std::string& table, const std::string& bridge, const std::vector<NftRule>& rules,
             const std::string& cacheFile);

// Removes the table and forgets `cacheFile` (`system prune`).
void deleteNft(const std::string& table, const std::string& cacheFile);

}  // namespace mydock::runtime::net
