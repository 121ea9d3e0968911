// docker's process rules: argv, env, user, resource units.
#include "runtime/process_config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "common/error.h"
#include "common/fs.h"
#include "common/unique_fd.h"

using namespace mydock;
using namespace mydock::runtime;
using Args = std::vector<std::string>;

namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> m) {
    return [m](const std::string& k) -> std::optional<std::string> {
        auto it = m.find(k);
        if (it == m.end()) return std::nullopt;
        return it->second;
    };
}

template <class F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.exitCode(), 125);
        return e.what();
    }
    return "<no error>";
}

}  // namespace

// ---- argv ---------------------------------------------------------------------------------

TEST(ProcessConfigArgv, DockerRulesTable) {
    struct Case {
        Args ep, cmd;
        std::optional<std::string> epFlag;
        Args user, want;
    };
    const std::vector<Case> cases = {
        {{}, {"sh"}, std::nullopt, {}, {"sh"}},                              // Cmd only
        {{}, {"sh"}, std::nullopt, {"echo", "hi"}, {"echo", "hi"}},         // args replace Cmd
        {{"/ep"}, {"-x"}, std::nullopt, {}, {"/ep", "-x"}},                  // Entrypoint + Cmd
        {{"/ep"}, {"-x"}, std::nullopt, {"a"}, {"/ep", "a"}},                // args replace Cmd only
        {{"/ep"}, {"-x"}, std::string("/other"), {}, {"/other"}},            // flag drops Cmd
        {{"/ep"}, {"-x"}, std::string("/other"), {"a", "b"}, {"/other", "a", "b"}},
        {{"/ep"}, {"-x"}, std::string(""), {"ls"}, {"ls"}},                  // "" clears
        {{}, {"sh"}, std::string("sh -c"), {}, {"sh -c"}},                   // never split
        {{"/ep", "--flag"}, {}, std::nullopt, {}, {"/ep", "--flag"}},
    };
    for (const auto& c : cases) EXPECT_EQ(resolveArgv(c.ep, c.cmd, c.epFlag, c.user), c.want);
}

TEST(ProcessConfigArgv, NoCommand) {
    EXPECT_EQ(errorOf([] { resolveArgv({}, {}, std::nullopt, {}); }), "No command specified");
    EXPECT_EQ(errorOf([] { resolveArgv({"/ep"}, {"x"}, std::string(""), {}); }),
              "No command specified");
}

// ---- env ----------------------------------------------------------------------------------

TEST(ProcessConfigEnv, EnvFileParsing) {
    auto env = fakeEnv({{"FROM_CALLER", "v1"}});
    const std::string file =
        "# a comment\n"
        "\n"
        "   A=1\n"
        "B= spaced value  \n"
        "C=x=y\n"
        "FROM_CALLER\n"
        "NOT_SET\n"
        "  # indented comment\n"
        "EMPTY=\n"
        "LAST=no-newline";
    EXPECT_EQ(parseEnvFile(file, "f.env", env),
              (Args{"A=1", "B= spaced value  ", "C=x=y", "FROM_CALLER=v1", "EMPTY=", "LAST=no-newline"}));
    EXPECT_EQ(parseEnvFile("\xEF\xBB\xBFK=V\n", "bom", env), Args{"K=V"});
    EXPECT_NE(errorOf([&] { parseEnvFile("=nokey\n", "f", env); }).find("no variable name"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { parseEnvFile("MY VAR=1\n", "f", env); }).find("contains whitespaces"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { parseEnvFile("A=\xff\xfe\n", "f.env", env); }).find("invalid utf8"),
              std::string::npos);
}

TEST(ProcessConfigEnv, ReadEnvFile) {
    fs::TempDir d;
    fs::writeFileAtomic(d.path() + "/e", "X=1\nY\n", false);
    EXPECT_EQ(readEnvFile(d.path() + "/e", fakeEnv({{"Y", "2"}})), (Args{"X=1", "Y=2"}));
    EXPECT_NE(errorOf([&] { readEnvFile(d.path() + "/missing"); }).find("no such file"),
              std::string::npos);
}

