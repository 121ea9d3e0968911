// Which registries may use plain HTTP.
#include <gtest/gtest.h>

#include "registry/insecure.h"

using namespace mydock::registry;

namespace {

TEST(Insecure, LoopbackAlways) {
    EXPECT_TRUE(isInsecureRegistry("127.0.0.1:5000", {}));
    EXPECT_TRUE(isInsecureRegistry("127.1.2.3", {}));
    EXPECT_TRUE(isInsecureRegistry("localhost", {}));
    EXPECT_TRUE(isInsecureRegistry("localhost:5000", {}));
    EXPECT_TRUE(isInsecureRegistry("[::1]:5000", {}));
    EXPECT_FALSE(isInsecureRegistry("128.0.0.1:5000", {}));
    EXPECT_FALSE(isInsecureRegistry("registry-1.docker.io", {}));
    EXPECT_FALSE(isInsecureRegistry("localhost.evil.com", {}));
}

TEST(Insecure, HostAndPortEntries) {
    std::vector<std::string> l{"reg.lan:5000", "other.lan", "http://schemed.lan:1/"};
    EXPECT_TRUE(isInsecureRegistry("reg.lan:5000", l));
    EXPECT_FALSE(isInsecureRegistry("reg.lan:5001", l));
    EXPECT_FALSE(isInsecureRegistry("reg.lan", l));
    EXPECT_TRUE(isInsecureRegistry("other.lan", l));
    EXPECT_TRUE(isInsecureRegistry("other.lan:443", l));   // no port in the entry: any port
    EXPECT_TRUE(isInsecureRegistry("schemed.lan:1", l));
    EXPECT_TRUE(isInsecureRegistry("REG.LAN:5000", l));
}

TEST(Insecure, Cidr) {
    std::vector<std::string> l{"10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "bogus/33", "1.2.3.4/99"};
    EXPECT_TRUE(isInsecureRegistry("10.1.2.3:5000", l));
    EXPECT_TRUE(isInsecureRegistry("192.168.1.77", l));
    EXPECT_FALSE(isInsecureRegistry("192.168.2.1", l));
    EXPECT_FALSE(isInsecureRegistry("11.0.0.1", l));
    EXPECT_TRUE(isInsecureRegistry("[fd12::1]:5000", l));
    EXPECT_FALSE(isInsecureRegistry("[fe80::1]:5000", l));
    EXPECT_FALSE(isInsecureRegistry("1.2.3.4", l));
    std::vector<std::string> odd{"192.168.1.128/25"};
    EXPECT_TRUE(isInsecureRegistry("192.168.1.200", odd));
    EXPECT_FALSE(isInsecureRegistry("192.168.1.100", odd));
    std::vector<std::string> all{"0.0.0.0/0"};
    EXPECT_TRUE(isInsecureRegistry("8.8.8.8", all));
}

TEST(Insecure, SplitHostPort) {
    std::string h, p;
    splitHostPort("a.b:5000", h, p);
    EXPECT_EQ(h, "a.b");
    EXPECT_EQ(p, "5000");
    splitHostPort("[::1]:5000", h, p);
    EXPECT_EQ(h, "::1");
    EXPECT_EQ(p, "5000");
    splitHostPort("::1", h, p);
    EXPECT_EQ(h, "::1");
    EXPECT_EQ(p, "");
    splitHostPort("host", h, p);
    EXPECT_EQ(h, "host");
    EXPECT_EQ(p, "");
}

}  // namespace
