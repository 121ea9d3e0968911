// Container security defaults (runtime.md "Privileges", issue 4 "Isolation defaults"):
// capabilities, seccomp, no_new_privs, masked and read-only paths, and the ordered sequence
// of identity + privilege calls the clone child makes just before execve.
//
// Two halves:
//  - parent side (may throw mydock::Error, may allocate): SecurityOptions from the flags ->
//    SecurityPlan::prepare(), which resolves the capability mask and loads (or compiles and
//    caches) the seccomp BPF. Build it BEFORE clone().
//  - child side (noexcept, no allocation, no exceptions): finalizeProcess(), applyMaskedPaths(),
//    installSeccomp(). They return a SysFailure {errno, static description}; err == 0 is success.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/seccomp.h"
#include "runtime/sys_failure.h"

namespace mydock::runtime {

// What the CLI parsed from --cap-add/--cap-drop/--privileged/--security-opt.
struct SecurityOptions {
    std::vector<std::string> capAdd;     // names as given: "net_admin", "CAP_SYS_TIME", "ALL"
    std::vector<std::string> capDrop;
    bool privileged = false;
    bool seccompUnconfined = false;
    bool noNewPrivileges = false;

    // Applies one --security-opt value as docker does: "no-new-privileges" (also
    // "no-new-privileges=true|false" and the ":" form), "seccomp=unconfined". Anything else
    // (seccomp=PROFILE.json, apparmor=, label=, ...) throws mydock::Error (exit 125).
    void addSecurityOpt(const std::string& opt);
};

// Everything the child needs, precomputed in the parent. Keep it alive until the child has
// exec'd (the seccomp program's instructions are owned here).
class SecurityPlan {
public:
    // Resolves the capability mask (docker's 14 + adds - drops; --privileged = every cap in
    // mydock's own bounding set) and, unless unconfined or privileged, loads the seccomp filter
    // for that mask from `cacheDir` (compiling and caching it on a miss). `cacheDir` is created
    // if absent (e.g. $ROOT/cache). Throws mydock::Error (125) on unknown capability names.
    static SecurityPlan prepare(const SecurityOptions& opts, const std::string& cacheDir);

    std::uint64_t capabilities = 0;   // bounding = effective = permitted (bit n = cap n)
    bool privileged = false;          // no masked/read-only paths, no seccomp, all caps
    bool noNewPrivileges = false;
    bool seccompEnabled = false;
    SeccompProgram seccomp;           // valid when seccompEnabled

    SecurityPlan() = default;
    SecurityPlan(SecurityPlan&&) noexcept = default;
    SecurityPlan& operator=(SecurityPlan&&) noexcept = default;
};

// The process identity to switch to (see process_config.h: resolveUser()).
struct ChildIdentity {
    uid_t uid = 0;
    gid_t gid = 0;
    const gid_t* groups = nullptr;    // supplementary groups for setgroups() (may be empty)
    std::size_t groupCount = 0;
};

// CHILD SIDE, after pivot_root and after every mount (including applyMaskedPaths), as the
// last step before execve. In runc's order (libcontainer standard_init + finalizeNamespace):
//   1. mark every fd >= 3 close-on-exec (the container gets 0, 1, 2 only; report pipes stay
//      usable until exec)
//   2. PR_SET_NO_NEW_PRIVS when asked
//   3. seccomp now if NOT no_new_privs (installing it needs CAP_SYS_ADMIN, which we still hold)
//   4. drop the bounding set to the plan's mask (needs CAP_SETPCAP: before the uid switch)
//   5. PR_SET_KEEPCAPS, chdir(cwd) (tried before the uid switch, retried after on EACCES),
//      setgroups, setresgid, setresuid
//   6. capset effective = permitted = mask, inheritable = 0; clear the ambient set
//   7. seccomp now if no_new_privs (as late as possible; legal without CAP_SYS_ADMIN)
// Then the caller calls execve. For a non-root uid the kernel empties effective/permitted at
// execve (no file caps), as under docker. `cwd` may be nullptr (no chdir).
SysFailure finalizeProcess(const SecurityPlan& plan, const ChildIdentity& id,
                           const char* cwd) noexcept;

// CHILD SIDE, after /proc and /sys are mounted and after pivot_root (paths are absolute,
// as seen inside the container). Skips paths that don't exist. Does nothing for a
// privileged plan -- the caller just doesn't call it (docker skips them with --privileged).
// Files masked: bind /dev/null over them; directories: an empty read-only tmpfs.
// Read-only: bind onto itself, then remount read-only keeping the mount's nosuid/nodev/noexec.
SysFailure applyMaskedPaths(const std::vector<std::string>& masked,
                            const std::vector<std::string>& readonly) noexcept;

// CHILD SIDE, after pivot_root, once /dev holds every node the container is meant to have
// (and /dev/console for -t). Pins each device node now in /dev with a bind mount of itself,
// then makes the /dev tmpfs nodev: docker's nodes keep working, but a node created later
// (mknod with CAP_MKNOD) can't be opened -- what docker's device cgroup ensures. Not for
// --privileged (docker gives those containers the host's devices).
SysFailure restrictDeviceNodes() noexcept;

// docker's lists (runtime.md): /proc/kcore, /proc/keys, ..., /sys/firmware; /proc/sys, ...
const std::vector<std::string>& defaultMaskedPaths();
const std::vector<std::string>& defaultReadonlyPaths();

// CHILD SIDE: PR_SET_NO_NEW_PRIVS alone (finalizeProcess already does it when planned).
SysFailure setNoNewPrivs() noexcept;

}  // namespace mydock::runtime
