// exec's pure helpers: /proc/PID/cgroup lines, where each hierarchy is mounted, NSpid.
#include <gtest/gtest.h>

#include "runtime/exec.h"

using namespace mydock::runtime::detail;

namespace {

// A hybrid host as this one: v1 controllers (cpu and cpuacct apart, one named hierarchy) and
// the unified tree at /sys/fs/cgroup/unified.
const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

}  // namespace

TEST(ExecCgroup, ParsesProcCgroup) {
    auto v = parseProcCgroup("9:name=systemd:/\n4:memory:/mydock/abc\n2:cpu,cpuacct:/x\n0::/user.slice\nbad\n");
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(v[0].hierarchy, 9);
    EXPECT_EQ(v[0].controllers, "name=systemd");
    EXPECT_EQ(v[1].controllers, "memory");
    EXPECT_EQ(v[1].path, "/mydock/abc");
    EXPECT_EQ(v[2].controllers, "cpu,cpuacct");
    EXPECT_EQ(v[3].hierarchy, 0);
    EXPECT_EQ(v[3].controllers, "");
    EXPECT_EQ(v[3].path, "/user.slice");
}

TEST(ExecCgroup, FindsEachHierarchysDirectory) {
    EXPECT_EQ(cgroupDirFor({4, "memory", "/mydock/abc"}, kHybridMountinfo), "/sys/fs/cgroup/memory/mydock/abc");
    EXPECT_EQ(cgroupDirFor({2, "cpu,cpuacct", "/mydock/abc"}, kHybridMountinfo),
              "/sys/fs/cgroup/cpu,cpuacct/mydock/abc");
    EXPECT_EQ(cgroupDirFor({9, "name=systemd", "/"}, kHybridMountinfo), "/sys/fs/cgroup/systemd");
    EXPECT_EQ(cgroupDirFor({0, "", "/mydock/abc"}, kHybridMountinfo), "/sys/fs/cgroup/unified/mydock/abc");
    EXPECT_EQ(cgroupDirFor({7, "pids", "/mydock/abc"}, kHybridMountinfo), "");
}

TEST(ExecCgroup, UnifiedHostAndSubtreeMounts) {
    const char* mi = "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
    EXPECT_EQ(cgroupDirFor({0, "", "/mydock/abc"}, mi), "/sys/fs/cgroup/mydock/abc");
    // A mount of a sub-tree (inside a container): paths below its root only.
    const char* sub = "29 23 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    EXPECT_EQ(cgroupDirFor({0, "", "/kubepods/pod1/mydock/x"}, sub), "/sys/fs/cgroup/mydock/x");
    EXPECT_EQ(cgroupDirFor({0, "", "/kubepods/pod1"}, sub), "/sys/fs/cgroup");
    EXPECT_EQ(cgroupDirFor({0, "", "/other"}, sub), "");
    EXPECT_EQ(cgroupDirFor({0, "", "/kubepods/pod10"}, sub), "");
}

TEST(ExecCgroup, InnermostPid) {
    EXPECT_EQ(innermostPid("Name:\tsleep\nNSpid:\t1234\t1\nNSpgid:\t1234\t1\n"), std::make_pair(1L, 2));
    EXPECT_EQ(innermostPid("NSpid:\t77\n"), std::make_pair(77L, 1));
    EXPECT_EQ(innermostPid("Name:\tx\n"), std::make_pair(-1L, 0));
}
