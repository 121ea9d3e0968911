// The parent-side plan and the child-side sequence that applies it (see security.h).
#include "runtime/security.h"
#include "runtime/mount_flags.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "common/error.h"
#include "runtime/capabilities.h"

namespace mydock::runtime {

// ---- parent side ---------------------------------------------------------------------------

void SecurityOptions::addSecurityOpt(const std::string& opt) {
    // docker accepts both "key=value" and the legacy "key:value".
    std::string key = opt, value;
    if (auto p = opt.find_first_of("=:"); p != std::string::npos) {
        key = opt.substr(0, p);
        value = opt.substr(p + 1);
    }
    if (key == "no-new-privileges") {
        if (value.empty() || value == "true") noNewPrivileges = true;
        else if (value == "false") noNewPrivileges = false;
        else throw Error("invalid --security-opt 2: \"" + opt + "\"");
        return;
    }
    if (key == "seccomp" && value == "unconfined") {
        seccompUnconfined = true;
        return;
    }
    if (key == "seccomp")
        throw Error("--security-opt seccomp=" + value +
                    ": custom seccomp profiles are not supported (only seccomp=unconfined)");
    // No AppArmor or SELinux on the hosts mydock targets: turning them off is a no-op.
    if ((key == "apparmor" && value == "unconfined") || (key == "label" && value == "disable"))
        return;
    // docker's wording: "1" when there is no key=value at all, "2" for an unknown key.
    const char* n = opt.find_first_of("=:") == std::string::npos ? "1" : "2";
    throw Error(std::string("invalid --security-opt ") + n + ": \"" + opt + "\"");
}

SecurityPlan SecurityPlan::prepare(const SecurityOptions& opts, const std::string& cacheDir) {
    SecurityPlan plan;
    plan.privileged = opts.privileged;
    plan.noNewPrivileges = opts.noNewPrivileges;
    plan.capabilities =
        caps::computeMask(opts.capAdd, opts.capDrop, opts.privileged, caps::ownBoundingSet());
    // docker: --privileged also means no seccomp.
    plan.seccompEnabled = !opts.privileged && !opts.seccompUnconfined;
    if (plan.seccompEnabled) {
        try {
            plan.seccomp = SeccompProgram::loadOrCompile(cacheDir, plan.capabilities);
        } catch (const Error&) {
            rethrowWithContext("preparing the seccomp filter");
        }
    }
    return plan;
}

const std::vector<std::string>& defaultMaskedPaths() {
    static const std::vector<std::string> v = {
        "/proc/acpi",        "/proc/asound",      "/proc/interrupts", "/proc/kcore",
        "/proc/keys",        "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
        "/proc/timer_list",  "/proc/timer_stats", "/sys/firmware",
        "/sys/devices/virtual/powercap",
    };
    return v;
}

const std::vector<std::string>& defaultReadonlyPaths() {
    static const std::vector<std::string> v = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    };
    return v;
}

// ---- child side: no allocation, no exceptions ----------------------------------------------

namespace {

SysFailure maskOne(const char* path) noexcept {
    // Bind /dev/null over a file: reads give EOF, writes vanish (/proc/kcore, /proc/keys...).
    if (::mount("/dev/null", path, nullptr, MS_BIND, nullptr) == 0) return {};
    if (errno == ENOENT) return {};
    if (errno != ENOTDIR) return {errno, "bind /dev/null over a masked path"};
    // A directory (/proc/acpi, /sys/firmware): hide it under an empty read-only tmpfs.
    if (::mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "mode=755") == 0)
        return {};
    if (errno == ENOENT) return {};
    return {errno, "mount a read-only tmpfs over a masked directory"};
}

SysFailure readonlyOne(const char* path) noexcept {
    // Bind the path onto itself so it becomes a mount point of its own...
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
        if (errno == ENOENT) return {};
        return {errno, "bind a read-only path onto itself"};
    }
    struct statvfs sv {};
    if (::statvfs(path, &sv) < 0) return {errno, "statvfs on a read-only path"};
    // ...then make that mount read-only (/proc/sys: no sysctl writes from the container).
    if (::mount(path, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | lockedMountFlags(sv), nullptr) < 0)
        return {errno, "remount a read-only path read-only"};
    return {};
}

SysFailure cloexecFrom3() noexcept {
    // Everything but 0, 1, 2 closes at execve: no mydock fd (state dirs, locks, sockets)
    // leaks into the container. Close-on-exec rather than close, so the caller's report
    // pipe still works up to the exec.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return {};
    if (errno != ENOSYS && errno != EINVAL) return {errno, "close_range(CLOEXEC)"};
    long max = ::sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 1 << 20) max = 1 << 20;
    for (int fd = 3; fd < max; ++fd) {
        int fl = ::fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    }
    return {};
}

}  // namespace

SysFailure applyMaskedPaths(const std::vector<std::string>& masked,
                            const std::vector<std::string>& readonly) noexcept {
    for (const auto& p : masked)
        if (auto f = maskOne(p.c_str())) return f;
    for (const auto& p : readonly)
        if (auto f = readonlyOne(p.c_str())) return f;
    return {};
}

