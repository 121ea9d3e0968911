// The seccomp profile: compile, cache round trip, and (as root) what the kernel enforces.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "common/fs.h"
#include "runtime/capabilities.h"
#include "runtime/seccomp.h"
#include "security_test_util.h"

using namespace mydock;
using namespace mydock::runtime;

namespace {

constexpr std::uint64_t kSysAdmin = 1ULL << CAP_SYS_ADMIN;

// Installs `p` (with no_new_privs, so no privilege is needed) and returns a bitmask of
// failed checks from `checks` (0 = all good).
int underFilter(const SeccompProgram& p, const std::function<int()>& checks) {
    return testutil::inChild([&] {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return 90;
        if (installSeccomp(p.fprog())) return 91;
        return checks();
    });
}

long rawErrno(long rc) { return rc < 0 ? errno : 0; }

}  // namespace

TEST(SecuritySeccomp, Compiles) {
    auto p = SeccompProgram::compile(caps::kDefaultMask);
    EXPECT_GT(p.size(), 50u);
    EXPECT_LE(p.size(), 4096u);
    EXPECT_EQ(p.fprog().len, p.size());
    EXPECT_FALSE(p.fromCache());
    auto q = SeccompProgram::compile(caps::kDefaultMask | kSysAdmin);
    EXPECT_NE(p.instructions().size(), 0u);
    EXPECT_NE(q.size(), p.size());
}

TEST(SecuritySeccomp, CacheKey) {
    EXPECT_EQ(SeccompProgram::cacheFileName(caps::kDefaultMask),
              SeccompProgram::cacheFileName(caps::kDefaultMask | (1ULL << CAP_NET_ADMIN)));
    EXPECT_NE(SeccompProgram::cacheFileName(caps::kDefaultMask),
              SeccompProgram::cacheFileName(caps::kDefaultMask | kSysAdmin));
    // Without CAP_SYS_CHROOT chroot is denied: a different filter.
    EXPECT_NE(SeccompProgram::cacheFileName(caps::kDefaultMask),
              SeccompProgram::cacheFileName(caps::kDefaultMask & ~(1ULL << CAP_SYS_CHROOT)));
    EXPECT_EQ(SeccompProgram::cacheFileName(0).rfind("seccomp-", 0), 0u);
}

TEST(SecuritySeccomp, CacheRoundTripIsFast) {
    fs::TempDir d;
    const std::string dir = d.path() + "/cache";
    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    auto first = SeccompProgram::loadOrCompile(dir, caps::kDefaultMask);
    auto t1 = clock::now();
    auto second = SeccompProgram::loadOrCompile(dir, caps::kDefaultMask);
    auto t2 = clock::now();
    EXPECT_FALSE(first.fromCache());
    EXPECT_TRUE(second.fromCache());
    ASSERT_EQ(first.size(), second.size());
    EXPECT_EQ(std::memcmp(first.instructions().data(), second.instructions().data(),
                          first.size() * sizeof(sock_filter)),
              0);
    auto us = [](auto a, auto b) {
        return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
    };
    std::printf("seccomp: compile+store %lld us, cached load %lld us, %zu insns\n",
                static_cast<long long>(us(t0, t1)), static_cast<long long>(us(t1, t2)),
                second.size());
    EXPECT_LT(us(t1, t2), 2000);  // microseconds, not the milliseconds of compiling

    // A corrupt cache file (one flipped byte) is detected and rebuilt.
    const std::string path = dir + "/" + SeccompProgram::cacheFileName(caps::kDefaultMask);
    std::string data = fs::readFile(path);
    data[data.size() - 3] ^= 0x40;
    fs::writeFileAtomic(path, data, false);
    auto third = SeccompProgram::loadOrCompile(dir, caps::kDefaultMask);
    EXPECT_FALSE(third.fromCache());
    EXPECT_TRUE(SeccompProgram::loadOrCompile(dir, caps::kDefaultMask).fromCache());
    // Truncated too.
    fs::writeFileAtomic(path, data.substr(0, 20), false);
    EXPECT_FALSE(SeccompProgram::loadOrCompile(dir, caps::kDefaultMask).fromCache());
    EXPECT_EQ(fs::readFile(path).size(), data.size());
}

