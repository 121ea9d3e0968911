#include "runtime/net_netlink.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/clock.h"
#include "common/error.h"

namespace mydock::runtime::net {
namespace {

// Builds one netlink message: header, a fixed family struct, then (nested) attributes.
class Msg {
public:
    Msg(std::uint16_t type, std::uint16_t flags) {
        buf_.resize(NLMSG_HDRLEN);
        hdr()->nlmsg_type = type;
        hdr()->nlmsg_flags = flags | NLM_F_REQUEST;
    }
    template <class T> T* body() {  // appends the zeroed family struct (ifinfomsg, ...)
        std::size_t off = buf_.size();
        buf_.resize(off + NLMSG_ALIGN(sizeof(T)));
        return reinterpret_cast<T*>(buf_.data() + off);
    }
    void attr(std::uint16_t type, const void* data, std::size_t len) {
        std::size_t off = buf_.size();
        buf_.resize(off + RTA_ALIGN(RTA_LENGTH(len)));
        auto* rta = reinterpret_cast<rtattr*>(buf_.data() + off);
        rta->rta_type = type;
        rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
        if (len) std::memcpy(RTA_DATA(rta), data, len);
    }
    void attrStr(std::uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
    void attrU32(std::uint16_t type, std::uint32_t v) { attr(type, &v, sizeof v); }
    std::size_t begin(std::uint16_t type) {  // nested attribute; close with end()
        std::size_t off = buf_.size();
        attr(type, nullptr, 0);
        return off;
    }
    void end(std::size_t off) {
        reinterpret_cast<rtattr*>(buf_.data() + off)->rta_len =
            static_cast<unsigned short>(buf_.size() - off);
    }
    std::vector<char>& finish() {
        hdr()->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
        return buf_;
    }

private:
    nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
    std::vector<char> buf_;
};

UniqueFd openSocket() {
    // NETLINK_ROUTE socket: the netns it lives in is fixed at creation.
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) throwErrno("netlink socket");
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    // bind with pid 0: the kernel picks a unique port id, so threads and processes never clash.
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throwErrno("netlink bind");
    int one = 1;
    // Extended acks give a reason string for EINVAL & co (best effort: old kernels lack it).
    ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    return fd;
}

}  // namespace

Netlink Netlink::open() { return Netlink(openSocket()); }

Netlink Netlink::openInNetns(int netnsFd) {
    // The netns is a per-thread attribute: a short-lived thread enters the container's netns,
    // opens the socket there and ends. The socket stays bound to that netns, and the calling
    // thread never changes namespace (no risk of leaving mydock half inside a container).
    UniqueFd result;
    int err = 0;
    std::string what;
    std::thread t([&] {
        // setns(CLONE_NEWNET) affects this thread only; the thread exits right after.
        if (::setns(netnsFd, CLONE_NEWNET) != 0) { err = errno; what = "setns into container netns"; return; }
        try { result = openSocket(); } catch (const Error& e) { err = e.sysErrno() ? e.sysErrno() : EIO; what = e.what(); }
    });
    t.join();
    if (err) throwErrno(what, err);
    return Netlink(std::move(result));
}

int Netlink::transact(std::vector<char>& msg) {
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_flags |= NLM_F_ACK;
    h->nlmsg_seq = seq_++;
    if (::send(fd_.get(), msg.data(), msg.size(), 0) < 0) throwErrno("netlink send");
    char buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("netlink recv");
        }
        int len = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_seq != h->nlmsg_seq) continue;  // a stale answer to an earlier request
            if (r->nlmsg_type == NLMSG_ERROR) {
                auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(r));
                return e->error;  // 0 is the ack
            }
        }
    }
}

std::vector<LinkInfo> Netlink::dumpLinks(std::vector<char>& msg, bool single) {
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_seq = seq_++;
    if (::send(fd_.get(), msg.data(), msg.size(), 0) < 0) throwErrno("netlink send");
    std::vector<LinkInfo> out;
    std::vector<char> buf(65536);
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("netlink recv");
        }
        int len = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_seq != h->nlmsg_seq) continue;
            if (r->nlmsg_type == NLMSG_DONE) return out;
            if (r->nlmsg_type == NLMSG_ERROR) {
                int e = -static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
                if (e == 0) return out;
                if (single && e == ENODEV) return out;
                throwErrno("netlink get link", e);
            }
            if (r->nlmsg_type != RTM_NEWLINK) continue;
            auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(r));
            LinkInfo li;
            li.index = ifi->ifi_index;
            li.flags = ifi->ifi_flags;
            int alen = static_cast<int>(IFLA_PAYLOAD(r));
            for (auto* a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                if (a->rta_type == IFLA_IFNAME) li.name = static_cast<const char*>(RTA_DATA(a));
                else if (a->rta_type == IFLA_MASTER) std::memcpy(&li.master, RTA_DATA(a), sizeof(int));
                else if (a->rta_type == IFLA_LINK_NETNSID) {
                    std::int32_t id = 0;
                    std::memcpy(&id, RTA_DATA(a), sizeof id);
                    li.peerNetnsDying = id < 0;
                }
                else if (a->rta_type == IFLA_LINKINFO) {
                    int nlen = static_cast<int>(RTA_PAYLOAD(a));
                    for (auto* b = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(b, nlen); b = RTA_NEXT(b, nlen))
                        if (b->rta_type == IFLA_INFO_KIND)
                            li.kind.assign(static_cast<const char*>(RTA_DATA(b)),
                                           strnlen(static_cast<const char*>(RTA_DATA(b)), RTA_PAYLOAD(b)));
                }
            }
            out.push_back(std::move(li));
            if (single) return out;
        }
    }
}

