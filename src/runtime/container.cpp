#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/cgroup.h"
#include "runtime/child-internal.h"
#include "runtime/security.h"
#include "runtime/terminal.h"

namespace mydock::runtime {

namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

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

// Blocks the forwarded signals and SIGCHLD for the container's life (they arrive through a
// signalfd instead) and ignores SIGPIPE (a closed stdout must not kill mydock mid-relay).
class SignalScope {
public:
    SignalScope() {
        sigset_t set;
        sigemptyset(&set);
        for (int s : kForwarded) sigaddset(&set, s);
        sigaddset(&set, SIGCHLD);
        if (::sigprocmask(SIG_BLOCK, &set, &old_) != 0) throwErrno("sigprocmask");
        fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!fd_) throwErrno("signalfd");
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        ::sigaction(SIGPIPE, &ign, &oldPipe_);
    }
    ~SignalScope() {
        fd_.reset();
        ::sigaction(SIGPIPE, &oldPipe_, nullptr);
        ::sigprocmask(SIG_SETMASK, &old_, nullptr);
    }
    int fd() const { return fd_.get(); }

private:
    sigset_t old_;
    struct sigaction oldPipe_ {};
    UniqueFd fd_;
};

struct Pipe {
    UniqueFd r, w;
    Pipe() {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("pipe");
        r.reset(p[0]);
        w.reset(p[1]);
    }
};

// A reaped-once child: SIGKILLed and waited for if we leave early (an error, an exception).
class ChildProcess {
public:
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() {
        if (pid_ <= 0 || reaped_) return;
        ::kill(pid_, SIGKILL);
        int st;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {}
    }
    pid_t pid() const { return pid_; }
    // Non-blocking (or blocking) reap; true once the child's status is in `status`.
    bool reap(bool block) {
        if (reaped_) return true;
        for (;;) {
            pid_t r = ::waitpid(pid_, &status_, block ? 0 : WNOHANG);
            if (r == pid_) return reaped_ = true;
            if (r == 0) return false;
            if (errno == EINTR) continue;
            throwErrno("waitpid");
        }
    }
    int status() const { return status_; }

private:
    pid_t pid_;
    bool reaped_ = false;
    int status_ = 0;
};

bool writeAll(int fd, const char* p, std::size_t n) {
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd pf {fd, POLLOUT, 0};
                ::poll(&pf, 1, 100);
                continue;
            }
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// One direction of the relay: bytes from `from` to `to`.
struct Pump {
    int from;
    int to;
    UniqueFd ownedTo;      // closed at EOF of `from` (the container's stdin pipe)
    bool output;           // container -> caller: must be drained before we return
    bool done = false;
};

long long monotonicMs() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

