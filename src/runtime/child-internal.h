// Internals shared by the parent side (container.cpp) and the clone child (child.cpp,
// rootfs.cpp, overlay.cpp). Nothing here is part of the runtime's public API.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/spec.h"

namespace mydock::runtime::detail {

// What the child writes on the error pipe when a setup step fails. One write() of less than
// PIPE_BUF bytes, so the parent reads it whole or not at all; EOF without it means exec worked.
struct ChildReport {
    std::int32_t err = 0;        // errno of the failing call (0: none)
    char stage[32] = {};         // "mount", "pivot_root", "exec", ...
    char message[440] = {};      // what the child was doing, with paths
};
static_assert(sizeof(ChildReport) < 512);

// A setup failure inside the child. Thrown and caught only inside the child (never across
// clone()); childMain turns it into a ChildReport.
struct ChildFailure {
    std::string stage;
    int err;
    std::string message;
};

[[noreturn]] void fail(const char* stage, const std::string& what, int err);
// Throws ChildFailure(stage, what, errno) when rc < 0.
inline long check(long rc, const char* stage, const std::string& what) {
    if (rc < 0) fail(stage, what, errno);
    return rc;
}

struct ChildArgs {
    const ContainerSpec* spec = nullptr;
    int syncFd = -1;        // read end: one byte once the parent placed us in the cgroup
    int reportFd = -1;      // write end, O_CLOEXEC: ChildReport on failure
    int consoleFd = -1;     // unix socket to send the pty master back on (-t only)
    int stdioFds[3] = {-1, -1, -1};   // fds to install as 0,1,2 when not -t (-1: keep ours)
    const SecurityPlan* plan = nullptr;  // capabilities and seccomp, prepared before clone()
};

// Runs in the clone child; never returns and never throws.
[[noreturn]] void childMain(const ChildArgs& args) noexcept;

// overlay.cpp: mounts the layers + upper/work of `spec` on `target` (inside our mount ns).
void mountOverlay(const ContainerSpec& spec, const std::string& target);

// rootfs.cpp: everything between the overlay and pivot_root, then the root switch.
void prepareRootfs(const ContainerSpec& spec, const std::string& root);
void pivotInto(const std::string& root);
// After the root switch: /dev/console for -t, read-only root.
void finishRootfs(const ContainerSpec& spec);

}  // namespace mydock::runtime::detail