SysFailure restrictDeviceNodes() noexcept {
    int dir = ::open("/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) return {errno, "open /dev"};
    alignas(8) char buf[4096];
    char path[300];
    for (;;) {
        long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
        if (n < 0) {
            int e = errno;
            ::close(dir);
            return {e, "read /dev"};
        }
        if (n == 0) break;
        for (long off = 0; off < n;) {
            auto* d = reinterpret_cast<struct dirent64*>(buf + off);
            off += d->d_reclen;
            if (d->d_type != DT_CHR && d->d_type != DT_BLK) continue;
            if (std::strlen(d->d_name) > 200) continue;
            std::snprintf(path, sizeof path, "/dev/%s", d->d_name);
            // A bind of the node onto itself: its own mount, so it keeps "dev" when /dev
            // below turns nodev.
            if (::mount(path, path, nullptr, MS_BIND, nullptr) < 0) {
                int e = errno;
                ::close(dir);
                return {e, "bind a /dev node onto itself"};
            }
        }
    }
    ::close(dir);
    struct statvfs sv {};
    if (::statvfs("/dev", &sv) < 0) return {errno, "statvfs /dev"};
    unsigned long fl = lockedMountFlags(sv) | MS_NODEV;
    // A bind remount resets the atime mode unless given: keep /dev's strictatime.
    if (!(sv.f_flag & (ST_RELATIME | ST_NOATIME))) fl |= MS_STRICTATIME;
    if (sv.f_flag & ST_RDONLY) fl |= MS_RDONLY;
    // nodev on the /dev tmpfs itself: nodes made from now on are inert.
    if (::mount(nullptr, "/dev", nullptr, MS_BIND | MS_REMOUNT | fl, nullptr) < 0)
        return {errno, "remount /dev nodev"};
    return {};
}

SysFailure setNoNewPrivs() noexcept {
    // no_new_privs: execve can never grant privileges again (setuid bits, file caps ignored).
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return {errno, "prctl(PR_SET_NO_NEW_PRIVS)"};
    return {};
}

SysFailure finalizeProcess(const SecurityPlan& plan, const ChildIdentity& id,
                           const char* cwd) noexcept {
    if (auto f = cloexecFrom3()) return f;
    if (plan.noNewPrivileges)
        if (auto f = setNoNewPrivs()) return f;

    const sock_fprog prog = plan.seccomp.fprog();
    // runc's order: without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so it goes
    // in before the capabilities are dropped; the few calls after it are all allowed.
    if (plan.seccompEnabled && !plan.noNewPrivileges)
        if (auto f = installSeccomp(prog)) return f;

    if (auto f = caps::dropBoundingSet(plan.capabilities)) return f;

    // KEEPCAPS: the permitted set survives the switch away from uid 0, so capset below can
    // still grant the container's set to a non-root user (what docker does; execve then
    // recomputes them from the file's caps).
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return {errno, "prctl(PR_SET_KEEPCAPS)"};

    // First try cwd as root: a directory the container user can't search but root can
    // (a volume) still works, as in runc. Retried after the switch on EACCES/EPERM.
    bool cwdDone = cwd == nullptr;
    if (!cwdDone) {
        if (::chdir(cwd) == 0) cwdDone = true;
        else if (errno != EACCES && errno != EPERM) return {errno, "chdir to the working directory"};
    }

    // Raw syscalls, not the libc wrappers: glibc's setxid broadcast to "all threads" must not
    // run in a clone child whose libc still believes in the parent's threads.
    // setgroups first (needs CAP_SETGID): the supplementary groups, or none of mydock's.
    if (::syscall(SYS_setgroups, id.groupCount, id.groupCount ? id.groups : nullptr) < 0)
        return {errno, "setgroups"};
    if (::syscall(SYS_setresgid, id.gid, id.gid, id.gid) < 0) return {errno, "setresgid"};
    if (::syscall(SYS_setresuid, id.uid, id.uid, id.uid) < 0) return {errno, "setresuid"};

    if (!cwdDone && ::chdir(cwd) < 0) return {errno, "chdir to the working directory"};
    if (cwd != nullptr) {
        // CVE-2024-21626: a cwd reached through a leaked fd (/proc/self/fd/N) lies outside
        // our root; the kernel then reports it as "(unreachable)/...", never starting "/".
        char here[PATH_MAX];
        if (::syscall(SYS_getcwd, here, sizeof here) < 0) return {errno, "getcwd"};
        if (here[0] != '/') return {ENOENT, "the working directory is outside the container"};
    }

    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return {errno, "prctl(PR_SET_KEEPCAPS, 0)"};
    if (auto f = caps::applyCapabilities(plan.capabilities)) return f;

    // With no_new_privs the filter needs no privilege: install it as late as possible, so
    // the fewest of our own calls run under it.
    if (plan.seccompEnabled && plan.noNewPrivileges)
        if (auto f = installSeccomp(prog)) return f;
    return {};
}

}  // namespace mydock::runtime
