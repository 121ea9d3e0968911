// Bridge networking pieces that need no root: -p parsing, IPAM, nft script, resolv.conf/hosts.
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "runtime/net_bridge.h"
#include "runtime/net_files.h"
#include "runtime/net_inspect.h"
#include "runtime/net_ipam.h"
#include "runtime/net_nft.h"
#include "runtime/net_ports.h"

using namespace mydock;
using namespace mydock::runtime::net;

TEST(NetPorts, DockerForms) {
    auto v = parsePortSpec("8080:80");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0], (PortMapping{"", 8080, 0, 80, "tcp"}));
    EXPECT_EQ(parsePortSpec("127.0.0.1:18080:80")[0], (PortMapping{"127.0.0.1", 18080, 0, 80, "tcp"}));
    EXPECT_EQ(parsePortSpec("53:53/udp")[0], (PortMapping{"", 53, 0, 53, "udp"}));
    EXPECT_EQ(parsePortSpec("80")[0], (PortMapping{"", 0, 0, 80, "tcp"}));
    EXPECT_EQ(parsePortSpec("127.0.0.1::80")[0], (PortMapping{"127.0.0.1", 0, 0, 80, "tcp"}));
    EXPECT_EQ(parsePortSpec("0.0.0.0:80:80")[0].hostIp, "");
    EXPECT_EQ(parsePortSpec(":80")[0], (PortMapping{"", 0, 0, 80, "tcp"}));
    EXPECT_EQ(parsePortSpec("80/tcp")[0].proto, "tcp");
}

TEST(NetPorts, Ranges) {
    auto v = parsePortSpec("8000-8002:80-82/udp");
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[2], (PortMapping{"", 8002, 0, 82, "udp"}));
    auto r = parsePortSpec("8000-8010:80");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], (PortMapping{"", 8000, 8010, 80, "tcp"}));
    auto c = parsePortSpec("80-81");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[1], (PortMapping{"", 0, 0, 81, "tcp"}));
}

TEST(NetPorts, Rejects) {
    for (const char* bad : {"", "/tcp", "80/sctp", "0", "70000", "x:80", "8080:", "1.2.3:80:80",
                            "8000-8002:80-81", "82-80", "[::1]:80:80", "::1:80:80", "80:80:80:80",
                            "a.b.c.d:1:2", "-1", "80/", "1-:80"})
        EXPECT_THROW(parsePortSpec(bad), Error) << bad;
}

TEST(NetPorts, Format) {
    EXPECT_EQ(formatMapping(PortMapping{"127.0.0.1", 18080, 0, 80, "tcp"}), "127.0.0.1:18080->80/tcp");
    EXPECT_EQ(formatMapping(PortMapping{"", 53, 0, 53, "udp"}), "0.0.0.0:53->53/udp");
}

TEST(NetIpam, Subnet) {
    auto s = Subnet::parse("10.88.0.0/16");
    EXPECT_EQ(ipToString(s.gateway()), "10.88.0.1");
    EXPECT_EQ(ipToString(s.broadcast()), "10.88.255.255");
    EXPECT_EQ(s.str(), "10.88.0.0/16");
    for (const char* bad : {"10.88.0.0", "10.88.0.1/16", "10.88.0.0/31", "x/16", "10.88.0.0/16x", "10.88.0.0/"})
        EXPECT_THROW(Subnet::parse(bad), Error) << bad;
}

TEST(NetIpam, AllocateLowestReleaseAndReuse) {
    LeaseTable t(Subnet::parse("10.9.0.0/29"));  // .2 .. .6 usable
    EXPECT_EQ(t.allocate("a").ip, "10.9.0.2");
    EXPECT_EQ(t.allocate("b").ip, "10.9.0.3");
    EXPECT_EQ(t.allocate("c").ip, "10.9.0.4");
    EXPECT_THROW(t.allocate("a"), Error);
    ASSERT_TRUE(t.release("b"));
    EXPECT_FALSE(t.release("b"));
    EXPECT_EQ(t.allocate("d").ip, "10.9.0.3");  // lowest free again
    EXPECT_EQ(t.allocate("e").ip, "10.9.0.5");
    EXPECT_EQ(t.allocate("f").ip, "10.9.0.6");
    EXPECT_THROW(t.allocate("g"), Error);       // full: broadcast never handed out
}

