#include "runtime/net_nftnl.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace mydock::runtime::net {
namespace {

// A growing buffer of netlink attributes (nested ones flagged NLA_F_NESTED, as libnftnl does).
class Attrs {
public:
    void put(std::uint16_t type, const void* data, std::size_t len) {
        std::size_t off = buf_.size();
        buf_.resize(off + NLA_ALIGN(NLA_HDRLEN + len));
        auto* a = reinterpret_cast<nlattr*>(buf_.data() + off);
        a->nla_type = type;
        a->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + len);
        if (len) std::memcpy(buf_.data() + off + NLA_HDRLEN, data, len);
    }
    void str(std::uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
    // nf_tables' u32 attributes are big endian.
    void be32(std::uint16_t type, std::uint32_t v) {
        v = htonl(v);
        put(type, &v, sizeof v);
    }
    void bytes(std::uint16_t type, const std::vector<std::uint8_t>& v) { put(type, v.data(), v.size()); }
    std::size_t begin(std::uint16_t type) {
        std::size_t off = buf_.size();
        put(static_cast<std::uint16_t>(type | NLA_F_NESTED), nullptr, 0);
        return off;
    }
    void end(std::size_t off) {
        std::size_t len = buf_.size() - off;
        if (len > 0xffff) throw Error("nftables: netlink attribute too large");
        reinterpret_cast<nlattr*>(buf_.data() + off)->nla_len = static_cast<std::uint16_t>(len);
    }
    // NFTA_*_DATA / MASK / XOR: a nest holding one NFTA_DATA_VALUE.
    void data(std::uint16_t type, const std::vector<std::uint8_t>& v) {
        auto n = begin(type);
        bytes(NFTA_DATA_VALUE, v);
        end(n);
    }
    void raw(const std::vector<char>& v) { buf_.insert(buf_.end(), v.begin(), v.end()); }
    std::vector<char>& buf() { return buf_; }

private:
    std::vector<char> buf_;
};

constexpr std::uint16_t kNftType(int msg) { return static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

// nlmsghdr + nfgenmsg + attributes.
void appendMessage(std::vector<char>& out, std::uint16_t type, std::uint16_t flags, std::uint32_t seq,
                   std::uint8_t family, std::uint16_t resId, const std::vector<char>& attrs) {
    std::size_t off = out.size();
    std::size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)) + attrs.size();
    out.resize(off + NLMSG_ALIGN(len));
    auto* h = reinterpret_cast<nlmsghdr*>(out.data() + off);
    h->nlmsg_len = static_cast<std::uint32_t>(len);
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    h->nlmsg_seq = seq;
    auto* g = static_cast<nfgenmsg*>(NLMSG_DATA(h));
    g->nfgen_family = family;
    g->version = NFNETLINK_V0;
    g->res_id = htons(resId);
    if (!attrs.empty())
        std::memcpy(out.data() + off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)), attrs.data(), attrs.size());
}

std::string kernelMessage(const nlmsghdr* r) {
    // With NETLINK_EXT_ACK the kernel may add a reason after the error (NLMSGERR_ATTR_MSG).
    if (!(r->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
    std::size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);   // NETLINK_CAP_ACK: no request echoed
    if (!(r->nlmsg_flags & NLM_F_CAPPED)) {
        auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(r));
        off += e->msg.nlmsg_len - sizeof(nlmsghdr);
    }
    const char* base = reinterpret_cast<const char*>(r);
    while (off + NLA_HDRLEN <= r->nlmsg_len) {
        auto* a = reinterpret_cast<const nlattr*>(base + off);
        if (a->nla_len < NLA_HDRLEN || off + a->nla_len > r->nlmsg_len) break;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
            return std::string(base + off + NLA_HDRLEN, strnlen(base + off + NLA_HDRLEN, a->nla_len - NLA_HDRLEN));
        off += NLA_ALIGN(a->nla_len);
    }
    return "";
}

[[noreturn]] void throwKernel(const std::string& what, int err, const std::string& reason) {
    std::string msg = "nftables: " + what + ": " + std::strerror(err);
    if (!reason.empty()) msg += " (" + reason + ")";
    throw Error(msg, kExitEngineError, err);
}

}  // namespace

