#include "runtime/net_ipam.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "common/fs.h"

namespace mydock::runtime::net {

std::string ipToString(std::uint32_t a) {
    in_addr in{htonl(a)};
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &in, buf, sizeof buf);
    return buf;
}

std::optional<std::uint32_t> ipFromString(const std::string& s) {
    in_addr in{};
    if (::inet_pton(AF_INET, s.c_str(), &in) != 1) return std::nullopt;
    return ntohl(in.s_addr);
}

Subnet Subnet::parse(const std::string& cidr) {
    auto slash = cidr.find('/');
    if (slash == std::string::npos) throw Error("invalid subnet \"" + cidr + "\": want ADDR/PREFIX");
    auto a = ipFromString(cidr.substr(0, slash));
    int prefix = -1;
    std::string p = cidr.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (!a || ec != std::errc() || end != p.data() + p.size() || prefix < 8 || prefix > 30)
        throw Error("invalid subnet \"" + cidr + "\": want an IPv4 ADDR/PREFIX with prefix 8..30");
    Subnet s;
    s.prefix = prefix;
    s.network = *a & s.mask();
    if (s.network != *a) throw Error("invalid subnet \"" + cidr + "\": host bits set");
    return s;
}

std::string Subnet::str() const { return ipToString(network) + "/" + std::to_string(prefix); }

LeaseTable LeaseTable::parse(Subnet subnet, const std::string& text) {
    LeaseTable t(subnet);
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) return t;
    try {
        auto j = nlohmann::json::parse(text);
        for (const auto& e : j.at("leases")) {
            Lease l;
            l.ip = e.at("ip").get<std::string>();
            l.containerId = e.at("id").get<std::string>();
            l.pid = e.value("pid", 0);
            l.startTime = e.value("start", std::uint64_t{0});
            l.veth = e.value("veth", std::string());
            for (const auto& p : e.value("ports", nlohmann::json::array())) {
                PortMapping m;
                m.hostIp = p.value("hostIp", std::string());
                m.hostPort = p.value("hostPort", std::uint16_t{0});
                m.containerPort = p.value("port", std::uint16_t{0});
                m.proto = p.value("proto", std::string("tcp"));
                l.ports.push_back(m);
            }
            t.leases_.push_back(std::move(l));
        }
        std::string was = j.value("subnet", subnet.str());
        if (was != subnet.str() && !t.leases_.empty())
            throw Error("the bridge is in use with subnet " + was + " (now configured: " + subnet.str() +
                        "); remove its containers before changing the subnet");
    } catch (const nlohmann::json::exception& e) {
        // A corrupt lease file must not wedge networking forever: say so; the caller decides.
        throw Error(std::string("corrupt lease file: ") + e.what());
    }
    return t;
}

std::string LeaseTable::serialize() const {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& l : leases_) {
        nlohmann::json ports = nlohmann::json::array();
        for (const auto& m : l.ports)
            ports.push_back({{"hostIp", m.hostIp}, {"hostPort", m.hostPort}, {"port", m.containerPort},
                             {"proto", m.proto}});
        arr.push_back({{"ip", l.ip}, {"id", l.containerId}, {"pid", l.pid}, {"start", l.startTime},
                       {"veth", l.veth}, {"ports", ports}});
    }
    nlohmann::json j = {{"version", 1}, {"subnet", subnet_.str()}, {"leases", arr}};
    return j.dump(2) + "\n";
}

Lease& LeaseTable::allocate(const std::string& containerId) {
    if (find(containerId)) throw Error("container " + containerId + " already has a network lease");
    std::set<std::uint32_t> used;
    for (const auto& l : leases_)
        if (auto a = ipFromString(l.ip)) used.insert(*a);
    for (std::uint32_t a = subnet_.gateway() + 1; a < subnet_.broadcast(); ++a) {
        if (used.count(a)) continue;
        Lease l;
        l.ip = ipToString(a);
        l.containerId = containerId;
        leases_.push_back(std::move(l));
        return leases_.back();
    }
    throw Error("no free address left in " + subnet_.str());
}

std::optional<Lease> LeaseTable::release(const std::string& containerId) {
    auto it = std::find_if(leases_.begin(), leases_.end(),
                           [&](const Lease& l) { return l.containerId == containerId; });
    if (it == leases_.end()) return std::nullopt;
    Lease l = std::move(*it);
    leases_.erase(it);
    return l;
}

std::vector<Lease> LeaseTable::reclaim(const std::function<bool(const Lease&)>& alive) {
    std::vector<Lease> gone;
    std::vector<Lease> keep;
    for (auto& l : leases_) (alive(l) ? keep : gone).push_back(std::move(l));
    leases_ = std::move(keep);
    return gone;
}

const Lease* LeaseTable::find(const std::string& containerId) const {
    for (const auto& l : leases_)
        if (l.containerId == containerId) return &l;
    return nullptr;
}

std::uint64_t processStartTime(pid_t pid) {
    if (pid <= 0) return 0;
    std::string stat;
    try {
        if (!fs::readFileIfExists("/proc/" + std::to_string(pid) + "/stat", stat)) return 0;
    } catch (const Error&) {
        return 0;
    }
    // comm (field 2) may hold spaces and ')': fields are counted after its last ')'.
    auto rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat.size()) return 0;
    std::size_t pos = rp + 2;
    if (stat[pos] == 'Z' || stat[pos] == 'X') return 0;  // a zombie: the container has ended
    for (int field = 3; field < 22; ++field) {
        pos = stat.find(' ', pos);
        if (pos == std::string::npos) return 0;
        ++pos;
    }
    std::uint64_t v = 0;
    std::from_chars(stat.data() + pos, stat.data() + stat.size(), v);
    return v;
}

bool leaseProcessAlive(const Lease& l) {
    if (l.pid <= 0) return false;
    std::uint64_t st = processStartTime(l.pid);
    if (st == 0) return false;
    return l.startTime == 0 || st == l.startTime;
}

}  // namespace mydock::runtime::net