TEST(ProcessConfigEnv, EnvFlag) {
    auto env = fakeEnv({{"HOSTVAR", "h"}});
    EXPECT_EQ(expandEnvFlag("A=1", env), "A=1");
    EXPECT_EQ(expandEnvFlag("A=", env), "A=");
    EXPECT_EQ(expandEnvFlag("HOSTVAR", env), "HOSTVAR=h");
    EXPECT_EQ(expandEnvFlag("UNSET", env), "UNSET");
    EXPECT_NE(errorOf([&] { expandEnvFlag("=x", env); }).find("invalid environment variable"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { expandEnvFlag("", env); }).find("invalid environment variable"),
              std::string::npos);
}

TEST(ProcessConfigEnv, UserEnvOrderFilesThenFlags) {
    fs::TempDir d;
    fs::writeFileAtomic(d.path() + "/a", "A=file\nB=file\n", false);
    fs::writeFileAtomic(d.path() + "/b", "C=file2\n", false);
    EXPECT_EQ(userEnv({d.path() + "/a", d.path() + "/b"}, {"A=flag"}, fakeEnv({})),
              (Args{"A=file", "B=file", "C=file2", "A=flag"}));
}

TEST(ProcessConfigEnv, BuildEnvLikeDocker) {
    // Image: PATH and two vars; user overrides one, unsets one, adds one.
    Args image = {"PATH=/opt/bin:/usr/bin", "LANG=C.UTF-8", "GONE=1", "KEEP=k"};
    Args user = {"LANG=fr_FR", "NEW=n", "GONE"};
    auto env = buildEnv(image, user, "abc123", false);
    EXPECT_EQ(env, (Args{"PATH=/opt/bin:/usr/bin", "HOSTNAME=abc123", "LANG=fr_FR", "NEW=n",
                         "KEEP=k"}));
    // Defaults: PATH added, TERM with -t, later -e wins over earlier.
    env = buildEnv({}, {"A=1", "A=2"}, "h", true);
    EXPECT_EQ(env, (Args{std::string("PATH=") + kDefaultPath, "HOSTNAME=h", "TERM=xterm", "A=2"}));
    // The user may override HOSTNAME and TERM; a bare name removes a default.
    env = buildEnv({}, {"HOSTNAME=mine", "TERM"}, "h", true);
    EXPECT_EQ(env, (Args{std::string("PATH=") + kDefaultPath, "HOSTNAME=mine"}));
}

TEST(ProcessConfigEnv, Home) {
    Args env = {"PATH=/bin"};
    addHomeIfMissing(env, "/root");
    EXPECT_EQ(envValue(env, "HOME"), "/root");
    addHomeIfMissing(env, "/other");
    EXPECT_EQ(envValue(env, "HOME"), "/root");
    Args env2;
    addHomeIfMissing(env2, "");
    EXPECT_EQ(envValue(env2, "HOME"), "/");
    EXPECT_EQ(envValue(env2, "NOPE"), std::nullopt);
}

// ---- user ---------------------------------------------------------------------------------

namespace {
const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken:x:notanumber:1::/:/bin/sh\n"
    "short:x\n"
    "app:x:1000:1000:App User:/home/app:/bin/bash\n"
    "nohome:x:1001:1001::\n"
    "dup:x:1002:50::/first:/bin/sh\n"
    "dup:x:1003:51::/second:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const std::string kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "audio:x:29:app\n"
    "staff:x:50:\n"
    "app:x:1000:\n"
    "video:x:44: app , other\n"
    "bad:x:zz:app\n"
    "nogroup:x:65534:\n";
}  // namespace

TEST(ProcessConfigUser, ParsePasswdAndGroup) {
    auto users = parsePasswd(kPasswd);
    ASSERT_EQ(users.size(), 7u);  // broken and short skipped
    EXPECT_EQ(users[2].name, "app");
    EXPECT_EQ(users[2].uid, 1000u);
    EXPECT_EQ(users[2].home, "/home/app");
    EXPECT_EQ(users[2].shell, "/bin/bash");
    auto groups = parseGroup(kGroup);
    ASSERT_EQ(groups.size(), 7u);  // bad skipped
    EXPECT_EQ(groups[1].members, (Args{"root", "app"}));
    EXPECT_EQ(groups[5].members, (Args{"app", "other"}));
}

