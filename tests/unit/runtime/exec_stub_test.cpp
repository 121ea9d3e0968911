// detail::execCommand and the sealed exec stub (CVE-2019-5736): the command runs, failures
// come back as reports with docker's exit codes, the report pipe never reaches the command,
// and the stub refuses to run as anything but mydock's first step. Needs no root.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "runtime/child-internal.h"

using namespace mydock;
using namespace mydock::runtime;

namespace {

struct Outcome {
    bool reported = false;
    detail::ChildReport report;
    int status = 0;
};

// Forks, execs `args` with `env` through execCommand, returns what the parent saw.
Outcome runThroughStub(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        // A known number, so that a test can look for it in the command.
        ::dup3(p[1], 57, O_CLOEXEC);
        detail::execCommand(args, env, 57);
    }
    ::close(p[1]);
    Outcome o;
    ssize_t n = ::read(p[0], &o.report, sizeof o.report);
    o.reported = n == static_cast<ssize_t>(sizeof o.report);
    ::close(p[0]);
    ::waitpid(pid, &o.status, 0);
    return o;
}

const std::vector<std::string> kEnv = {"PATH=/usr/local/bin:/usr/bin:/bin"};

// No report, and the process exited with `code`.
::testing::AssertionResult ranAndExited(const Outcome& o, int code) {
    if (o.reported) return ::testing::AssertionFailure() << "reported " << o.report.stage << ": " << o.report.message;
    if (!WIFEXITED(o.status)) return ::testing::AssertionFailure() << "did not exit: wait status " << o.status;
    if (WEXITSTATUS(o.status) != code)
        return ::testing::AssertionFailure() << "exit status " << WEXITSTATUS(o.status) << ", not " << code;
    return ::testing::AssertionSuccess();
}

// A file `name` with `text` and `mode` in a fresh temp dir, both removed at scope exit.
class TempFile {
public:
    TempFile(const char* name, const std::string& text, mode_t mode) {
        char tmpl[] = "/tmp/mydock-stub-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            ADD_FAILURE() << "mkdtemp";
            return;
        }
        dir_ = tmpl;
        path_ = dir_ + "/" + name;
        int fd = ::open(path_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, mode);
        EXPECT_GE(fd, 0);
        if (fd < 0) return;
        EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        ::close(fd);
    }
    ~TempFile() {
        if (!path_.empty()) ::unlink(path_.c_str());
        if (!dir_.empty()) ::rmdir(dir_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string dir_, path_;
};

// The mydock::Error the parent makes of a report (throwChildReport must throw one).
Error errorFor(const detail::ChildReport& r) {
    try {
        detail::throwChildReport(r);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "throwChildReport returned";
    return Error("");
}

}  // namespace

TEST(ExecStub, RunsTheCommandAndPassesItsExitCode) {
    EXPECT_TRUE(ranAndExited(runThroughStub({"sh", "-c", "exit 7"}, kEnv), 7));
}

TEST(ExecStub, ArgvAndEnvironmentArriveUnchanged) {
    Outcome o = runThroughStub({"sh", "-c", "[ \"$0\" = zero ] && [ \"$1\" = 'a b' ] && [ \"$X\" = y ]", "zero", "a b"},
                               {"PATH=/usr/bin:/bin", "X=y"});
    EXPECT_TRUE(ranAndExited(o, 0));
}

TEST(ExecStub, TheReportPipeDoesNotReachTheCommand) {
    // The stub had it (without close-on-exec, to report a failed exec); the command must not.
    EXPECT_TRUE(ranAndExited(runThroughStub({"/bin/sh", "-c", "[ ! -e /proc/self/fd/57 ] || exit 9"}, kEnv), 0));
}

TEST(ExecStub, TheCommandsExeIsTheCommandNotTheStub) {
    Outcome o = runThroughStub({"sh", "-c", "case $(readlink /proc/$$/exe) in *memfd*) exit 5;; esac"}, kEnv);
    EXPECT_TRUE(ranAndExited(o, 0));
}

TEST(ExecStub, MissingPathIs127WithRuncsWords) {
    Outcome o = runThroughStub({"/no/such/cmd"}, kEnv);
    ASSERT_TRUE(o.reported);
    EXPECT_STREQ(o.report.stage, "exec");
    EXPECT_EQ(o.report.err, ENOENT);
    Error e = errorFor(o.report);
    EXPECT_EQ(e.exitCode(), 127);
    EXPECT_STREQ(e.what(), "failed to start container: exec: \"/no/such/cmd\": stat /no/such/cmd: no such file or directory");
}

TEST(ExecStub, CommandNotInPathIs127) {
    Outcome o = runThroughStub({"no-such-command-xyz"}, kEnv);
    ASSERT_TRUE(o.reported);
    EXPECT_STREQ(o.report.stage, "execpath");
    Error e = errorFor(o.report);
    EXPECT_EQ(e.exitCode(), 127);
    EXPECT_STREQ(e.what(), "failed to start container: exec: \"no-such-command-xyz\": executable file not found in $PATH");
}

TEST(ExecStub, NotExecutableIs126) {
    TempFile data("data", "", 0644);
    const std::string& file = data.path();
    Outcome o = runThroughStub({file}, kEnv);
    ASSERT_TRUE(o.reported);
    EXPECT_EQ(o.report.err, EACCES);
    Error e = errorFor(o.report);
    EXPECT_EQ(e.exitCode(), 126);
    EXPECT_EQ(std::string(e.what()), "failed to start container: exec: \"" + file + "\": permission denied");
}

TEST(ExecStub, ADirectoryInPathIsSkipped) {
    // "bin" is a directory in / (or a symlink to one): the search goes past it.
    Outcome o = runThroughStub({"bin"}, {"PATH=/"});
    ASSERT_TRUE(o.reported);
    EXPECT_EQ(o.report.err, ENOENT);
}

TEST(ExecStub, ReExecutedThroughProcSelfExeItRefuses) {
    // A script whose interpreter is /proc/self/exe, run by the stub: the kernel starts the
    // stub again, with the script's argv; it must exit 126 and run nothing.
    TempFile script("entry", "#!/proc/self/exe\n", 0755);
    EXPECT_TRUE(ranAndExited(runThroughStub({script.path()}, kEnv), 126));
}
