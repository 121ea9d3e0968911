#include "runtime/net_nft.h"

#include <fcntl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
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

std::string NftRule::text() const {
    std::string s = "add rule ip " + table + " " + chain;
    if (saddr) s += " ip saddr " + saddr->str();
    if (daddr) s += " ip daddr " + ipToString(*daddr);
    if (!oifname.empty()) s += std::string(" oifname ") + (oifnameNot ? "!= " : "") + "\"" + oifname + "\"";
    if (!proto.empty()) s += " " + proto + " dport " + std::to_string(dport);
    if (ctStatusDnat) s += " ct status dnat";
    if (dnatTo) s += " dnat to " + ipToString(dnatTo->first) + ":" + std::to_string(dnatTo->second);
    else s += " masquerade";
    if (!comment.empty()) s += " comment \"" + comment + "\"";
    return s;
}

namespace {

std::vector<std::uint8_t> be32Bytes(std::uint32_t hostOrder) {
    return {static_cast<std::uint8_t>(hostOrder >> 24), static_cast<std::uint8_t>(hostOrder >> 16),
            static_cast<std::uint8_t>(hostOrder >> 8), static_cast<std::uint8_t>(hostOrder)};
}

}  // namespace

std::vector<NftExpr> NftRule::exprs() const {
    using namespace nftexpr;
    std::vector<NftExpr> e;
    // Field offsets in the IPv4 header: saddr at 12, daddr at 16; dport at 2 of TCP/UDP.
    if (saddr) {
        // As nft does: a whole-byte prefix loads and compares just those bytes; any other
        // prefix loads the address and masks it.
        auto net = be32Bytes(saddr->network & saddr->mask());
        if (saddr->prefix % 8 == 0 && saddr->prefix < 32) {
            auto n = static_cast<std::uint32_t>(saddr->prefix / 8);
            e.push_back(payload(Base::Network, 12, n));
            e.push_back(cmp(true, std::vector<std::uint8_t>(net.begin(), net.begin() + n)));
        } else {
            e.push_back(payload(Base::Network, 12, 4));
            if (saddr->prefix < 32) e.push_back(bitwise(be32Bytes(saddr->mask())));
            e.push_back(cmp(true, net));
        }
    }
    if (daddr) {
        e.push_back(payload(Base::Network, 16, 4));
        e.push_back(cmp(true, be32Bytes(*daddr)));
    }
    if (!oifname.empty()) {
        // The interface name register holds IFNAMSIZ bytes, NUL padded.
        if (oifname.size() >= IFNAMSIZ) throw Error("invalid interface name \"" + oifname + "\"");
        std::vector<std::uint8_t> name(IFNAMSIZ, 0);
        std::memcpy(name.data(), oifname.data(), oifname.size());
        e.push_back(meta(NFT_META_OIFNAME));
        e.push_back(cmp(!oifnameNot, name));
    }
    if (!proto.empty()) {
        std::uint8_t p = proto == "tcp" ? IPPROTO_TCP : proto == "udp" ? IPPROTO_UDP : 0;
        if (!p) throw Error("invalid protocol \"" + proto + "\" in a published port");
        e.push_back(meta(NFT_META_L4PROTO));
        e.push_back(cmp(true, {p}));
        e.push_back(payload(Base::Transport, 2, 2));
        e.push_back(cmp(true, {static_cast<std::uint8_t>(dport >> 8), static_cast<std::uint8_t>(dport)}));
    }
    if (ctStatusDnat) {
        // ct status is a host-order u32 in the register: status & IPS_DST_NAT != 0.
        std::uint32_t bit = IPS_DST_NAT, zero = 0;
        std::vector<std::uint8_t> mask(4), none(4);
        std::memcpy(mask.data(), &bit, 4);
        std::memcpy(none.data(), &zero, 4);
        e.push_back(ct(NFT_CT_STATUS));
        e.push_back(bitwise(mask));
        e.push_back(cmp(false, none));
    }
    if (dnatTo) {
        e.push_back(immediate(be32Bytes(dnatTo->first), 1));
        e.push_back(immediate({static_cast<std::uint8_t>(dnatTo->second >> 8), static_cast<std::uint8_t>(dnatTo->second)}, 2));
        e.push_back(dnat(1, 2));
    } else {
        e.push_back(masquerade());
    }
    return e;
}

namespace {

std::uint32_t parseAddress(const std::string& s, const std::string& what) {
    auto a = ipFromString(s);
    if (!a) throw Error("invalid " + what + " \"" + s + "\"");
    return *a;
}

}  // namespace

