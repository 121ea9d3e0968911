// libseccomp is loaded with dlopen only to compile the filter (runtime/seccomp_api.h), and the
// BPF cache names the libseccomp file that compiled it: a cache hit never loads libseccomp,
// and a cache written by another (or a since replaced) libseccomp file is compiled again.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/error.h"
#include "common/fs.h"
#include "runtime/capabilities.h"
#include "runtime/seccomp.h"
#include "runtime/seccomp_api.h"

using namespace mydock;
using namespace mydock::runtime;

TEST(SeccompApi, EveryFunctionIsResolved) {
    const SeccompApi& a = seccompApi();
#define MYDOCK_SECCOMP_CHECK(name) EXPECT_NE(a.name, nullptr) << "seccomp_" #name;
    MYDOCK_SECCOMP_FUNCTIONS(MYDOCK_SECCOMP_CHECK)
#undef MYDOCK_SECCOMP_CHECK
    EXPECT_EQ(&seccompApi(), &a) << "loaded once, one table per process";
    EXPECT_NE(a.path.find("libseccomp.so"), std::string::npos) << a.path;
    EXPECT_FALSE(seccomp_cache::libraryIdentity(a.path).empty()) << a.path;
    void* h = dlopen(kSeccompSoname, RTLD_LAZY | RTLD_NOLOAD);
    EXPECT_NE(h, nullptr);
    if (h) dlclose(h);
}

TEST(SeccompApi, MissingLibraryIsAClearError) {
    try {
        loadSeccompApi("libmydock-no-such-seccomp.so.2");
        FAIL() << "loaded a library that does not exist";
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind("libmydock-no-such-seccomp.so.2 is needed to compile the seccomp filter "
                          "(Debian package libseccomp2): ", 0), 0u) << m;
        EXPECT_NE(m.find("cannot open shared object file"), std::string::npos) << m;
        EXPECT_EQ(e.exitCode(), kExitEngineError);
    }
    try {
        loadSeccompApi("libz.so.1");
        FAIL() << "libz passed for libseccomp";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("seccomp_init"), std::string::npos) << e.what();
    }
}

TEST(SeccompApi, CacheIsTiedToTheLibraryFile) {
    fs::TempDir d;
    const std::string dir = d.path() + "/cache";
    auto first = SeccompProgram::loadOrCompile(dir, caps::kDefaultMask);
    ASSERT_FALSE(first.fromCache());
    const std::string file = dir + "/" + SeccompProgram::cacheFileName(caps::kDefaultMask);
    ASSERT_TRUE(seccomp_cache::decode(file).has_value());
    // The file records the library that compiled it.
    EXPECT_NE(fs::readFile(file).find(seccompApi().path + "\n"), std::string::npos);

    // Written by a library file that is gone: compiled again (and the cache rewritten).
    const std::string fake = d.path() + "/libseccomp.so.2";
    fs::writeFileAtomic(fake, "not really a library", false);
    fs::writeFileAtomic(file, seccomp_cache::encode(first.instructions(), seccomp_cache::libraryIdentity(fake)), false);
    EXPECT_TRUE(seccomp_cache::decode(file).has_value()) << "same file, same identity";
    ::unlink(fake.c_str());
    EXPECT_FALSE(seccomp_cache::decode(file).has_value());
    EXPECT_FALSE(SeccompProgram::loadOrCompile(dir, caps::kDefaultMask).fromCache());
    EXPECT_TRUE(SeccompProgram::loadOrCompile(dir, caps::kDefaultMask).fromCache());

    // Replaced in place (an upgrade renames a new file over the path): compiled again.
    fs::writeFileAtomic(fake, "version 1", false);
    fs::writeFileAtomic(file, seccomp_cache::encode(first.instructions(), seccomp_cache::libraryIdentity(fake)), false);
    EXPECT_TRUE(seccomp_cache::decode(file).has_value());
    fs::writeFileAtomic(fake, "version 2!", false);
    EXPECT_FALSE(seccomp_cache::decode(file).has_value());

    // No identity at all (an unknown library file): never a hit.
    fs::writeFileAtomic(file, seccomp_cache::encode(first.instructions(), ""), false);
    EXPECT_FALSE(seccomp_cache::decode(file).has_value());
    EXPECT_TRUE(seccomp_cache::libraryIdentity(d.path() + "/absent.so").empty());
}