namespace nftexpr {
namespace {
NftExpr make(const char* name, Attrs& a) { return NftExpr{name, std::move(a.buf())}; }
}  // namespace

NftExpr payload(Base base, std::uint32_t offset, std::uint32_t len, std::uint32_t dreg) {
    Attrs a;
    a.be32(NFTA_PAYLOAD_DREG, dreg);
    a.be32(NFTA_PAYLOAD_BASE, static_cast<std::uint32_t>(base));
    a.be32(NFTA_PAYLOAD_OFFSET, offset);
    a.be32(NFTA_PAYLOAD_LEN, len);
    return make("payload", a);
}

NftExpr cmp(bool equal, const std::vector<std::uint8_t>& value, std::uint32_t sreg) {
    Attrs a;
    a.be32(NFTA_CMP_SREG, sreg);
    a.be32(NFTA_CMP_OP, equal ? NFT_CMP_EQ : NFT_CMP_NEQ);
    a.data(NFTA_CMP_DATA, value);
    return make("cmp", a);
}

NftExpr bitwise(const std::vector<std::uint8_t>& mask, std::uint32_t reg) {
    Attrs a;
    a.be32(NFTA_BITWISE_SREG, reg);
    a.be32(NFTA_BITWISE_DREG, reg);
    a.be32(NFTA_BITWISE_LEN, static_cast<std::uint32_t>(mask.size()));
    a.data(NFTA_BITWISE_MASK, mask);
    a.data(NFTA_BITWISE_XOR, std::vector<std::uint8_t>(mask.size(), 0));
    return make("bitwise", a);
}

namespace {
// meta and ct: load KEY of the packet (or its connection) into DREG.
NftExpr keyLoad(const char* name, std::uint16_t dregAttr, std::uint16_t keyAttr, std::uint32_t key, std::uint32_t dreg) {
    Attrs a;
    a.be32(dregAttr, dreg);
    a.be32(keyAttr, key);
    return make(name, a);
}
}  // namespace

NftExpr meta(std::uint32_t key, std::uint32_t dreg) { return keyLoad("meta", NFTA_META_DREG, NFTA_META_KEY, key, dreg); }
NftExpr ct(std::uint32_t key, std::uint32_t dreg) { return keyLoad("ct", NFTA_CT_DREG, NFTA_CT_KEY, key, dreg); }

NftExpr immediate(const std::vector<std::uint8_t>& bytes, std::uint32_t dreg) {
    Attrs a;
    a.be32(NFTA_IMMEDIATE_DREG, dreg);
    a.data(NFTA_IMMEDIATE_DATA, bytes);
    return make("immediate", a);
}

NftExpr dnat(std::uint32_t addrReg, std::uint32_t portReg) {
    Attrs a;
    a.be32(NFTA_NAT_TYPE, NFT_NAT_DNAT);
    a.be32(NFTA_NAT_FAMILY, NFPROTO_IPV4);
    a.be32(NFTA_NAT_REG_ADDR_MIN, addrReg);
    a.be32(NFTA_NAT_REG_PROTO_MIN, portReg);
    a.be32(NFTA_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
    return make("nat", a);
}

NftExpr masquerade() { return NftExpr{"masq", {}}; }

}  // namespace nftexpr

std::vector<char> nftCommentUserdata(const std::string& comment) {
    if (comment.size() + 1 > 255) throw Error("nftables: rule comment too long (" + comment.substr(0, 32) + "...)");
    std::vector<char> out(comment.size() + 3, 0);   // type, length, text, NUL
    out[0] = 0;                                      // NFTNL_UDATA_RULE_COMMENT
    out[1] = static_cast<char>(comment.size() + 1);
    if (!comment.empty()) std::memcpy(out.data() + 2, comment.data(), comment.size());
    return out;
}

void NftBatch::appendRule(const std::string& table, const std::string& chain, const std::vector<NftExpr>& exprs,
                          const std::string& comment, const std::string& what) {
    Attrs a;
    a.str(NFTA_RULE_TABLE, table);
    a.str(NFTA_RULE_CHAIN, chain);
    auto list = a.begin(NFTA_RULE_EXPRESSIONS);
    for (const auto& e : exprs) {
        auto elem = a.begin(NFTA_LIST_ELEM);
        a.str(NFTA_EXPR_NAME, e.name);
        auto d = a.begin(NFTA_EXPR_DATA);
        a.raw(e.data);
        a.end(d);
        a.end(elem);
    }
    a.end(list);
    if (!comment.empty()) {
        auto ud = nftCommentUserdata(comment);
        a.put(NFTA_RULE_USERDATA, ud.data(), ud.size());
    }
    // NLM_F_CREATE | NLM_F_APPEND: a new rule after the chain's last one (nft's `add rule`).
    msgs_.push_back(Msg{kNftType(NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND, std::move(a.buf()), what});
}

void NftBatch::flushChain(const std::string& table, const std::string& chain) {
    Attrs a;
    a.str(NFTA_RULE_TABLE, table);
    a.str(NFTA_RULE_CHAIN, chain);
    msgs_.push_back(Msg{kNftType(NFT_MSG_DELRULE), 0, std::move(a.buf()), "flush chain ip " + table + " " + chain});
    deletes_ = true;
}

std::vector<char> NftBatch::encode(std::uint32_t seq) const {
    std::vector<char> out;
    // BEGIN/END carry the subsystem in res_id and no NLM_F_ACK: kernels before 6.2 never ack
    // them, so the acks to count are exactly those of the messages in between.
    appendMessage(out, NFNL_MSG_BATCH_BEGIN, 0, seq, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, {});
    for (std::size_t i = 0; i < msgs_.size(); ++i)
        appendMessage(out, msgs_[i].type, static_cast<std::uint16_t>(msgs_[i].flags | NLM_F_ACK),
                      seq + 1 + static_cast<std::uint32_t>(i), NFPROTO_IPV4, 0, msgs_[i].attrs);
    appendMessage(out, NFNL_MSG_BATCH_END, 0, seq + 1 + static_cast<std::uint32_t>(msgs_.size()), AF_UNSPEC,
                  NFNL_SUBSYS_NFTABLES, {});
    return out;
}

NfTables NfTables::open() {
    // NETLINK_NETFILTER socket: bound to the caller's netns, where the table lives.
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    if (!fd) throwErrno("netlink socket (netfilter)");
    int one = 1;
    // Acks without a copy of the request (small replies: one per rule), with the kernel's
    // reason string when it gives one. Both best effort (old kernels lack them).
    ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    // A kernel that never answers must not hang mydock (commit_mutex held elsewhere for long).
    timeval tv{10, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return NfTables(std::move(fd));
}

NfTables::~NfTables() {
    if (!fd_) return;
    if (deferClose_) closeDetached(std::move(fd_));
}

namespace {

ssize_t recvSome(int fd, std::vector<char>& buf) {
    for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) throw Error("nftables: no answer from the kernel in 10 s");
        throwErrno("netlink recv (netfilter)");
    }
}

}  // namespace

bool NfTables::tableExists(const std::string& name) {
    // NFT_MSG_GETTABLE for one table of family ip: the answer is the table (then an ack), or ENOENT.
    Attrs a;
    a.str(NFTA_TABLE_NAME, name);
    std::vector<char> msg;
    const std::uint32_t seq = seq_++;
    appendMessage(msg, kNftType(NFT_MSG_GETTABLE), NLM_F_ACK, seq, NFPROTO_IPV4, 0, a.buf());
    if (::send(fd_.get(), msg.data(), msg.size(), 0) < 0) throwErrno("netlink send (netfilter)");
    bool found = false;
    std::vector<char> buf(16384);
    for (;;) {
        ssize_t n = recvSome(fd_.get(), buf);
        if (n == 0) throw Error("netlink (netfilter): no answer");
        int len = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_seq != seq) continue;   // a stale answer to an earlier request
            if (r->nlmsg_type == NLMSG_ERROR) {
                int err = -static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
                if (err == 0) return found;   // the ack after the table
                if (err == ENOENT) return false;
                throwKernel("query table ip " + name, err, kernelMessage(r));
            }
            if (r->nlmsg_type == kNftType(NFT_MSG_NEWTABLE)) found = true;
        }
    }
}

