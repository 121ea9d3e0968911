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
#include <sstream>
#include <vector>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/cgroup.h"
#include "runtime/child-internal.h"
#include "runtime/net_bridge.h"
#include "runtime/security.h"
#include "runtime/stdio_relay.h"
#include "runtime/terminal.h"

namespace mydock::runtime {

namespace {

std::string hostsFile(const ContainerSpec& spec) {
    std::string host;
    if (spec.network == NetworkMode::Host && fs::readFileIfExists("/etc/hosts", host)) return host;
    return "127.0.0.1\tlocalhost\n"
           "::1\tlocalhost ip6-localhost ip6-loopback\n"
           "fe00::0\tip6-localnet\n"
           "ff00::0\tip6-mcastprefix\n"
           "ff02::1\tip6-allnodes\n"
           "ff02::2\tip6-allrouters\n";
}

// docker's rule: the host's resolv.conf; outside the host's network, loopback nameservers
// (a local resolver) cannot work, so they are dropped, and Google's are used if none is left.
std::string resolvConf(const ContainerSpec& spec) {
    std::string host;
    fs::readFileIfExists("/etc/resolv.conf", host);
    if (spec.network == NetworkMode::Host) return host;
    std::stringstream in(host);
    std::string line, out;
    bool haveNs = false;
    while (std::getline(in, line)) {
        std::stringstream ls(line);
        std::string key, value;
        ls >> key >> value;
        if (key == "nameserver") {
            if (value.rfind("127.", 0) == 0 || value == "::1") continue;
            haveNs = true;
        }
        out += line + "\n";
    }
    if (!haveNs) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    return out;
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
    // (a host tty fd inside a container could inject input: TIOCSTI), which are relayed.
    detail::StdioPlumbing io;
    if (!spec.terminal) io = detail::plumbStdio(spec.stdinOpen);
    detail::ChildArgs args;
    args.spec = &spec;
    args.plan = &plan;
    std::copy(std::begin(io.childFds), std::end(io.childFds), std::begin(args.stdioFds));

    detail::ChildChannels channels(spec.terminal);
    args.syncFd = channels.childSyncFd();
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
    // --network bridge: the child's netns gets its veth, address and routes now, before the
    // child runs anything (it bind-mounts hosts/resolv.conf after the byte: attach rewrites
    // them for its address). Held until we return: veth, lease and rules go with the container.
    std::optional<net::Attachment> network;
    if (spec.network == NetworkMode::Bridge) {
        if (spec.stateRoot.empty()) throw Error("bridge network: no state root given");
        net::cleanupStale(spec.stateRoot);
        network.emplace(net::attachContainer(spec.stateRoot, spec.id, child.pid(), spec.publish,
                                             spec.containerDir, spec.hostname));
    }
    channels.release("start the container process");
    UniqueFd master = channels.awaitExec(child, detail::throwChildReport,
                                         "failed to start container: the container process");
    if (onStarted) onStarted(child.pid());

    detail::relayUntilExit(child, signals.fd(), io.pumps, master ? master.get() : -1, spec.stdinOpen);

    ExitStatus st;
    st.code = exitCodeFromWaitStatus(child.status());
    st.signal = WIFSIGNALED(child.status()) ? WTERMSIG(child.status()) : 0;
    // The OOM killer may have hit PID 1 itself or a child of it (a shell then exits 137).
    st.oomKilled = st.code == 137 && cgroup.oomKilled();
    return st;
}

}  // namespace mydock::runtime
