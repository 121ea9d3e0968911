// IPAM for a bridge: the lease table ($ROOT/network/<bridge>.leases, JSON) that concurrent mydock
// processes share under a flock. A lease is tied to the container's pid and that pid's start
// time, so a lease whose container died (even by SIGKILL, with no teardown) is reclaimable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/net_ports.h"

namespace mydock::runtime::net {

struct Subnet {
    std::uint32_t network = 0;  // host byte order
    int prefix = 0;
    static Subnet parse(const std::string& cidr);  // "10.88.0.0/16"; throws mydock::Error
    std::uint32_t gateway() const { return network + 1; }
    std::uint32_t broadcast() const { return network | ~mask(); }
    std::uint32_t mask() const { return prefix == 0 ? 0 : ~0u << (32 - prefix); }
    bool contains(std::uint32_t a) const { return (a & mask()) == network; }
    std::string str() const;
};

std::string ipToString(std::uint32_t hostOrder);
std::optional<std::uint32_t> ipFromString(const std::string& s);

struct Lease {
    std::string ip;
    std::string containerId;
    pid_t pid = 0;
    std::uint64_t startTime = 0;   // field 22 of /proc/PID/stat: tells a reused pid apart
    std::string veth;              // host end
    std::vector<PortMapping> ports;  // resolved (host ports chosen)
};

class LeaseTable {
public:
    explicit LeaseTable(Subnet subnet) : subnet_(subnet) {}
    static LeaseTable parse(Subnet subnet, const std::string& json);  // "" = empty table
    std::string serialize() const;

    // The lowest free address (gateway, network and broadcast excluded); throws when full.
    // A container that already holds a lease gets an error (ids are unique).
    Lease& allocate(const std::string& containerId);
    std::optional<Lease> release(const std::string& containerId);
    // Removes and returns every lease whose container `alive` says is gone.
    std::vector<Lease> reclaim(const std::function<bool(const Lease&)>& alive);

    const Lease* find(const std::string& containerId) const;
    const std::vector<Lease>& leases() const { return leases_; }
    bool empty() const { return leases_.empty(); }
    const Subnet& subnet() const { return subnet_; }

private:
    Subnet subnet_;
    std::vector<Lease> leases_;
};

// Start time of a process (0 when it does not exist or is a zombie), and the liveness rule leases use.
std::uint64_t processStartTime(pid_t pid);
bool leaseProcessAlive(const Lease& l);

}  // namespace mydock::runtime::net