TEST(NetIpam, RoundTripAndReclaim) {
    Subnet s = Subnet::parse("10.88.0.0/16");
    LeaseTable t(s);
    auto& a = t.allocate("alive");
    a.pid = 1;
    a.veth = "veth00000001";
    a.ports = {PortMapping{"127.0.0.1", 18080, 0, 80, "tcp"}};
    const auto ports = a.ports;  // `a` dangles once the next allocate grows the table
    t.allocate("dead").pid = 2;
    auto u = LeaseTable::parse(s, t.serialize());
    ASSERT_EQ(u.leases().size(), 2u);
    EXPECT_EQ(u.find("alive")->ports, ports);
    EXPECT_EQ(u.find("alive")->veth, "veth00000001");
    auto gone = u.reclaim([](const Lease& l) { return l.containerId == "alive"; });
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].ip, "10.88.0.3");
    EXPECT_EQ(u.allocate("new").ip, "10.88.0.3");
    EXPECT_TRUE(LeaseTable::parse(s, "").empty());
    EXPECT_THROW(LeaseTable::parse(s, "{not json"), Error);
    EXPECT_THROW(LeaseTable::parse(Subnet::parse("10.77.0.0/16"), t.serialize()), Error);  // subnet changed while in use
}

TEST(NetIpam, Liveness) {
    EXPECT_NE(processStartTime(::getpid()), 0u);
    Lease me;
    me.pid = ::getpid();
    me.startTime = processStartTime(me.pid);
    EXPECT_TRUE(leaseProcessAlive(me));
    me.startTime += 1;  // same pid, another process: the pid was reused
    EXPECT_FALSE(leaseProcessAlive(me));
    Lease none;
    none.pid = 0x3ffffff;
    EXPECT_FALSE(leaseProcessAlive(none));
}

TEST(NetNft, Ruleset) {
    Subnet s = Subnet::parse("10.88.0.0/16");
    EXPECT_TRUE(renderRules("mydock", "mydock0", s, {}).empty());   // no container: no rule
    Lease l;
    l.ip = "10.88.0.2";
    l.containerId = "abc";
    l.ports = {PortMapping{"127.0.0.1", 18080, 0, 80, "tcp"}, PortMapping{"", 5353, 0, 53, "udp"}};
    std::string r;
    for (const auto& rule : renderRules("mydock", "mydock0", s, {l})) r += rule.text() + "\n";
    EXPECT_NE(r.find("add rule ip mydock postrouting ip saddr 10.88.0.0/16 oifname != \"mydock0\" masquerade\n"),
              std::string::npos) << r;
    EXPECT_NE(r.find("add rule ip mydock publish ip daddr 127.0.0.1 tcp dport 18080 dnat to 10.88.0.2:80 comment \"abc\"\n"),
              std::string::npos) << r;
    EXPECT_NE(r.find("add rule ip mydock publish udp dport 5353 dnat to 10.88.0.2:53"), std::string::npos) << r;
    // The base: chains and the fixed rules. Loopback-addressed packets from the bridge: only
    // replies (route_localnet's hole closed), for as long as the bridge lives.
    std::string b = renderBase("mydock", "mydock0");
    EXPECT_NE(b.find("iifname \"mydock0\" ip daddr 127.0.0.0/8 ct state established,related accept\n"
                     "    iifname \"mydock0\" ip daddr 127.0.0.0/8 drop"), std::string::npos) << b;
    EXPECT_NE(b.find("fib daddr type local jump publish"), std::string::npos) << b;
    EXPECT_EQ(b.find("masquerade"), std::string::npos) << b;
    EXPECT_EQ(renderDeleteTable("mydock"), "table ip mydock {}\ndelete table ip mydock\n");
}

TEST(NetNft, ChangeAddsOnlyWhenNothingGoes) {
    const std::vector<std::string> a = {"add rule ip t publish A", "add rule ip t postrouting M"};
    const std::vector<std::string> ab = {"add rule ip t publish A", "add rule ip t publish B",
                                         "add rule ip t postrouting M"};
    // Only additions: the new lines alone, no flush (removing costs an RCU grace period).
    EXPECT_EQ(renderChange("t", "br", a, ab, true), "add rule ip t publish B\n");
    EXPECT_EQ(renderChange("t", "br", {}, a, true), "add rule ip t publish A\nadd rule ip t postrouting M\n");
    // Something goes: both chains flushed and refilled in the same transaction.
    EXPECT_EQ(renderChange("t", "br", ab, a, true),
              "flush chain ip t publish\nflush chain ip t postrouting\nadd rule ip t publish A\n"
              "add rule ip t postrouting M\n");
    EXPECT_EQ(renderChange("t", "br", a, {}, true), "flush chain ip t publish\nflush chain ip t postrouting\n");
    // No table: the base, then every rule.
    EXPECT_EQ(renderChange("t", "br", ab, a, false), renderBase("t", "br") + "add rule ip t publish A\n"
                                                                            "add rule ip t postrouting M\n");
}

