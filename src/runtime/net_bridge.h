// Bridge networking for containers (`--network bridge`, docker's default).
//
// Design note
// - Topology: one Linux bridge per network (`mydock0`, subnet 10.88.0.0/16 by default, the
//   range podman uses and docker does not; "bridge-subnet" in $ROOT/config.json changes it),
//   the gateway .1 on the bridge. Per container a veth pair: host end `veth<8 hex of
//   sha256(id)>` enslaved to the bridge, the peer created directly inside the container's netns
//   as `eth0` (IFLA_NET_NS_FD in the RTM_NEWLINK request: no rename step, no transient name on
//   the host), then address, up, default route via the gateway, lo up.
// - Netlink is our own small encoder (net_netlink.h). The container side is configured through
//   a NETLINK_ROUTE socket opened inside the container's netns by a short-lived thread that
//   setns()es and exits: the socket stays bound to that netns, and no thread of mydock that
//   keeps running ever changes namespace (setns on the main thread would leave mydock half in
//   the container on any error path; a forked helper would need its own error channel).
// - IPAM: $ROOT/network/<bridge>.leases (JSON), read-modify-write under an exclusive flock on
//   $ROOT/network/<bridge>.lock, which also serialises bridge creation, nft changes and
//   removal: concurrent mydock processes see one consistent state. Lowest free address first.
//   A lease records the container's pid and its start time: a lease whose process is gone (a
//   container killed with SIGKILL, a mydock that died) is reclaimed by the next attach or
//   cleanupStale(), together with its veth and rules.
// - NAT: nftables, in a table of mydock's own (`table ip mydock`), regenerated whole from the
//   lease table and applied by the `nft` binary (package nftables) reading a script on stdin.
//   One `nft -f` run is one kernel transaction, so the table is never seen half-written; the
//   binary rather than libnftables keeps mydock free of one more shared library for a step
//   that runs once per container start/stop (never per packet). Outbound MASQUERADE for the
//   subnet; the table (and the bridge) exist while at least one lease does, and go with the
//   last one. ip_forward is set to 1 and left so (as docker does: restoring an "old" value
//   would break whatever else enabled forwarding meanwhile). No filter rules are added: a
//   host whose own forward policy is DROP must allow the bridge itself.
// - Published ports (-p): DNAT in prerouting (other hosts) and output (the host itself) for
//   packets to a local address, plus route_localnet=1 on the bridge only and a masquerade for
//   loopback sources so 127.0.0.1:PORT works, and a hairpin masquerade. Chosen over a userland
//   proxy because mydock has no daemon: a proxy would be one more long-lived process per port
//   to supervise and clean after a SIGKILL, while rules live in the kernel at wire speed and
//   keep the client's source address. Host ports are checked against other leases and by a
//   bind test, so a port taken by a host service or another container is refused.
// - Everything is idempotent: attach removes a stale veth of the same name; detach of a
//   missing lease or link is not an error; cleanupStale() can run any time.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/net_ipam.h"
#include "runtime/net_ports.h"

namespace mydock::runtime::net {

struct BridgeConfig {
    std::string bridge = "mydock0";
    std::string subnet = "10.88.0.0/16";
    std::string nftTable = "mydock";
    // Defaults overridden by $ROOT/config.json keys "bridge-name" and "bridge-subnet".
    static BridgeConfig fromRoot(const std::string& root);
};

class BridgeNetwork;

// One container's place on the bridge. Its destructor (or detach()) removes the veth, the
// container's rules and its lease; release() hands that duty to a later detach by id (a
// detached container's monitor, `rm`, or cleanupStale()).
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
    static BridgeNetwork open(const std::string& root, BridgeConfig cfg);

    // Puts the netns of `childPid` (a process already in its own network namespace, not yet
    // running the user's command) on the bridge. Throws mydock::Error; on failure nothing is
    // left behind.
    Attachment attach(const std::string& containerId, pid_t childPid,
                      const std::vector<PortMapping>& ports);
    // Removes a container's veth, rules and lease by id (no-op when it has none).
    void detach(const std::string& containerId);
    // Removes leftovers of containers that died without teardown: leases whose process is
    // gone, veths on the bridge without a lease, then rebuilds the rules; removes the bridge
    // and the nft table when no lease is left.
    void cleanupStale();

    const BridgeConfig& config() const { return cfg_; }
    std::string leaseFile() const;
    static std::string hostVethName(const std::string& containerId);

private:
    BridgeNetwork(std::string root, BridgeConfig cfg, Subnet subnet)
        : root_(std::move(root)), cfg_(std::move(cfg)), subnet_(subnet) {}
    std::string lockFile() const;

    std::string root_;
    BridgeConfig cfg_;
    Subnet subnet_;
};

// Convenience for the run path: BridgeNetwork::open(root, BridgeConfig::fromRoot(root)).cleanupStale().
void cleanupStale(const std::string& root);

// The whole bridge step of `run`, for the parent between clone() and releasing the child
// (before the child bind-mounts its /etc files): parses the `-p` values, attaches the
// child's netns to the bridge of `stateRoot` (config.json's settings), and writes
// `containerDir`/hosts and resolv.conf for the container's address.
Attachment attachContainer(const std::string& stateRoot, const std::string& containerId, pid_t childPid,
                           const std::vector<std::string>& publishFlags, const std::string& containerDir,
                           const std::string& hostname);

}  // namespace mydock::runtime::net
