// Published ports: docker's `-p/--publish` grammar and the choice of host ports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mydock::runtime::net {

struct PortMapping {
    std::string hostIp;              // "" = every host address (docker's 0.0.0.0)
    std::uint16_t hostPort = 0;      // 0 = pick a free port at attach time
    std::uint16_t hostPortEnd = 0;   // a host range for one container port: pick a free one in
                                     // [hostPort, hostPortEnd]; 0 = no range
    std::uint16_t containerPort = 0;
    std::string proto = "tcp";       // "tcp" or "udp"

    bool operator==(const PortMapping&) const = default;
};

// Parses one `-p` value into one mapping per container port. Accepted (docker's forms):
//   PORT | HOSTPORT:PORT | IP:HOSTPORT:PORT | IP::PORT | :PORT    each with /tcp or /udp
//   ranges: 8000-8002:80-82 (same length, pairwise), 8000-8010:80 (one free host port of the
//   range), 80-82 (random host ports), IP::80-82.
// IPv6 host addresses are rejected (mydock's bridge is IPv4 only). Throws mydock::Error.
std::vector<PortMapping> parsePortSpec(const std::string& spec);

// "127.0.0.1:18080->80/tcp" (docker ps's form; "0.0.0.0" for every address).
std::string formatMapping(const PortMapping& m);

// True when nothing on the host is bound to ip:port/proto right now (a bind test).
bool hostPortFree(const std::string& hostIp, std::uint16_t port, const std::string& proto);
// A port the kernel chooses as free (bind to port 0), for `-p 80`.
std::uint16_t pickFreeHostPort(const std::string& hostIp, const std::string& proto);

}  // namespace mydock::runtime::net
