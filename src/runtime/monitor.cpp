#include "runtime/monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// The CLI's caller may wait for EOF on any pipe it gave us (bats' fd 3, a `$(...)`): every
// inherited pipe, socket or terminal beyond 0-2 is pointed at /dev/null. dup2 over it rather
// than close, so whatever object still owns that fd number closes /dev/null later, not a
// stranger's fd.
void releaseInheritedFds(int keep, int devnull) {
    std::vector<int> fds;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (struct dirent* e = ::readdir(d)) {
            char* end;
            long fd = std::strtol(e->d_name, &end, 10);
            if (*end == '\0' && e->d_name[0] != '\0' && fd > 2) fds.push_back(static_cast<int>(fd));
        }
        ::closedir(d);
    }
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

    UniqueFd outR, outW, errR, errW;
    pipeCloexec(outR, outW);
    pipeCloexec(errR, errW);
    std::fflush(nullptr);
    logger_ = ::fork();
    if (logger_ < 0) throwErrno("fork the container's logger");
    if (logger_ == 0) {
        // The logger: only the read ends; EOF once the container and the monitor are done.
        outW.reset();
        errW.reset();
        statusW_.reset();
        ::dup3(devnull.get(), 0, 0);
        ::dup3(devnull.get(), 1, 0);
        ::dup3(devnull.get(), 2, 0);
        writeJsonLog(std::move(outR), std::move(errR), logPath);
        ::_exit(0);
    }
    outR.reset();
    errR.reset();
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
    if (logger_ > 0) {
        int st;
        while (::waitpid(logger_, &st, 0) < 0 && errno == EINTR) {}
        logger_ = -1;
    }
}

}  // namespace mydock::runtime
