// The native nf_tables client (net_nftnl) and the rules net_nft builds with it: encoding (pure),
// and, as root with nft installed, rules applied natively to a scratch table must list exactly
// as the same rules applied by `nft -f` do.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "common/error.h"
#include "runtime/net_nft.h"
#include "runtime/net_nftnl.h"

using namespace mydock;
using namespace mydock::runtime::net;

namespace {

Lease lease(const std::string& id, const std::string& ip, std::vector<PortMapping> ports = {}) {
    Lease l;
    l.containerId = id;
    l.ip = ip;
    l.ports = std::move(ports);
    return l;
}

std::string run(const std::string& cmd) {
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        ::pclose(f);
    }
    return out;
}

}  // namespace

TEST(NftNative, RuleTextIsTodaysSyntax) {
    Subnet s = Subnet::parse("10.88.0.0/16");
    auto rules = renderRules("mydock", "mydock0", s,
                             {lease("abc", "10.88.0.2", {PortMapping{"127.0.0.1", 18080, 0, 80, "tcp"},
                                                         PortMapping{"", 5353, 0, 53, "udp"}})});
    ASSERT_EQ(rules.size(), 5u);
    EXPECT_EQ(rules[0].text(), "add rule ip mydock publish ip daddr 127.0.0.1 tcp dport 18080 dnat to 10.88.0.2:80 comment \"abc\"");
    EXPECT_EQ(rules[1].text(), "add rule ip mydock publish udp dport 5353 dnat to 10.88.0.2:53 comment \"abc\"");
    EXPECT_EQ(rules[2].text(), "add rule ip mydock postrouting ip saddr 10.88.0.0/16 oifname != \"mydock0\" masquerade");
    EXPECT_EQ(rules[3].text(), "add rule ip mydock postrouting ip saddr 127.0.0.0/8 oifname \"mydock0\" masquerade");
    EXPECT_EQ(rules[4].text(),
              "add rule ip mydock postrouting ip saddr 10.88.0.0/16 oifname \"mydock0\" ct status dnat masquerade");
    // A name-like id cannot break out of the comment's quotes.
    auto odd = renderRules("t", "br", s, {lease("a\"b c", "10.88.0.3", {PortMapping{"", 1, 0, 2, "tcp"}})});
    EXPECT_NE(odd[0].text().find("comment \"abc\""), std::string::npos) << odd[0].text();
    // Addresses that do not parse are errors, not rules.
    EXPECT_THROW(renderRules("t", "br", s, {lease("x", "10.88.0.300", {PortMapping{"", 1, 0, 2, "tcp"}})}), Error);
    EXPECT_THROW(renderRules("t", "br", s, {lease("x", "10.88.0.3", {PortMapping{"::1", 1, 0, 2, "tcp"}})}), Error);
}

TEST(NftNative, ExpressionsAreNftsOwn) {
    auto names = [](const NftRule& r) {
        std::string s;
        for (const auto& e : r.exprs()) s += e.name + " ";
        return s;
    };
    Subnet s16 = Subnet::parse("10.88.0.0/16"), s20 = Subnet::parse("10.88.16.0/20");
    auto rules = renderRules("t", "br0", s16, {lease("a", "10.88.0.2", {PortMapping{"127.0.0.1", 8080, 0, 80, "tcp"}})});
    EXPECT_EQ(names(rules[0]), "payload cmp meta cmp payload cmp immediate immediate nat ");
    EXPECT_EQ(names(rules[1]), "payload cmp meta cmp masq ");
    EXPECT_EQ(names(rules[3]), "payload cmp meta cmp ct bitwise cmp masq ");
    // A prefix that is not whole bytes: the address loaded whole and masked (as nft does).
    auto r20 = renderRules("t", "br0", s20, {lease("a", "10.88.16.2")});
    EXPECT_EQ(names(r20[0]), "payload bitwise cmp meta cmp masq ");
    // `ip saddr 10.88.0.0/16`: 2 bytes at offset 12 of the network header, compared to 0a 58.
    const auto exprs = rules[1].exprs();
    const auto& p = exprs[0].data;
    auto u32At = [&](std::size_t off) {
        std::uint32_t v;
        std::memcpy(&v, p.data() + off + NLA_HDRLEN, 4);
        return ntohl(v);
    };
    ASSERT_EQ(p.size(), 4u * 8);
    EXPECT_EQ(u32At(0), 1u);    // dreg
    EXPECT_EQ(u32At(8), 1u);    // base: network header
    EXPECT_EQ(u32At(16), 12u);  // offset
    EXPECT_EQ(u32At(24), 2u);   // len
    const auto& c = exprs[1].data;
    ASSERT_GE(c.size(), 8u + 8 + 4 + 4 + 2);
    EXPECT_EQ(std::string(c.end() - 4, c.end() - 2), std::string("\x0a\x58", 2));
    // An interface name that cannot be one is an error.
    NftRule bad = rules[1];
    bad.oifname = std::string(16, 'x');
    EXPECT_THROW(bad.exprs(), Error);
}

