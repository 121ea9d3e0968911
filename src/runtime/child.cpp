// The clone child: from a copy of mydock to the container's command. Runs in the new
// namespaces, single-threaded; every failure is reported to the parent as a ChildReport
// over the close-on-exec report pipe, then the child _exits. Nothing throws out of here.
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "runtime/child-internal.h"
#include "runtime/process_config.h"
#include "runtime/security.h"
#include "runtime/terminal.h"

namespace mydock::runtime::detail {

[[noreturn]] void fail(const char* stage, const std::string& what, int err) {
    throw ChildFailure{stage, err, what};
}

void resetSignals() noexcept {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s)
        if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
}

void waitForParent(int syncFd, bool keepOpen) noexcept {
    char c;
    ssize_t n;
    do n = ::read(syncFd, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(125);
    if (!keepOpen) ::close(syncFd);
}

void dieWithParent(int reportFd, bool rearm) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 && !rearm) fail("init", "PR_SET_PDEATHSIG", errno);
    // Whether the parent is already gone: the signal only covers a death after prctl().
    struct pollfd p {};
    p.fd = reportFd;
    p.events = 0;   // POLLERR/POLLHUP are always reported
    if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP))) ::_exit(125);
}

void setupTerminal(int consoleFd, bool bindConsole) {
    UniqueFd master(check(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), "terminal", "open /dev/pts/ptmx"));
    check(::unlockpt(master.get()), "terminal", "unlockpt");
    // TIOCGPTPEER opens the slave through the master, not by a path an image could swap.
    UniqueFd slave(check(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), "terminal",
                         "open the pty slave"));
    if (bindConsole) {
        char name[64] = {};
        check(::ptsname_r(master.get(), name, sizeof name), "terminal", "ptsname");
        // /dev/console is the container's terminal, as in docker.
        int cfd = ::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (cfd >= 0) ::close(cfd);
        check(::mount(name, "/dev/console", nullptr, MS_BIND, nullptr), "terminal",
              std::string("bind ") + name + " on /dev/console");
    }
    // We are a session leader (setsid earlier): this makes the pty our controlling terminal,
    // so Ctrl-C and job control work inside.
    check(::ioctl(slave.get(), TIOCSCTTY, 0), "terminal", "set the controlling terminal");
    for (int i = 0; i < 3; ++i) check(::dup2(slave.get(), i), "terminal", "dup2 pty slave");
    if (!sendFd(consoleFd, master.get())) fail("terminal", "send the pty master to mydock", errno);
    ::close(consoleFd);
}

void setupStdio(const int (&fds)[3]) {
    for (int i = 0; i < 3; ++i) {
        if (fds[i] < 0) continue;
        check(::dup2(fds[i], i), "stdio", "dup2 stdio");
    }
}

namespace {

void loopbackUp() {
    // A new network namespace has only `lo`, and it is down.
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) fail("network", "socket", errno);
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    check(::ioctl(s.get(), SIOCGIFFLAGS, &ifr), "network", "get lo flags");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    check(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), "network", "bring lo up");
}

// The working directory, created when absent (docker's WorkingDir rule). finalizeProcess
// enters it after the root switch: no host cwd leaks in (CVE-2024-21626).
void makeWorkdir(const std::string& cwd) {
    std::string dir = cwd.empty() ? "/" : cwd;
    if (dir.front() != '/') fail("workdir", "the working directory must be absolute: " + dir, EINVAL);
    try {
        fs::makeDirs(dir, 0755);
    } catch (const std::exception& e) {
        fail("workdir", std::string("create ") + dir + ": " + e.what(), EINVAL);
    }
}

void checkSys(const SysFailure& f, const char* stage) {
    if (f) fail(stage, f.what ? f.what : stage, f.err);
}

