// Bridge networking for containers (`--network bridge`, docker's default).
//
// Design note
// - Topology: one Linux bridge per network (`mydock0`, subnet 10.88.0.0/16 by default, the
//   range podman uses and docker does not; "bridge-subnet" in $ROOT/config.json changes it),
//   the gateway .1 on the bridge. Per container a veth pair: host end `veth<8 hex of
//   FNV-1a(id)>` enslaved to the bridge, the peer created directly inside the container's netns
//   as `eth0` (IFLA_NET_NS_FD in the RTM_NEWLINK request: no rename step, no transient name on
//   the host), then address, up, default route via the gateway, lo up.
// - Netlink is our own small encoder (net_netlink.h). The container side is configured through
//   a NETLINK_ROUTE socket opened inside the container's netns by a short-lived thread that
//   setns()es and exits: the socket stays bound to that netns, and no thread of mydock that
//   keeps running ever changes namespace (setns on the main thread would leave mydock half in
//   the container on any error path; a forked helper would need its own error channel).
// - IPAM: /run/mydock/network/<bridge>.leases (JSON), read-modify-write under an exclusive flock
//   on /run/mydock/network/<bridge>.lock, which also serialises bridge creation, nft changes and
//   removal: concurrent mydock processes see one consistent state. Lowest free address first.
//   The bridge and the nft table are host-wide, so their leases are too: not under a state
//   root ($ROOT), or two roots would hand out the same address and delete each other's veths
//   and rules. /run is a tmpfs: leases vanish at reboot together with the kernel state they
//   describe. ($ROOT/config.json still chooses the bridge and the subnet; a bridge other than
//   mydock0 gets its own table, mydock_<bridge>.) MYDOCK_NETWORK_DIR overrides /run/mydock.
//   A lease records the container's pid and its start time: a lease whose process is gone (a
//   container killed with SIGKILL, a mydock that died) is reclaimed by the next attach or
//   cleanupStale(), together with its veth and rules. The lock file itself is never removed
//   (a process waiting on an unlinked lock would not exclude the next one).
// - Lifetime (issue 6): the bridge and the nft table with its base chains are made by the first
//   attach and then stay, as docker keeps docker0 and its chains: deleting a netdev waits for
//   RCU/synchronize_net (40-70 ms here) and (un)registering base chains on netfilter hooks
//   costs 15-30 ms per transaction, which a lone `run --rm` paid twice. Only rules come and
//   go: the masquerades while at least one container is on the bridge, a DNAT per published
//   port with its container. `mydock system prune` removes the bridge and the table when no
//   lease is left (pruneNetwork()). route_localnet=1 stays with the bridge, and so does the
//   table's input guard against it (below). A veth goes with its container's netns: the
//   kernel's netns cleanup removes it one RCU grace period (~10 ms) after the container's last
//   process, while an RTM_DELLINK from mydock would wait for synchronize_net and an
//   rcu_barrier (10-20 ms). So the end of a run releases the lease and the rules and leaves
//   the veth to the kernel (the caller does not wait the grace period); `rm` waits for it (up
//   to 15 ms, then deletes it). The container's MAC is derived from its address (02:42:<ip>,
//   as docker does), so an address handed on while the previous holder's veth is still dying
//   answers ARP with the same MAC. A run does not sweep veths without a lease (attach only
//   reclaims the leases of dead containers): right after a run they are the previous run's,
//   still on their way out. cleanupStale() (`rm`, `system prune`) deletes them, except those
//   the kernel already reports dying (IFLA_LINK_NETNSID -1).
// - NAT: nftables, in a table of mydock's own (`table ip mydock`). The table with its base
//   chains (hooks, fib, ct state: made once per bridge lifetime) is created by the `nft`
//   binary (package nftables) from a script, in one transaction. The rules that come and go
//   with containers are sent by mydock's own nfnetlink client (net_nftnl.h) as one batch, one
//   transaction: no process, ~0.5 ms. The rules are rendered whole from the lease table; the
//   rules last applied are kept beside the leases, and rules change only when they differ
//   (see syncNft): with the first and last container and with published ports. Additions
//   are sent alone; any removal flushes and refills `publish` and `postrouting` in one
//   transaction (no handle lookup, no drift). Measured (kernel 6.18): a removal's cost is
//   not the commit but the close of the netlink socket, where the kernel flushes the
//   destruction of deleted rules (an RCU grace period, ~10 ms) holding nf_tables' commit
//   mutex; so the socket is closed by a short-lived detached process after waiting a grace
//   period on its own (net_nftnl.h): neither the caller nor the next transaction waits.
//   Outbound MASQUERADE for the subnet. ip_forward is set to 1 and left so (as docker does:
//   restoring an "old" value would break whatever else enabled forwarding meanwhile). No
//   filter rules are added: a host whose own forward policy is DROP must allow the bridge.
// - Published ports (-p): DNAT in prerouting (other hosts) and output (the host itself) for
//   packets to a local address, plus route_localnet=1 on the bridge only and a masquerade for
//   loopback sources so 127.0.0.1:PORT works, and a hairpin masquerade. Chosen over a userland
//   proxy because mydock has no daemon: a proxy would be one more long-lived process per port
//   to supervise and clean after a SIGKILL, while rules live in the kernel at wire speed and
//   keep the client's source address. Host ports are checked against other leases and by a
//   bind test, so a port taken by a host service or another container is refused.
// - Everything is idempotent: attach removes a stale veth of the same name and recreates a
//   bridge or table removed behind its back; detach of a missing lease or link is not an
//   error; cleanupStale() and prune() can run any time.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "runtime/net_ipam.h"
#include "runtime/net_ports.h"

