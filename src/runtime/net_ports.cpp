#include "runtime/net_ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "common/error.h"
#include "common/unique_fd.h"

namespace mydock::runtime::net {
namespace {

[[noreturn]] void bad(const std::string& spec, const std::string& why) {
    throw Error("invalid publish spec \"" + spec + "\": " + why);
}

std::uint16_t parsePort(const std::string& spec, const std::string& s, bool allowZero) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 65535 || (!allowZero && v == 0))
        bad(spec, "invalid port \"" + s + "\"");
    return static_cast<std::uint16_t>(v);
}

// "80" or "80-82" -> [first, last]; "" -> [0, 0] when allowed.
std::pair<std::uint16_t, std::uint16_t> parseRange(const std::string& spec, const std::string& s) {
    auto dash = s.find('-');
    if (dash == std::string::npos) {
        auto p = parsePort(spec, s, false);
        return {p, p};
    }
    auto a = parsePort(spec, s.substr(0, dash), false);
    auto b = parsePort(spec, s.substr(dash + 1), false);
    if (b < a) bad(spec, "invalid range " + s);
    return {a, b};
}

UniqueFd bindTest(const std::string& hostIp, std::uint16_t port, const std::string& proto) {
    // A socket only to ask the kernel whether the address is free; it is closed at once.
    UniqueFd fd(::socket(AF_INET, (proto == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
    if (!fd) throwErrno("socket");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (hostIp.empty()) sa.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (::inet_pton(AF_INET, hostIp.c_str(), &sa.sin_addr) != 1) throw Error("invalid host IP " + hostIp);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        if (errno == EADDRINUSE) return UniqueFd();
        // EADDRNOTAVAIL & co: the host IP is not one of this host's addresses.
        throwErrno("publish on " + (hostIp.empty() ? std::string("0.0.0.0") : hostIp) + ":" + std::to_string(port));
    }
    return fd;
}

}  // namespace

std::vector<PortMapping> parsePortSpec(const std::string& spec) {
    std::string s = spec;
    std::string proto = "tcp";
    if (auto slash = s.rfind('/'); slash != std::string::npos) {
        proto = s.substr(slash + 1);
        s.resize(slash);
        if (proto != "tcp" && proto != "udp") bad(spec, "unsupported protocol \"" + proto + "\" (tcp or udp)");
    }
    if (s.empty()) bad(spec, "no port");
    if (s.front() == '[' || std::count(s.begin(), s.end(), ':') > 2)
        bad(spec, "IPv6 host addresses are not supported");
    std::string ip, host, ctr;
    auto last = s.rfind(':');
    if (last == std::string::npos) {
        ctr = s;
    } else {
        ctr = s.substr(last + 1);
        std::string rest = s.substr(0, last);
        auto first = rest.rfind(':');
        if (first == std::string::npos) host = rest;
        else { ip = rest.substr(0, first); host = rest.substr(first + 1); }
    }
    if (!ip.empty()) {
        in_addr a{};
        if (::inet_pton(AF_INET, ip.c_str(), &a) != 1) bad(spec, "invalid host IP \"" + ip + "\"");
        if (ip == "0.0.0.0") ip.clear();
    }
    auto [c0, c1] = parseRange(spec, ctr);
    std::vector<PortMapping> out;
    PortMapping base;
    base.hostIp = ip;
    base.proto = proto;
    if (host.empty()) {  // random host port for every container port
        for (unsigned p = c0; p <= c1; ++p) {
            base.containerPort = static_cast<std::uint16_t>(p);
            out.push_back(base);
        }
        return out;
    }
    auto [h0, h1] = parseRange(spec, host);
    if (c0 == c1 && h0 != h1) {  // one container port, any free host port of the range
        base.containerPort = c0;
        base.hostPort = h0;
        base.hostPortEnd = h1;
        out.push_back(base);
        return out;
    }
    if (h1 - h0 != c1 - c0) bad(spec, "host and container port ranges differ in length");
    for (unsigned i = 0; i <= static_cast<unsigned>(c1 - c0); ++i) {
        base.containerPort = static_cast<std::uint16_t>(c0 + i);
        base.hostPort = static_cast<std::uint16_t>(h0 + i);
        out.push_back(base);
    }
    return out;
}

std::string formatMapping(const PortMapping& m) {
    return (m.hostIp.empty() ? std::string("0.0.0.0") : m.hostIp) + ":" + std::to_string(m.hostPort) +
           "->" + std::to_string(m.containerPort) + "/" + m.proto;
}

bool hostPortFree(const std::string& hostIp, std::uint16_t port, const std::string& proto) {
    return static_cast<bool>(bindTest(hostIp, port, proto));
}

std::uint16_t pickFreeHostPort(const std::string& hostIp, const std::string& proto) {
    UniqueFd fd = bindTest(hostIp, 0, proto);
    if (!fd) throwErrno("find a free host port");
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) throwErrno("getsockname");
    return ntohs(sa.sin_port);
}

}  // namespace mydock::runtime::net
