// docker's default seccomp profile, compiled with libseccomp and cached as raw BPF. libseccomp
// is loaded (seccomp_api.h) only on a cache miss: a warm run reads the BPF and never loads it.
// The syscall lists follow moby's profiles/seccomp/default.json (read, not copied: the
// grouping below is ours); see seccomp.h for the semantics.
#include "runtime/seccomp.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "runtime/seccomp_api.h"

namespace mydock::runtime {

namespace {

// Bump whenever the rules below change: it is part of the cache key.
constexpr const char* kProfileVersion = "moby-default-2024.1/mydock-2";

// Allowed whatever the capabilities.
constexpr const char* kAlways[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown",
    "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv",
    "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
    "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
    "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
    "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
    "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
    "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
    "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
    // The profile allows these from kernel 4.8 on (ptrace can no longer bypass seccomp);
    // Debian 12's kernels are all newer.
    "process_vm_readv", "process_vm_writev", "ptrace",
    // amd64/x32/x86 specific entries of the profile.
    "arch_prctl", "modify_ldt",
};

struct CapGroup {
    int cap;
    std::initializer_list<const char*> names;
};

// Allowed only with the capability.
const CapGroup kCapGroups[] = {
    {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
    {CAP_SYS_ADMIN,
     {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
      "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
      "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
      "umount2", "unshare"}},
    {CAP_SYS_BOOT, {"reboot"}},
    {CAP_SYS_CHROOT, {"chroot"}},
    {CAP_SYS_MODULE, {"delete_module", "init_module", "finit_module"}},
    {CAP_SYS_PACCT, {"acct"}},
    {CAP_SYS_PTRACE,
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
      "ptrace"}},
    {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
    {CAP_SYS_TIME, {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {CAP_SYS_TTY_CONFIG, {"vhangup"}},
    {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {CAP_SYSLOG, {"syslog"}},
    {CAP_BPF, {"bpf"}},
    {CAP_PERFMON, {"perf_event_open"}},
};

constexpr std::uint64_t bit(int cap) { return 1ULL << cap; }

// Every namespace-creating clone flag: without CAP_SYS_ADMIN, clone may use none of them.
constexpr std::uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                          CLONE_NEWNET;
static_assert(kNamespaceFlags == 2114060288ULL, "the profile's clone mask");

constexpr int kAfVsock = 40;
// personality(2) values the profile lets through: PER_LINUX, PER_LINUX32, UNAME26,
// UNAME26|PER_LINUX32, and 0xffffffff (query).
constexpr scmp_datum_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

class Filter {
public:
    explicit Filter(const SeccompApi& api) : api_(api), ctx_(api.init(SCMP_ACT_ERRNO(EPERM))) {
        if (!ctx_) throw Error("seccomp_init failed");
    }
    ~Filter() { api_.release(ctx_); }
    Filter(const Filter&) = delete;
    Filter& operator=(const Filter&) = delete;
    scmp_filter_ctx get() const { return ctx_; }

private:
    const SeccompApi& api_;
    scmp_filter_ctx ctx_;
};

void check(int rc, const std::string& what) {
    if (rc < 0) throw Error("seccomp: " + what + ": " + std::strerror(-rc), kExitEngineError, -rc);
}

// The syscall number on the native arch, or nullopt when libseccomp doesn't know the name
// at all (older libseccomp than the profile: skipped, as runc does).
std::optional<int> resolve(const SeccompApi& api, const char* name) {
    int nr = api.syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return std::nullopt;
    return nr;
}

void addRule(const SeccompApi& api, scmp_filter_ctx ctx, std::uint32_t action, int nr, const char* name,
             std::initializer_list<scmp_arg_cmp> args = {}) {
    int rc = api.rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                    args.size() ? args.begin() : nullptr);
    check(rc, std::string("rule for ") + name);
}

// runc's "patchbpf" idea: a syscall newer than the highest one the profile names (e.g.
// fchmodat2, map_shadow_stack on this kernel) gets ENOSYS rather than EPERM, so libc falls
// back to the older call instead of failing. Prepended to libseccomp's program (whose jumps
// are relative, so they stay valid); it falls through to that program otherwise.
std::vector<sock_filter> enosysStub(std::uint32_t maxX8664, std::uint32_t maxX32,
                                    std::uint32_t maxI386) {
    constexpr std::uint32_t kX32Bit = 0x40000000;
    constexpr std::uint32_t kEnosys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
    const std::uint32_t archOff = offsetof(seccomp_data, arch);
    const std::uint32_t nrOff = offsetof(seccomp_data, nr);
    // Indices: 0 ld arch; 1 jeq x86_64; 2 ld nr; 3 jset x32; 4 jgt max64; 5 jgt maxX32;
    // 6 jeq i386; 7 ld nr; 8 jgt max386; 9 ret ENOSYS; 10 = start of the real program.
    // Jump offsets count from the next instruction.
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, archOff),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),   // no -> 6
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, nrOff),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 1, 0),           // x32 -> 5
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, maxX8664, 4, 5),           // 9 : 10
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, maxX32, 3, 4),             // 9 : 10
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 3),    // no -> 10
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, nrOff),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, maxI386, 0, 1),            // 9 : 10
        BPF_STMT(BPF_RET | BPF_K, kEnosys),
    };
}