TEST(SecuritySeccomp, DefaultProfileEnforced) {
    auto p = SeccompProgram::compile(caps::kDefaultMask);
    int rc = underFilter(p, [] {
        int bad = 0;
        if (::syscall(SYS_getpid) <= 0) bad |= 1;
        // Namespaces, mounts, keys, accounting, modules, reboot: EPERM.
        if (rawErrno(::syscall(SYS_unshare, CLONE_NEWNS)) != EPERM) bad |= 2;
        if (rawErrno(::syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -3, 0)) != EPERM) bad |= 4;
        if (rawErrno(::syscall(SYS_acct, nullptr)) != EPERM) bad |= 8;
        if (rawErrno(::syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, nullptr)) != EPERM) bad |= 16;
        if (rawErrno(::syscall(SYS_setns, 0, 0)) != EPERM) bad |= 32;
        // clone3 -> ENOSYS (libc falls back to clone); newer-than-profile syscalls -> ENOSYS
        // (452 = fchmodat2, which the profile doesn't name).
        if (rawErrno(::syscall(435 /*clone3*/, nullptr, 0)) != ENOSYS) bad |= 64;
        if (rawErrno(::syscall(452, AT_FDCWD, "/", 0755, 0)) != ENOSYS) bad |= 128;
        // clone with a namespace flag: EPERM; plain fork: fine.
        if (rawErrno(::syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, nullptr, nullptr, nullptr, 0)) != EPERM)
            bad |= 256;
        pid_t c = ::fork();
        if (c == 0) ::_exit(0);
        if (c < 0) bad |= 512;
        else ::waitpid(c, nullptr, 0);
        // socket: AF_VSOCK refused, AF_UNIX fine.
        if (rawErrno(::socket(40, SOCK_STREAM, 0)) != EPERM) bad |= 1024;
        int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) bad |= 2048;
        else ::close(s);
        // personality: query yes, ADDR_NO_RANDOMIZE no.
        if (::personality(0xffffffff) < 0) bad |= 4096;
        if (rawErrno(::syscall(SYS_personality, ADDR_NO_RANDOMIZE)) != EPERM) bad |= 8192;
        // chroot is allowed with CAP_SYS_CHROOT (in the default set): the kernel decides.
        if (rawErrno(::syscall(SYS_chroot, "/nonexistent-dir")) != ENOENT) bad |= 16384;
        std::string status = testutil::statusField("Seccomp");
        if (status != "2") bad |= 32768;
        return bad;
    });
    EXPECT_EQ(rc, 0);
}

TEST(SecuritySeccomp, CapabilitiesUnlockSyscalls) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    // CAP_SYS_ADMIN: unshare allowed (the kernel then checks the real capability: root has it).
    auto admin = SeccompProgram::compile(caps::kDefaultMask | kSysAdmin);
    EXPECT_EQ(underFilter(admin, [] {
                  return ::syscall(SYS_unshare, CLONE_NEWUTS) == 0 ? 0 : 1;
              }),
              0);
    // Without CAP_SYS_CHROOT: chroot refused by the filter.
    auto noChroot = SeccompProgram::compile(caps::kDefaultMask & ~(1ULL << CAP_SYS_CHROOT));
    EXPECT_EQ(underFilter(noChroot, [] {
                  return rawErrno(::syscall(SYS_chroot, "/")) == EPERM ? 0 : 1;
              }),
              0);
}

#if defined(__x86_64__)
namespace {
long int80(long nr, long a1) {
    long r;
    // The i386 entry point from a 64-bit process: seccomp sees AUDIT_ARCH_I386 and the i386
    // numbers, the way a 32-bit binary in the image would call.
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a1) : "memory");
    return r;
}
}  // namespace

TEST(SecuritySeccomp, I386AbiIsFilteredToo) {
    // Kernels without IA32 emulation kill the caller: probe first, in a child.
    if (testutil::inChild([] { return int80(20 /*getpid*/, 0) > 0 ? 0 : 1; }) != 0)
        GTEST_SKIP() << "no IA32 emulation";
    auto p = SeccompProgram::compile(caps::kDefaultMask);
    EXPECT_EQ(underFilter(p, [] {
                  int bad = 0;
                  if (int80(20 /*getpid*/, 0) <= 0) bad |= 1;
                  if (int80(310 /*unshare*/, CLONE_NEWNS) != -EPERM) bad |= 2;
                  if (int80(288 /*keyctl*/, 0) != -EPERM) bad |= 4;
                  if (int80(51 /*acct*/, 0) != -EPERM) bad |= 8;
                  return bad;
              }),
              0);
}
#endif
