// Internals shared by the parent side (container.cpp, exec.cpp) and the children (child.cpp,
// rootfs.cpp, overlay.cpp, exec.cpp). Nothing here is part of the runtime's public API.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

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

// Writes a ChildReport (one atomic write; nobody to tell if the parent is gone).
void writeReport(int fd, const std::string& stage, int err, const std::string& msg) noexcept;

// The last step of every process mydock starts inside a container (run's clone child, exec's
// child): exec `args` (argv[0] searched in the container's PATH from `env` when it has no '/')
// with `env`. CVE-2019-5736: the exec goes through a tiny static stub held in a sealed memfd,
// so that the kernel never resolves a container path such as /proc/self/exe (directly or as a
// script's interpreter) to the mydock binary: during the one exec in between, this process's
// exe is the sealed, unwritable stub, never the host's mydock. `reportFd` (close-on-exec) gets
// a ChildReport when the command cannot be run (stage "exec"/"execpath", message = the
// command, err = errno; formatted by throwChildReport); it closes when the command runs.
// Call last: after identity, capabilities and seccomp (the stub needs only memfd_create,
// fcntl, write, execve(at), exit).
[[noreturn]] void execCommand(const std::vector<std::string>& args, const std::vector<std::string>& env,
                              int reportFd) noexcept;

[[noreturn]] void fail(const char* stage, const std::string& what, int err);
// Throws ChildFailure(stage, what, errno) when rc < 0.
inline long check(long rc, const char* stage, const std::string& what) {
    if (rc < 0) fail(stage, what, errno);
    return rc;
}

struct ChildArgs {
    const ContainerSpec* spec = nullptr;
    int syncFd = -1;        // read end: one byte once the parent placed us in the cgroup
    // --network bridge: a second byte on syncFd once the parent has wired our netns (veth,
    // address, routes, NAT) and written our /etc/hosts. We build our root meanwhile, and wait
    // for it only before the identity switch: the two jobs run side by side.
    bool networkByte = false;
    int reportFd = -1;      // write end, O_CLOEXEC: ChildReport on failure
    int consoleFd = -1;     // unix socket to send the pty master back on (-t only)
    int stdioFds[3] = {-1, -1, -1};   // fds to install as 0,1,2 when not -t (-1: keep ours)
    const SecurityPlan* plan = nullptr;  // capabilities and seccomp, prepared before clone()
};

// Parent side: turns a child's report into the mydock::Error docker would give (exit 127 for
// a command not found, 126 for one that cannot be invoked, 125 for setup failures).
[[noreturn]] void throwChildReport(const ChildReport& r);

// Runs in the clone child; never returns and never throws.
[[noreturn]] void childMain(const ChildArgs& args) noexcept;

// ---- Steps shared by run's clone child (child.cpp) and exec's child (exec.cpp) ----

// Runs `body` (which ends in execCommand); a ChildFailure or any other exception becomes a
// ChildReport on `reportFd`, then the child _exits 125. Nothing escapes a forked child.
template <class Body>
[[noreturn]] void reportFailures(int reportFd, Body&& body) noexcept {
    try {
        body();
    } catch (const ChildFailure& f) {
        writeReport(reportFd, f.stage, f.err, f.message);
    } catch (const std::exception& e) {
        writeReport(reportFd, "init", 0, e.what());
    } catch (...) {
        writeReport(reportFd, "init", 0, "unknown failure");
    }
    ::_exit(125);
}

// The parent blocks the signals it forwards (signalfd) and may ignore SIGPIPE; both the mask
// and ignored dispositions survive execve: back to the defaults.
void resetSignals() noexcept;
// Waits for the parent's one byte on `syncFd` (it placed us in our cgroups), then closes it
// unless `keepOpen` (another byte follows); EOF (the parent failed or died first): _exit(125),
// nothing to report.
void waitForParent(int syncFd, bool keepOpen = false) noexcept;
// Die with mydock (unless detached): PR_SET_PDEATHSIG, and POLLERR/POLLHUP on `reportFd` (its
// read end lives only in the parent) for a parent already gone. `rearm`: again after the
// identity switch (which clears the signal), where a seccomp refusal must not fail the start.
void dieWithParent(int reportFd, bool rearm);
// -t: a pty from the devpts of our mount namespace (the container's), its slave our controlling
// terminal (we are a session leader) and stdio, its master sent to the parent on `consoleFd`
// (then closed). `bindConsole`: also bind it on /dev/console (run's PID 1; an exec'd process
// does not take over PID 1's terminal).
void setupTerminal(int consoleFd, bool bindConsole);
// dup2 of each fds[i] >= 0 onto i.
void setupStdio(const int (&fds)[3]);

// overlay.cpp: mounts the layers + upper/work of `spec` on `target` (inside our mount ns).
void mountOverlay(const ContainerSpec& spec, const std::string& target);

// rootfs.cpp: everything between the overlay and pivot_root, then the root switch.
void prepareRootfs(const ContainerSpec& spec, const std::string& root);
void pivotInto(const std::string& root);
// After the root switch: /dev/console for -t, read-only root.
void finishRootfs(const ContainerSpec& spec);

}  // namespace mydock::runtime::detail
