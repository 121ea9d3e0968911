// The child-side sequence (finalizeProcess) and masked/read-only paths, as root, each in a
// forked child so nothing irreversible touches the test process.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/fs.h"
#include "runtime/capabilities.h"
#include "runtime/security.h"
#include "security_test_util.h"

using namespace mydock;
using namespace mydock::runtime;

namespace {

std::string mountinfo() { return fs::readFile("/proc/self/mountinfo"); }

// Runs finalizeProcess in a child, then execs /bin/grep to print the status lines of the
// exec'd program (capabilities are recomputed at execve) into `out`.
int finalizeAndExec(const SecurityPlan& plan, const ChildIdentity& id, const char* cwd,
                    const std::string& out) {
    return testutil::inChild([&] {
        int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return 80;
        // The exec'd program writes its cwd and status lines; stdout is fd 1 (kept).
        ::dup2(fd, 1);
        if (auto f = finalizeProcess(plan, id, cwd)) {
            std::fprintf(stderr, "finalize: %s: %s\n", f.what, std::strerror(f.err));
            return 81;
        }
        // The fd we opened (>= 3) must now be close-on-exec.
        if (!(::fcntl(fd, F_GETFD) & FD_CLOEXEC)) return 82;
        const char* argv[] = {"/bin/sh", "-c",
                              "pwd; id -u; id -g; id -G; "
                              "grep -E '^(Cap|Seccomp|NoNewPrivs)' /proc/self/status",
                              nullptr};
        ::execv(argv[0], const_cast<char* const*>(argv));
        return 83;
    });
}

std::map<std::string, std::string> parseOutput(const std::string& text) {
    std::map<std::string, std::string> m;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        auto c = line.find(':');
        if (n < 4) m[std::to_string(n)] = line;
        else if (c != std::string::npos) {
            auto v = line.substr(c + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            m[line.substr(0, c)] = v;
        }
        ++n;
    }
    return m;
}

}  // namespace

TEST(SecurityOptions, SecurityOpt) {
    SecurityOptions o;
    o.addSecurityOpt("no-new-privileges");
    EXPECT_TRUE(o.noNewPrivileges);
    o.addSecurityOpt("no-new-privileges=false");
    EXPECT_FALSE(o.noNewPrivileges);
    o.addSecurityOpt("no-new-privileges:true");
    EXPECT_TRUE(o.noNewPrivileges);
    o.addSecurityOpt("seccomp=unconfined");
    EXPECT_TRUE(o.seccompUnconfined);
    o.addSecurityOpt("apparmor=unconfined");
    EXPECT_THROW(o.addSecurityOpt("seccomp=/tmp/profile.json"), Error);
    EXPECT_THROW(o.addSecurityOpt("bogus"), Error);
    EXPECT_THROW(o.addSecurityOpt("no-new-privileges=maybe"), Error);
}

TEST(SecurityPlanTest, Prepare) {
    fs::TempDir d;
    SecurityOptions o;
    auto plan = SecurityPlan::prepare(o, d.path() + "/cache");
    EXPECT_EQ(plan.capabilities, 0xa80425fbULL);
    EXPECT_TRUE(plan.seccompEnabled);
    EXPECT_FALSE(plan.seccomp.empty());
    EXPECT_TRUE(SecurityPlan::prepare(o, d.path() + "/cache").seccomp.fromCache());
    o.privileged = true;
    plan = SecurityPlan::prepare(o, d.path() + "/cache");
    EXPECT_FALSE(plan.seccompEnabled);
    EXPECT_EQ(plan.capabilities, caps::ownBoundingSet());
    SecurityOptions u;
    u.seccompUnconfined = true;
    u.capDrop = {"ALL"};
    plan = SecurityPlan::prepare(u, d.path() + "/cache");
    EXPECT_FALSE(plan.seccompEnabled);
    EXPECT_EQ(plan.capabilities, 0u);
    u.capAdd = {"nonsense"};
    EXPECT_THROW(SecurityPlan::prepare(u, d.path()), Error);
}

