// The seccomp filter with the semantics of docker's default profile (moby
// profiles/seccomp/default.json): an allow-list, EPERM for everything else, capability-
// conditional groups (CAP_SYS_ADMIN unlocks mount/unshare/setns/..., CAP_SYS_PTRACE,
// CAP_SYS_MODULE, ...), clone without namespace flags, personality and socket argument
// filters, clone3 -> ENOSYS (so libc falls back to clone), and -- as runc's patchbpf --
// ENOSYS for syscalls newer than every syscall the profile names (so libc falls back too).
// Native x86_64 plus the x86 (i386) and x32 ABIs, as docker's archMap does for amd64.
//
// Compiling with libseccomp costs milliseconds; the BPF is cached per (profile version,
// relevant caps, arch) under a cache dir, records which libseccomp file compiled it (reused
// only while that file is unchanged) and is loaded in microseconds, without loading
// libseccomp (seccomp_api.h: it is dlopen'ed only to compile).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
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

// The cache file's format (seccomp.cpp); exposed for tests.
namespace seccomp_cache {
// "<path>\n<dev:ino:size:mtime:ctime>" of the library file at `libraryPath` (symlinks
// followed); empty when it cannot be stat'ed.
std::string libraryIdentity(const std::string& libraryPath);
// The file's bytes for `insns` compiled by the library whose libraryIdentity() is `identity`.
std::string encode(const std::vector<sock_filter>& insns, const std::string& identity);
// The program in the file at `path`; nullopt when absent, malformed, corrupt, or compiled by a
// library file that is no longer the one recorded.
std::optional<std::vector<sock_filter>> decode(const std::string& path);
}  // namespace seccomp_cache

// Only the capabilities the profile looks at (the rest don't change the filter).
std::uint64_t seccompRelevantCaps(std::uint64_t caps) noexcept;

// CHILD SIDE: installs `prog` on the calling thread (and, with TSYNC, its threads) with
// seccomp(SECCOMP_SET_MODE_FILTER). Needs no_new_privs or CAP_SYS_ADMIN. noexcept, no malloc.
// Returns {0, nullptr} on success.
SysFailure installSeccomp(const sock_fprog& prog) noexcept;

}  // namespace mydock::runtime
