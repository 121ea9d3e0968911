// `exec`: one more process in a running container (docker exec, runc exec). It joins the
// namespaces and the cgroups of the container's PID 1 and gets the container's confinement
// (capabilities, seccomp, no_new_privs), the caller's user/env/cwd choices, and stdio as
// `run` gives it (a pty of the container's devpts with -t). The runtime side: it knows a pid
// and this spec, never the container store.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/security.h"

namespace mydock::runtime {

struct ExecSpec {
    pid_t pid = 0;                      // the container's PID 1, as the host sees it
    // The host file bound on the container's /etc/hostname (containerDir/hostname): the pid is
    // the container's only if its /etc/hostname is this very inode. Empty: not checked.
    std::string hostnameFile;
    std::vector<std::string> argv;      // argv[0] searched in the PATH of `env`
    std::vector<std::string> env;       // complete "K=V" list; HOME added when missing
    std::string cwd = "/";              // absolute; must exist in the container
    std::string user;                   // docker's -u (name|uid[:group|gid]), "" = root
    bool terminal = false;              // -t: a pty from the container's devpts
    bool stdinOpen = false;             // -i
    bool detach = false;                // -d: returns once the command runs
    SecurityOptions security;           // the container's (HostConfig), for caps and seccomp
    bool privileged = false;            // exec --privileged: every capability (seccomp stays)
    std::string seccompCacheDir;
};

// Thrown when the pid is no longer the container's running PID 1.
class ContainerNotRunning : public Error {
public:
    ContainerNotRunning() : Error("container is not running", 1) {}
};

// Runs spec.argv in the container whose PID 1 is spec.pid. `stillRunning` is asked after the
// pid was pinned (pidfd): true when the container's record still says it runs (its lock is
// held). Returns the command's exit status (128+N for signal N), or 0 at once with -d.
// Throws ContainerNotRunning, or mydock::Error: 126 (cannot invoke, bad cwd), 127 (not found),
// 125 (anything else).
int execInContainer(const ExecSpec& spec, const std::function<bool()>& stillRunning);

namespace detail {
// One line of /proc/PID/cgroup: "7:memory:/mydock/abc" -> {7, "memory", "/mydock/abc"}.
struct CgroupMembership {
    int hierarchy = -1;
    std::string controllers;   // "memory", "cpu,cpuacct", "name=systemd", "" (v2)
    std::string path;
};
std::vector<CgroupMembership> parseProcCgroup(const std::string& text);
// Where hierarchy `m` is mounted (from a mountinfo text), joined with its path: the directory
// whose cgroup.procs takes a pid. "" when the hierarchy is not mounted here.
std::string cgroupDirFor(const CgroupMembership& m, const std::string& mountinfo);
// "NSpid:\t1234\t1" in /proc/PID/status text: the pid as seen in the innermost namespace
// (-1 when absent) and how many levels there are.
std::pair<long, int> innermostPid(const std::string& statusText);
}  // namespace detail

}  // namespace mydock::runtime