std::optional<LinkInfo> Netlink::link(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
    Msg m(RTM_GETLINK, 0);
    m.body<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attrStr(IFLA_IFNAME, name);
    auto v = dumpLinks(m.finish(), true);
    if (v.empty()) return std::nullopt;
    return v.front();
}

bool Netlink::waitGone(const std::string& name, int timeoutMs) {
    // A second socket subscribed to link events, joined *before* the existence check below:
    // a removal between the two cannot be missed.
    UniqueFd ev = openSocket();
    int group = RTNLGRP_LINK;
    if (::setsockopt(ev.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
        throwErrno("netlink: join the link group");
    auto l = link(name);
    if (!l) return true;
    const long long deadline = monotonicMs() + timeoutMs;
    char buf[16384];
    for (;;) {
        long long left = deadline - monotonicMs();
        if (left <= 0) return !link(name);
        pollfd p{ev.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left));
        if (r < 0 && errno != EINTR) throwErrno("netlink: wait for a link event");
        if (r <= 0) continue;
        ssize_t n = ::recv(ev.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            // ENOBUFS: events were dropped (a burst of other links); ask the kernel directly.
            if (errno == ENOBUFS && !link(name)) return true;
            continue;
        }
        int len = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
            if (h->nlmsg_type == RTM_DELLINK &&
                static_cast<ifinfomsg*>(NLMSG_DATA(h))->ifi_index == l->index)
                return true;
    }
}

std::vector<LinkInfo> Netlink::links() {
    Msg m(RTM_GETLINK, NLM_F_DUMP);
    m.body<ifinfomsg>()->ifi_family = AF_UNSPEC;
    return dumpLinks(m.finish(), false);
}

bool Netlink::createBridge(const std::string& name) {
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.body<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attrStr(IFLA_IFNAME, name);
    auto li = m.begin(IFLA_LINKINFO);
    m.attrStr(IFLA_INFO_KIND, "bridge");
    m.end(li);
    int e = transact(m.finish());
    if (e == -EEXIST) return false;
    if (e) throwErrno("create bridge " + name, -e);
    return true;
}

void Netlink::createVethPair(const std::string& hostName, int masterIndex,
                             const std::string& peerName, int peerNetnsFd,
                             const std::array<unsigned char, 6>& peerMac) {
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.body<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attrStr(IFLA_IFNAME, hostName);
    m.attrU32(IFLA_MASTER, static_cast<std::uint32_t>(masterIndex));
    auto li = m.begin(IFLA_LINKINFO);
    m.attrStr(IFLA_INFO_KIND, "veth");
    auto data = m.begin(IFLA_INFO_DATA);
    // VETH_INFO_PEER carries an ifinfomsg followed by the peer's own attributes.
    auto peer = m.begin(VETH_INFO_PEER);
    m.body<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attrStr(IFLA_IFNAME, peerName);
    m.attrU32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(peerNetnsFd));
    m.attr(IFLA_ADDRESS, peerMac.data(), peerMac.size());
    m.end(peer);
    m.end(data);
    m.end(li);
    int e = transact(m.finish());
    if (e) throwErrno("create veth pair " + hostName, -e);
}

bool Netlink::deleteLink(const std::string& name) {
    Msg m(RTM_DELLINK, 0);
    m.body<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attrStr(IFLA_IFNAME, name);
    int e = transact(m.finish());
    if (e == -ENODEV) return false;
    if (e) throwErrno("delete link " + name, -e);
    return true;
}

void Netlink::setUp(int index) {
    Msg m(RTM_NEWLINK, 0);
    auto* ifi = m.body<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    int e = transact(m.finish());
    if (e) throwErrno("set link " + std::to_string(index) + " up", -e);
}

void Netlink::addAddress(int index, in_addr addr, int prefixLen) {
    Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    auto* ifa = m.body<ifaddrmsg>();
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = static_cast<unsigned char>(prefixLen);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(index);
    m.attr(IFA_LOCAL, &addr, sizeof addr);
    m.attr(IFA_ADDRESS, &addr, sizeof addr);
    in_addr brd = addr;
    std::uint32_t mask = prefixLen == 0 ? 0 : htonl(~0u << (32 - prefixLen));
    brd.s_addr = (addr.s_addr & mask) | ~mask;
    m.attr(IFA_BROADCAST, &brd, sizeof brd);
    int e = transact(m.finish());
    if (e == -EEXIST) return;  // already there: idempotent
    if (e) throwErrno("add address " + formatIPv4(addr), -e);
}

void Netlink::addDefaultRoute(in_addr gateway, int oifIndex) {
    Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    auto* rt = m.body<rtmsg>();
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = 0;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    m.attr(RTA_GATEWAY, &gateway, sizeof gateway);
    m.attrU32(RTA_OIF, static_cast<std::uint32_t>(oifIndex));
    int e = transact(m.finish());
    if (e == -EEXIST) return;
    if (e) throwErrno("add default route via " + formatIPv4(gateway), -e);
}

std::optional<in_addr> parseIPv4(const std::string& s) {
    in_addr a{};
    if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return a;
}

std::string formatIPv4(in_addr a) {
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

}  // namespace mydock::runtime::net