// The user to become: numbers given by the caller, or docker's -u string (or the image's
// User) resolved against the container's own /etc/passwd and /etc/group: we are past
// pivot_root, and the lookup cannot follow a symlink out (RESOLVE_IN_ROOT). Adds HOME.
ChildIdentity resolveIdentity(const ContainerSpec& spec, std::vector<gid_t>& groups,
                              std::vector<std::string>& env) {
    ChildIdentity id;
    ResolvedUser u;
    if (spec.user.unresolved.empty() && spec.user.uid) {
        u.uid = *spec.user.uid;
        u.gid = spec.user.gid.value_or(0);
        u.additionalGids = {u.gid};
    } else {
        UniqueFd root(check(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), "user", "open /"));
        try {
            u = resolveUserInRoot(spec.user.unresolved, root.get());
        } catch (const std::exception& e) {
            fail("user", e.what(), 0);
        }
    }
    id.uid = u.uid;
    id.gid = u.gid;
    groups = u.additionalGids;
    for (gid_t g : spec.user.additionalGids)
        if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    id.groups = groups.data();
    id.groupCount = groups.size();
    addHomeIfMissing(env, u.home.empty() ? "/" : u.home);
    return id;
}

[[noreturn]] void run(const ChildArgs& a) {
    const ContainerSpec& spec = *a.spec;
    resetSignals();
    if (spec.dieWithParent) dieWithParent(a.reportFd, false);
    waitForParent(a.syncFd, a.networkByte);
    // Now that we are in our cgroup: a cgroup namespace rooted there, so the container sees
    // its own cgroup as "/" (skipped where the kernel has none).
    if (::unshare(CLONE_NEWCGROUP) != 0 && errno != EINVAL) fail("init", "unshare the cgroup namespace", errno);
    // A new session: no controlling terminal from the host; with -t the pty becomes ours.
    check(::setsid(), "init", "setsid");

    // Slave, recursively: nothing we mount propagates to the host, host unmounts still reach us.
    check(::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr), "mount", "make / rslave");
    std::string root = fs::join(spec.containerDir, "merged");
    mountOverlay(spec, root);
    prepareRootfs(spec, root);
    pivotInto(root);
    finishRootfs(spec);
    // Masked and read-only paths need our /proc and /sys, so after the root switch.
    if (!a.plan->privileged) checkSys(applyMaskedPaths(spec.maskedPaths, spec.readonlyPaths), "mount");
    // Only the nodes made above stay usable; a later mknod gives an inert node (security.h).
    if (!a.plan->privileged) checkSys(restrictDeviceNodes(), "mount");

    check(::sethostname(spec.hostname.data(), spec.hostname.size()), "hostname", "sethostname " + spec.hostname);
    if (spec.network != NetworkMode::Host) loopbackUp();

    if (spec.terminal) setupTerminal(a.consoleFd, true);
    else setupStdio(a.stdioFds);

    std::vector<std::string> argv = spec.argv;
    if (spec.init) {
        argv.insert(argv.begin(), {kInitPathInContainer, "--"});
    }
    makeWorkdir(spec.cwd);
    std::vector<gid_t> groups;
    std::vector<std::string> env = spec.env;
    ChildIdentity id = resolveIdentity(spec, groups, env);
    // The bridge is ready (eth0 up with its address, NAT in place, /etc/hosts final) before
    // the command can look at it.
    if (a.networkByte) waitForParent(a.syncFd);
    // fds >= 3 close-on-exec, no_new_privs, bounding set, uid/gid/groups, capabilities,
    // seccomp, chdir: in runc's order (security.h).
    checkSys(finalizeProcess(*a.plan, id, spec.cwd.empty() ? "/" : spec.cwd.c_str()), "security");
    if (spec.dieWithParent) dieWithParent(a.reportFd, true);
    execCommand(argv, env, a.reportFd);
}

}  // namespace

void childMain(const ChildArgs& a) noexcept {
    reportFailures(a.reportFd, [&] { run(a); });
}

}  // namespace mydock::runtime::detail
