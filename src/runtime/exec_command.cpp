// The last step of every container process (run's clone child, exec's child): exec the user's
// command through the sealed in-memory stub (CVE-2019-5736, see child-internal.h and
// src/init/mydock_exec_stub.c), and the parent's reading of what went wrong.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/child-internal.h"
#include "runtime/process_config.h"

extern "C" {
extern const unsigned char mydock_exec_stub[];
extern const std::size_t mydock_exec_stub_size;
}

namespace mydock::runtime::detail {

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

namespace {

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

// The stub in a memfd sealed against every change: whoever reaches it through /proc/PID/exe
// can read it, never write, grow or shrink it.
int sealedStub() {
    // MFD_EXEC: kernels with vm.memfd_noexec (6.3+) would otherwise make it non-executable;
    // older kernels refuse the unknown flag, then plain is right.
    int fd = static_cast<int>(::syscall(SYS_memfd_create, "mydock-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
    if (fd < 0 && errno == EINVAL)
        fd = static_cast<int>(::syscall(SYS_memfd_create, "mydock-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (fd < 0) return -1;
    std::size_t off = 0;
    while (off < mydock_exec_stub_size) {
        ssize_t w = ::write(fd, mydock_exec_stub + off, mydock_exec_stub_size - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += static_cast<std::size_t>(w);
    }
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) return -1;
    return fd;
}

}  // namespace

void execCommand(const std::vector<std::string>& args, const std::vector<std::string>& env, int reportFd) noexcept {
    if (args.empty()) {
        writeReport(reportFd, "exec", EINVAL, "no command");
        ::_exit(127);
    }
    int stub = sealedStub();
    if (stub < 0) {
        writeReport(reportFd, "init", errno, "prepare the exec stub (memfd)");
        ::_exit(125);
    }
    // The stub's argv: marker, report fd, search path ("" when the command names a path),
    // then the command's own argv.
    const std::string& cmd = args[0];
    std::string fdText = std::to_string(reportFd);
    std::string path = cmd.find('/') != std::string::npos ? "" : envValue(env, "PATH").value_or(kDefaultPath);
    std::vector<char*> argv{const_cast<char*>("mydock-exec"), fdText.data(), path.data()};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    // The report pipe must reach the stub (it re-arms close-on-exec for the command).
    ::fcntl(reportFd, F_SETFD, 0);
    // execveat(AT_EMPTY_PATH) runs the memfd itself: no path the container could swap.
    ::syscall(SYS_execveat, stub, "", argv.data(), envp.data(), AT_EMPTY_PATH);
    int err = errno;
    ::fcntl(reportFd, F_SETFD, FD_CLOEXEC);
    writeReport(reportFd, "init", err, "exec the exec stub (memfd)");
    ::_exit(125);
}

void throwChildReport(const ChildReport& r) {
    std::string stage(r.stage, ::strnlen(r.stage, sizeof r.stage));
    std::string msg(r.message, ::strnlen(r.message, sizeof r.message));
    int code = kExitEngineError;
    std::string text;
    if (stage == "exec" || stage == "execpath") {
        // docker: 127 when the command does not exist, 126 when it cannot be run. The stub
        // reports the command and errno; the words are runc's (what docker prints).
        code = (r.err == ENOENT || r.err == ENOTDIR) ? kExitNotFound : kExitCannotInvoke;
        std::string what = r.err == EACCES ? "permission denied" : std::strerror(r.err);
        if (r.err == ENOENT)
            what = stage == "exec" ? "stat " + msg + ": no such file or directory" : "executable file not found in $PATH";
        text = "failed to start container: exec: \"" + msg + "\": " + what;
    } else {
        text = "failed to start container: " + stage + ": " + msg;
        if (r.err) text += std::string(": ") + std::strerror(r.err);
    }
    throw Error(text, code, r.err);
}

}  // namespace mydock::runtime::detail
