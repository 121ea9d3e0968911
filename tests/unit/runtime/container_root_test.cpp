// The runtime end to end without the image store: a busybox root made in the test, run as
// root (skipped otherwise). Checks the namespaces, mounts, exit codes and that nothing leaks.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/fs.h"
#include "runtime/container.h"

using namespace mydock;
using namespace mydock::runtime;

namespace {

std::string slurp(const std::string& p) {
    std::string s;
    fs::readFileIfExists(p, s);
    return s;
}

class ContainerRoot : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "needs busybox-static";
        tmp_ = std::make_unique<fs::TempDir>("/tmp", "mydock-rt-");
        layer_ = fs::join(tmp_->path(), "layer");
        fs::makeDirs(fs::join(layer_, "bin"));
        fs::makeDirs(fs::join(layer_, "etc"));
        fs::makeDirs(fs::join(layer_, "tmp"), 01777);
        // busybox and one relative symlink per applet, like busybox --install -s.
        std::string bin = layer_ + "/bin";
        ASSERT_EQ(0, std::system(("cp /bin/busybox " + bin + "/busybox && for a in $(/bin/busybox --list); do "
                                  "[ $a = busybox ] || ln -s busybox " + bin + "/$a; done").c_str()));
        std::ofstream(layer_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
        std::ofstream(layer_ + "/etc/group") << "root:x:0:\nnogroup:x:65534:\n";
        mountinfoBefore_ = mounts();
    }
    void TearDown() override {
        if (!tmp_) return;
        EXPECT_EQ(mountinfoBefore_, mounts());
    }
    static std::string mounts() {
        // Mount ids and points, without the per-mount counters that can change.
        std::string mi = slurp("/proc/self/mountinfo"), out;
        std::size_t n = 0;
        for (char c : mi) n += c == '\n';
        return std::to_string(n);
    }
    ContainerSpec spec(std::vector<std::string> argv) {
        ContainerSpec s;
        s.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        s.lowerDirs = {layer_};
        s.containerDir = fs::join(tmp_->path(), "c" + std::to_string(++n_));
        s.argv = std::move(argv);
        s.env = {"PATH=/bin", "HOSTNAME=x"};
        s.seccompCacheDir = fs::join(tmp_->path(), "cache");
        return s;
    }
    // Runs with stdout captured in a file.
    ExitStatus run(const ContainerSpec& s, std::string& out) {
        std::string file = fs::join(tmp_->path(), "out");
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int saved = ::dup(1);
        std::fflush(stdout);
        ::dup2(fd, 1);
        ::close(fd);
        ExitStatus st;
        try {
            st = runContainer(s);
        } catch (...) {
            ::dup2(saved, 1);
            ::close(saved);
            throw;
        }
        ::dup2(saved, 1);
        ::close(saved);
        out = slurp(file);
        return st;
    }
    std::unique_ptr<fs::TempDir> tmp_;
    std::string layer_;
    std::string mountinfoBefore_;
    int n_ = 0;
};

TEST_F(ContainerRoot, EchoAndExitCode) {
    std::string out;
    auto st = run(spec({"sh", "-c", "echo hi; exit 3"}), out);
    EXPECT_EQ(out, "hi\n");
    EXPECT_EQ(st.code, 3);
}

TEST_F(ContainerRoot, PidOneHostnameAndLoopbackOnly) {
    std::string out;
    auto st = run(spec({"sh", "-c", "echo $$; hostname; ls /sys/class/net; ps -o pid | wc -l"}), out);
    EXPECT_EQ(st.code, 0);
    EXPECT_EQ(out, "1\n0123456789ab\nlo\n4\n");  // header, sh, ps, wc
}

TEST_F(ContainerRoot, NotFoundAndNotExecutable) {
    std::string out;
    try {
        run(spec({"nosuchcmd"}), out);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exitCode(), 127) << e.what();
        EXPECT_NE(std::string(e.what()).find("executable file not found"), std::string::npos) << e.what();
    }
    try {
        run(spec({"/etc/passwd"}), out);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exitCode(), 126) << e.what();
    }
}

