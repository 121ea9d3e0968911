// A small rtnetlink client (NETLINK_ROUTE): just the link, address and route requests that
// bridge networking needs, with its own message encoder (no libnl, no `ip`).
// A socket is bound to the network namespace it was created in, so a socket opened from
// inside a container's netns configures that netns from any thread (see openInNetns).
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace mydock::runtime::net {

struct LinkInfo {
    int index = 0;
    std::string name;
    std::string kind;     // "bridge", "veth", ... ("" when the kernel gave none)
    int master = 0;       // ifindex of the bridge it is enslaved to, 0 if none
    unsigned flags = 0;   // IFF_*
    // A veth whose peer's network namespace is being destroyed: the kernel reports its
    // IFLA_LINK_NETNSID as -1 (the id is unhashed first thing in cleanup_net), and removes
    // the link itself about one RCU grace period later.
    bool peerNetnsDying = false;
};

class Netlink {
public:
    // A socket in the caller's (thread's) current network namespace.
    static Netlink open();
    // A socket in the network namespace behind `netnsFd` (an fd of /proc/PID/ns/net).
    static Netlink openInNetns(int netnsFd);

    std::optional<LinkInfo> link(const std::string& name);
    std::vector<LinkInfo> links();

    // Returns false when the link already exists (EEXIST), true when created.
    bool createBridge(const std::string& name);
    // Host end `hostName` enslaved to `masterIndex`; the peer is created directly inside the
    // netns of `peerNetnsFd` under `peerName` (no rename step, no name clash on the host).
    // `peerMac`: the peer's address (derived from its IP by the caller, as docker does, so
    // an address handed to a new container while the old one's netns is still dying answers
    // ARP with the same MAC).
    void createVethPair(const std::string& hostName, int masterIndex, const std::string& peerName,
                        int peerNetnsFd, const std::array<unsigned char, 6>& peerMac);
    // Returns false when there was no such link.
    bool deleteLink(const std::string& name);
    // Waits up to `timeoutMs` for the link to go (the kernel removing it on its own, e.g. with
    // its dying netns); true when it is gone. Woken by the kernel's RTM_DELLINK, not polling.
    bool waitGone(const std::string& name, int timeoutMs);
    void setUp(int index);
    // IPv4 address with prefix; an existing identical address is not an error.
    void addAddress(int index, in_addr addr, int prefixLen);
    void addDefaultRoute(in_addr gateway, int oifIndex);

private:
    explicit Netlink(UniqueFd fd) : fd_(std::move(fd)) {}
    // Sends one request with NLM_F_ACK, returns 0 or the negative errno the kernel answered.
    int transact(std::vector<char>& msg);
    std::vector<LinkInfo> dumpLinks(std::vector<char>& msg, bool single);

    UniqueFd fd_;
    std::uint32_t seq_ = 1;
};

// Parsing helpers, used by the rest of the networking code and its tests.
std::optional<in_addr> parseIPv4(const std::string& s);
std::string formatIPv4(in_addr a);

}  // namespace mydock::runtime::net
