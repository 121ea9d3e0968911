#include "runtime/monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "runtime/logs.h"

namespace mydock::runtime {

namespace {

void pipeCloexec(UniqueFd& r, UniqueFd& w) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("pipe");
    r.reset(p[0]);
    w.reset(p[1]);
}

// Our open fds beyond 0-2 (the listing's own fd, closed by the time we return, among them).
std::vector<int> openFdsAbove2() {
    std::vector<int> fds;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (struct dirent* e = ::readdir(d)) {
            char* end;
            long fd = std::strtol(e->d_name, &end, 10);
            if (*end == '\0' && e->d_name[0] != '\0' && fd > 2) fds.push_back(static_cast<int>(fd));
        }
        ::closedir(d);
    }
    return fds;
}

// The CLI's caller may wait for EOF on any pipe it gave us (bats' fd 3, a `$(...)`): every
// inherited pipe, socket or terminal beyond 0-2 is pointed at /dev/null. dup2 over it rather
// than close, so whatever object still owns that fd number closes /dev/null later, not a
// stranger's fd.
void releaseInheritedFds(int keep, int devnull) {
    std::vector<int> fds = openFdsAbove2();
    for (int fd : fds) {
        struct stat st;
        if (fd == keep || fd == devnull || ::fstat(fd, &st) != 0) continue;
        if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)) ::dup3(devnull, fd, O_CLOEXEC);
    }
}

void writeAll(int fd, const std::string& s) noexcept {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t w = ::write(fd, s.data() + off, s.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        off += static_cast<std::size_t>(w);
    }
}

}  // namespace

void LogWriter::start(const std::string& logPath, UniqueFd& outW, UniqueFd& errW, Mode mode) {
    UniqueFd outR, errR;
    pipeCloexec(outR, outW);
    pipeCloexec(errR, errW);
    if (mode == Mode::Thread) {
        // The thread owns the read ends; it ends at their EOF (writeJsonLog never throws).
        try {
            thread_ = std::thread([out = std::move(outR), err = std::move(errR), logPath]() mutable {
                writeJsonLog(std::move(out), std::move(err), logPath);
            });
        } catch (const std::system_error& e) {
            outW.reset();
            errW.reset();
            throw Error(std::string("start the container's logger: ") + e.what());
        }
        return;
    }
    std::fflush(nullptr);   // nothing buffered may be written twice
    pid_ = ::fork();
    if (pid_ < 0) throwErrno("fork the container's logger");
    if (pid_ > 0) return;
    // The logger keeps only the read ends: any other fd it held (a write end, the container's
    // running.lock, the caller's pipes) would keep something open or locked after its owner
    // let go. EOF comes once the container and the monitor have closed the write ends.
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    std::vector<int> fds = openFdsAbove2();
    for (int fd : fds)
        if (fd != outR.get() && fd != errR.get() && fd != devnull) ::close(fd);
    if (devnull >= 0) {
        ::dup3(devnull, 0, 0);
        ::dup3(devnull, 1, 0);
        ::dup3(devnull, 2, 0);
    }
    writeJsonLog(std::move(outR), std::move(errR), logPath);
    ::_exit(0);
}

void LogWriter::finish() noexcept {
    if (thread_.joinable()) thread_.join();
    if (pid_ <= 0) return;
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {}
    pid_ = -1;
}

bool Monitor::fork(const std::string& logPath, bool keepStdin) {
    pipeCloexec(statusR_, statusW_);
    std::fflush(nullptr);   // nothing buffered may be written twice
    pid_t pid = ::fork();
    if (pid < 0) throwErrno("fork the container's monitor");
    if (pid > 0) {
        statusW_.reset();
        return false;
    }
    statusR_.reset();
    // Our own session, no controlling terminal: the caller's terminal closing (SIGHUP), its
    // Ctrl-C (SIGINT to its foreground group) or its exit must not reach the container.
    ::setsid();
    UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull) throwErrno("open /dev/null");
    releaseInheritedFds(statusW_.get(), devnull.get());

    UniqueFd outW, errW;
    logger_.start(logPath, outW, errW);
    // Our 0, 1, 2 are what the container inherits (runContainer passes non-terminals through).
    if (keepStdin) {
        // docker's -d -i: stdin stays open (nobody attached writes to it).
        UniqueFd inR;
        pipeCloexec(inR, stdinHold_);
        ::dup3(inR.get(), 0, 0);
    } else {
        ::dup3(devnull.get(), 0, 0);
    }
    ::dup3(outW.get(), 1, 0);
    ::dup3(errW.get(), 2, 0);
    return true;
}

