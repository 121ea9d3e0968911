#include "runtime/net_nft.h"

#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "common/error.h"
#include "common/fs.h"
#include "common/unique_fd.h"

extern char** environ;

namespace mydock::runtime::net {
namespace {

// Container ids are hex, but a name-like id must never break out of the comment's quotes.
std::string commentText(const std::string& id) {
    std::string out;
    for (char c : id.substr(0, 64))
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') out += c;
    return out;
}

}  // namespace

std::string renderBase(const std::string& table, const std::string& bridge) {
    const std::string br = "\"" + bridge + "\"";
    std::string s = "table ip " + table + " {\n";
    // Published ports: DNAT for packets to a local address, from outside (prerouting) and
    // from the host itself (output). "fib daddr type local" = any address of this host.
    s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
         "    fib daddr type local jump publish\n  }\n";
    s += "  chain output {\n    type nat hook output priority -100; policy accept;\n"
         "    fib daddr type local jump publish\n  }\n";
    s += "  chain publish {\n  }\n";
    // route_localnet=1 on the bridge (set with the bridge, kept with it) would also let a
    // container hand the host a packet for 127.0.0.1 (a raw frame to the gateway's MAC) and
    // reach services bound to the host's loopback (CVE-2020-8558). Only replies of connections
    // the host opened may come in so. Fixed: it lives as long as the bridge does.
    s += "  chain input {\n    type filter hook input priority filter; policy accept;\n"
         "    iifname " + br + " ip daddr 127.0.0.0/8 ct state established,related accept\n"
         "    iifname " + br + " ip daddr 127.0.0.0/8 drop\n  }\n";
    s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n  }\n";
    s += "}\n";
    return s;
}

std::vector<std::string> renderRules(const std::string& table, const std::string& bridge, const Subnet& subnet,
                                     const std::vector<Lease>& leases) {
    std::vector<std::string> out;
    if (leases.empty()) return out;
    const std::string br = "\"" + bridge + "\"";
    const std::string net = subnet.str();
    const std::string publish = "add rule ip " + table + " publish ";
    for (const auto& l : leases)
        for (const auto& m : l.ports) {
            std::string r = publish;
            if (!m.hostIp.empty()) r += "ip daddr " + m.hostIp + " ";
            r += m.proto + " dport " + std::to_string(m.hostPort) + " dnat to " + l.ip + ":" +
                 std::to_string(m.containerPort) + " comment \"" + commentText(l.containerId) + "\"";
            out.push_back(std::move(r));
        }
    const std::string post = "add rule ip " + table + " postrouting ";
    // Outbound NAT: containers leave with the host's address.
    out.push_back(post + "ip saddr " + net + " oifname != " + br + " masquerade");
    // A published port reached on 127.0.0.1: the packet goes out on the bridge with a loopback
    // source (allowed by route_localnet on the bridge); rewrite it so the container can answer.
    out.push_back(post + "ip saddr 127.0.0.0/8 oifname " + br + " masquerade");
    // Hairpin: a container reaching a published port of the bridge (itself or a neighbour)
    // through a host address must see the reply come back the same way.
    out.push_back(post + "ip saddr " + net + " oifname " + br + " ct status dnat masquerade");
    return out;
}

std::string renderChange(const std::string& table, const std::string& bridge, const std::vector<std::string>& have,
                         const std::vector<std::string>& want, bool tableExists) {
    std::string s = tableExists ? std::string() : renderBase(table, bridge);
    std::set<std::string> had(have.begin(), have.end()), wanted(want.begin(), want.end());
    bool onlyAdds = tableExists && std::includes(wanted.begin(), wanted.end(), had.begin(), had.end());
    if (!onlyAdds && tableExists)
        s += "flush chain ip " + table + " publish\nflush chain ip " + table + " postrouting\n";
    for (const auto& r : want)
        if (!onlyAdds || !had.count(r)) s += r + "\n";
    return s;
}

std::string renderDeleteTable(const std::string& table) {
    // Declaring the table first makes the delete succeed when it is missing.
    return "table ip " + table + " {}\ndelete table ip " + table + "\n";
}

namespace {

std::string findNft() {
    for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"})
        if (::access(p, X_OK) == 0) return p;
    throw Error("nft not found: bridge networking needs nftables (apt-get install nftables)");
}

}  // namespace

