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

namespace mydock::runtime::detail {

[[noreturn]] void fail(const char* stage, const std::string& what, int err) {
    throw ChildFailure{stage, err, what};
}

namespace {

void writeReport(int fd, const std::string& stage, int err, const std::string& msg) noexcept {
    ChildReport r;
    r.err = err;
    std::snprintf(r.stage, sizeof r.stage, "%s", stage.c_str());
    std::snprintf(r.message, sizeof r.message, "%s", msg.c_str());
    // One write below PIPE_BUF: atomic; if the parent is gone there is nobody to tell.
    ssize_t n;
    do n = ::write(fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
}

void resetSignals() {
    // The parent blocks the signals it forwards (signalfd) and may ignore SIGPIPE; both the
    // mask and ignored dispositions survive execve, so the command would inherit them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s)
        if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
}

void waitForParent(int syncFd) {
    char c;
    ssize_t n;
    do n = ::read(syncFd, &c, 1);
    while (n < 0 && errno == EINTR);
    // EOF: the parent failed (or died) before placing us in our cgroup; nothing to report.
    if (n != 1) ::_exit(125);
    ::close(syncFd);
}

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

void sendFd(int sock, int fd) {
    char data = 'T';
    struct iovec iov {&data, 1};
    alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;  // the fd itself travels, like runc's console socket
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) fail("terminal", "send the pty master to mydock", errno);
}

// -t: a pty from the container's own devpts instance (so `tty` says /dev/pts/0), its slave
// our controlling terminal and stdio, its master sent to the parent.
void setupTerminal(int consoleFd) {
    UniqueFd master(check(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), "terminal", "open /dev/pts/ptmx"));
    check(::unlockpt(master.get()), "terminal", "unlockpt");
    // TIOCGPTPEER opens the slave through the master, not by a path an image could swap.
    UniqueFd slave(check(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), "terminal",
                         "open the pty slave"));
    char name[64] = {};
    check(::ptsname_r(master.get(), name, sizeof name), "terminal", "ptsname");
    // /dev/console is the container's terminal, as in docker.
    int cfd = ::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (cfd >= 0) ::close(cfd);
    check(::mount(name, "/dev/console", nullptr, MS_BIND, nullptr), "terminal", std::string("bind ") + name + " on /dev/console");
    // We are a session leader (setsid earlier): this makes the pty our controlling terminal,
    // so Ctrl-C and job control work inside.
    check(::ioctl(slave.get(), TIOCSCTTY, 0), "terminal", "set the controlling terminal");
    for (int i = 0; i < 3; ++i) check(::dup2(slave.get(), i), "terminal", "dup2 pty slave");
    sendFd(consoleFd, master.get());
    ::close(consoleFd);
}

void setupStdio(const ChildArgs& a) {
    for (int i = 0; i < 3; ++i) {
        if (a.stdioFds[i] < 0) continue;
        check(::dup2(a.stdioFds[i], i), "stdio", "dup2 stdio");
    }
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

// execvpe with the container's PATH (glibc's execvpe reads the caller's own PATH).
[[noreturn]] void execCommand(const std::vector<std::string>& args, const std::vector<std::string>& env,
                              int reportFd) {
    std::vector<char*> argv, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const std::string& cmd = args[0];
    if (cmd.find('/') != std::string::npos) {
        ::execve(cmd.c_str(), argv.data(), envp.data());
        int err = errno;
        std::string what = err == ENOENT ? "exec: \"" + cmd + "\": stat " + cmd + ": no such file or directory"
                                         : "exec: \"" + cmd + "\": " + std::strerror(err);
        writeReport(reportFd, "exec", err, what);
        ::_exit(127);
    }
    std::string path = envValue(env, "PATH").value_or(kDefaultPath);
    int firstErr = ENOENT;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        start = end + 1;
        std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
        struct stat st;
        if (::stat(full.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
        ::execve(full.c_str(), argv.data(), envp.data());
        if (errno != ENOENT && firstErr == ENOENT) firstErr = errno;
    }
    std::string what = firstErr == ENOENT ? "exec: \"" + cmd + "\": executable file not found in $PATH"
                                          : "exec: \"" + cmd + "\": " + std::strerror(firstErr);
    writeReport(reportFd, "exec", firstErr, what);
    ::_exit(127);
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

// Die with mydock (unless detached): a container must never outlive a killed `run`. The
// parent-death signal only covers a death *after* prctl(), so we then look whether the parent
// is already gone: the report pipe's read end lives only in the parent (we closed ours, it is
// O_CLOEXEC elsewhere), so POLLERR on our write end means it died, and nobody would ever
// signal us. `rearm`: setuid/setgid clear the signal (commit_creds), so it is set again after
// the identity change; there a seccomp profile may refuse prctl, which must not fail the run.
void dieWithParent(int reportFd, bool rearm) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 && !rearm) fail("init", "PR_SET_PDEATHSIG", errno);
    struct pollfd p {};
    p.fd = reportFd;
    p.events = 0;   // POLLERR/POLLHUP are always reported
    if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP))) ::_exit(125);
}

[[noreturn]] void run(const ChildArgs& a) {
    const ContainerSpec& spec = *a.spec;
    resetSignals();
    if (spec.dieWithParent) dieWithParent(a.reportFd, false);
    waitForParent(a.syncFd);
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

    if (spec.terminal) setupTerminal(a.consoleFd);
    else setupStdio(a);

    std::vector<std::string> argv = spec.argv;
    if (spec.init) {
        argv.insert(argv.begin(), {kInitPathInContainer, "--"});
    }
    makeWorkdir(spec.cwd);
    std::vector<gid_t> groups;
    std::vector<std::string> env = spec.env;
    ChildIdentity id = resolveIdentity(spec, groups, env);
    // fds >= 3 close-on-exec, no_new_privs, bounding set, uid/gid/groups, capabilities,
    // seccomp, chdir: in runc's order (security.h).
    checkSys(finalizeProcess(*a.plan, id, spec.cwd.empty() ? "/" : spec.cwd.c_str()), "security");
    if (spec.dieWithParent) dieWithParent(a.reportFd, true);
    execCommand(argv, env, a.reportFd);
}

}  // namespace

void childMain(const ChildArgs& a) noexcept {
    try {
        run(a);
    } catch (const ChildFailure& f) {
        writeReport(a.reportFd, f.stage, f.err, f.message);
    } catch (const std::exception& e) {
        writeReport(a.reportFd, "init", 0, e.what());
    } catch (...) {
        writeReport(a.reportFd, "init", 0, "unknown failure");
    }
    ::_exit(125);
}

}  // namespace mydock::runtime::detail