TEST(ProcessConfigUser, Resolve) {
    auto r = resolveUser("", kPasswd, kGroup);
    EXPECT_EQ(r.uid, 0u);
    EXPECT_EQ(r.gid, 0u);
    EXPECT_EQ(r.home, "/root");
    EXPECT_EQ(r.additionalGids, (std::vector<gid_t>{0, 10}));

    r = resolveUser("app", kPasswd, kGroup);
    EXPECT_EQ(r.uid, 1000u);
    EXPECT_EQ(r.gid, 1000u);
    EXPECT_EQ(r.home, "/home/app");
    EXPECT_EQ(r.additionalGids, (std::vector<gid_t>{1000, 10, 29, 44}));

    // Numeric uid with an entry: same as the name.
    r = resolveUser("1000", kPasswd, kGroup);
    EXPECT_EQ(r.name, "app");
    EXPECT_EQ(r.additionalGids, (std::vector<gid_t>{1000, 10, 29, 44}));

    // Numeric uid without an entry: gid 0, home "/".
    r = resolveUser("4242", kPasswd, kGroup);
    EXPECT_EQ(r.uid, 4242u);
    EXPECT_EQ(r.gid, 0u);
    EXPECT_EQ(r.home, "/");
    EXPECT_EQ(r.additionalGids, (std::vector<gid_t>{0}));

    // Explicit group: primary gid, no memberships.
    r = resolveUser("app:staff", kPasswd, kGroup);
    EXPECT_EQ(r.gid, 50u);
    EXPECT_EQ(r.additionalGids, (std::vector<gid_t>{50}));
    r = resolveUser("app:777", kPasswd, kGroup);
    EXPECT_EQ(r.gid, 777u);
    r = resolveUser("4242:4343", kPasswd, kGroup);
    EXPECT_EQ(r.uid, 4242u);
    EXPECT_EQ(r.gid, 4343u);
    r = resolveUser("4242:audio", kPasswd, kGroup);
    EXPECT_EQ(r.gid, 29u);

    // Empty home field -> "/"; first duplicate wins.
    EXPECT_EQ(resolveUser("nohome", kPasswd, kGroup).home, "/");
    EXPECT_EQ(resolveUser("dup", kPasswd, kGroup).uid, 1002u);
    EXPECT_EQ(resolveUser("nobody", kPasswd, kGroup).uid, 65534u);
}

TEST(ProcessConfigUser, Errors) {
    EXPECT_EQ(errorOf([] { resolveUser("ghost", kPasswd, kGroup); }),
              "unable to find user ghost: no matching entries in passwd file");
    EXPECT_EQ(errorOf([] { resolveUser("app:ghosts", kPasswd, kGroup); }),
              "unable to find group ghosts: no matching entries in group file");
    EXPECT_NE(errorOf([] { resolveUser("99999999999", kPasswd, kGroup); }).find("range"),
              std::string::npos);
    EXPECT_NE(errorOf([] { resolveUser("1:99999999999", kPasswd, kGroup); }).find("range"),
              std::string::npos);
    // No passwd file at all: names fail, numbers work.
    EXPECT_EQ(errorOf([] { resolveUser("app", std::nullopt, std::nullopt); }),
              "unable to find user app: no matching entries in passwd file");
    auto r = resolveUser("12:34", std::nullopt, std::nullopt);
    EXPECT_EQ(r.uid, 12u);
    EXPECT_EQ(r.gid, 34u);
    EXPECT_EQ(resolveUser("", std::nullopt, std::nullopt).uid, 0u);
}