// Reads libseccomp's exported program back from a memfd.
std::vector<sock_filter> exportBpf(const SeccompApi& api, scmp_filter_ctx ctx) {
    // memfd: seccomp_export_bpf writes to an fd; no temp file on disk needed.
    UniqueFd fd(::memfd_create("mydock-seccomp", MFD_CLOEXEC));
    if (!fd) throwErrno("memfd_create");
    check(api.export_bpf(ctx, fd.get()), "export");
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size <= 0 || size % sizeof(sock_filter) != 0) throw Error("seccomp: bad exported BPF size");
    std::vector<sock_filter> out(static_cast<std::size_t>(size) / sizeof(sock_filter));
    if (::pread(fd.get(), out.data(), static_cast<std::size_t>(size), 0) != size)
        throwErrno("read exported seccomp BPF");
    return out;
}

// ---- cache file ----------------------------------------------------------------------------
// "MYDKBPF3" | u32 count | u32 identity length | check (32: FNV-1a 64, zero padded) |
// identity | count instructions. The check (over identity and instructions) only detects a
// torn or stale file (the directory is root's, 0700); a plain hash rather than SHA-256 keeps
// OpenSSL's initialisation (~1 ms: config file, providers) out of every `run`.
//
// The identity names the libseccomp file that compiled the program and that file's stat
// (device, inode, size, mtime, ctime): the program is reused only while that file is the same.
// An upgrade of libseccomp replaces the file (dpkg renames a new one into place), so the next
// run recompiles, as a version in the key would make it, without loading libseccomp to ask
// its version at every run (it is loaded only on a miss; seccomp_api.h).
constexpr char kMagic[8] = {'M', 'Y', 'D', 'K', 'B', 'P', 'F', '3'};
constexpr std::size_t kHeader = 8 + 4 + 4 + 32;
constexpr std::size_t kMaxIdentity = 4096;

std::uint64_t fnv1a(const void* data, std::size_t n) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::string checkField(const void* data, std::size_t n) {
    std::string raw(32, '\0');
    std::uint64_t h = fnv1a(data, n);
    std::memcpy(raw.data(), &h, sizeof h);
    return raw;
}

}  // namespace

