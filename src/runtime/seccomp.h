// The seccomp filter with the semantics of docker's default profile (moby
// profiles/seccomp/default.json): an allow-list, EPERM for everything else, capability-
// conditional groups (CAP_SYS_ADMIN unlocks mount/unshare/setns/..., CAP_SYS_PTRACE,
// CAP_SYS_MODULE, ...), clone without namespace flags, personality and socket argument
// filters, clone3 -> ENOSYS (so libc falls back to clone), and -- as runc's patchbpf --
// ENOSYS for syscalls newer than every syscall the profile names (so libc falls back too).
// Native x86_64 plus the x86 (i386) and x32 ABIs, as docker's archMap does for amd64.
//
// Compiling with libseccomp costs milliseconds; the BPF is cached per (profile version,
// relevant caps, arch, libseccomp version) under a cache dir and loaded in microseconds.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/sys_failure.h"

namespace mydock::runtime {

class SeccompProgram {
public:
    SeccompProgram() = default;

    // Compiles docker's default profile for a container whose capability mask is `caps`
    // (bit n = capability n). Throws mydock::Error on a libseccomp failure.
    static SeccompProgram compile(std::uint64_t caps);

    // The cached program for `caps` from `cacheDir` (created if absent), or compile() and
    // write the cache atomically. A missing, foreign or corrupt cache file is recompiled.
    static SeccompProgram loadOrCompile(const std::string& cacheDir, std::uint64_t caps);

    // The file name the cache uses for `caps` ("seccomp-<hex>.bpf").
    static std::string cacheFileName(std::uint64_t caps);

    // The program for seccomp(SECCOMP_SET_MODE_FILTER); points into this object.
    sock_fprog fprog() const noexcept;
    std::size_t size() const noexcept { return insns_.size(); }
    bool empty() const noexcept { return insns_.empty(); }
    bool fromCache() const noexcept { return fromCache_; }
    const std::vector<sock_filter>& instructions() const noexcept { return insns_; }

private:
    std::vector<sock_filter> insns_;
    bool fromCache_ = false;
};

// Only the capabilities the profile looks at (the rest don't change the filter).
std::uint64_t seccompRelevantCaps(std::uint64_t caps) noexcept;

// CHILD SIDE: installs `prog` on the calling thread (and, with TSYNC, its threads) with
// seccomp(SECCOMP_SET_MODE_FILTER). Needs no_new_privs or CAP_SYS_ADMIN. noexcept, no malloc.
// Returns {0, nullptr} on success.
SysFailure installSeccomp(const sock_fprog& prog) noexcept;

}  // namespace mydock::runtime