TEST(ProcessConfigUser, ResolveInRootStaysInRoot) {
    fs::TempDir d;
    fs::makeDirs(d.path() + "/etc");
    // An image whose /etc/passwd is an absolute symlink must read the container's file, not
    // the host's.
    fs::writeFileAtomic(d.path() + "/real-passwd", "app:x:77:88::/app:/bin/sh\n", false);
    ASSERT_EQ(::symlink("/real-passwd", (d.path() + "/etc/passwd").c_str()), 0);
    fs::writeFileAtomic(d.path() + "/etc/group", "g:x:99:app\n", false);
    UniqueFd root(::open(d.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root);
    auto r = resolveUserInRoot("app", root.get());
    EXPECT_EQ(r.uid, 77u);
    EXPECT_EQ(r.gid, 88u);
    EXPECT_EQ(r.additionalGids, (std::vector<gid_t>{88, 99}));
    // A symlink escaping with .. stays inside too: the host's /etc/shadow exists, the
    // container's doesn't, so the file is missing and root can't be found by name.
    ::unlink((d.path() + "/etc/passwd").c_str());
    ASSERT_EQ(::symlink("../../../../../../etc/shadow", (d.path() + "/etc/passwd").c_str()), 0);
    EXPECT_NE(errorOf([&] { resolveUserInRoot("root", root.get()); }).find("unable to find user root"),
              std::string::npos);
    // Missing files: numeric works.
    fs::TempDir empty;
    UniqueFd root2(::open(empty.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    EXPECT_EQ(resolveUserInRoot("5", root2.get()).uid, 5u);
    // A fifo as /etc/passwd is refused rather than blocking.
    fs::makeDirs(empty.path() + "/etc");
    ASSERT_EQ(::mkfifo((empty.path() + "/etc/passwd").c_str(), 0644), 0);
    EXPECT_NE(errorOf([&] { resolveUserInRoot("x", root2.get()); }).find("not a regular file"),
              std::string::npos);
}

// ---- resources ----------------------------------------------------------------------------

TEST(ProcessConfigResources, MemorySizes) {
    EXPECT_EQ(parseMemorySize("1048576"), 1048576);
    EXPECT_EQ(parseMemorySize("512k"), 512 * 1024);
    EXPECT_EQ(parseMemorySize("64m"), 64LL << 20);
    EXPECT_EQ(parseMemorySize("64M"), 64LL << 20);
    EXPECT_EQ(parseMemorySize("64MB"), 64LL << 20);
    EXPECT_EQ(parseMemorySize("64mib"), 64LL << 20);
    EXPECT_EQ(parseMemorySize("1g"), 1LL << 30);
    EXPECT_EQ(parseMemorySize("1.5g"), 3LL << 29);
    EXPECT_EQ(parseMemorySize("2 GB"), 2LL << 30);
    EXPECT_EQ(parseMemorySize("1t"), 1LL << 40);
    EXPECT_EQ(parseMemorySize("10b"), 10);
    for (const char* bad : {"", "m", "-1m", "1x", "1.m", ".5m", "1..2m", "1.2.3m", "64 m b", "1mm", "99999999999p"})
        EXPECT_NE(errorOf([&] { parseMemorySize(bad); }).find("invalid size"), std::string::npos) << bad;
    EXPECT_EQ(parseMemoryLimit("6m"), 6LL << 20);
    EXPECT_EQ(errorOf([] { parseMemoryLimit("4m"); }), "Minimum memory limit allowed is 6MB");
}

TEST(ProcessConfigResources, Cpus) {
    EXPECT_EQ(parseCpus("0.5"), 500000000);
    EXPECT_EQ(parseCpus("1"), 1000000000);
    EXPECT_EQ(parseCpus("1.25"), 1250000000);
    EXPECT_EQ(parseCpus(".5"), 500000000);
    EXPECT_EQ(parseCpus("0.000000001"), 1);
    for (const char* bad : {"", "abc", "-1", "1.2.3", "1e3", "."})
        EXPECT_NE(errorOf([&] { parseCpus(bad); }), "<no error>") << bad;
    EXPECT_EQ(errorOf([] { parseCpus("0.0000000001"); }), "value is too precise");
    EXPECT_EQ(errorOf([] { parseCpus("3", 2); }),
              "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
    auto q = cpuQuotaFromNano(parseCpus("0.5"));
    EXPECT_EQ(q.quotaUs, 50000);
    EXPECT_EQ(q.periodUs, 100000);
    EXPECT_EQ(cpuQuotaFromNano(parseCpus("2")).quotaUs, 200000);
    EXPECT_EQ(cpuQuotaFromNano(parseCpus("0.001")).quotaUs, 1000);
    EXPECT_EQ(cpuQuotaFromNano(0).quotaUs, 0);
}
