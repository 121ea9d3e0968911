#include "runtime/net_bridge.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/lock.h"
#include "common/log.h"
#include "runtime/net_files.h"
#include "runtime/net_netlink.h"
#include "runtime/net_nft.h"

namespace mydock::runtime::net {
namespace {

bool validName(const std::string& s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
    return true;
}

void writeSysctl(const std::string& path, const std::string& value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        throwErrno("write " + path);
}

in_addr toInAddr(std::uint32_t hostOrder) { return in_addr{htonl(hostOrder)}; }

// A container's MAC from its address, as docker does (02:42:<ip>): locally administered,
// unique on the bridge, and the same for whoever holds the address. A lease can be handed on
// while the previous holder's netns is still being destroyed (its veth goes a grace period
// later): both then answer ARP for the address with this one MAC.
std::array<unsigned char, 6> macFor(std::uint32_t hostOrderIp) {
    return {0x02, 0x42, static_cast<unsigned char>(hostOrderIp >> 24), static_cast<unsigned char>(hostOrderIp >> 16),
            static_cast<unsigned char>(hostOrderIp >> 8), static_cast<unsigned char>(hostOrderIp)};
}

bool portsClash(const PortMapping& a, const PortMapping& b) {
    return a.proto == b.proto && a.hostPort == b.hostPort &&
           (a.hostIp.empty() || b.hostIp.empty() || a.hostIp == b.hostIp);
}

// Chooses the host ports of `wanted`, refusing ports that other leases publish or that a
// host process holds (docker's message).
std::vector<PortMapping> resolvePorts(const std::vector<PortMapping>& wanted, const LeaseTable& table) {
    std::vector<PortMapping> taken;
    for (const auto& l : table.leases()) taken.insert(taken.end(), l.ports.begin(), l.ports.end());
    auto isTaken = [&](const PortMapping& m) {
        for (const auto& t : taken)
            if (portsClash(t, m)) return true;
        return false;
    };
    std::vector<PortMapping> out;
    for (PortMapping m : wanted) {
        if (m.containerPort == 0) throw Error("invalid published port: container port 0");
        if (m.hostPort == 0) {
            for (int tries = 0; m.hostPort == 0 && tries < 64; ++tries) {
                m.hostPort = pickFreeHostPort(m.hostIp, m.proto);
                if (isTaken(m)) m.hostPort = 0;
            }
            if (m.hostPort == 0) throw Error("no free host port for " + std::to_string(m.containerPort));
        } else if (m.hostPortEnd) {
            std::uint16_t first = m.hostPort, last = m.hostPortEnd;
            m.hostPort = 0;
            for (unsigned p = first; p <= last && m.hostPort == 0; ++p) {
                PortMapping c = m;
                c.hostPort = static_cast<std::uint16_t>(p);
                if (!isTaken(c) && hostPortFree(c.hostIp, c.hostPort, c.proto)) m.hostPort = c.hostPort;
            }
            if (m.hostPort == 0)
                throw Error("no free host port in " + std::to_string(first) + "-" + std::to_string(last));
        } else if (isTaken(m) || !hostPortFree(m.hostIp, m.hostPort, m.proto)) {
            throw Error("Bind for " + (m.hostIp.empty() ? std::string("0.0.0.0") : m.hostIp) + ":" +
                        std::to_string(m.hostPort) + " failed: port is already allocated");
        }
        m.hostPortEnd = 0;
        taken.push_back(m);
        out.push_back(m);
    }
    return out;
}

// The state of one bridge, held under its lock for as long as this object lives.
struct LockedState {
    FileLock lock;
    LeaseTable table;
    std::string path;