TEST(NftNative, CommentUserdataAndBatchFraming) {
    auto ud = nftCommentUserdata("abc");
    EXPECT_EQ(std::string(ud.begin(), ud.end()), std::string("\x00\x04" "abc\x00", 6));
    EXPECT_THROW(nftCommentUserdata(std::string(300, 'x')), Error);

    NftBatch b;
    EXPECT_TRUE(b.empty());
    b.flushChain("t", "publish");
    b.appendRule("t", "postrouting", {nftexpr::masquerade()}, "c", "rule one");
    EXPECT_TRUE(b.deletes());
    EXPECT_EQ(b.size(), 2u);
    auto bytes = b.encode(100);
    std::vector<const nlmsghdr*> msgs;
    int len = static_cast<int>(bytes.size());
    for (auto* h = reinterpret_cast<const nlmsghdr*>(bytes.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
        msgs.push_back(h);
    EXPECT_EQ(len, 0);
    ASSERT_EQ(msgs.size(), 4u);
    EXPECT_EQ(msgs[0]->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
    EXPECT_EQ(msgs[3]->nlmsg_type, NFNL_MSG_BATCH_END);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(msgs[i]->nlmsg_seq, 100 + i);
    auto* g = static_cast<const nfgenmsg*>(NLMSG_DATA(msgs[0]));
    EXPECT_EQ(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
    EXPECT_EQ(msgs[0]->nlmsg_flags & NLM_F_ACK, 0);
    EXPECT_NE(msgs[1]->nlmsg_flags & NLM_F_ACK, 0);
    EXPECT_NE(msgs[2]->nlmsg_flags & NLM_F_ACK, 0);
    EXPECT_EQ(b.what(1), "rule one");
    // The change: only additions stay additions; any removal flushes both chains and refills.
    Subnet s = Subnet::parse("10.88.0.0/16");
    auto one = renderRules("t", "br", s, {lease("a", "10.88.0.2")});
    auto two = renderRules("t", "br", s, {lease("a", "10.88.0.2", {PortMapping{"", 80, 0, 80, "tcp"}})});
    std::vector<std::string> oneText;
    for (const auto& r : one) oneText.push_back(r.text());
    auto add = renderChangeBatch("t", oneText, two);
    EXPECT_FALSE(add.deletes());
    EXPECT_EQ(add.size(), 1u);
    EXPECT_EQ(add.what(0), two[0].text());
    auto drop = renderChangeBatch("t", oneText, {});
    EXPECT_TRUE(drop.deletes());
    EXPECT_EQ(drop.size(), 2u);
    EXPECT_EQ(renderChangeBatch("t", oneText, one).size(), 0u);
}

TEST(NftNative, DetachedCloseHoldsNothingOfOurs) {
    // Any socket will do for the mechanics; a pipe of ours must see EOF as soon as we close our
    // end (no copy left in the child or grandchild), and no child is left to reap.
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]);
    int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    closeDetached(UniqueFd(s));
    EXPECT_EQ(::fcntl(s, F_GETFD), -1);   // closed here
    ::close(p[1]);
    pollfd pfd{rd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
    char c;
    EXPECT_EQ(::read(rd.get(), &c, 1), 0);   // EOF: nobody else holds the write end
    int st;
    EXPECT_EQ(::waitpid(-1, &st, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
}

// As root with nft: a scratch table of its own (same base chains as mydock's), deleted at the end.
class NftNativeRoot : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        if (::access("/usr/sbin/nft", X_OK) != 0) GTEST_SKIP() << "needs nft";
        table_ = "mydock_ut_" + std::to_string(::getpid());
        applyNft(renderBase(table_, bridge_));
    }
    void TearDown() override {
        if (!table_.empty()) std::system(("nft delete table ip " + table_ + " 2>/dev/null").c_str());
        if (!table_.empty()) {
            EXPECT_FALSE(nftTableExists(table_));
        }
    }
    std::string list() { return run("nft list table ip " + table_ + " 2>&1"); }
    void flush() {
        NftBatch b;
        b.flushChain(table_, "publish");
        b.flushChain(table_, "postrouting");
        NfTables::open().commit(b);
    }
    std::vector<NftRule> sample() {
        // Every rule kind, a whole-byte and a masked prefix, with and without a host address.
        auto a = renderRules(table_, bridge_, Subnet::parse("10.87.0.0/16"),
                             {lease("c0ffee", "10.87.0.2", {PortMapping{"127.0.0.1", 18080, 0, 80, "tcp"},
                                                            PortMapping{"", 5353, 0, 53, "udp"}}),
                              lease("beef", "10.87.0.3", {PortMapping{"10.1.2.3", 65535, 0, 1, "tcp"}})});
        auto b = renderRules(table_, bridge_, Subnet::parse("172.20.16.0/20"), {lease("x", "172.20.16.2")});
        a.insert(a.end(), b.begin(), b.end());
        return a;
    }
    std::string table_;
    const std::string bridge_ = "mydockut0";
};

TEST_F(NftNativeRoot, NativeRulesListAsNftsOwn) {
    const auto rules = sample();
    EXPECT_TRUE(nftTableExists(table_));
    NftBatch b;
    for (const auto& r : rules) b.appendRule(r.table, r.chain, r.exprs(), r.comment, r.text());
    {
        NfTables nl = NfTables::open();
        EXPECT_TRUE(nl.tableExists(table_));
        nl.commit(b);
    }
    const std::string native = list();
    flush();
    const std::string empty = list();
    EXPECT_EQ(empty.find("dnat"), std::string::npos) << empty;
    EXPECT_EQ(empty.find("masquerade"), std::string::npos) << empty;
    std::string script;
    for (const auto& r : rules) script += r.text() + "\n";
    applyNft(script);
    const std::string text = list();
    EXPECT_EQ(native, text);
    EXPECT_NE(native.find("ip saddr 172.20.16.0/20 oifname != \"mydockut0\" masquerade"), std::string::npos) << native;
    EXPECT_NE(native.find("ip daddr 10.1.2.3 tcp dport 65535 dnat to 10.87.0.3:1 comment \"beef\""),
              std::string::npos) << native;
    EXPECT_NE(native.find("ip saddr 10.87.0.0/16 oifname \"mydockut0\" ct status dnat masquerade"),
              std::string::npos) << native;
    flush();
}

TEST_F(NftNativeRoot, ErrorsNameTheRuleAndChangeNothing) {
    auto rules = sample();
    NftBatch b;
    b.appendRule(table_, "postrouting", rules.back().exprs(), "", "good rule");
    b.appendRule(table_, "nosuchchain", rules.back().exprs(), "", "rule for a missing chain");
    try {
        NfTables::open().commit(b);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.sysErrno(), ENOENT);
        EXPECT_NE(std::string(e.what()).find("rule for a missing chain"), std::string::npos) << e.what();
    }
    // All or nothing: the good rule is not there either.
    EXPECT_EQ(list().find("masquerade"), std::string::npos) << list();
    NftBatch m;
    m.appendRule("mydock_ut_missing", "postrouting", rules.back().exprs(), "", "x");
    EXPECT_THROW(NfTables::open().commit(m), Error);
    EXPECT_FALSE(nftTableExists("mydock_ut_missing"));
}

TEST_F(NftNativeRoot, SyncAddsNativelyAndRemovesWithoutWaiting) {
    std::string cache = "/tmp/mydock_ut_nft_" + std::to_string(::getpid());
    ::unlink(cache.c_str());
    Subnet s = Subnet::parse("10.87.0.0/16");
    auto one = renderRules(table_, bridge_, s, {lease("a", "10.87.0.2")});
    auto two = renderRules(table_, bridge_, s, {lease("a", "10.87.0.2"), lease("b", "10.87.0.3", {PortMapping{"", 18081, 0, 80, "tcp"}})});
    syncNft(table_, bridge_, one, cache);   // no cache: flush and refill
    syncNft(table_, bridge_, {}, cache);
    auto t0 = std::chrono::steady_clock::now();
    syncNft(table_, bridge_, one, cache);   // the first container: only adds
    auto addMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    syncNft(table_, bridge_, two, cache);   // only adds
    std::string now = list();
    EXPECT_NE(now.find("tcp dport 18081 dnat to 10.87.0.3:80 comment \"b\""), std::string::npos) << now;
    // A removal: the caller must not pay the RCU grace period of the socket's close.
    t0 = std::chrono::steady_clock::now();
    syncNft(table_, bridge_, {}, cache);
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    now = list();
    EXPECT_EQ(now.find("masquerade"), std::string::npos) << now;
    EXPECT_EQ(now.find("dnat"), std::string::npos) << now;
    RecordProperty("add_ms", std::to_string(addMs));
    RecordProperty("removal_ms", std::to_string(ms));
    std::printf("syncNft: first rules added in %.2f ms, all removed in %.2f ms\n", addMs, ms);
    ::unlink(cache.c_str());
}
