// Pure pieces of the runtime: run flag parsers, names, container records, cgroup mountinfo.
#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "common/fs.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/container_store.h"
#include "runtime/names.h"
#include "runtime/run_flags.h"

using namespace mydock;
using namespace mydock::runtime;

TEST(RunFlags, Volumes) {
    auto m = parseVolumeFlag("/host/dir:/data");
    EXPECT_EQ(m.type, MountSpec::Type::Bind);
    EXPECT_EQ(m.source, "/host/dir");
    EXPECT_EQ(m.destination, "/data");
    EXPECT_FALSE(m.readOnly);
    EXPECT_TRUE(parseVolumeFlag("/a:/b:ro").readOnly);
    EXPECT_FALSE(parseVolumeFlag("/a:/b:rw,z").readOnly);
    EXPECT_THROW(parseVolumeFlag("named:/data"), Error);
    EXPECT_THROW(parseVolumeFlag("/a:rel"), Error);
    EXPECT_THROW(parseVolumeFlag("/a:/"), Error);
    EXPECT_THROW(parseVolumeFlag("/a"), Error);
    EXPECT_THROW(parseVolumeFlag("/a:/b:bogus"), Error);
    EXPECT_THROW(parseVolumeFlag("/a:/b:ro:x"), Error);
    EXPECT_THROW(parseVolumeFlag(""), Error);
}

TEST(RunFlags, Tmpfs) {
    auto m = parseTmpfsFlag("/run");
    EXPECT_EQ(m.type, MountSpec::Type::Tmpfs);
    EXPECT_EQ(m.destination, "/run");
    EXPECT_EQ(m.options, "");
    m = parseTmpfsFlag("/run:size=64m,mode=755,noexec");
    EXPECT_EQ(m.options, "size=64m,mode=755");
    EXPECT_TRUE(parseTmpfsFlag("/x:ro").readOnly);
    EXPECT_THROW(parseTmpfsFlag("run"), Error);
    EXPECT_THROW(parseTmpfsFlag("/x:evil=1"), Error);
}

TEST(RunFlags, Network) {
    EXPECT_EQ(parseNetworkFlag("none"), NetworkMode::None);
    EXPECT_EQ(parseNetworkFlag("host"), NetworkMode::Host);
    EXPECT_EQ(parseNetworkFlag("bridge"), NetworkMode::Bridge);
    EXPECT_EQ(parseNetworkFlag("default"), NetworkMode::Bridge);
    EXPECT_THROW(parseNetworkFlag("container:x"), Error);
}

TEST(RunFlags, ContainerIds) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto id = newContainerId();
        ASSERT_EQ(id.size(), 64u);
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
        EXPECT_NE(id.substr(0, 12).find_first_not_of("0123456789"), std::string::npos);
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 100u);
}

TEST(Names, GeneratedAndUnique) {
    std::set<std::string> taken;
    for (int i = 0; i < 300; ++i) {
        auto n = generateName([&](const std::string& s) { return taken.count(s) > 0; });
        EXPECT_TRUE(validContainerName(n)) << n;
        EXPECT_NE(n.find('_'), std::string::npos);
        EXPECT_TRUE(taken.insert(n).second);
    }
}

TEST(Names, Validation) {
    EXPECT_TRUE(validContainerName("web-1.a_b"));
    EXPECT_FALSE(validContainerName("a"));
    EXPECT_FALSE(validContainerName("-x"));
    EXPECT_FALSE(validContainerName("a/b"));
    EXPECT_FALSE(validContainerName("a b"));
    EXPECT_FALSE(validContainerName(""));
}

TEST(ExitCodes, FromWaitStatus) {
    EXPECT_EQ(exitCodeFromWaitStatus(3 << 8), 3);
    EXPECT_EQ(exitCodeFromWaitStatus(9), 137);    // killed by SIGKILL
    EXPECT_EQ(exitCodeFromWaitStatus(15), 143);
}

TEST(Cgroup, V1MountPointFromMountinfo) {
    std::string mi =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    EXPECT_EQ(detail::v1MountPoint(mi, "memory"), "/sys/fs/cgroup/memory");
    EXPECT_EQ(detail::v1MountPoint(mi, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(detail::v1MountPoint(mi, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(detail::v1MountPoint(mi, "pids"), "");
}

TEST(ContainerStore, CreateFindSaveRemove) {
    fs::TempDir root("/tmp", "mydock-cs-");
    ContainerStore store(root.path());
    ContainerRecord r;
    r.id = std::string(64, 'a');
    r.name = "web";
    r.image = "busybox";
    r.imageId = "sha256:" + std::string(64, 'b');
    r.command = {"sh", "-c", "echo hi"};
    r = store.create(r);
    EXPECT_FALSE(r.created.empty());

    ContainerRecord r2;
    r2.id = "aaab" + std::string(60, 'a');
    r2 = store.create(r2);
    EXPECT_TRUE(validContainerName(r2.name));
    EXPECT_NE(r2.name, "web");

    ContainerRecord dup;
    dup.id = std::string(64, 'd');
    dup.name = "web";
    EXPECT_THROW(store.create(dup), Error);
    dup.name = "bad name";
    EXPECT_THROW(store.create(dup), Error);

    EXPECT_EQ(store.find("web")->id, r.id);
    EXPECT_EQ(store.find("/web")->id, r.id);
    EXPECT_EQ(store.find(r.id)->name, "web");
    EXPECT_EQ(store.find("aaaaaaaaaaaa")->id, r.id);   // a prefix only one id has...
    EXPECT_THROW(store.find("aaa"), Error);              // ...a shorter one is ambiguous
    EXPECT_FALSE(store.find("nothing"));

    auto back = store.find("web");
    EXPECT_EQ(back->command, r.command);
    EXPECT_EQ(back->state, "created");

    // "running" without the lock held: its mydock died, shown as exited (137).
    r.state = "running";
    r.pid = 12345;
    store.save(r);
    auto dead = store.find("web");
    EXPECT_EQ(dead->state, "exited");
    EXPECT_EQ(dead->exitCode, 137);
    {
        FileLock running = store.lockRunning(r.id);
        EXPECT_EQ(store.find("web")->state, "running");
        EXPECT_TRUE(store.isRunning(*store.find("web")));
    }

    EXPECT_EQ(store.list().size(), 2u);
    store.remove(r.id);
    EXPECT_FALSE(fs::exists(store.containerDir(r.id)));
    store.save(r);   // a removed container is not brought back
    EXPECT_FALSE(fs::exists(store.containerDir(r.id)));
    EXPECT_EQ(store.list().size(), 1u);
}

TEST(ContainerStore, RecordJsonRoundTripKeepsUnknownFields) {
    ContainerRecord r;
    r.id = std::string(64, 'e');
    r.name = "n1";
    r.command = {"/bin/echo"};
    r.extra = {{"LogPath", "/x"}};
    auto j = recordToJson(r);
    EXPECT_EQ(j["LogPath"], "/x");
    EXPECT_EQ(j["Path"], "/bin/echo");
    auto back = recordFromJson(j);
    EXPECT_EQ(back.command, r.command);
    EXPECT_EQ(back.extra["LogPath"], "/x");
    EXPECT_THROW(recordFromJson(nlohmann::json{{"Id", "../x"}, {"Name", "n"}, {"State", nlohmann::json::object()}}),
                 Error);
    EXPECT_THROW(recordFromJson(nlohmann::json::array()), Error);
}
