#include "runtime/stdio_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "common/error.h"
#include "common/log.h"
#include "runtime/container.h"
#include "runtime/monitor.h"
#include "runtime/terminal.h"

namespace mydock::runtime::detail {

SignalScope::SignalScope() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kForwardedSignals) sigaddset(&set, s);
    sigaddset(&set, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &set, &old_) != 0) throwErrno("sigprocmask");
    fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) {
        int err = errno;
        ::sigprocmask(SIG_SETMASK, &old_, nullptr);
        throwErrno("signalfd", err);
    }
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &oldPipe_);
}

SignalScope::~SignalScope() {
    fd_.reset();
    ::sigaction(SIGPIPE, &oldPipe_, nullptr);
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

Pipe::Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("pipe");
    r.reset(p[0]);
    w.reset(p[1]);
}

ChildProcess::~ChildProcess() {
    if (pid_ <= 0 || reaped_) return;
    ::kill(pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {}
}

bool ChildProcess::reap(bool block) {
    if (reaped_) return true;
    for (;;) {
        pid_t r = ::waitpid(pid_, &status_, block ? 0 : WNOHANG);
        if (r == pid_) return reaped_ = true;
        if (r == 0) return false;
        if (errno == EINTR) continue;
        throwErrno("waitpid");
    }
}

StdioPlumbing plumbStdio(bool stdinOpen, bool pipeOutputs) {
    StdioPlumbing io;
    if (!stdinOpen) {
        io.devnull.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!io.devnull) throwErrno("open /dev/null");
        io.childFds[0] = io.devnull.get();
    } else if (::isatty(0)) {
        Pipe p;
        io.childFds[0] = p.r.get();
        io.childEnds.push_back(std::move(p.r));
        io.pumps.push_back(Pump{0, p.w.get(), std::move(p.w), false});
    }
    for (int fd : {1, 2}) {
        if (!pipeOutputs && !::isatty(fd)) continue;
        Pipe p;
        io.childFds[fd] = p.w.get();
        Pump pump{p.r.get(), fd, UniqueFd(), true};
        pump.logStream = fd - 1;
        io.pumps.push_back(std::move(pump));
        io.pumpSources.push_back(std::move(p.r));
        io.childEnds.push_back(std::move(p.w));
    }
    return io;
}

ChildChannels::ChildChannels(bool terminal) {
    if (!terminal) return;
    int sv[2];
    // A unix socket: the only way to pass the pty master (an fd) from the child to us.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throwErrno("socketpair");
    consoleParent.reset(sv[0]);
    consoleChild.reset(sv[1]);
}

void ChildChannels::closeParentEnds() const noexcept {
    ::close(sync.w.get());
    ::close(report.r.get());
    if (consoleParent) ::close(consoleParent.get());
}

void ChildChannels::closeChildEnds() noexcept {
    sync.r.reset();
    report.w.reset();
    consoleChild.reset();
}

void ChildChannels::go(const std::string& what) {
    char go = 'G';
    // EPIPE (SIGPIPE is ignored while a child runs): the child is gone; its report says why.
    if (::write(sync.w.get(), &go, 1) != 1 && errno != EPIPE) throwErrno(what);
}

void ChildChannels::release(const std::string& what) {
    go(what);
    sync.w.reset();
}

bool ChildChannels::takeReport(ChildReport& r) {
    sync.w.reset();
    ssize_t n;
    do n = ::read(report.r.get(), &r, sizeof r);
    while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(sizeof r);
}

UniqueFd ChildChannels::awaitExec(ChildProcess& child, void (*throwReport)(const ChildReport&),
                                  const std::string& diedPrefix) {
    UniqueFd master;
    if (consoleParent) master = receiveFd(consoleParent.get());   // empty: the child failed
    consoleParent.reset();

    ChildReport r;
    ssize_t n;
    do n = ::read(report.r.get(), &r, sizeof r);
    while (n < 0 && errno == EINTR);
    report.r.reset();
    if (n == static_cast<ssize_t>(sizeof r)) {
        child.reap(true);
        throwReport(r);
        throw Error(diedPrefix + " failed");   // throwReport always throws
    }
    if (n != 0) {
        // Short read or error: the child died in an unexpected way before exec.
        child.reap(true);
        throw Error(diedPrefix + " died during setup (status " +
                    std::to_string(exitCodeFromWaitStatus(child.status())) + ")");
    }
    // EOF: execve succeeded and closed the report pipe.
    return master;
}

namespace {

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

}  // namespace

void relayUntilExit(ChildProcess& child, int signalFd, std::vector<Pump>& pumps, int master, bool stdinOpen,
                    const std::string& logPath) {
    // The log: a thread appends what we write into these pipes (stdout, stderr). Declared in
    // this order so that the pipes close first on every way out, then the thread is joined.
    // Started at the first output: a silent container (`run --rm IMG true`) costs no thread.
    LogWriter logger;
    UniqueFd logFds[2];
    bool logWanted = !logPath.empty();
    auto logFd = [&](int stream) {
        if (logWanted) {
            logWanted = false;
            try {
                logger.start(logPath, logFds[0], logFds[1], LogWriter::Mode::Thread);
            } catch (const std::exception& e) {
                // Not worth the container's life: it runs on, unlogged.
                log::warn(std::string("the container's output is not logged: ") + e.what());
            }
        }
        return logFds[stream].get();
    };

    std::optional<RawTerminal> raw;   // restored on every way out of here
    if (master >= 0) {
        if (stdinOpen) {
            raw.emplace(0);
            pumps.push_back(Pump{0, master, UniqueFd(), false});
        }
        copyWindowSize(::isatty(0) ? 0 : 1, master);
        // docker logs a pty's output as stdout.
        Pump out{master, 1, UniqueFd(), true};
        out.logStream = 0;
        pumps.push_back(std::move(out));
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
        pfds.push_back({signalFd, POLLIN, 0});
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
            while (::read(signalFd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGCHLD) {
                    // Our only child: once reaped, drain what is left of its output (2 s at most).
                    if (deadline < 0 && child.reap(false)) deadline = monotonicMs() + 2000;
                } else if (sig == SIGWINCH && master >= 0) {
                    copyWindowSize(::isatty(0) ? 0 : 1, master);
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
                if (master >= 0 && p.from == 0 && (readErr == EIO || stdinIsTty)) hangup();
                continue;
            }
            const auto len = static_cast<std::size_t>(got);
            if (p.output && p.logStream >= 0 && logFd(p.logStream) >= 0 &&
                !writeAll(logFds[p.logStream].get(), buf.data(), len))
                logFds[p.logStream].reset();   // the logger is gone: nothing more to log
            if (p.to < 0) continue;            // its destination failed earlier: logged or dropped
            if (!writeAll(p.to, buf.data(), len)) {
                if (master >= 0 && p.to == 1 && errno == EIO) hangup();
                if (p.output) {
                    // Our stdout or stderr is closed (EPIPE; SIGPIPE is ignored here): docker
                    // keeps the container running and logging. Reading on keeps it from
                    // blocking on a full pipe, so it ends with its own exit code.
                    p.to = -1;
                    continue;
                }
                p.done = true;   // the child's stdin is closed (or its pty is gone)
                p.ownedTo.reset();
            }
        }
        if (deadline < 0 && child.reap(false)) deadline = monotonicMs() + 2000;
    }
}

}  // namespace mydock::runtime::detail