void NfTables::commit(const NftBatch& batch) {
    if (batch.empty()) return;
    const std::uint32_t begin = seq_;
    seq_ += static_cast<std::uint32_t>(batch.size()) + 2;
    std::vector<char> msg = batch.encode(begin);
    // A batch must reach the kernel as one datagram (one skb): let the send buffer hold it, and
    // the receive buffer every ack (the kernel queues them all before we read; each costs about
    // 1 KiB of buffer accounting). FORCE needs CAP_NET_ADMIN, which changing nf_tables needs too.
    int snd = static_cast<int>(std::min<std::size_t>(msg.size() + 65536, 1u << 30));
    int rcv = static_cast<int>(std::min<std::size_t>(batch.size() * 2048 + 65536, 1u << 30));
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) != 0)
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    // From the send on, the close goes to a detached process (see the header): after our own
    // deletion it would wait for a grace period; after additions it may still wait for the
    // deletion of another mydock process a moment ago (the next container's start after the
    // last one's teardown: any close flushes any pending destruction in the netns).
    deferClose_ = true;
    ssize_t sent;
    while ((sent = ::send(fd_.get(), msg.data(), msg.size(), 0)) < 0 && errno == EINTR) {}
    if (sent < 0) throwErrno("nftables: send batch of " + std::to_string(batch.size()) + " messages");
    std::vector<bool> acked(batch.size(), false);
    std::size_t pending = batch.size();
    std::vector<char> buf(65536);
    while (pending > 0) {
        ssize_t n = recvSome(fd_.get(), buf);
        if (n == 0) throw Error("netlink (netfilter): no answer");
        int len = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_type != NLMSG_ERROR) continue;
            int err = -static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
            // An error on BEGIN's sequence: the batch was refused whole, or its commit failed.
            if (r->nlmsg_seq == begin) {
                if (err) throwKernel("commit", err, kernelMessage(r));
                continue;
            }
            if (r->nlmsg_seq <= begin || r->nlmsg_seq > begin + batch.size()) continue;   // stale
            std::size_t i = r->nlmsg_seq - begin - 1;
            // The kernel aborts the whole transaction on the first refused message; the acks
            // come in message order, so this is the first error.
            if (err) throwKernel(batch.what(i), err, kernelMessage(r));
            if (!acked[i]) {
                acked[i] = true;
                --pending;
            }
        }
    }
}