[[noreturn]] void throwChildReport(const detail::ChildReport& r) {
    std::string stage(r.stage), msg(r.message);
    int code = kExitEngineError;
    std::string text;
    if (stage == "exec") {
        // docker: 127 when the command does not exist, 126 when it cannot be run.
        code = (r.err == ENOENT || r.err == ENOTDIR) ? kExitNotFound : kExitCannotInvoke;
        text = "failed to start container: " + msg;
        if (code == kExitCannotInvoke && r.err == EACCES) text += ": permission denied";
    } else {
        text = "failed to start container: " + stage + ": " + msg;
        if (r.err) text += std::string(": ") + std::strerror(r.err);
    }
    throw Error(text, code, r.err);
}

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
    cleanupStaleCgroups();
    Cgroup cgroup = Cgroup::create(spec.id, spec.resources);

    // stdio: -t gets a pty; otherwise the caller's fds pass straight through, except terminals
    // (a host tty fd inside a container could inject input: TIOCSTI), which are relayed.
    UniqueFd devnull;
    std::vector<Pump> pumps;
    std::vector<UniqueFd> childEnds;    // the container's ends, closed here after clone()
    std::vector<UniqueFd> pumpSources;  // our read ends of its output pipes
    detail::ChildArgs args;
    args.spec = &spec;
    args.plan = &plan;
    if (!spec.terminal) {
        if (!spec.stdinOpen) {
            devnull.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            if (!devnull) throwErrno("open /dev/null");
            args.stdioFds[0] = devnull.get();
        } else if (::isatty(0)) {
            Pipe p;
            args.stdioFds[0] = p.r.get();
            childEnds.push_back(std::move(p.r));
            pumps.push_back(Pump{0, p.w.get(), std::move(p.w), false});
        }
        for (int fd : {1, 2}) {
            if (!::isatty(fd)) continue;
            Pipe p;
            args.stdioFds[fd] = p.w.get();
            pumps.push_back(Pump{p.r.get(), fd, UniqueFd(), true});
            pumpSources.push_back(std::move(p.r));
            childEnds.push_back(std::move(p.w));
        }
    }

    Pipe sync, report;
    UniqueFd consoleParent, consoleChild;
    if (spec.terminal) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throwErrno("socketpair");
        consoleParent.reset(sv[0]);
        consoleChild.reset(sv[1]);
    }
    args.syncFd = sync.r.get();
    args.reportFd = report.w.get();
    args.consoleFd = consoleChild.get();

    SignalScope signals;
    unsigned long flags = cloneFlags(spec);
    std::fflush(nullptr);  // nothing buffered may be written twice by the child
    // clone() as fork() (no new stack, no CLONE_VM): the child continues here with a copy of
    // our memory, in its new namespaces.
    long rc = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc < 0) throwErrno("clone the container process");
    if (rc == 0) {
        // The child: our ends of its pipes would keep them open (no EOF if we die).
        ::close(sync.w.get());
        ::close(report.r.get());
        if (consoleParent) ::close(consoleParent.get());
        detail::childMain(args);
    }
    ChildProcess child(static_cast<pid_t>(rc));
    sync.r.reset();
    report.w.reset();
    consoleChild.reset();
    childEnds.clear();
    devnull.reset();

    // The child waits for this byte: it must be in its cgroup before it runs anything.
    cgroup.addProcess(child.pid());
    char go = 'G';
    if (::write(sync.w.get(), &go, 1) != 1) throwErrno("start the container process");
    sync.w.reset();

    UniqueFd master;
    if (spec.terminal) master = receiveFd(consoleParent.get());   // empty: the child failed
    consoleParent.reset();

    detail::ChildReport r;
    ssize_t n;
    do n = ::read(report.r.get(), &r, sizeof r);
    while (n < 0 && errno == EINTR);
    report.r.reset();
    if (n == static_cast<ssize_t>(sizeof r)) {
        child.reap(true);
        throwChildReport(r);
    }
    if (n != 0) {
        // Short read or error: the child died in an unexpected way before exec.
        child.reap(true);
        throw Error("failed to start container: the container process died during setup (status " +
                    std::to_string(exitCodeFromWaitStatus(child.status())) + ")");
    }
    // EOF: execve succeeded and closed the report pipe.
    if (onStarted) onStarted(child.pid());

    std::optional<RawTerminal> raw;   // restored on every way out of here
    if (master) {
        if (spec.stdinOpen) {
            raw.emplace(0);
            pumps.push_back(Pump{0, master.get(), UniqueFd(), false});
        }
        copyWindowSize(::isatty(0) ? 0 : 1, master.get());
        pumps.push_back(Pump{master.get(), 1, UniqueFd(), true});
    }

    long long deadline = -1;   // set once the child is reaped: how long to drain its output
    long long killAt = -1;     // set when the caller's terminal hung up
    // A terminal that hangs up (EOF/EIO on a tty) ends the session, as it ends a login shell:
    // SIGHUP first, SIGKILL a second later (a PID 1 without a HUP handler ignores it).
    auto hangup = [&] {
        if (deadline >= 0 || killAt >= 0) return;
        ::kill(child.pid(), SIGHUP);
        killAt = monotonicMs() + 1000;
    };
    const bool stdinIsTty = ::isatty(0) != 0;
    std::vector<char> buf(65536);
    for (;;) {
        bool outputsDone = true;
        for (auto& p : pumps)
            if (p.output && !p.done) outputsDone = false;
        if (deadline >= 0 && (outputsDone || monotonicMs() >= deadline)) break;

        std::vector<struct pollfd> pfds;
        pfds.push_back({signals.fd(), POLLIN, 0});
        std::vector<Pump*> polled;
        for (auto& p : pumps)
            if (!p.done) {
                pfds.push_back({p.from, POLLIN, 0});
                polled.push_back(&p);
            }
        if (killAt >= 0 && deadline < 0 && monotonicMs() >= killAt) {
            ::kill(child.pid(), SIGKILL);
            killAt = -1;
        }
        long long until = deadline >= 0 ? deadline : killAt;
        int timeout = until < 0 ? -1 : static_cast<int>(std::max(0LL, until - monotonicMs()));
        int pr = ::poll(pfds.data(), pfds.size(), timeout);
        if (pr < 0) {
            if (errno == EINTR) continue;
            throwErrno("poll");
        }
        if (pfds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (::read(signals.fd(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGCHLD) {
                    // Our only child: once reaped, drain what is left of its output (2 s at most).
                    if (deadline < 0 && child.reap(false)) deadline = monotonicMs() + 2000;
                } else if (sig == SIGWINCH && master) {
                    copyWindowSize(::isatty(0) ? 0 : 1, master.get());
                } else if (deadline < 0) {
                    ::kill(child.pid(), sig);
                }
            }
        }
        for (std::size_t i = 0; i < polled.size(); ++i) {
            Pump& p = *polled[i];
            if (!pfds[i + 1].revents) continue;
            ssize_t got = ::read(p.from, buf.data(), buf.size());
            int readErr = got < 0 ? errno : 0;
            if (got < 0 && (readErr == EINTR || readErr == EAGAIN)) continue;
            if (got <= 0) {
                // EOF, or EIO from a pty master once every slave fd is closed.
                p.done = true;
                p.ownedTo.reset();
                if (master && p.from == 0 && (readErr == EIO || stdinIsTty)) hangup();
                continue;
            }
            if (!writeAll(p.to, buf.data(), static_cast<std::size_t>(got))) {
                p.done = true;
                p.ownedTo.reset();
                if (master && p.to == 1 && errno == EIO) hangup();
            }
        }
        if (deadline < 0 && child.reap(false)) deadline = monotonicMs() + 2000;
    }
    raw.reset();

    ExitStatus st;
    st.code = exitCodeFromWaitStatus(child.status());
    st.signal = WIFSIGNALED(child.status()) ? WTERMSIG(child.status()) : 0;
    // The OOM killer may have hit PID 1 itself or a child of it (a shell then exits 137).
    st.oomKilled = st.code == 137 && cgroup.oomKilled();
    return st;
}

}  // namespace mydock::runtime