void Monitor::waitStarted() {
    std::string msg;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(statusR_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        msg.append(buf, static_cast<std::size_t>(n));
    }
    statusR_.reset();
    if (msg == "ok") return;
    if (msg.empty()) throw Error("the container's monitor died before the container started");
    // "<code> <message>"
    std::size_t sp = msg.find(' ');
    int code = std::atoi(msg.substr(0, sp).c_str());
    throw Error(sp == std::string::npos ? msg : msg.substr(sp + 1), code ? code : kExitEngineError);
}

void Monitor::reportStarted() noexcept {
    if (!statusW_) return;
    writeAll(statusW_.get(), "ok");
    statusW_.reset();
}

void Monitor::reportFailed(const std::string& message, int code) noexcept {
    if (!statusW_) return;
    writeAll(statusW_.get(), std::to_string(code) + " " + message);
    statusW_.reset();
}

void Monitor::finishOutput() noexcept {
    std::fflush(nullptr);
    int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        ::dup3(fd, 1, 0);
        ::dup3(fd, 2, 0);
        ::close(fd);
    }
    logger_.finish();
}

std::string RestartPolicy::name() const {
    switch (mode) {
        case Mode::OnFailure: return "on-failure";
        case Mode::Always: return "always";
        case Mode::UnlessStopped: return "unless-stopped";
        case Mode::No: break;
    }
    return "no";
}

RestartPolicy parseRestartPolicy(const std::string& value) {
    RestartPolicy p;
    std::string name = value, count;
    if (auto colon = value.find(':'); colon != std::string::npos) {
        name = value.substr(0, colon);
        count = value.substr(colon + 1);
        if (name.empty()) throw Error("invalid restart policy format: no policy provided before colon");
    }
    if (!count.empty()) {
        char* end;
        errno = 0;
        long n = std::strtol(count.c_str(), &end, 10);
        if (*end || errno || n > 1000000 || n < -1000000)
            throw Error("invalid restart policy format: maximum retry count must be an integer");
        p.maxRetries = static_cast<int>(n);
    }
    if (name.empty() || name == "no") p.mode = RestartPolicy::Mode::No;
    else if (name == "on-failure") p.mode = RestartPolicy::Mode::OnFailure;
    else if (name == "always") p.mode = RestartPolicy::Mode::Always;
    else if (name == "unless-stopped") p.mode = RestartPolicy::Mode::UnlessStopped;
    else
        throw Error("invalid restart policy: unknown policy '" + name +
                    "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
    if (p.maxRetries < 0) throw Error("invalid restart policy: maximum retry count cannot be negative");
    if (p.maxRetries > 0 && p.mode != RestartPolicy::Mode::OnFailure)
        throw Error("invalid restart policy: maximum retry count can only be used with 'on-failure'");
    return p;
}

bool shouldRestart(const RestartPolicy& p, int exitCode, int restartCount, bool stoppedByUser) {
    if (stoppedByUser) return false;
    switch (p.mode) {
        case RestartPolicy::Mode::Always:
        case RestartPolicy::Mode::UnlessStopped: return true;
        case RestartPolicy::Mode::OnFailure:
            return exitCode != 0 && (p.maxRetries == 0 || restartCount < p.maxRetries);
        case RestartPolicy::Mode::No: break;
    }
    return false;
}

long long RestartBackoff::nextDelayMs(long long ranMs) {
    constexpr long long kFirst = 100, kMax = 60 * 1000;
    if (ranMs >= 10 * 1000) delay_ = 0;
    delay_ = delay_ == 0 ? kFirst : std::min(delay_ * 2, kMax);
    return delay_;
}

}  // namespace mydock::runtime