TEST(SecurityChild, RootDefaults) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    fs::TempDir d;
    auto plan = SecurityPlan::prepare(SecurityOptions{}, d.path() + "/cache");
    const std::string out = d.path() + "/out";
    ASSERT_EQ(finalizeAndExec(plan, ChildIdentity{}, "/tmp", out), 0);
    auto m = parseOutput(fs::readFile(out));
    EXPECT_EQ(m["0"], "/tmp");
    EXPECT_EQ(m["1"], "0");
    EXPECT_EQ(m["3"], "0");  // root's only group: setgroups cleared the others
    EXPECT_EQ(m["CapBnd"], "00000000a80425fb");
    EXPECT_EQ(m["CapEff"], "00000000a80425fb");
    EXPECT_EQ(m["CapPrm"], "00000000a80425fb");
    EXPECT_EQ(m["CapInh"], "0000000000000000");
    EXPECT_EQ(m["CapAmb"], "0000000000000000");
    EXPECT_EQ(m["Seccomp"], "2");
    EXPECT_EQ(m["NoNewPrivs"], "0");
}

TEST(SecurityChild, NonRootUserWithGroupsAndNoNewPrivs) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    fs::TempDir d;
    // A cwd only root may enter: finalize enters it before dropping to the user (runc).
    const std::string priv = d.path() + "/private";
    fs::makeDirs(priv, 0700);
    ::chmod(d.path().c_str(), 0755);
    SecurityOptions o;
    o.noNewPrivileges = true;
    o.capAdd = {"NET_ADMIN"};
    auto plan = SecurityPlan::prepare(o, d.path() + "/cache");
    const gid_t groups[] = {1000, 10, 29};
    ChildIdentity id{1000, 1000, groups, 3};
    const std::string out = d.path() + "/out";
    ASSERT_EQ(finalizeAndExec(plan, id, priv.c_str(), out), 0);
    auto m = parseOutput(fs::readFile(out));
    EXPECT_EQ(m["0"], priv);
    EXPECT_EQ(m["1"], "1000");
    EXPECT_EQ(m["2"], "1000");
    EXPECT_EQ(m["3"], "1000 10 29");
    EXPECT_EQ(m["CapBnd"], "00000000a80435fb");  // + NET_ADMIN
    EXPECT_EQ(m["CapEff"], "0000000000000000");  // non-root after execve, as in docker
    EXPECT_EQ(m["CapPrm"], "0000000000000000");
    EXPECT_EQ(m["CapInh"], "0000000000000000");
    EXPECT_EQ(m["CapAmb"], "0000000000000000");
    EXPECT_EQ(m["Seccomp"], "2");
    EXPECT_EQ(m["NoNewPrivs"], "1");
}

TEST(SecurityChild, PrivilegedHasNoSeccomp) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    fs::TempDir d;
    SecurityOptions o;
    o.privileged = true;
    auto plan = SecurityPlan::prepare(o, d.path() + "/cache");
    const std::string out = d.path() + "/out";
    ASSERT_EQ(finalizeAndExec(plan, ChildIdentity{}, nullptr, out), 0);
    auto m = parseOutput(fs::readFile(out));
    char want[32];
    std::snprintf(want, sizeof want, "%016llx",
                  static_cast<unsigned long long>(caps::ownBoundingSet()));
    EXPECT_EQ(m["CapBnd"], want);
    EXPECT_EQ(m["CapEff"], want);
    EXPECT_EQ(m["Seccomp"], "0");
}