namespace seccomp_cache {

std::string libraryIdentity(const std::string& libraryPath) {
    if (libraryPath.empty() || libraryPath.find('\n') != std::string::npos) return {};
    struct stat st {};
    // stat, not lstat: the soname is a symlink to the versioned file an upgrade replaces.
    if (::stat(libraryPath.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
    char buf[160];
    std::snprintf(buf, sizeof buf, "\n%llx:%llx:%lld:%lld.%09ld:%lld.%09ld",
                  static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
                  static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                  st.st_mtim.tv_nsec, static_cast<long long>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec);
    return libraryPath + buf;
}

std::string encode(const std::vector<sock_filter>& insns, const std::string& identity) {
    const std::size_t body = insns.size() * sizeof(sock_filter);
    std::string out(kHeader, '\0');
    std::memcpy(out.data(), kMagic, 8);
    const auto count = static_cast<std::uint32_t>(insns.size());
    const auto identLen = static_cast<std::uint32_t>(identity.size());
    std::memcpy(out.data() + 8, &count, 4);
    std::memcpy(out.data() + 12, &identLen, 4);
    out += identity;
    out.append(reinterpret_cast<const char*>(insns.data()), body);
    std::string sum = checkField(out.data() + kHeader, out.size() - kHeader);
    std::memcpy(out.data() + 16, sum.data(), 32);
    return out;
}

std::optional<std::vector<sock_filter>> decode(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return std::nullopt;
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size < kHeader + sizeof(sock_filter) ||
        size > kHeader + kMaxIdentity + BPF_MAXINSNS * sizeof(sock_filter))
        return std::nullopt;
    std::string buf(size, '\0');
    if (::pread(fd.get(), buf.data(), size, 0) != static_cast<ssize_t>(size)) return std::nullopt;
    std::uint32_t count = 0, identLen = 0;
    std::memcpy(&count, buf.data() + 8, 4);
    std::memcpy(&identLen, buf.data() + 12, 4);
    if (std::memcmp(buf.data(), kMagic, 8) != 0 || identLen > kMaxIdentity || count == 0 ||
        size != kHeader + identLen + std::size_t{count} * sizeof(sock_filter))
        return std::nullopt;
    if (checkField(buf.data() + kHeader, size - kHeader) != buf.substr(16, 32)) return std::nullopt;
    // Compiled by the libseccomp file that is still there? (one stat; see above)
    const std::string identity = buf.substr(kHeader, identLen);
    const std::string libraryPath = identity.substr(0, identity.find('\n'));
    if (identity.empty() || libraryIdentity(libraryPath) != identity) return std::nullopt;
    std::vector<sock_filter> out(count);
    std::memcpy(out.data(), buf.data() + kHeader + identLen, std::size_t{count} * sizeof(sock_filter));
    return out;
}

}  // namespace seccomp_cache


std::uint64_t seccompRelevantCaps(std::uint64_t caps) noexcept {
    std::uint64_t relevant = 0;
    for (const auto& g : kCapGroups) relevant |= bit(g.cap);
    return caps & relevant;
}

SeccompProgram SeccompProgram::compile(std::uint64_t caps) {
    caps = seccompRelevantCaps(caps);
    const SeccompApi& api = seccompApi();   // loads libseccomp (once per process)
    Filter f(api);
    scmp_filter_ctx ctx = f.get();
    // docker's archMap for amd64: the native ABI plus the 32-bit (i386) and x32 ABIs, so a
    // 32-bit binary can't use `int 0x80` to reach syscalls the native rules deny.
    for (auto arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
        int rc = api.arch_add(ctx, arch);
        if (rc != -EEXIST) check(rc, "add arch");
    }

    // A binary tree of syscall numbers rather than a linear list: every syscall the
    // container makes walks O(log n) comparisons instead of up to ~350.
    check(api.attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize attribute");

    std::set<std::string> allowed;  // names with an unconditional allow rule
    auto allow = [&](const char* name) {
        if (!allowed.insert(name).second) return;
        if (auto nr = resolve(api, name)) addRule(api, ctx, SCMP_ACT_ALLOW, *nr, name);
    };
    for (const char* n : kAlways) allow(n);
    for (const auto& g : kCapGroups)
        if (caps & bit(g.cap))
            for (const char* n : g.names) allow(n);

    // socket: anything but AF_VSOCK (a guest could reach its host's vsock services).
    if (auto nr = resolve(api, "socket"))
        addRule(api, ctx, SCMP_ACT_ALLOW, *nr, "socket", {SCMP_A0(SCMP_CMP_NE, kAfVsock)});
    // personality: only the harmless personas (no READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ...).
    if (auto nr = resolve(api, "personality"))
        for (auto p : kPersonalities)
            addRule(api, ctx, SCMP_ACT_ALLOW, *nr, "personality", {SCMP_A0(SCMP_CMP_EQ, p)});
    if (!(caps & bit(CAP_SYS_ADMIN))) {
        // clone: threads and fork yes, new namespaces no.
        if (auto nr = resolve(api, "clone"))
            addRule(api, ctx, SCMP_ACT_ALLOW, *nr, "clone",
                    {SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0)});
        // clone3 passes its flags in memory that BPF can't read: ENOSYS makes libc fall back
        // to clone, which the rule above checks.
        if (auto nr = resolve(api, "clone3")) addRule(api, ctx, SCMP_ACT_ERRNO(ENOSYS), *nr, "clone3");
    }

    // The highest syscall number the profile names, per ABI, for the ENOSYS stub.
    std::uint32_t max64 = 0, maxX32 = 0, max386 = 0;
    auto consider = [&](const char* name) {
        int a = api.syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
        int b = api.syscall_resolve_name_arch(SCMP_ARCH_X32, name);
        int c = api.syscall_resolve_name_arch(SCMP_ARCH_X86, name);
        if (a >= 0) max64 = std::max<std::uint32_t>(max64, static_cast<std::uint32_t>(a));
        if (b >= 0) maxX32 = std::max<std::uint32_t>(maxX32, static_cast<std::uint32_t>(b));
        if (c >= 0) max386 = std::max<std::uint32_t>(max386, static_cast<std::uint32_t>(c));
    };
    for (const char* n : kAlways) consider(n);
    for (const auto& g : kCapGroups)
        for (const char* n : g.names) consider(n);
    for (const char* n : {"socket", "personality", "clone", "clone3"}) consider(n);
    if (maxX32 < 0x40000000) maxX32 = 0x40000000 | maxX32;

    SeccompProgram p;
    p.insns_ = enosysStub(max64, maxX32, max386);
    auto body = exportBpf(api, ctx);
    p.insns_.insert(p.insns_.end(), body.begin(), body.end());
    if (p.insns_.size() > BPF_MAXINSNS) throw Error("seccomp: program too long");
    return p;
}

std::string SeccompProgram::cacheFileName(std::uint64_t caps) {
    // No libseccomp version here (asking it would load the library at every run): the file
    // records which libseccomp compiled it (see the cache file's identity above). The search
    // path a different libseccomp could come from is part of the key.
    const char* ldPath = std::getenv("LD_LIBRARY_PATH");
    std::string key = std::string(kProfileVersion) + "|caps=";
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(seccompRelevantCaps(caps)));
    key += hex;
    key += "|x86_64+x86+x32|LD_LIBRARY_PATH=";
    if (ldPath) key += ldPath;
    char name[48];
    std::snprintf(name, sizeof name, "seccomp-%016llx.bpf",
                  static_cast<unsigned long long>(fnv1a(key.data(), key.size())));
    return name;
}

