// Bridge networking against the kernel (root only): namespaces made by `unshare --net` stand in
// for containers. Traffic only between those namespaces and 127.0.0.1; NAT checked by its rules.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/fs.h"
#include "runtime/net_bridge.h"
#include "runtime/net_files.h"
#include "runtime/net_netlink.h"
#include "runtime/net_nft.h"

using namespace mydock;
using namespace mydock::runtime::net;

namespace {

// A process alone in a new network namespace, killed and reaped on destruction.
class NsProcess {
public:
    explicit NsProcess(std::vector<std::string> cmd) {
        std::vector<std::string> argv = {"unshare", "--net", "--"};
        argv.insert(argv.end(), cmd.begin(), cmd.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            std::vector<char*> a;
            for (auto& s : argv) a.push_back(s.data());
            a.push_back(nullptr);
            ::execvp(a[0], a.data());
            ::_exit(127);
        }
        // unshare execs the command in place: wait until the pid is in a netns of its own.
        struct stat self{};
        ::stat("/proc/self/ns/net", &self);
        for (int i = 0; i < 500; ++i) {
            struct stat st{};
            std::string comm;
            fs::readFileIfExists("/proc/" + std::to_string(pid_) + "/comm", comm);
            if (::stat(("/proc/" + std::to_string(pid_) + "/ns/net").c_str(), &st) == 0 &&
                st.st_ino != self.st_ino && comm.rfind("unshare", 0) != 0)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ADD_FAILURE() << "namespace process did not start";
    }
    ~NsProcess() { kill(); }
    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    pid_t pid() const { return pid_; }
    // Runs a shell command inside this namespace; returns its exit status.
    int run(const std::string& cmd) const {
        std::string c = "nsenter --net=/proc/" + std::to_string(pid_) + "/ns/net -- " + cmd;
        return WEXITSTATUS(std::system(c.c_str()));
    }
    std::string output(const std::string& cmd) const {
        std::string c = "nsenter --net=/proc/" + std::to_string(pid_) + "/ns/net -- " + cmd;
        std::string out;
        if (FILE* f = ::popen(c.c_str(), "r")) {
            char buf[512];
            while (std::fgets(buf, sizeof buf, f)) out += buf;
            ::pclose(f);
        }
        return out;
    }

private:
    pid_t pid_ = -1;
};

bool hostHasLink(const std::string& name) { return Netlink::open().link(name).has_value(); }
bool nftListed(const std::string& t) {
    return std::system(("nft list table ip " + t + " >/dev/null 2>&1").c_str()) == 0;
}
std::string nftTable(const std::string& t) {
    std::string out;
    if (FILE* f = ::popen(("nft list table ip " + t + " 2>/dev/null").c_str(), "r")) {
        char buf[512];
        while (std::fgets(buf, sizeof buf, f)) out += buf;
        ::pclose(f);
    }
    return out;
}

// Whether the table holds any rule that comes and goes with containers.
bool hasContainerRules(const std::string& t) {
    std::string rules = nftTable(t);
    return rules.find("masquerade") != std::string::npos || rules.find("dnat") != std::string::npos;
}

// GET /marker from ip:port, from the host or (netnsPid != 0) from inside that process's netns
// (a thread that setns()es: the connection is made from there).
std::string httpGet(const std::string& ip, std::uint16_t port, pid_t netnsPid) {
    std::string reply;
    std::thread t([&] {
        if (netnsPid) {
            int ns = ::open(("/proc/" + std::to_string(netnsPid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
            if (ns < 0) return;
            int rc = ::setns(ns, CLONE_NEWNET);
            ::close(ns);
            if (rc != 0) return;
        }
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
        timeval tv{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
            std::string req = "GET /marker HTTP/1.0\r\n\r\n";
            (void)!::write(fd, req.data(), req.size());
            char buf[1024];
            ssize_t n;
            while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
    });
    t.join();
    return reply;
}

class NetRoot : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        if (::access("/usr/sbin/nft", X_OK) != 0) GTEST_SKIP() << "needs nft";
        // A bridge, /24 and table per test process, so parallel ctest runs never share one.
        int pid = ::getpid();
        cfg_.bridge = "mdt" + std::to_string(pid);
        cfg_.subnet = "10." + std::to_string(100 + (pid >> 8) % 100) + "." + std::to_string(pid & 255) + ".0/24";
        cfg_.nftTable = "mydock_test_" + std::to_string(::getpid());
        root_ = std::make_unique<fs::TempDir>();
    }
    void TearDown() override {
        if (!root_) return;
        try { BridgeNetwork::open(root_->path(), cfg_).prune(); } catch (...) {}
        // A test that named the bridge in config.json (table mydock_<bridge>) and failed
        // before its own pruneNetwork() must not leave that table either.
        try { deleteNft("mydock_" + cfg_.bridge, root_->path() + "/no-cache"); } catch (...) {}
        EXPECT_FALSE(hostHasLink(cfg_.bridge));
        EXPECT_FALSE(nftListed(cfg_.nftTable));
    }
    BridgeNetwork net() { return BridgeNetwork::open(root_->path(), cfg_); }
    std::string prefix() const { return cfg_.subnet.substr(0, cfg_.subnet.rfind('.') + 1); }

    BridgeConfig cfg_;
    std::unique_ptr<fs::TempDir> root_;
};

}  // namespace

TEST_F(NetRoot, TwoContainersPingAndTeardown) {
    NsProcess a({"sleep", "300"}), b({"sleep", "300"});
    std::string vethA, vethB;
    {
        auto n = net();
        Attachment aa = n.attach("container-a", a.pid(), {});
        Attachment ab = n.attach("container-b", b.pid(), {});
        vethA = aa.hostVeth();
        vethB = ab.hostVeth();
        EXPECT_EQ(aa.ip(), prefix() + "2");
        EXPECT_EQ(ab.ip(), prefix() + "3");
        EXPECT_EQ(aa.gateway(), prefix() + "1");
        EXPECT_TRUE(hostHasLink(vethA));
        EXPECT_TRUE(hostHasLink(cfg_.bridge));
        EXPECT_NE(a.output("ip -4 -o addr show dev eth0").find(aa.ip() + "/24"), std::string::npos);
        EXPECT_NE(a.output("ip route show default").find("via " + aa.gateway() + " dev eth0"), std::string::npos);
        EXPECT_NE(a.output("ip -o link show lo").find("UP"), std::string::npos);
        EXPECT_EQ(a.run("busybox ping -c 1 -W 3 " + ab.ip() + " >/dev/null"), 0);
        EXPECT_EQ(b.run("busybox ping -c 1 -W 3 " + aa.ip() + " >/dev/null"), 0);
        auto rules = nftTable(cfg_.nftTable);
        EXPECT_NE(rules.find("ip saddr " + cfg_.subnet + " oifname != \"" + cfg_.bridge + "\" masquerade"),
                  std::string::npos) << rules;
        EXPECT_TRUE(fs::exists(n.leaseFile()));
        aa.detach();
        EXPECT_FALSE(hostHasLink(vethA));
        EXPECT_TRUE(hasContainerRules(cfg_.nftTable));  // b still needs the masquerade
    }
    // The last container gone: its veth, lease and the rules go; the bridge and the table
    // (base chains, the route_localnet guard) stay for the next one, until prune().
    EXPECT_FALSE(hostHasLink(vethB));
    EXPECT_TRUE(hostHasLink(cfg_.bridge));
    EXPECT_TRUE(nftListed(cfg_.nftTable));
    EXPECT_FALSE(hasContainerRules(cfg_.nftTable)) << nftTable(cfg_.nftTable);
    EXPECT_NE(nftTable(cfg_.nftTable).find("ip daddr 127.0.0.0/8 drop"), std::string::npos);
    EXPECT_FALSE(fs::exists(net().leaseFile()));
    // The next container finds them and adds its rules.
    NsProcess c({"sleep", "300"});
    {
        Attachment ac = net().attach("container-c", c.pid(), {});
        EXPECT_TRUE(hasContainerRules(cfg_.nftTable));
        EXPECT_EQ(c.run("busybox ping -c 1 -W 3 " + ac.gateway() + " >/dev/null"), 0);
        // prune() leaves a bridge in use alone.
        EXPECT_FALSE(net().prune());
        EXPECT_TRUE(hostHasLink(cfg_.bridge));
        EXPECT_TRUE(hasContainerRules(cfg_.nftTable));
    }
    EXPECT_TRUE(net().prune());
    EXPECT_FALSE(hostHasLink(cfg_.bridge));
    EXPECT_FALSE(nftListed(cfg_.nftTable));
    EXPECT_FALSE(net().prune());   // nothing left to remove
}

TEST_F(NetRoot, DeadContainersVethGoesWithItsNetnsAndItsMacComesFromItsAddress) {
    auto p = std::make_unique<NsProcess>(std::vector<std::string>{"sleep", "300"});
    std::string veth;
    {
        Attachment a = net().attach("dying", p->pid(), {});
        veth = a.hostVeth();
        // docker's rule: 02:42 and the four bytes of the address, whoever holds it.
        auto ip = parseIPv4(a.ip());
        ASSERT_TRUE(ip);
        const auto* b = reinterpret_cast<const unsigned char*>(&ip->s_addr);
        char mac[32];
        std::snprintf(mac, sizeof mac, "02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]);
        // (`ip`, not /sys: nsenter --net keeps the host's sysfs mount)
        EXPECT_NE(p->output("ip -o link show eth0").find(std::string("link/ether ") + mac), std::string::npos)
            << p->output("ip -o link show eth0");
        p->kill();   // the container ends; its netns starts dying
    }   // the Attachment's detach: lease and rules now, the veth left to the kernel
    EXPECT_FALSE(fs::exists(net().leaseFile()));
    EXPECT_FALSE(hasContainerRules(cfg_.nftTable));
    // A stale-cleanup meanwhile leaves a veth with a dying peer alone; the kernel removes it.
    net().cleanupStale();
    EXPECT_TRUE(Netlink::open().waitGone(veth, 3000));
}

TEST_F(NetRoot, TwentyConcurrentAttachesThenStaleCleanup) {
    std::vector<std::unique_ptr<NsProcess>> procs;
    for (int i = 0; i < 20; ++i) procs.push_back(std::make_unique<NsProcess>(std::vector<std::string>{"sleep", "300"}));
    std::vector<std::string> ips(20);
    std::vector<std::thread> threads;
    std::vector<std::string> errors(20);
    for (int i = 0; i < 20; ++i)
        threads.emplace_back([&, i] {
            try {
                // Each thread opens its own lock fd: flock excludes them like separate processes.
                auto att = net().attach("c" + std::to_string(i), procs[i]->pid(), {});
                ips[i] = att.ip();
                att.release();  // left for the stale cleanup below
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    for (auto& t : threads) t.join();
    std::set<std::string> distinct;
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(errors[i], "");
        distinct.insert(ips[i]);
    }
    EXPECT_EQ(distinct.size(), 20u);
    EXPECT_TRUE(hostHasLink(BridgeNetwork::hostVethName("c7")));
    // Containers "die by SIGKILL": their leases are reclaimed by the next cleanup.
    net().cleanupStale();
    EXPECT_TRUE(hostHasLink(cfg_.bridge));  // all still alive: nothing removed
    for (auto& p : procs) p->kill();
    net().cleanupStale();
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(hostHasLink(BridgeNetwork::hostVethName("c" + std::to_string(i))));
    EXPECT_TRUE(hostHasLink(cfg_.bridge));
    EXPECT_FALSE(hasContainerRules(cfg_.nftTable));
    EXPECT_FALSE(fs::exists(net().leaseFile()));
}

TEST_F(NetRoot, PublishedPortOnLoopback) {
    fs::TempDir www;
    fs::writeFileAtomic(www.path() + "/marker", "hello-from-netns\n", false);
    NsProcess web({"busybox", "httpd", "-f", "-p", "8000", "-h", www.path()});
    std::uint16_t port = pickFreeHostPort("127.0.0.1", "tcp");
    auto att = net().attach("web", web.pid(), {PortMapping{"127.0.0.1", port, 0, 8000, "tcp"}});
    ASSERT_EQ(att.ports().size(), 1u);
    EXPECT_EQ(att.ports()[0].hostPort, port);
    EXPECT_NE(nftTable(cfg_.nftTable).find("dnat to " + att.ip() + ":8000"), std::string::npos);
    // The same host port for another container is refused.
    NsProcess other({"sleep", "300"});
    EXPECT_THROW(net().attach("other", other.pid(), {PortMapping{"", port, 0, 80, "tcp"}}), Error);

    std::string reply;
    for (int i = 0; i < 50 && reply.find("hello-from-netns") == std::string::npos; ++i) {
        reply = httpGet("127.0.0.1", port, 0);
        if (reply.find("hello-from-netns") == std::string::npos)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(reply.find("hello-from-netns"), std::string::npos) << reply;

    // Another container reaches it through the host (prerouting DNAT, hairpin masquerade):
    // the bridge's gateway address stands in for "another host's view of this host".
    std::uint16_t port2 = pickFreeHostPort("", "tcp");
    NsProcess web2({"busybox", "httpd", "-f", "-p", "8000", "-h", www.path()});
    auto att2 = net().attach("web2", web2.pid(), {PortMapping{"", port2, 0, 8000, "tcp"}});
    auto client = net().attach("client", other.pid(), {});
    std::string got;
    for (int i = 0; i < 30 && got.find("hello-from-netns") == std::string::npos; ++i) {
        got = httpGet(client.gateway(), port2, other.pid());
        if (got.find("hello-from-netns") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(got.find("hello-from-netns"), std::string::npos) << got;
    client.detach();
    EXPECT_NE(nftTable(cfg_.nftTable).find("dnat to " + att2.ip()), std::string::npos);
    att2.detach();
    EXPECT_EQ(nftTable(cfg_.nftTable).find("dnat to " + att2.ip()), std::string::npos);  // its port went
    EXPECT_NE(nftTable(cfg_.nftTable).find("dnat to " + att.ip()), std::string::npos);   // not the other's
    att.detach();
    EXPECT_FALSE(hasContainerRules(cfg_.nftTable));
}

TEST_F(NetRoot, ReattachAfterSigkillReclaimsLease) {
    auto first = std::make_unique<NsProcess>(std::vector<std::string>{"sleep", "300"});
    auto att = net().attach("same-id", first->pid(), {PortMapping{"127.0.0.1", 0, 0, 80, "tcp"}});
    ASSERT_EQ(att.ports().size(), 1u);
    EXPECT_NE(att.ports()[0].hostPort, 0);  // a random free port was chosen
    std::string ip = att.ip();
    att.release();      // mydock "dies" without teardown
    first->kill();      // and so does the container
    EXPECT_NE(nftTable(cfg_.nftTable).find("dnat to"), std::string::npos);  // left until reclaimed
    NsProcess second({"sleep", "300"});
    auto again = net().attach("same-id", second.pid(), {});
    EXPECT_EQ(again.ip(), ip);
    EXPECT_EQ(nftTable(cfg_.nftTable).find("dnat to"), std::string::npos);  // the old port rule went
    EXPECT_THROW(net().attach("same-id", second.pid(), {}), Error);  // one lease per live container
    EXPECT_THROW(net().attach("host-ns", ::getpid(), {}), Error);     // never the host's netns
}

TEST_F(NetRoot, ConcurrentAttachesFromSeparateProcesses) {
    // As several mydock processes would: forked children attach at once through the flock.
    constexpr int kN = 10;
    std::vector<std::unique_ptr<NsProcess>> procs;
    for (int i = 0; i < kN; ++i) procs.push_back(std::make_unique<NsProcess>(std::vector<std::string>{"sleep", "300"}));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::vector<pid_t> kids;
    for (int i = 0; i < kN; ++i) {
        pid_t k = ::fork();
        if (k == 0) {
            ::close(fds[0]);
            std::string line;
            try {
                auto att = net().attach("p" + std::to_string(i), procs[i]->pid(), {});
                line = att.ip() + "\n";
                att.release();
            } catch (const std::exception& e) {
                line = std::string("error ") + e.what() + "\n";
            }
            (void)!::write(fds[1], line.data(), line.size());  // < PIPE_BUF: one atomic write
            ::_exit(0);
        }
        kids.push_back(k);
    }
    ::close(fds[1]);
    for (pid_t k : kids) ::waitpid(k, nullptr, 0);
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    std::set<std::string> ips;
    std::istringstream in(all);
    for (std::string l; std::getline(in, l);) {
        EXPECT_EQ(l.find("error"), std::string::npos) << l;
        ips.insert(l);
    }
    EXPECT_EQ(ips.size(), static_cast<size_t>(kN)) << all;
    for (auto& p : procs) p->kill();
    net().cleanupStale();
    EXPECT_FALSE(fs::exists(net().leaseFile()));
}

TEST_F(NetRoot, AttachContainerWritesEtcFiles) {
    fs::writeFileAtomic(root_->path() + "/config.json",
                        "{\"bridge-name\": \"" + cfg_.bridge + "\", \"bridge-subnet\": \"" + cfg_.subnet + "\"}", false);
    fs::TempDir dir, netDir;
    NsProcess p({"sleep", "300"});
    // A bridge named in config.json gets a table of its own, never mydock0's "mydock"; the
    // leases go to MYDOCK_NETWORK_DIR (here a scratch dir instead of /run/mydock).
    ::setenv("MYDOCK_NETWORK_DIR", netDir.path().c_str(), 1);
    const std::string table = "mydock_" + cfg_.bridge;
    {
        // hosts is rewritten in place: a bind mount of it made before the attach sees the
        // container's address (the child builds its root while the parent wires the network).
        fs::writeFileAtomic(dir.path() + "/hosts", hostsFileContent("", ""), false);
        struct stat before{}, after{};
        ASSERT_EQ(::stat((dir.path() + "/hosts").c_str(), &before), 0);
        auto att = attachContainer(root_->path(), "etc-files", p.pid(), {"127.0.0.1::80"}, dir.path(), "myhost");
        EXPECT_EQ(att.ip(), prefix() + "2");
        EXPECT_NE(att.ports().at(0).hostPort, 0);
        EXPECT_NE(fs::readFile(dir.path() + "/hosts").find(att.ip() + "\tmyhost\n"), std::string::npos);
        ASSERT_EQ(::stat((dir.path() + "/hosts").c_str(), &after), 0);
        EXPECT_EQ(before.st_ino, after.st_ino);
        EXPECT_TRUE(nftListed(table));
        EXPECT_TRUE(fs::exists(netDir.path() + "/network/" + cfg_.bridge + ".leases"));
    }
    EXPECT_FALSE(hasContainerRules(table));
    EXPECT_TRUE(hostHasLink(cfg_.bridge));
    EXPECT_FALSE(fs::exists(netDir.path() + "/network/" + cfg_.bridge + ".leases"));
    // `system prune`: the bridge of config.json and its table go.
    EXPECT_EQ(pruneNetwork(root_->path()), cfg_.bridge);
    EXPECT_FALSE(nftListed(table));
    EXPECT_FALSE(hostHasLink(cfg_.bridge));
    EXPECT_EQ(pruneNetwork(root_->path()), "");
    ::unsetenv("MYDOCK_NETWORK_DIR");
}

TEST_F(NetRoot, SyncNftRunsNftOnlyWhenTheRulesChange) {
    const std::string table = cfg_.nftTable, cache = root_->path() + "/rules.nft";
    Subnet subnet = Subnet::parse(cfg_.subnet);
    Lease l;
    l.containerId = "c1";
    l.ip = prefix() + "2";
    const auto rules = renderRules(table, cfg_.bridge, subnet, {l});
    EXPECT_FALSE(nftTableExists(table));
    syncNft(table, cfg_.bridge, rules, cache);   // no table: base and rules
    EXPECT_TRUE(nftTableExists(table));
    EXPECT_TRUE(hasContainerRules(table));
    EXPECT_NE(nftTable(table).find("ip daddr 127.0.0.0/8 drop"), std::string::npos);
    // Unchanged rules, table present: no nft run (a chain added by hand survives).
    ASSERT_EQ(std::system(("nft add chain ip " + table + " handmade").c_str()), 0);
    syncNft(table, cfg_.bridge, rules, cache);
    EXPECT_NE(nftTable(table).find("handmade"), std::string::npos);
    // A port added: only added (the hand-made chain is still there: no table rebuild).
    Lease p = l;
    p.containerId = "c2";
    p.ip = prefix() + "3";
    p.ports = {PortMapping{"127.0.0.1", 18099, 0, 80, "tcp"}};
    syncNft(table, cfg_.bridge, renderRules(table, cfg_.bridge, subnet, {l, p}), cache);
    std::string now = nftTable(table);
    EXPECT_NE(now.find("dnat to " + p.ip + ":80"), std::string::npos) << now;
    EXPECT_NE(now.find("handmade"), std::string::npos);
    // And removed again: the masquerade (c1 still there) exactly once.
    syncNft(table, cfg_.bridge, rules, cache);
    now = nftTable(table);
    EXPECT_EQ(now.find("dnat to"), std::string::npos) << now;
    auto first = now.find("oifname != \"" + cfg_.bridge + "\" masquerade");
    EXPECT_NE(first, std::string::npos) << now;
    EXPECT_EQ(now.find("oifname != \"" + cfg_.bridge + "\" masquerade", first + 1), std::string::npos) << now;
    // The table vanished behind our back (deleted by hand): applied again despite the cache.
    ASSERT_EQ(std::system(("nft delete table ip " + table).c_str()), 0);
    syncNft(table, cfg_.bridge, rules, cache);
    EXPECT_TRUE(nftTableExists(table));
    EXPECT_TRUE(hasContainerRules(table));
    EXPECT_EQ(nftTable(table).find("handmade"), std::string::npos);
    // No lease left: the rules go, the table stays.
    syncNft(table, cfg_.bridge, {}, cache);
    EXPECT_TRUE(nftTableExists(table));
    EXPECT_FALSE(hasContainerRules(table));
    // Without a cache the kernel's rules are unknown: flushed and refilled, never doubled.
    ::unlink(cache.c_str());
    syncNft(table, cfg_.bridge, rules, cache);
    ::unlink(cache.c_str());
    syncNft(table, cfg_.bridge, rules, cache);
    now = nftTable(table);
    first = now.find("oifname != \"" + cfg_.bridge + "\" masquerade");
    EXPECT_EQ(now.find("oifname != \"" + cfg_.bridge + "\" masquerade", first + 1), std::string::npos) << now;
    deleteNft(table, cache);
    EXPECT_FALSE(nftTableExists(table));
    EXPECT_FALSE(fs::exists(cache));
    deleteNft(table, cache);   // idempotent
}

TEST_F(NetRoot, CleanupStaleRemovesTemporaryFilesOfKilledWriters) {
    auto n = net();
    const std::string dir = root_->path() + "/network/";
    fs::writeFileAtomic(dir + cfg_.bridge + ".leases.tmp-99999-1", "{", false);
    fs::writeFileAtomic(dir + cfg_.bridge + ".nft.tmp-99999-2", "x", false);
    fs::writeFileAtomic(dir + "other0.leases.tmp-99999-3", "{", false);
    n.cleanupStale();
    EXPECT_FALSE(fs::exists(dir + cfg_.bridge + ".leases.tmp-99999-1"));
    EXPECT_FALSE(fs::exists(dir + cfg_.bridge + ".nft.tmp-99999-2"));
    EXPECT_TRUE(fs::exists(dir + "other0.leases.tmp-99999-3"));   // another bridge's: not ours
}