    LockedState(const std::string& lockPath, const std::string& leasePath, const Subnet& subnet)
        : lock(lockPath, FileLock::Mode::Exclusive), table(subnet), path(leasePath) {
        std::string text;
        fs::readFileIfExists(path, text);
        try {
            table = LeaseTable::parse(subnet, text);
        } catch (const Error&) {
            rethrowWithContext(path);
        }
    }
    void save() {
        // Atomic (rename) but not durable: the leases describe kernel state (veths, rules)
        // that a crash of the host takes with it, and /run is a tmpfs anyway.
        if (table.empty()) ::unlink(path.c_str());
        else fs::writeFileAtomic(path, table.serialize(), false, 0600);
    }
};

// Brings the rules in line with the lease table. The bridge and the table stay when the last
// lease goes (see net_bridge.h): only `system prune` removes them.
void syncKernel(const BridgeConfig& cfg, const Subnet& subnet, const LeaseTable& table, const std::string& nftCache) {
    syncNft(cfg.nftTable, cfg.bridge, renderRules(cfg.nftTable, cfg.bridge, subnet, table.leases()), nftCache);
}

void removeVeth(Netlink& nl, const std::string& name) {
    if (name.empty()) return;
    try {
        nl.deleteLink(name);
    } catch (const Error& e) {
        log::warn(std::string("remove ") + name + ": " + e.what());
    }
}

}  // namespace

BridgeConfig BridgeConfig::fromRoot(const std::string& root) {
    BridgeConfig c;
    std::string text;
    if (!fs::readFileIfExists(fs::join(root, "config.json"), text)) return c;
    try {
        auto j = nlohmann::json::parse(text);
        if (j.contains("bridge-subnet")) c.subnet = j.at("bridge-subnet").get<std::string>();
        if (j.contains("bridge-name")) c.bridge = j.at("bridge-name").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(fs::join(root, "config.json") + ": " + e.what());
    }
    // One table per bridge: another bridge must never rewrite mydock0's rules.
    if (c.bridge != "mydock0") {
        c.nftTable = "mydock_";
        for (char ch : c.bridge) c.nftTable += ch == '-' ? '_' : ch;
    }
    return c;
}

std::string hostNetworkDir() {
    const char* env = std::getenv("MYDOCK_NETWORK_DIR");
    return env && *env == '/' ? std::string(env) : std::string("/run/mydock");
}

BridgeNetwork BridgeNetwork::open(const std::string& root, BridgeConfig cfg) {
    if (!validName(cfg.bridge, IFNAMSIZ - 1)) throw Error("invalid bridge name \"" + cfg.bridge + "\"");
    if (!validName(cfg.nftTable, 64)) throw Error("invalid nft table name \"" + cfg.nftTable + "\"");
    Subnet subnet = Subnet::parse(cfg.subnet);
    fs::makeDirs(fs::join(root, "network"), 0700);
    return BridgeNetwork(root, std::move(cfg), subnet);
}

std::string BridgeNetwork::leaseFile() const {
    return fs::join(fs::join(root_, "network"), cfg_.bridge + ".leases");
}
std::string BridgeNetwork::nftCacheFile() const {
    return fs::join(fs::join(root_, "network"), cfg_.bridge + ".nft");
}
std::string BridgeNetwork::lockFile() const {
    return fs::join(fs::join(root_, "network"), cfg_.bridge + ".lock");
}

std::string BridgeNetwork::hostVethName(const std::string& containerId) {
    // A stable 32-bit name from the id: FNV-1a rather than SHA-256, so a bridged run does not
    // load and initialise libcrypto (~2 ms) for a name (ids are random: no adversary here).
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : containerId) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "veth%08x", static_cast<unsigned>((h >> 32) ^ h));
    return buf;
}

