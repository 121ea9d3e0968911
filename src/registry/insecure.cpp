#include "registry/insecure.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>
#include <cstring>
#include <memory>

namespace mydock::registry {

namespace {

struct IpAddr {
    int family = 0;              // AF_INET or AF_INET6
    unsigned char bytes[16] = {};
};

bool parseIp(const std::string& s, IpAddr& out) {
    if (::inet_pton(AF_INET, s.c_str(), out.bytes) == 1) {
        out.family = AF_INET;
        return true;
    }
    if (::inet_pton(AF_INET6, s.c_str(), out.bytes) == 1) {
        out.family = AF_INET6;
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address.
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(out.bytes, mapped, 12) == 0) {
            std::memmove(out.bytes, out.bytes + 12, 4);
            out.family = AF_INET;
        }
        return true;
    }
    return false;
}

bool inCidr(const IpAddr& ip, const IpAddr& net, int prefix) {
    if (ip.family != net.family) return false;
    int full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(ip.bytes, net.bytes, full) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (ip.bytes[full] & mask) == (net.bytes[full] & mask);
}

bool parseCidr(const std::string& s, IpAddr& net, int& prefix) {
    auto slash = s.find('/');
    if (slash == std::string::npos || !parseIp(s.substr(0, slash), net)) return false;
    std::string p = s.substr(slash + 1);
    if (p.empty() || p.size() > 3) return false;
    for (char c : p)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    prefix = std::stoi(p);
    return prefix <= (net.family == AF_INET ? 32 : 128);
}

bool isLoopback(const IpAddr& ip) {
    if (ip.family == AF_INET) return ip.bytes[0] == 127;
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(ip.bytes, one, 16) == 0;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A host name's addresses, resolved only when a CIDR entry needs them (docker does the same).
std::vector<IpAddr> resolve(const std::string& host) {
    std::vector<IpAddr> out;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
    for (addrinfo* a = res; a; a = a->ai_next) {
        IpAddr ip;
        if (a->ai_family == AF_INET) {
            ip.family = AF_INET;
            std::memcpy(ip.bytes, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
        } else if (a->ai_family == AF_INET6) {
            ip.family = AF_INET6;
            std::memcpy(ip.bytes, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
        } else {
            continue;
        }
        out.push_back(ip);
    }
    return out;
}

}  // namespace

void splitHostPort(std::string_view hp, std::string& host, std::string& port) {
    host.clear();
    port.clear();
    if (!hp.empty() && hp.front() == '[') {
        auto close = hp.find(']');
        if (close == std::string_view::npos) {
            host = std::string(hp);
            return;
        }
        host = std::string(hp.substr(1, close - 1));
        if (close + 1 < hp.size() && hp[close + 1] == ':') port = std::string(hp.substr(close + 2));
        return;
    }
    auto colon = hp.rfind(':');
    // More than one ':' without brackets: a bare IPv6 address, no port.
    if (colon != std::string_view::npos && hp.find(':') == colon) {
        host = std::string(hp.substr(0, colon));
        port = std::string(hp.substr(colon + 1));
    } else {
        host = std::string(hp);
    }
}

bool isInsecureRegistry(std::string_view hostPort, const std::vector<std::string>& list) {
    std::string host, port;
    splitHostPort(hostPort, host, port);
    host = lower(host);
    if (host == "localhost" || host.ends_with(".localhost")) return true;
    IpAddr ip;
    bool isIp = parseIp(host, ip);
    if (isIp && isLoopback(ip)) return true;

    bool resolved = false;
    std::vector<IpAddr> addrs;
    for (const auto& rawEntry : list) {
        std::string entry = lower(rawEntry);
        if (auto p = entry.find("://"); p != std::string::npos) entry = entry.substr(p + 3);
        while (!entry.empty() && entry.back() == '/') entry.pop_back();
        IpAddr net;
        int prefix = 0;
        if (parseCidr(entry, net, prefix)) {
            if (isIp) {
                if (inCidr(ip, net, prefix)) return true;
                continue;
            }
            if (!resolved) {
                addrs = resolve(host);
                resolved = true;
            }
            for (const auto& a : addrs)
                if (inCidr(a, net, prefix)) return true;
            continue;
        }
        std::string eh, ep;
        splitHostPort(entry, eh, ep);
        if (eh == host && (ep.empty() || ep == port)) return true;
    }
    return false;
}

}  // namespace mydock::registry