TEST(NetFiles, ResolvConfDropsLoopback) {
    std::string host = "# comment\nsearch example.org\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n"
                       "nameserver ::1\noptions edns0\n";
    EXPECT_EQ(filterResolvConf(host), "# comment\nsearch example.org\nnameserver 10.0.0.2\noptions edns0\n");
    EXPECT_EQ(filterResolvConf("nameserver 127.0.0.1\n"), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    EXPECT_EQ(filterResolvConf(""), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

TEST(NetFiles, Hosts) {
    auto h = hostsFileContent("10.88.0.2", "abcdef012345");
    EXPECT_EQ(h.rfind("127.0.0.1\tlocalhost\n", 0), 0u);
    EXPECT_NE(h.find("\n10.88.0.2\tabcdef012345\n"), std::string::npos);
}

TEST(NetPorts, HostPortChecks) {
    std::uint16_t p = pickFreeHostPort("127.0.0.1", "tcp");
    EXPECT_NE(p, 0);
    EXPECT_TRUE(hostPortFree("127.0.0.1", p, "tcp"));
    EXPECT_THROW(hostPortFree("192.0.2.1", 8080, "tcp"), Error);  // not an address of this host
}

TEST(NetInspect, PortBindingsAsDockerRecordsThem) {
    auto j = portBindings({"127.0.0.1:18080:80", "9000-9010:53/udp", "8443", "8000-8001:70-71"});
    EXPECT_EQ(j["80/tcp"], nlohmann::json::parse(R"([{"HostIp":"127.0.0.1","HostPort":"18080"}])"));
    EXPECT_EQ(j["53/udp"], nlohmann::json::parse(R"([{"HostIp":"","HostPort":"9000-9010"}])"));
    EXPECT_EQ(j["8443/tcp"], nlohmann::json::parse(R"([{"HostIp":"","HostPort":""}])"));
    EXPECT_EQ(j["71/tcp"][0]["HostPort"], "8001");
    EXPECT_EQ(portBindings({}), nlohmann::json::object());
    EXPECT_THROW(portBindings({"1.2.3.4:x:80"}), Error);
}

TEST(NetInspect, PortsColumnAndStoppedForm) {
    auto ns = stoppedNetworkSettings("bridge");
    EXPECT_EQ(ns["IPAddress"], "");
    EXPECT_TRUE(ns["Networks"].contains("bridge"));
    EXPECT_EQ(portsColumn(ns), "");
    EXPECT_TRUE(stoppedNetworkSettings("none")["Networks"].contains("none"));
    ns["Ports"] = nlohmann::json::parse(
        R"({"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18080"}],"53/udp":[{"HostIp":"0.0.0.0","HostPort":"5353"}],"22/tcp":null})");
    EXPECT_EQ(portsColumn(ns), "22/tcp, 0.0.0.0:5353->53/udp, 127.0.0.1:18080->80/tcp");
    EXPECT_EQ(portsColumn(nlohmann::json()), "");
    EXPECT_EQ(portsColumn(nlohmann::json::parse(R"({"Ports":[1,2]})")), "");
    // A container that has no lease (not running, or another network) shows no address.
    fs::TempDir root, netDir;
    ::setenv("MYDOCK_NETWORK_DIR", netDir.path().c_str(), 1);
    EXPECT_EQ(networkSettings(root.path(), "nosuch", "bridge")["IPAddress"], "");
    EXPECT_EQ(networkSettings(root.path(), "nosuch", "host")["Networks"].begin().key(), "host");
    ::unsetenv("MYDOCK_NETWORK_DIR");
}

TEST(NetBridgeConfig, FromRootAndTablePerBridge) {
    fs::TempDir root;
    auto c = BridgeConfig::fromRoot(root.path());
    EXPECT_EQ(c.bridge, "mydock0");
    EXPECT_EQ(c.nftTable, "mydock");
    EXPECT_EQ(c.subnet, "10.88.0.0/16");
    fs::writeFileAtomic(root.path() + "/config.json", R"({"bridge-name":"br-x1","bridge-subnet":"10.77.0.0/24"})", false);
    c = BridgeConfig::fromRoot(root.path());
    EXPECT_EQ(c.bridge, "br-x1");
    EXPECT_EQ(c.nftTable, "mydock_br_x1");
    EXPECT_EQ(c.subnet, "10.77.0.0/24");
    fs::writeFileAtomic(root.path() + "/config.json", "{nope", false);
    EXPECT_THROW(BridgeConfig::fromRoot(root.path()), Error);
}