Attachment BridgeNetwork::attach(const std::string& containerId, pid_t childPid,
                                 const std::vector<PortMapping>& ports) {
    if (containerId.empty()) throw Error("attach: empty container id");
    std::string nsPath = "/proc/" + std::to_string(childPid) + "/ns/net";
    // An fd of the container's netns: it pins the namespace while we configure it and names it
    // to the kernel without a pid race.
    UniqueFd netns(::open(nsPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) throwErrno("open " + nsPath);
    struct stat mine{}, theirs{};
    if (::stat("/proc/self/ns/net", &mine) != 0 || ::fstat(netns.get(), &theirs) != 0)
        throwErrno("stat network namespace");
    if (mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev)
        throw Error("process " + std::to_string(childPid) + " shares the host's network namespace");
    std::uint64_t start = processStartTime(childPid);
    if (start == 0) throw Error("process " + std::to_string(childPid) + " is gone");

    LockedState st(lockFile(), leaseFile(), subnet_);
    Netlink nl = Netlink::open();
    for (const auto& dead : st.table.reclaim(leaseProcessAlive)) removeVeth(nl, dead.veth);

    Lease& lease = st.table.allocate(containerId);
    lease.pid = childPid;
    lease.startTime = start;
    lease.veth = hostVethName(containerId);
    lease.ports = resolvePorts(ports, st.table);
    Lease mine_ = lease;  // a copy: the table may move its elements

    try {
        // The bridge with the gateway address, up; EEXIST paths make this idempotent.
        nl.createBridge(cfg_.bridge);
        auto br = nl.link(cfg_.bridge);
        if (!br) throw Error("bridge " + cfg_.bridge + " vanished");
        if (br->kind != "bridge") throw Error(cfg_.bridge + " exists and is not a bridge");
        nl.addAddress(br->index, toInAddr(subnet_.gateway()), subnet_.prefix);
        nl.setUp(br->index);
        // Routing between the bridge and the world; left at 1 afterwards (see net_bridge.h).
        writeSysctl("/proc/sys/net/ipv4/ip_forward", "1");
        // Lets DNATed packets with a 127.0.0.1 source leave through the bridge (-p on loopback);
        // only this bridge gets it.
        writeSysctl("/proc/sys/net/ipv4/conf/" + cfg_.bridge + "/route_localnet", "1");

        nl.deleteLink(mine_.veth);  // a leftover of the same id (idempotent re-attach)
        auto ip = ipFromString(mine_.ip);
        nl.createVethPair(mine_.veth, br->index, "eth0", netns.get(), macFor(*ip));
        auto host = nl.link(mine_.veth);
        if (!host) throw Error("veth " + mine_.veth + " vanished");
        nl.setUp(host->index);

        Netlink inside = Netlink::openInNetns(netns.get());
        if (auto lo = inside.link("lo")) inside.setUp(lo->index);
        auto eth0 = inside.link("eth0");
        if (!eth0) throw Error("eth0 missing in the container");
        inside.addAddress(eth0->index, toInAddr(*ip), subnet_.prefix);
        inside.setUp(eth0->index);
        inside.addDefaultRoute(toInAddr(subnet_.gateway()), eth0->index);

        st.save();
        syncKernel(cfg_, subnet_, st.table, nftCacheFile());
    } catch (...) {
        // Leave nothing behind: the veth, the lease, the rules as they were.
        removeVeth(nl, mine_.veth);
        st.table.release(containerId);
        try {
            st.save();
            syncKernel(cfg_, subnet_, st.table, nftCacheFile());
        } catch (const Error& e) {
            log::warn(std::string("undo network attach: ") + e.what());
        }
        rethrowWithContext("connect container to " + cfg_.bridge);
    }

    Attachment a;
    a.root_ = root_;
    a.cfg_ = cfg_;
    a.id_ = containerId;
    a.ip_ = mine_.ip;
    a.gateway_ = ipToString(subnet_.gateway());
    a.prefix_ = subnet_.prefix;
    a.veth_ = mine_.veth;
    a.ports_ = mine_.ports;
    a.armed_ = true;
    return a;
}

void BridgeNetwork::detach(const std::string& containerId, VethWait wait) {
    LockedState st(lockFile(), leaseFile(), subnet_);
    Netlink nl = Netlink::open();
    auto gone = st.table.release(containerId);
    std::string veth = gone ? gone->veth : hostVethName(containerId);
    if (gone && leaseProcessAlive(*gone)) {
        // Still running (an attach being undone): its netns lives on, so must we delete.
        removeVeth(nl, veth);
    } else if (wait == VethWait::Wait) {
        // The container is gone, and so is its netns unless someone pins it: the kernel's
        // netns cleanup removes both ends of the veth (after an RCU grace period, ~10 ms),
        // while an RTM_DELLINK from here would wait for synchronize_net and an rcu_barrier
        // (10-20 ms). Give the kernel 15 ms first, then delete it ourselves.
        if (nl.link(veth) && !nl.waitGone(veth, 15)) removeVeth(nl, veth);
    }
    // VethWait::Leave: the kernel removes it with the dying netns; a netns somebody pinned
    // leaves an unleased veth with a live peer, which the next cleanupStale() deletes.
    // No lease: the rules do not change, so no nft run (`rm` of a container that never was on
    // the bridge costs nothing).
    if (!gone) return;
    st.save();
    syncKernel(cfg_, subnet_, st.table, nftCacheFile());
}

std::optional<Lease> BridgeNetwork::lease(const std::string& containerId) const {
    LockedState st(lockFile(), leaseFile(), subnet_);
    if (const Lease* l = st.table.find(containerId)) return *l;
    return std::nullopt;
}

void BridgeNetwork::cleanupStale() {
    LockedState st(lockFile(), leaseFile(), subnet_);
    // Temporary files of an atomic write whose writer was killed: under the lock no write of
    // this bridge is in progress, so every one of them is garbage.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(fs::join(root_, "network"), ec)) {
        std::string name = e.path().filename().string();
        for (const std::string& f : {cfg_.bridge + ".leases.tmp-", cfg_.bridge + ".nft.tmp-"})
            if (name.rfind(f, 0) == 0) ::unlink(e.path().c_str());
    }
    Netlink nl = Netlink::open();
    auto reclaimed = st.table.reclaim(leaseProcessAlive);
    for (const auto& dead : reclaimed) removeVeth(nl, dead.veth);
    auto br = nl.link(cfg_.bridge);
    bool changed = !reclaimed.empty();
    if (br) {
        for (const auto& l : nl.links()) {
            // A veth whose peer netns is dying goes by itself (a container that just ended;
            // its detach did not wait): deleting it here would wait a grace period for nothing.
            // Best effort: the kernel reports it only once its netns cleanup has started,
            // which queues behind earlier ones; before that it is deleted like any other.
            if (l.master != br->index || l.kind != "veth" || l.peerNetnsDying) continue;
            bool leased = false;
            for (const auto& lease : st.table.leases()) leased = leased || lease.veth == l.name;
            if (!leased) {
                removeVeth(nl, l.name);
                changed = true;
            }
        }
    }
    // Nothing reclaimed: the rules already match the leases (every change of the table is
    // applied under this lock), so `run` pays no nft process here. With no bridge and no
    // lease (never used, or pruned) there is no table to look at either.
    if (!changed) return;
    st.save();
    if (!br && st.table.empty()) return;
    syncKernel(cfg_, subnet_, st.table, nftCacheFile());
}