namespace {

// Our command line's bytes (argv[0]'s start, the length /proc/self/cmdline reports), read once
// before any fork: the grandchild below renames itself by overwriting them.
struct ArgArea {
    char* start = nullptr;
    std::size_t len = 0;
};

ArgArea argArea() {
    static const ArgArea area = [] {
        ArgArea a;
        char buf[4096];
        UniqueFd f(::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC));
        if (!f) return a;
        ssize_t n, total = 0;
        while ((n = ::read(f.get(), buf, sizeof buf)) > 0) total += n;
        a.start = program_invocation_name;
        a.len = static_cast<std::size_t>(total);
        return a;
    }();
    return area;
}

}  // namespace

void closeDetached(UniqueFd fd) {
    if (!fd) return;
    const int sock = fd.get();
    const ArgArea args = argArea();
    int p[2];
    // The pipe orders the releases: the grandchild closes the socket only after reading EOF,
    // i.e. after this process and the child have dropped their references, so its close is the
    // last one, the one that runs the kernel's release work.
    if (::pipe2(p, O_CLOEXEC) != 0) return;   // fd closes here: we pay the wait, nothing breaks
    // No signal handler may run in the children (they share nothing safe to touch with us).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = ::fork();
    if (child == 0) {
        // Child (async-signal-safe calls only: mydock may have threads). Drop every fd but the
        // socket and the pipe first, so that neither it nor the grandchild holds a lock file or
        // a pipe of the caller (a held flock or stdout pipe would outlive the call).
        int keep[3] = {sock, p[0], p[1]};
        std::sort(keep, keep + 3);
        unsigned lo = 0;
        for (int k : keep) {
            if (static_cast<unsigned>(k) > lo) ::syscall(SYS_close_range, lo, static_cast<unsigned>(k) - 1, 0);
            lo = static_cast<unsigned>(k) + 1;
        }
        ::syscall(SYS_close_range, lo, ~0u, 0);
        // The grandchild: a plain fork by clone (glibc's fork is not safe here), orphaned when
        // we exit, reaped by init (or a subreaper).
        long g = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
        if (g == 0) {
            // Not a copy of `mydock run ...` in ps and pgrep for the ~10 ms it lives: its
            // command line becomes "mydock-nft-close" (overwritten in place, as setproctitle
            // does; this process's own copy of the stack) and its name the same.
            if (args.start && args.len > sizeof "mydock-nft-close") {
                std::memset(args.start, 0, args.len);
                std::memcpy(args.start, "mydock-nft-close", sizeof "mydock-nft-close");
            }
            ::prctl(PR_SET_NAME, "mydock-nftclose", 0, 0, 0);
            ::close(p[1]);
            char c;
            while (::read(p[0], &c, 1) < 0 && errno == EINTR) {}
            // Wait for an RCU grace period first, holding nothing: MEMBARRIER_CMD_GLOBAL is a
            // synchronize_rcu(). The close below takes nf_tables' commit_mutex while it waits
            // for the destruction work (itself waiting for a grace period); done after ours,
            // that work is over and the mutex is held for a moment, not for a grace period
            // during which every other batch in the netns would block. Failure (nohz_full
            // CPUs) only means the close waits as it would have.
            ::syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
            // The last reference to the socket: the kernel's release work runs here.
            ::close(sock);
            ::_exit(0);
        }
        // Our references go before our write end does (see the pipe above).
        ::close(sock);
        ::close(p[1]);
        ::_exit(0);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    // Ours too: the socket first, then the write end.
    fd.reset();
    ::close(p[1]);
    ::close(p[0]);
    if (child < 0) return;   // the socket closed above: the wait was paid inline, nothing broke
    int status;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}   // ECHILD (SIGCHLD ignored): gone already
}

}  // namespace mydock::runtime::net
