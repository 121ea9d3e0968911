// libarchive is loaded with dlopen on first use (image/archive_api.h): the table is complete,
// a missing library gives a clear error, and a layer unpacks through the loaded library.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "image/archive_api.h"
#include "unpack_testutil.h"

using mydock::image::unpack::ArchiveApi;
using mydock::image::unpack::archiveApi;
using mydock::image::unpack::kArchiveSoname;
using mydock::image::unpack::loadArchiveApi;

TEST(ArchiveApi, EveryFunctionIsResolved) {
    const ArchiveApi& a = archiveApi();
#define MYDOCK_ARCHIVE_CHECK(name) EXPECT_NE(a.name, nullptr) << "archive_" #name;
    MYDOCK_ARCHIVE_FUNCTIONS(MYDOCK_ARCHIVE_CHECK)
#undef MYDOCK_ARCHIVE_CHECK
    EXPECT_EQ(&archiveApi(), &a) << "loaded once, one table per process";
    void* h = dlopen(kArchiveSoname, RTLD_LAZY | RTLD_NOLOAD);
    EXPECT_NE(h, nullptr) << kArchiveSoname << " is loaded after the first use";
    if (h) dlclose(h);
}

TEST(ArchiveApi, MissingLibraryIsAClearError) {
    try {
        loadArchiveApi("libmydock-no-such-archive.so.13");
        FAIL() << "loaded a library that does not exist";
    } catch (const mydock::Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind("libmydock-no-such-archive.so.13 is needed to unpack layers: ", 0), 0u) << m;
        EXPECT_NE(m.find("cannot open shared object file"), std::string::npos) << m;  // dlerror's words
        EXPECT_EQ(e.exitCode(), mydock::kExitEngineError);
    }
}

TEST(ArchiveApi, MissingSymbolIsAClearError) {
    // A library that exists but is not libarchive: the first dlsym fails, the handle is closed.
    try {
        loadArchiveApi("libz.so.1");
        FAIL() << "libz passed for libarchive";
    } catch (const mydock::Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind("libz.so.1 is needed to unpack layers: ", 0), 0u) << m;
        EXPECT_NE(m.find("archive_read_new"), std::string::npos) << m;
    }
}

// A tar written by hand here (not by libarchive's writer), unpacked through the dlopen'ed
// reader by the real streaming unpacker.
TEST(ArchiveApi, UnpacksATarMadeHere) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    mydock::fs::TempDir dir("/tmp", "archive-api-test-");
    const std::string content = "hello from a lazily loaded libarchive\n";
    std::string tar = unpacktest::ustarHeader("greeting.txt", content.size());
    tar += content;
    tar.append(512 - content.size() % 512, '\0');
    tar.append(1024, '\0');  // end-of-archive: two zero blocks
    auto r = unpacktest::unpackBytes(tar, dir.path(), {}, 100);
    EXPECT_EQ(r.entries, 1u);
    EXPECT_EQ(r.size, static_cast<std::int64_t>(content.size()));
    EXPECT_EQ(r.diffId, mydock::Digest::sha256Of(tar));
    EXPECT_EQ(mydock::fs::readFile(dir.path() + "/greeting.txt"), content);
}