bool BridgeNetwork::prune() {
    cleanupStale();   // dead containers' leases and veths, veths without a lease
    LockedState st(lockFile(), leaseFile(), subnet_);
    if (!st.table.empty()) return false;   // in use (a container may have come meanwhile)
    Netlink nl = Netlink::open();
    bool removed = false;
    // The bridge first: with it gone no packet can need the table's route_localnet guard.
    // Unregistering the netdev waits for RCU (tens of ms): the price docker pays never.
    if (nl.link(cfg_.bridge)) {
        nl.deleteLink(cfg_.bridge);
        removed = true;
    }
    removed = nftTableExists(cfg_.nftTable) || removed;
    deleteNft(cfg_.nftTable, nftCacheFile());
    return removed;
}

std::string pruneNetwork(const std::string& root) {
    // No network dir: no bridge was made since boot, and nothing is created here (prune works
    // for images on hosts, or as users, that never ran a bridged container).
    if (!fs::exists(fs::join(hostNetworkDir(), "network"))) return {};
    BridgeNetwork net = BridgeNetwork::open(hostNetworkDir(), BridgeConfig::fromRoot(root));
    return net.prune() ? net.config().bridge : std::string();
}

void forgetContainer(const std::string& root, const std::string& containerId) {
    BridgeNetwork net = BridgeNetwork::open(hostNetworkDir(), BridgeConfig::fromRoot(root));
    // `rm` promises that nothing of the container is left when it returns: its veth included.
    net.detach(containerId, BridgeNetwork::VethWait::Wait);
    net.cleanupStale();
}

Attachment attachContainer(const std::string& stateRoot, const std::string& containerId, pid_t childPid,
                           const std::vector<std::string>& publishFlags, const std::string& containerDir,
                           const std::string& hostname) {
    std::vector<PortMapping> ports;
    for (const auto& f : publishFlags) {
        auto v = parsePortSpec(f);
        ports.insert(ports.end(), v.begin(), v.end());
    }
    Attachment a = BridgeNetwork::open(hostNetworkDir(), BridgeConfig::fromRoot(stateRoot))
                       .attach(containerId, childPid, ports);
    writeHostsFile(containerDir, a.ip(), hostname);
    return a;
}

Attachment& Attachment::operator=(Attachment&& o) noexcept {
    if (this != &o) {
        if (armed_) {
            try { detach(); } catch (...) {}
        }
        root_ = std::move(o.root_);
        cfg_ = std::move(o.cfg_);
        id_ = std::move(o.id_);
        ip_ = std::move(o.ip_);
        gateway_ = std::move(o.gateway_);
        veth_ = std::move(o.veth_);
        prefix_ = o.prefix_;
        ports_ = std::move(o.ports_);
        armed_ = std::exchange(o.armed_, false);
    }
    return *this;
}

Attachment::~Attachment() {
    if (!armed_) return;
    try {
        detach();
    } catch (const std::exception& e) {
        log::warn(std::string("network teardown of ") + id_ + ": " + e.what());
    }
}

void Attachment::detach() {
    if (!armed_) return;
    armed_ = false;
    // The end of a run: the lease and the rules go now; the veth goes with the container's
    // netns a grace period later (see net_bridge.h), without the caller waiting for it.
    BridgeNetwork::open(root_, cfg_).detach(id_, BridgeNetwork::VethWait::Leave);
}

}  // namespace mydock::runtime::net