namespace mydock::runtime::net {

struct BridgeConfig {
    std::string bridge = "mydock0";
    std::string subnet = "10.88.0.0/16";
    std::string nftTable = "mydock";
    // Defaults overridden by $ROOT/config.json keys "bridge-name" and "bridge-subnet" (the
    // table is then "mydock_<bridge>").
    static BridgeConfig fromRoot(const std::string& root);
};

class BridgeNetwork;

// One container's place on the bridge. Its destructor (or detach()) removes the container's
// rules and its lease, and leaves its veth to go with its dead netns (VethWait::Leave);
// release() hands that duty to a later detach by id (a detached container's monitor, `rm`, or
// cleanupStale()).
class Attachment {
public:
    Attachment() = default;
    Attachment(Attachment&& o) noexcept { *this = std::move(o); }
    Attachment& operator=(Attachment&& o) noexcept;
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;
    ~Attachment();

    void detach();   // throws on failure; afterwards the object is empty
    void release() { armed_ = false; }

    const std::string& containerId() const { return id_; }
    const std::string& ip() const { return ip_; }            // "10.88.0.2"
    const std::string& gateway() const { return gateway_; }  // "10.88.0.1"
    int prefixLength() const { return prefix_; }
    const std::string& hostVeth() const { return veth_; }
    const std::vector<PortMapping>& ports() const { return ports_; }  // host ports resolved

private:
    friend class BridgeNetwork;
    std::string root_;
    BridgeConfig cfg_;
    std::string id_, ip_, gateway_, veth_;
    int prefix_ = 0;
    std::vector<PortMapping> ports_;
    bool armed_ = false;
};

class BridgeNetwork {
public:
    // `dir` holds network/<bridge>.{leases,lock}: hostNetworkDir() outside of tests.
    static BridgeNetwork open(const std::string& dir, BridgeConfig cfg);

    // Puts the netns of `childPid` (a process already in its own network namespace, not yet
    // running the user's command) on the bridge. Throws mydock::Error; on failure nothing is
    // left behind.
    Attachment attach(const std::string& containerId, pid_t childPid,
                      const std::vector<PortMapping>& ports);
    // Removes a container's lease and rules by id (no-op when it has none), and its veth:
    // Wait: gone when this returns (`rm`); Leave: a dead container's veth is left to the kernel,
    // which removes it with the container's netns about one RCU grace period later (the end
    // of `run`: nobody waits ~10 ms for it). A running container's veth is deleted either way.
    enum class VethWait { Wait, Leave };
    void detach(const std::string& containerId, VethWait wait);
    // Removes leftovers of containers that died without teardown: leases whose process is
    // gone, veths on the bridge without a lease, then brings the rules in line. The bridge and
    // the table stay (see prune()).
    void cleanupStale();
    // cleanupStale(), then, when no lease is left, removes the bridge and the nft table (with
    // its now empty chains). True when it removed something. `system prune`.
    bool prune();
    // The lease of a container (its address and resolved ports), nullopt when it has none.
    std::optional<Lease> lease(const std::string& containerId) const;

    const BridgeConfig& config() const { return cfg_; }
    std::string leaseFile() const;
    static std::string hostVethName(const std::string& containerId);

private:
    BridgeNetwork(std::string root, BridgeConfig cfg, Subnet subnet)
        : root_(std::move(root)), cfg_(std::move(cfg)), subnet_(subnet) {}
    std::string lockFile() const;
    std::string nftCacheFile() const;   // the rules last applied (see syncNft)

    std::string root_;
    BridgeConfig cfg_;
    Subnet subnet_;
};

// Where the host's leases and locks live (`network/` below it): /run/mydock, or
// $MYDOCK_NETWORK_DIR when set to an absolute path.
std::string hostNetworkDir();

// The functions below take the state root ($ROOT) for its config.json and keep the leases in
// hostNetworkDir().
// For `system prune`: BridgeNetwork::prune() on the bridge of `root`; the bridge's name when
// it removed it (or its table), else "".
std::string pruneNetwork(const std::string& root);

// For `rm`: takes a container off the bridge of `root` by id (its lease, veth and rules, when
// it still has them), then collects what dead containers left. Cheap when there is nothing.
void forgetContainer(const std::string& root, const std::string& containerId);

// The whole bridge step of `run`, for the parent between clone() and releasing the child
// to its command: parses the `-p` values, attaches the child's netns to the bridge of
// `stateRoot` (config.json's settings), and rewrites `containerDir`/hosts in place for the
// container's address.
Attachment attachContainer(const std::string& stateRoot, const std::string& containerId, pid_t childPid,
                           const std::vector<std::string>& publishFlags, const std::string& containerDir,
                           const std::string& hostname);

}  // namespace mydock::runtime::net
