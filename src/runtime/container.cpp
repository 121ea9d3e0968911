#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/cgroup.h"
#include "runtime/child-internal.h"
#include "runtime/net_bridge.h"
#include "runtime/net_files.h"
#include "runtime/security.h"
#include "runtime/stdio_relay.h"
#include "runtime/terminal.h"

namespace mydock::runtime {

namespace {

// /etc/hosts and /etc/resolv.conf: the host's own with --network host; otherwise docker's
// localhost lines (a bridge container's address is added by the network attach) and the host's
// resolv.conf without loopback nameservers (net_files.h).
std::string hostsFile(const ContainerSpec& spec) {
    std::string host;
    if (spec.network == NetworkMode::Host && fs::readFileIfExists("/etc/hosts", host)) return host;
    return net::hostsFileContent("", "");
}

std::string resolvConf(const ContainerSpec& spec) {
    std::string host;
    if (spec.network == NetworkMode::Host) {
        fs::readFileIfExists("/etc/resolv.conf", host);
        return host;
    }
    return net::containerResolvConf();
}

// The foreground relay, signal forwarding and child reaping live in stdio_relay.{h,cpp}
// (shared with exec).
using detail::ChildProcess;
using detail::SignalScope;

unsigned long cloneFlags(const ContainerSpec& spec) {
    unsigned long f = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
    if (spec.network != NetworkMode::Host) f |= CLONE_NEWNET;
    // No CLONE_NEWCGROUP here: a cgroup namespace is rooted where its creator is at that
    // moment, so the child unshares it once it is in its own cgroup.
    return f;
}

}  // namespace

int exitCodeFromWaitStatus(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return kExitEngineError;
}

void prepareContainerDir(const ContainerSpec& spec) {
    for (const char* d : {"upper", "work", "merged"}) fs::makeDirs(fs::join(spec.containerDir, d), 0755);
    // Not durable: these are rewritten at every start and worthless after a crash.
    fs::writeFileAtomic(fs::join(spec.containerDir, "hostname"), spec.hostname + "\n", false);
    fs::writeFileAtomic(fs::join(spec.containerDir, "hosts"), hostsFile(spec), false);
    fs::writeFileAtomic(fs::join(spec.containerDir, "resolv.conf"), resolvConf(spec), false);
}

ExitStatus runContainer(const ContainerSpec& specIn, const std::function<void(pid_t)>& onStarted) {
    ContainerSpec spec = specIn;
    if (spec.argv.empty()) throw Error("no command specified");
    if (spec.hostname.empty()) spec.hostname = spec.id.substr(0, 12);
    if (spec.init && spec.initPath.empty()) throw Error("--init: the mydock-init binary was not found");
    if (spec.maskedPaths.empty()) spec.maskedPaths = defaultMaskedPaths();
    if (spec.readonlyPaths.empty()) spec.readonlyPaths = defaultReadonlyPaths();

    // Everything the child needs is computed here, before clone(): the child only executes.
    SecurityPlan plan = SecurityPlan::prepare(spec.security, spec.seccompCacheDir);
    prepareContainerDir(spec);
    // Cgroups exist only for containers with limits (issue 6: none to make or remove when no
    // limit is asked); the leftovers of killed runs are collected by the next one that makes one.
    if (spec.resources.any()) cleanupStaleCgroups();
    Cgroup cgroup = Cgroup::create(spec.id, spec.resources);

    // stdio: -t gets a pty; otherwise the caller's fds pass straight through, except terminals
    // (a host tty fd inside a container could inject input: TIOCSTI), which are relayed, and
    // the output to be logged too (spec.logPath), which is relayed through pipes.
    detail::StdioPlumbing io;
    if (!spec.terminal) io = detail::plumbStdio(spec.stdinOpen, !spec.logPath.empty());
    detail::ChildArgs args;
    args.spec = &spec;
    args.plan = &plan;
    std::copy(std::begin(io.childFds), std::end(io.childFds), std::begin(args.stdioFds));

    detail::ChildChannels channels(spec.terminal);
    args.syncFd = channels.childSyncFd();
    if (spec.network == NetworkMode::Bridge) {
        if (spec.stateRoot.empty()) throw Error("bridge network: no state root given");
        args.networkByte = true;
    }
    args.reportFd = channels.childReportFd();
    args.consoleFd = channels.childConsoleFd();

    SignalScope signals;
    unsigned long flags = cloneFlags(spec);
    std::fflush(nullptr);  // nothing buffered may be written twice by the child
    // clone() as fork() (no new stack, no CLONE_VM): the child continues here with a copy of
    // our memory, in its new namespaces.
    long rc = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc < 0) throwErrno("clone the container process");
    if (rc == 0) {
        channels.closeParentEnds();
        detail::childMain(args);
    }
    ChildProcess child(static_cast<pid_t>(rc));
    channels.closeChildEnds();
    io.closeChildEnds();

    // The child waits for this byte: it must be in its cgroup before it runs anything.
    cgroup.addProcess(child.pid());
    // --network bridge: the child's netns gets its veth, address, routes and NAT while the
    // child builds its root (args.networkByte: it waits for a second byte before it becomes
    // the command). Held until we return: veth, lease and rules go with the container.
    std::optional<net::Attachment> network;
    if (args.networkByte) {
        channels.go("start the container process");
        try {
            // (attach reclaims the leases of dead containers itself; veths without a lease
            // are left to `rm` and `system prune`: at this moment they are usually the
            // previous run's, still going away with its netns.)
            network.emplace(net::attachContainer(spec.stateRoot, spec.id, child.pid(), spec.publish,
                                                 spec.containerDir, spec.hostname));
        } catch (...) {
            // The child may have failed first (a mount, the image): then that is the cause.
            detail::ChildReport r;
            if (channels.takeReport(r)) detail::throwChildReport(r);
            throw;
        }
    }
    channels.release("start the container process");
    UniqueFd master = channels.awaitExec(child, detail::throwChildReport,
                                         "failed to start container: the container process");
    if (onStarted) onStarted(child.pid());

    detail::relayUntilExit(child, signals.fd(), io.pumps, master ? master.get() : -1, spec.stdinOpen, spec.logPath);

    ExitStatus st;
    st.code = exitCodeFromWaitStatus(child.status());
    st.signal = WIFSIGNALED(child.status()) ? WTERMSIG(child.status()) : 0;
    // The OOM killer may have hit PID 1 itself or a child of it (a shell then exits 137).
    st.oomKilled = st.code == 137 && cgroup.oomKilled();
    return st;
}

}  // namespace mydock::runtime