TEST(SecurityChild, MaskedAndReadonlyPaths) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    const std::string before = mountinfo();
    int rc = testutil::inChild([] {
        // A private mount namespace: the masks vanish with this child.
        if (::unshare(CLONE_NEWNS) < 0) return 70;
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return 71;
        std::vector<std::string> masked = defaultMaskedPaths();
        masked.push_back("/proc/does-not-exist");  // skipped
        if (auto f = applyMaskedPaths(masked, defaultReadonlyPaths())) {
            std::fprintf(stderr, "%s: %s\n", f.what, std::strerror(f.err));
            return 72;
        }
        int bad = 0;
        // Masked files read empty.
        for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list"}) {
            if (!fs::exists(p)) continue;
            std::string s;
            if (!fs::readFileIfExists(p, s) || !s.empty()) bad |= 1;
        }
        // Masked directories are empty and read-only.
        if (fs::isDir("/sys/firmware")) {
            if (::mkdir("/sys/firmware/x", 0755) == 0 || errno != EROFS) bad |= 2;
            int n = 0;
            if (DIR* dir = ::opendir("/sys/firmware")) {
                while (auto* e = ::readdir(dir))
                    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) ++n;
                ::closedir(dir);
            }
            if (n != 0) bad |= 4;
        }
        // /proc/sys is read-only (open for write fails before anything is written).
        if (::open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS) bad |= 8;
        if (fs::exists("/proc/sysrq-trigger") &&
            (::open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS))
            bad |= 16;
        // ...and still readable.
        std::string host;
        if (!fs::readFileIfExists("/proc/sys/kernel/hostname", host) || host.empty()) bad |= 32;
        return bad;
    });
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(mountinfo(), before);
}

TEST(SecurityChild, RestrictDeviceNodes) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    const std::string before = mountinfo();
    int rc = testutil::inChild([] {
        // A private mount namespace with a scratch /dev, as the container has.
        if (::unshare(CLONE_NEWNS) < 0) return 70;
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return 71;
        if (::mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755") < 0) return 72;
        if (::mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)) < 0) return 73;
        if (::mknod("/dev/zero", S_IFCHR | 0666, makedev(1, 5)) < 0) return 74;
        if (auto f = restrictDeviceNodes()) {
            std::fprintf(stderr, "%s: %s\n", f.what, std::strerror(f.err));
            return 75;
        }
        int bad = 0;
        int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, "x", 1) != 1) bad |= 1;
        if (fd >= 0) ::close(fd);
        if ((fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC)) < 0) bad |= 2;
        else ::close(fd);
        // A node made afterwards (CAP_MKNOD allows it) is inert.
        if (::mknod("/dev/blk", S_IFBLK | 0600, makedev(7, 0)) < 0) bad |= 4;
        if (::open("/dev/blk", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES) bad |= 8;
        if (::mknod("/dev/mem2", S_IFCHR | 0600, makedev(1, 1)) < 0) bad |= 16;
        if (::open("/dev/mem2", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES) bad |= 32;
        // Still a writable tmpfs (for /dev/console, sockets ...), still strictatime.
        std::string mi = fs::readFile("/proc/self/mountinfo");
        if (mi.find(" /dev rw,nosuid,nodev") == std::string::npos) bad |= 64;
        return bad;
    });
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(mountinfo(), before);
}

TEST(SecurityChild, CwdOutsideTheRootIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    fs::TempDir d;
    fs::makeDirs(d.path() + "/root/tmp");
    int rc = testutil::inChild([&] {
        // A directory fd opened before the root switch: /proc/self/fd/N leads back out.
        int out = ::open(d.path().c_str(), O_RDONLY | O_DIRECTORY);  // deliberately inheritable
        if (out < 0) return 70;
        if (::chroot((d.path() + "/root").c_str()) < 0 || ::chdir("/") < 0) return 71;
        SecurityOptions o;
        o.seccompUnconfined = true;
        SecurityPlan plan = SecurityPlan::prepare(o, "/nonexistent");
        auto f = finalizeProcess(plan, ChildIdentity{}, "/tmp");
        if (f) return 72;  // an ordinary cwd inside works
        ::fchdir(out);     // as a leaked fd would allow
        f = finalizeProcess(plan, ChildIdentity{}, ".");
        return f.err == ENOENT ? 0 : 73;
    });
    EXPECT_EQ(rc, 0);
}