void applyNft(const std::string& script) {
    std::string nft = findNft();
    int in[2], err[2];
    // Pipes for nft's stdin (the script) and stderr (its diagnostics); close-on-exec so that
    // no other child of this process inherits them.
    if (::pipe2(in, O_CLOEXEC) != 0) throwErrno("pipe");
    UniqueFd inR(in[0]), inW(in[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) throwErrno("pipe");
    UniqueFd errR(err[0]), errW(err[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, inR.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, errW.get(), 2);
    posix_spawn_file_actions_adddup2(&fa, errW.get(), 1);
    const char* argv[] = {nft.c_str(), "-f", "-", nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, nft.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throwErrno("spawn " + nft, rc);
    inR.reset();
    errW.reset();

    // The script is written whole before reading: nft reads all of stdin before it answers.
    // SIGPIPE is blocked for this thread meanwhile (an nft that died early must not kill
    // mydock) and a pending one is consumed afterwards.
    sigset_t pipeSet, oldSet;
    sigemptyset(&pipeSet);
    sigaddset(&pipeSet, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeSet, &oldSet);
    std::size_t off = 0;
    while (off < script.size()) {
        ssize_t n = ::write(inW.get(), script.data() + off, script.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;  // nft died early; its status and stderr tell why
        }
        off += static_cast<std::size_t>(n);
    }
    inW.reset();
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&oldSet, SIGPIPE)) {
        timespec zero{};
        sigtimedwait(&pipeSet, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &oldSet, nullptr);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(errR.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throwErrno("wait for nft");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        while (!out.empty() && out.back() == '\n') out.pop_back();
        throw Error("nft failed: " + (out.empty() ? std::string("exit status ") + std::to_string(status) : out));
    }
}

bool nftTableExists(const std::string& name) {
    // NFT_MSG_GETTABLE for one table of family ip: the answer is the table or ENOENT.
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    if (!fd) throwErrno("netlink socket (netfilter)");
    std::vector<char> msg(NLMSG_SPACE(sizeof(nfgenmsg)) + NLA_ALIGN(NLA_HDRLEN + name.size() + 1), 0);
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_len = static_cast<std::uint32_t>(msg.size());
    h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = 1;
    auto* g = static_cast<nfgenmsg*>(NLMSG_DATA(h));
    g->nfgen_family = NFPROTO_IPV4;
    g->version = NFNETLINK_V0;
    auto* a = reinterpret_cast<nlattr*>(msg.data() + NLMSG_SPACE(sizeof(nfgenmsg)));
    a->nla_type = NFTA_TABLE_NAME;
    a->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + name.size() + 1);
    std::memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, name.c_str(), name.size() + 1);
    if (::send(fd.get(), msg.data(), msg.size(), 0) < 0) throwErrno("netlink send (netfilter)");
    bool found = false;
    char buf[8192];
    for (;;) {
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("netlink recv (netfilter)");
        }
        if (n == 0) throw Error("netlink (netfilter): no answer");
        int len = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_seq != 1) continue;
            if (r->nlmsg_type == NLMSG_ERROR) {
                int err = static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
                if (err == 0) return found;           // the ack after the table
                if (err == -ENOENT) return false;
                throwErrno("query nft table " + name, -err);
            }
            if (r->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) found = true;
        }
        if (found) return true;   // the ack may not follow a successful get
    }
}

namespace {

std::string joinLines(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        if (nl > pos) out.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

}  // namespace

void syncNft(const std::string& table, const std::string& bridge, const std::vector<std::string>& rules,
             const std::string& cacheFile) {
    std::string last;
    bool known = fs::readFileIfExists(cacheFile, last);
    bool exists = nftTableExists(table);
    const std::string wanted = joinLines(rules);
    if (known && exists && last == wanted) return;
    // A missing table is created whole; without a cache the rules in the kernel are unknown:
    // flush and refill (an empty `have` that is not a subset would not force that, so pretend
    // a rule that is never wanted).
    std::vector<std::string> have = known ? splitLines(last) : std::vector<std::string>{"# unknown"};
    // Forget the cache first, so a failed nft never leaves it claiming a state the kernel does
    // not have.
    ::unlink(cacheFile.c_str());
    applyNft(renderChange(table, bridge, have, rules, exists));
    fs::writeFileAtomic(cacheFile, wanted, false, 0600);
}

void deleteNft(const std::string& table, const std::string& cacheFile) {
    ::unlink(cacheFile.c_str());
    if (nftTableExists(table)) applyNft(renderDeleteTable(table));
}

}  // namespace mydock::runtime::net
