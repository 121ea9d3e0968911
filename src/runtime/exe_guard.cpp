// See exe_guard.h.
#include "runtime/exe_guard.h"
#include "runtime/mount_flags.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"

extern char** environ;

namespace mydock::runtime {

namespace {

constexpr const char* kMarker = "_MYDOCK_EXE_GUARD";

std::string selfExePath() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throwErrno("readlink /proc/self/exe");
    return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

bool selfExeIsReadOnly() {
    struct statvfs sv {};
    return ::statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

void protectSelfExe() {
    // Already done by the exec below (or installed on a read-only file system).
    const bool reexeced = ::getenv(kMarker) != nullptr;
    ::unsetenv(kMarker);  // not for the container, nor for a nested mydock
    if (selfExeIsReadOnly()) return;
    if (reexeced) throw Error("re-executed from a read-only mount, but /proc/self/exe is still writable");

    const std::string exe = selfExePath();
    if (exe.size() > 10 && exe.compare(exe.size() - 10, 10, " (deleted)") == 0)
        throw Error("the mydock binary was replaced while running (" + exe + "); run it again");
    const std::string cmdline = fs::readFile("/proc/self/cmdline");

    // A mount namespace of our own: the read-only bind below stays out of the host's table.
    if (::unshare(CLONE_NEWNS) < 0) throwErrno("unshare(CLONE_NEWNS) to protect the mydock binary");
    // Slave, not private: host mounts still reach us, ours never reach the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) throwErrno("make / rslave");
    if (::mount(exe.c_str(), exe.c_str(), nullptr, MS_BIND, nullptr) < 0)
        throwErrno("bind " + exe + " onto itself");
    struct statvfs sv {};
    if (::statvfs(exe.c_str(), &sv) < 0) throwErrno("statvfs " + exe);
    // Read-only, keeping the flags the kernel won't let a bind remount drop.
    if (::mount(exe.c_str(), exe.c_str(), nullptr,
                MS_BIND | MS_REMOUNT | MS_RDONLY | lockedMountFlags(sv), nullptr) < 0)
        throwErrno("remount " + exe + " read-only");

    std::vector<std::string> args;
    for (std::size_t p = 0; p < cmdline.size();) {
        auto z = cmdline.find('\0', p);
        if (z == std::string::npos) z = cmdline.size();
        args.push_back(cmdline.substr(p, z - p));
        p = z + 1;
    }
    if (args.empty()) throw Error("empty /proc/self/cmdline");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);  // buffered output would be lost by execve
    ::setenv(kMarker, "1", 1);
    // Exec by path: the new image's exe_file is the read-only mount we just made.
    ::execve(exe.c_str(), argv.data(), environ);
    int err = errno;
    ::unsetenv(kMarker);
    throwErrno("re-exec " + exe + " from its read-only mount", err);
}

}  // namespace mydock::runtime
