// exec: the parent pins the container's PID 1 (pidfd), opens its namespaces, forks a child
// into its PID namespace, places it in its cgroups, then relays stdio and signals as `run`
// does. The child joins the other namespaces, takes the container's confinement and execs
// the command through detail::execCommand (the sealed stub: CVE-2019-5736). Nothing throws
// out of the child: it reports through the close-on-exec pipe and _exits.
#include "runtime/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <sstream>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "runtime/child-internal.h"
#include "runtime/container.h"
#include "runtime/process_config.h"
#include "runtime/stdio_relay.h"
#include "runtime/terminal.h"

namespace mydock::runtime {

namespace detail {

std::vector<CgroupMembership> parseProcCgroup(const std::string& text) {
    std::vector<CgroupMembership> out;
    std::stringstream ss(text);
    std::string line;
    while (std::getline(ss, line)) {
        auto a = line.find(':');
        if (a == std::string::npos) continue;
        auto b = line.find(':', a + 1);
        if (b == std::string::npos) continue;
        CgroupMembership m;
        try {
            m.hierarchy = std::stoi(line.substr(0, a));
        } catch (...) {
            continue;
        }
        m.controllers = line.substr(a + 1, b - a - 1);
        m.path = line.substr(b + 1);
        if (m.path.empty() || m.path.front() != '/') continue;
        out.push_back(std::move(m));
    }
    return out;
}

std::string cgroupDirFor(const CgroupMembership& m, const std::string& mountinfo) {
    const bool v2 = m.hierarchy == 0 && m.controllers.empty();
    std::string first = m.controllers.substr(0, m.controllers.find(','));
    std::stringstream ss(mountinfo);
    std::string line;
    while (std::getline(ss, line)) {
        auto sep = line.find(" - ");
        if (sep == std::string::npos) continue;
        std::stringstream pre(line.substr(0, sep)), post(line.substr(sep + 3));
        std::string id, parent, dev, root, mountPoint, fstype, source, superOpts;
        if (!(pre >> id >> parent >> dev >> root >> mountPoint)) continue;
        if (!(post >> fstype >> source >> superOpts)) continue;
        if (v2 != (fstype == "cgroup2")) continue;
        if (!v2) {
            if (fstype != "cgroup") continue;
            bool has = false;
            std::stringstream os(superOpts);
            std::string o;
            while (std::getline(os, o, ','))
                if (o == first) has = true;
            if (!has) continue;
        }
        // A mount of a sub-tree shows only what lies below its root.
        std::string rel = m.path;
        if (root != "/") {
            if (rel != root && rel.rfind(root + "/", 0) != 0) continue;
            rel = rel.substr(root.size());
        }
        if (rel.empty() || rel == "/") return mountPoint;
        return mountPoint == "/" ? rel : mountPoint + rel;
    }
    return {};
}

std::pair<long, int> innermostPid(const std::string& statusText) {
    std::stringstream ss(statusText);
    std::string line;
    while (std::getline(ss, line)) {
        if (line.rfind("NSpid:", 0) != 0) continue;
        std::stringstream ls(line.substr(6));
        long v = -1, last = -1;
        int n = 0;
        while (ls >> v) {
            last = v;
            ++n;
        }
        return {last, n};
    }
    return {-1, 0};
}

}  // namespace detail

namespace {

using detail::check;
using detail::ChildProcess;
using detail::fail;
using detail::SignalScope;

// The namespaces exec joins, in the order the child joins them (mnt last: after it, paths
// name the container's files).
struct NsKind {
    const char* name;
    int flag;
};
constexpr NsKind kJoined[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
                              {"net", CLONE_NEWNET},       {"mnt", CLONE_NEWNS}};

struct ExecChildArgs {
    const ExecSpec* spec = nullptr;
    const SecurityPlan* plan = nullptr;
    int nsFds[std::size(kJoined)] = {-1, -1, -1, -1, -1};   // -1: already ours, not joined
    int syncFd = -1;        // read end: one byte once the parent placed us in the cgroups
    int reportFd = -1;      // write end, O_CLOEXEC: ChildReport on failure
    int consoleFd = -1;     // -t: unix socket to send the pty master back on
    int stdioFds[3] = {-1, -1, -1};
};

std::string readAt(int dirFd, const char* name) {
    UniqueFd fd(::openat(dirFd, name, O_RDONLY | O_CLOEXEC));
    if (!fd) throwErrno(std::string("read ") + name);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throwErrno(std::string("read ") + name);
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// Whether the process of `procDir` has `hostFile` bound on its /etc/hostname (same inode):
// a recycled pid would be another process, with another root.
bool hasHostnameFile(int procDir, const std::string& hostFile) {
    struct stat want, got;
    if (::stat(hostFile.c_str(), &want) != 0) return false;
    // O_PATH|O_NOFOLLOW: only looked at, never opened for reading, no final symlink followed.
    UniqueFd fd(::openat(procDir, "root/etc/hostname", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd || ::fstat(fd.get(), &got) != 0) return false;
    return want.st_dev == got.st_dev && want.st_ino == got.st_ino;
}

bool sameNamespace(int fd, const char* name) {
    struct stat a, b;
    std::string own = std::string("/proc/self/ns/") + name;
    if (::fstat(fd, &a) != 0 || ::stat(own.c_str(), &b) != 0) return false;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// ---- the child (after fork; no exceptions escape, nothing returns) ----
// resetSignals, waitForParent, dieWithParent, setupTerminal, setupStdio: the steps run's clone
// child takes too (child-internal.h).

void joinNamespaces(const ExecChildArgs& a) {
    for (std::size_t i = 0; i < std::size(kJoined); ++i) {
        if (a.nsFds[i] < 0) continue;
        // setns: this process enters the container's namespace (mnt last: it also moves our
        // root and cwd to the container's root).
        check(::setns(a.nsFds[i], kJoined[i].flag), "setns", std::string("join the container's ") + kJoined[i].name +
                                                                  " namespace");
    }
}

[[noreturn]] void runChild(const ExecChildArgs& a) {
    const ExecSpec& spec = *a.spec;
    detail::resetSignals();
    if (!spec.detach) detail::dieWithParent(a.reportFd, false);
    // Wait until the parent placed us in the container's cgroups: nothing runs outside them.
    detail::waitForParent(a.syncFd);

    joinNamespaces(a);
    if (spec.detach) {
        // -d: the command runs in a grandchild; we exit at once, so it is re-parented to the
        // container's PID 1 (the reaper of our PID namespace), not to a host process.
        pid_t pid = ::fork();
        if (pid < 0) fail("init", "fork", errno);
        if (pid > 0) ::_exit(0);
    }
    // A new session: not in the caller's terminal's session; with -t the pty becomes ours.
    check(::setsid(), "init", "setsid");

    // No /dev/console: that is PID 1's terminal.
    if (spec.terminal && !spec.detach) detail::setupTerminal(a.consoleFd, false);
    else detail::setupStdio(a.stdioFds);

    // The user, against the container's own /etc/passwd and /etc/group (we are in its mount
    // namespace; the lookup cannot follow a symlink out: RESOLVE_IN_ROOT).
    ResolvedUser u;
    {
        UniqueFd root(check(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), "user", "open /"));
        try {
            u = resolveUserInRoot(spec.user, root.get());
        } catch (const std::exception& e) {
            fail("user", e.what(), 0);
        }
    }
    std::vector<std::string> env = spec.env;
    addHomeIfMissing(env, u.home.empty() ? "/" : u.home);
    ChildIdentity id;
    id.uid = u.uid;
    id.gid = u.gid;
    id.groups = u.additionalGids.data();
    id.groupCount = u.additionalGids.size();

    // fds >= 3 close-on-exec, no_new_privs, bounding set, uid/gid/groups, capabilities,
    // seccomp, chdir: the same sequence as the container's own process (security.h).
    SysFailure f = finalizeProcess(*a.plan, id, spec.cwd.c_str());
    if (f) {
        std::string what = f.what ? f.what : "security";
        if (what.rfind("chdir", 0) == 0 || what.find("working directory") != std::string::npos)
            fail("chdir", spec.cwd, f.err);
        fail("security", what, f.err);
    }
    if (!spec.detach) detail::dieWithParent(a.reportFd, true);
    detail::execCommand(spec.argv, env, a.reportFd);
}

[[noreturn]] void childMain(const ExecChildArgs& a) noexcept {
    detail::reportFailures(a.reportFd, [&] { runChild(a); });
}

// ---- the parent ----

// The report as docker words an exec failure (exit 126/127 pass through, 125 otherwise).
[[noreturn]] void throwExecReport(const detail::ChildReport& r) {
    std::string stage(r.stage, ::strnlen(r.stage, sizeof r.stage));
    std::string msg(r.message, ::strnlen(r.message, sizeof r.message));
    const std::string prefix = "OCI runtime exec failed: exec failed: unable to start container process: ";
    if (stage == "chdir") {
        std::string why = r.err ? std::strerror(r.err) : "failed";
        for (auto& ch : why) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        throw Error(prefix + "chdir to cwd (\"" + msg + "\") set in config.json failed: " + why + ": unknown",
                    kExitCannotInvoke, r.err);
    }
    try {
        detail::throwChildReport(r);
    } catch (const Error& e) {
        std::string text = e.what();
        const std::string runPrefix = "failed to start container: ";
        if (text.rfind(runPrefix, 0) == 0) text = text.substr(runPrefix.size());
        if (e.exitCode() == kExitNotFound || e.exitCode() == kExitCannotInvoke)
            throw Error(prefix + text + ": unknown", e.exitCode(), e.sysErrno());
        throw Error("exec failed: " + text, e.exitCode(), e.sysErrno());
    }
    throw Error("exec failed");
}

// While alive: our children are born in the container's PID namespace; restored after fork.
class PidNsForChildren {
public:
    explicit PidNsForChildren(int containerPidNs) {
        own_.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
        if (!own_) throwErrno("open /proc/self/ns/pid");
        // setns(CLONE_NEWPID) changes only where our *children* go; we stay where we are.
        if (::setns(containerPidNs, CLONE_NEWPID) != 0) throwErrno("join the container's pid namespace");
    }
    ~PidNsForChildren() {
        // Back to our own: nothing else we fork may land in the container.
        if (own_) ::setns(own_.get(), CLONE_NEWPID);
    }
    PidNsForChildren(const PidNsForChildren&) = delete;
    PidNsForChildren& operator=(const PidNsForChildren&) = delete;

private:
    UniqueFd own_;
};

// The cgroup directories of the container's PID 1 that differ from ours (v1 hierarchies and
// the unified one alike): the exec'd process goes into each.
std::vector<std::string> cgroupDirsToJoin(const std::string& theirs) {
    std::string ours, mountinfo;
    fs::readFileIfExists("/proc/self/cgroup", ours);
    fs::readFileIfExists("/proc/self/mountinfo", mountinfo);
    auto mine = detail::parseProcCgroup(ours);
    std::vector<std::string> dirs;
    for (const auto& m : detail::parseProcCgroup(theirs)) {
        bool same = std::any_of(mine.begin(), mine.end(), [&](const detail::CgroupMembership& o) {
            return o.hierarchy == m.hierarchy && o.controllers == m.controllers && o.path == m.path;
        });
        if (same) continue;
        std::string dir = detail::cgroupDirFor(m, mountinfo);
        if (dir.empty()) continue;   // a hierarchy not mounted here: nothing we can join
        dirs.push_back(dir);
    }
    return dirs;
}

void joinCgroups(const std::vector<std::string>& dirs, pid_t pid) {
    for (const auto& d : dirs) {
        std::string procs = fs::join(d, "cgroup.procs");
        UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throwErrno("join the container's cgroup: open " + procs);
        std::string text = std::to_string(pid);
        if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throwErrno("join the container's cgroup: write to " + procs);
    }
}

}  // namespace

int execInContainer(const ExecSpec& spec, const std::function<bool()>& stillRunning) {
    if (spec.argv.empty()) throw Error("no command specified");
    if (spec.cwd.empty() || spec.cwd.front() != '/')
        throw Error("the working directory '" + spec.cwd + "' is invalid, it needs to be an absolute path");
    if (spec.pid <= 0) throw ContainerNotRunning();

    // Everything the child needs is computed before fork(): the child only executes.
    SecurityPlan plan = SecurityPlan::prepare(spec.security, spec.seccompCacheDir);
    if (spec.privileged) {
        // docker: exec --privileged gets every capability; the container's seccomp stays.
        SecurityOptions all;
        all.privileged = true;
        plan.capabilities = SecurityPlan::prepare(all, spec.seccompCacheDir).capabilities;
    }

    // Pin the pid: a pidfd keeps naming this very process even if it dies and the number is
    // reused. Then check it is the container's PID 1 (pid 1 in its own PID namespace, the
    // container's /etc/hostname as its root's, the record's lock still held).
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, spec.pid, 0)));
    if (!pidfd) {
        if (errno == ESRCH) throw ContainerNotRunning();
        throwErrno("pidfd_open " + std::to_string(spec.pid));
    }
    std::string procPath = "/proc/" + std::to_string(spec.pid);
    UniqueFd procDir(::open(procPath.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!procDir) throw ContainerNotRunning();
    std::string status, cgroups;
    try {
        status = readAt(procDir.get(), "status");
        cgroups = readAt(procDir.get(), "cgroup");
    } catch (const Error&) {
        throw ContainerNotRunning();
    }
    auto [innerPid, levels] = detail::innermostPid(status);
    if (innerPid != 1 || levels < 2) throw ContainerNotRunning();
    if (!spec.hostnameFile.empty() && !hasHostnameFile(procDir.get(), spec.hostnameFile)) throw ContainerNotRunning();
    if (stillRunning && !stillRunning()) throw ContainerNotRunning();

    UniqueFd nsFds[std::size(kJoined)];
    ExecChildArgs args;
    args.spec = &spec;
    args.plan = &plan;
    for (std::size_t i = 0; i < std::size(kJoined); ++i) {
        std::string rel = std::string("ns/") + kJoined[i].name;
        nsFds[i].reset(::openat(procDir.get(), rel.c_str(), O_RDONLY | O_CLOEXEC));
        if (!nsFds[i]) {
            if (errno == ENOENT && std::string(kJoined[i].name) == "cgroup") continue;   // old kernel
            throw ContainerNotRunning();
        }
        // Already ours (--network host, a host cgroup namespace): nothing to join.
        if (sameNamespace(nsFds[i].get(), kJoined[i].name)) nsFds[i].reset();
        args.nsFds[i] = nsFds[i].get();
    }
    UniqueFd pidNs(::openat(procDir.get(), "ns/pid", O_RDONLY | O_CLOEXEC));
    if (!pidNs) throw ContainerNotRunning();
    std::vector<std::string> cgroupDirs = cgroupDirsToJoin(cgroups);
    // Still alive after all the opens: every fd above belongs to the container's PID 1.
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) != 0) throw ContainerNotRunning();

    // stdio: -d gets /dev/null; -t a pty; otherwise run's rules (pass through, relay ttys).
    detail::StdioPlumbing io;
    UniqueFd devnullRw;
    if (spec.detach) {
        devnullRw.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!devnullRw) throwErrno("open /dev/null");
        for (int& fd : args.stdioFds) fd = devnullRw.get();
    } else if (!spec.terminal) {
        io = detail::plumbStdio(spec.stdinOpen);
        std::copy(std::begin(io.childFds), std::end(io.childFds), std::begin(args.stdioFds));
    }

    detail::ChildChannels channels(spec.terminal && !spec.detach);
    args.syncFd = channels.childSyncFd();
    args.reportFd = channels.childReportFd();
    args.consoleFd = channels.childConsoleFd();

    std::optional<SignalScope> signals;
    if (!spec.detach) signals.emplace();
    pid_t pid;
    {
        PidNsForChildren inContainer(pidNs.get());
        std::fflush(nullptr);   // nothing buffered may be written twice by the child
        pid = ::fork();
        if (pid < 0) {
            // ENOMEM here: the namespace's PID 1 is gone (the namespace is dying).
            if (errno == ENOMEM) throw ContainerNotRunning();
            throwErrno("fork the exec process");
        }
        if (pid == 0) {
            channels.closeParentEnds();
            childMain(args);
        }
    }
    ChildProcess child(pid);
    channels.closeChildEnds();
    io.closeChildEnds();
    devnullRw.reset();
    for (auto& fd : nsFds) fd.reset();

    // In the container's cgroups before it runs anything (it waits for this byte).
    joinCgroups(cgroupDirs, pid);
    channels.release("start the exec process");
    UniqueFd master = channels.awaitExec(child, throwExecReport, "exec failed: the process");
    // EOF: the command runs (its exec closed the report pipe).
    if (spec.detach) {
        child.reap(true);   // the intermediate process, gone once the command was forked
        return 0;
    }
    detail::relayUntilExit(child, signals->fd(), io.pumps, master ? master.get() : -1, spec.stdinOpen);
    return exitCodeFromWaitStatus(child.status());
}

}  // namespace mydock::runtime
