// Capability names and docker's --cap-add/--cap-drop/--privileged arithmetic.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include "common/error.h"
#include "runtime/capabilities.h"

using namespace mydock;
using namespace mydock::runtime;

TEST(SecurityCaps, Names) {
    EXPECT_EQ(caps::name(0), "CAP_CHOWN");
    EXPECT_EQ(caps::name(21), "CAP_SYS_ADMIN");
    EXPECT_EQ(caps::name(40), "CAP_CHECKPOINT_RESTORE");
    EXPECT_EQ(caps::name(55), "CAP_55");
    EXPECT_EQ(caps::fromName("net_admin"), CAP_NET_ADMIN);
    EXPECT_EQ(caps::fromName("CAP_NET_ADMIN"), CAP_NET_ADMIN);
    EXPECT_EQ(caps::fromName("Cap_Sys_Time"), CAP_SYS_TIME);
    EXPECT_EQ(caps::fromName("bpf"), CAP_BPF);
    EXPECT_EQ(caps::fromName("nonsense"), std::nullopt);
    EXPECT_EQ(caps::fromName("ALL"), std::nullopt);
    for (int c = 0; c <= CAP_LAST_CAP; ++c) EXPECT_EQ(caps::fromName(caps::name(c)), c);
    EXPECT_GE(caps::lastCap(), 37);
}

TEST(SecurityCaps, DefaultMask) {
    EXPECT_EQ(caps::kDefaultMask, 0xa80425fbULL);
    const std::vector<std::string> want = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
        "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"};
    EXPECT_EQ(caps::names(caps::kDefaultMask), want);
    EXPECT_EQ(caps::computeMask({}, {}, false, ~0ULL), 0xa80425fbULL);
}

TEST(SecurityCaps, AddDrop) {
    const std::uint64_t all = caps::allKnownMask();
    auto bit = [](int c) { return 1ULL << c; };
    EXPECT_EQ(caps::computeMask({"net_admin"}, {}, false, ~0ULL), 0xa80425fbULL | bit(CAP_NET_ADMIN));
    EXPECT_EQ(caps::computeMask({}, {"CAP_CHOWN", "mknod"}, false, ~0ULL),
              0xa80425fbULL & ~bit(CAP_CHOWN) & ~bit(CAP_MKNOD));
    EXPECT_EQ(caps::computeMask({}, {"ALL"}, false, ~0ULL), 0u);
    EXPECT_EQ(caps::computeMask({"NET_RAW"}, {"all"}, false, ~0ULL), bit(CAP_NET_RAW));
    EXPECT_EQ(caps::computeMask({"ALL"}, {}, false, ~0ULL), all);
    EXPECT_EQ(caps::computeMask({"ALL"}, {"SYS_ADMIN"}, false, ~0ULL), all & ~bit(CAP_SYS_ADMIN));
    EXPECT_EQ(caps::computeMask({}, {}, true, ~0ULL), all);
    // Never more than the caller holds: privileged on a host without CAP_SYS_RESOURCE.
    const std::uint64_t avail = all & ~bit(CAP_SYS_RESOURCE);
    EXPECT_EQ(caps::computeMask({}, {}, true, avail), avail);
    EXPECT_EQ(caps::computeMask({"SYS_RESOURCE"}, {}, false, avail), 0xa80425fbULL);
    try {
        caps::computeMask({"cap_bogus"}, {}, false, ~0ULL);
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "unknown capability: \"CAP_BOGUS\"");
        EXPECT_EQ(e.exitCode(), 125);
    }
    EXPECT_THROW(caps::computeMask({}, {"nope"}, false, ~0ULL), Error);
}

TEST(SecurityCaps, OwnBoundingSetMatchesProc) {
    // CapBnd in /proc/self/status is the same set PR_CAPBSET_READ reports.
    FILE* f = std::fopen("/proc/self/status", "re");
    ASSERT_NE(f, nullptr);
    char line[256];
    unsigned long long bnd = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "CapBnd: %llx", &bnd) == 1) break;
    std::fclose(f);
    EXPECT_EQ(caps::ownBoundingSet(), bnd);
}