SeccompProgram SeccompProgram::loadOrCompile(const std::string& cacheDir, std::uint64_t caps) {
    const std::string path = fs::join(cacheDir, cacheFileName(caps));
    if (auto insns = seccomp_cache::decode(path)) {
        SeccompProgram p;
        p.insns_ = std::move(*insns);
        p.fromCache_ = true;
        return p;
    }
    SeccompProgram p = compile(caps);
    const std::string identity = seccomp_cache::libraryIdentity(seccompApi().path);
    if (identity.empty()) {
        log::debug("not caching the seccomp filter: cannot tell which libseccomp file compiled it");
        return p;
    }
    try {
        fs::makeDirs(cacheDir, 0700);
        // Not durable: a cache file lost or torn by a crash fails the checksum and is rebuilt.
        fs::writeFileAtomic(path, seccomp_cache::encode(p.insns_, identity), false, 0600);
    } catch (const Error& e) {
        log::warn(std::string("could not cache the seccomp filter: ") + e.what());
    }
    return p;
}

sock_fprog SeccompProgram::fprog() const noexcept {
    sock_fprog f{};
    f.len = static_cast<unsigned short>(insns_.size());
    f.filter = const_cast<sock_filter*>(insns_.data());
    return f;
}

SysFailure installSeccomp(const sock_fprog& prog) noexcept {
    if (prog.len == 0 || prog.filter == nullptr) return {EINVAL, "seccomp: empty filter"};
    // seccomp(2) with SET_MODE_FILTER: the filter binds this (single-threaded) process and
    // everything it execs; it can't be removed. Needs no_new_privs or CAP_SYS_ADMIN.
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        return {errno, "seccomp(SECCOMP_SET_MODE_FILTER)"};
    return {};
}

}  // namespace mydock::runtime