TEST_F(ContainerRoot, SignalsAreForwarded) {
    std::string out;
    // A helper process sends SIGTERM to us (mydock's role) once the container runs.
    pid_t self = ::getpid();
    pid_t helper = ::fork();
    if (helper == 0) {
        ::usleep(700 * 1000);
        ::kill(self, SIGTERM);
        ::_exit(0);
    }
    auto st = run(spec({"sh", "-c", "trap 'echo got; exit 42' TERM; sleep 5 & wait"}), out);
    int ws;
    ::waitpid(helper, &ws, 0);
    EXPECT_EQ(st.code, 42);
    EXPECT_EQ(out, "got\n");
}

TEST_F(ContainerRoot, ExitBySignalIs128PlusN) {
    std::string out;
    // PID 1 cannot be killed from inside; its child can, and sh reports 128+N.
    auto st = run(spec({"sh", "-c", "sh -c 'kill -KILL $$'; exit $?"}), out);
    EXPECT_EQ(st.code, 137);
}

TEST_F(ContainerRoot, WritesStayInTheContainer) {
    std::string out;
    auto s1 = spec({"sh", "-c", "echo x > /tmp/f; cat /tmp/f"});
    EXPECT_EQ(run(s1, out).code, 0);
    EXPECT_EQ(out, "x\n");
    EXPECT_FALSE(fs::exists(layer_ + "/tmp/f"));
    EXPECT_TRUE(fs::exists(s1.containerDir + "/upper/tmp/f"));
    auto s2 = spec({"sh", "-c", "cat /tmp/f"});
    EXPECT_NE(run(s2, out).code, 0);
}

TEST_F(ContainerRoot, UserWorkdirAndEnv) {
    std::string out;
    auto s = spec({"sh", "-c", "id -u; id -g; pwd; echo $HOME"});
    s.user.unresolved = "nobody";
    s.cwd = "/work/dir";
    EXPECT_EQ(run(s, out).code, 0);
    EXPECT_EQ(out, "65534\n65534\n/work/dir\n/nonexistent\n");
}

TEST_F(ContainerRoot, ReadOnlyRootAndBindMounts) {
    std::string out;
    std::string host = fs::join(tmp_->path(), "hostdir");
    fs::makeDirs(host);
    std::ofstream(host + "/file") << "data\n";
    auto s = spec({"sh", "-c", "cat /data/file; touch /x 2>/dev/null || echo rofs; touch /data/y 2>/dev/null || echo robind"});
    s.readonlyRootfs = true;
    s.mounts.push_back({MountSpec::Type::Bind, host, "/data", true, ""});
    EXPECT_EQ(run(s, out).code, 0);
    EXPECT_EQ(out, "data\nrofs\nrobind\n");
    auto w = spec({"sh", "-c", "echo w > /data/z"});
    w.mounts.push_back({MountSpec::Type::Bind, host, "/data", false, ""});
    EXPECT_EQ(run(w, out).code, 0);
    EXPECT_EQ(slurp(host + "/z"), "w\n");
}

TEST_F(ContainerRoot, ManyLayers) {
    std::string out;
    auto s = spec({"sh", "-c", "cat /l/*| wc -l"});
    for (int i = 0; i < 120; ++i) {
        std::string d = fs::join(tmp_->path(), "layer-with-a-rather-long-name-to-fill-the-page-" + std::to_string(i));
        fs::makeDirs(d + "/l");
        std::ofstream(d + "/l/" + std::to_string(i)) << i << "\n";
        s.lowerDirs.push_back(d);
    }
    EXPECT_EQ(run(s, out).code, 0);
    EXPECT_EQ(out, "120\n");
}

TEST_F(ContainerRoot, MemoryLimitOomKill) {
    std::string out;
    auto s = spec({"sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"});
    s.resources.memoryBytes = 16 * 1024 * 1024;
    auto st = run(s, out);
    EXPECT_EQ(st.code, 137);
    EXPECT_TRUE(st.oomKilled);
}

}  // namespace