std::vector<NftRule> renderRules(const std::string& table, const std::string& bridge, const Subnet& subnet,
                                 const std::vector<Lease>& leases) {
    std::vector<NftRule> out;
    if (leases.empty()) return out;
    for (const auto& l : leases)
        for (const auto& m : l.ports) {
            NftRule r;
            r.table = table;
            r.chain = "publish";
            if (!m.hostIp.empty()) r.daddr = parseAddress(m.hostIp, "host address");
            r.proto = m.proto;
            r.dport = m.hostPort;
            r.dnatTo = std::make_pair(parseAddress(l.ip, "container address"), m.containerPort);
            r.comment = commentText(l.containerId);
            out.push_back(std::move(r));
        }
    NftRule post;
    post.table = table;
    post.chain = "postrouting";
    post.oifname = bridge;
    // Outbound NAT: containers leave with the host's address.
    NftRule r = post;
    r.saddr = subnet;
    r.oifnameNot = true;
    out.push_back(r);
    // A published port reached on 127.0.0.1: the packet goes out on the bridge with a loopback
    // source (allowed by route_localnet on the bridge); rewrite it so the container can answer.
    r = post;
    r.saddr = Subnet{0x7f000000, 8};
    out.push_back(r);
    // Hairpin: a container reaching a published port of the bridge (itself or a neighbour)
    // through a host address must see the reply come back the same way.
    r = post;
    r.saddr = subnet;
    r.ctStatusDnat = true;
    out.push_back(r);
    return out;
}

namespace {

// Only additions (no rule of `have` missing from `want`): the new rules alone. Otherwise both
// chains are flushed and refilled.
bool onlyAdds(const std::vector<std::string>& have, const std::vector<std::string>& want) {
    std::set<std::string> had(have.begin(), have.end()), wanted(want.begin(), want.end());
    return std::includes(wanted.begin(), wanted.end(), had.begin(), had.end());
}

}  // namespace

std::string renderChange(const std::string& table, const std::string& bridge, const std::vector<std::string>& have,
                         const std::vector<std::string>& want, bool tableExists) {
    std::string s = tableExists ? std::string() : renderBase(table, bridge);
    std::set<std::string> had(have.begin(), have.end());
    bool adds = tableExists && onlyAdds(have, want);
    if (!adds && tableExists)
        s += "flush chain ip " + table + " publish\nflush chain ip " + table + " postrouting\n";
    for (const auto& r : want)
        if (!adds || !had.count(r)) s += r + "\n";
    return s;
}

NftBatch renderChangeBatch(const std::string& table, const std::vector<std::string>& have,
                           const std::vector<NftRule>& want) {
    std::vector<std::string> wantText;
    for (const auto& r : want) wantText.push_back(r.text());
    std::set<std::string> had(have.begin(), have.end());
    bool adds = onlyAdds(have, wantText);
    NftBatch b;
    if (!adds) {
        b.flushChain(table, "publish");
        b.flushChain(table, "postrouting");
    }
    for (std::size_t i = 0; i < want.size(); ++i)
        if (!adds || !had.count(wantText[i]))
            b.appendRule(want[i].table, want[i].chain, want[i].exprs(), want[i].comment, wantText[i]);
    return b;
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

bool nftTableExists(const std::string& name) { return NfTables::open().tableExists(name); }

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

void syncNft(const std::string& table, const std::string& bridge, const std::vector<NftRule>& rules,
             const std::string& cacheFile) {
    std::string last;
    bool known = fs::readFileIfExists(cacheFile, last);
    // One socket for the question and the batch: the close of a bound nfnetlink socket may wait
    // for an RCU grace period (net_nftnl.h); after a commit this one is closed by a detached
    // process, and a second socket would be one more close to wait for.
    NfTables nl = NfTables::open();
    bool exists = nl.tableExists(table);
    std::vector<std::string> wantText;
    for (const auto& r : rules) wantText.push_back(r.text());
    const std::string wanted = joinLines(wantText);
    if (known && exists && last == wanted) return;
    // A missing table is created whole; without a cache the rules in the kernel are unknown:
    // flush and refill (an empty `have` that is not a subset would not force that, so pretend
    // a rule that is never wanted).
    std::vector<std::string> have = known ? splitLines(last) : std::vector<std::string>{"# unknown"};
    // Encode before touching anything: a rule that cannot be encoded fails with no change made.
    NftBatch batch;
    if (exists) batch = renderChangeBatch(table, have, rules);
    // Forget the cache first, so a failed change never leaves it claiming a state the kernel
    // does not have.
    ::unlink(cacheFile.c_str());
    if (exists) nl.commit(batch);
    else applyNft(renderChange(table, bridge, have, wantText, false));
    fs::writeFileAtomic(cacheFile, wanted, false, 0600);
}

void deleteNft(const std::string& table, const std::string& cacheFile) {
    ::unlink(cacheFile.c_str());
    if (nftTableExists(table)) applyNft(renderDeleteTable(table));
}

}  // namespace mydock::runtime::net
