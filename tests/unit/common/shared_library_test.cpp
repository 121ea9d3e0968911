// SharedLibrary and LoadOnce: the lazy loading behind libcurl, libarchive and libcrypto.
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "common/shared_library.h"

using namespace mydock;

TEST(SharedLibrary, AMissingLibraryNamesItselfAndWhyItIsNeeded) {
    try {
        SharedLibrary lib("libmydock-no-such.so.1", "for a test");
        FAIL();
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind("libmydock-no-such.so.1 is needed for a test: ", 0), 0u) << m;
        EXPECT_NE(m.find("cannot open shared object file"), std::string::npos) << m;
    }
}

TEST(SharedLibrary, ResolvesSymbolsAndNamesAMissingOne) {
    SharedLibrary lib("libz.so.1", "for a test");
    const char* (*version)() = nullptr;
    lib.resolve("zlibVersion", version);
    ASSERT_NE(version, nullptr);
    EXPECT_EQ(version()[0], '1');
    void (*nothing)() = nullptr;
    try {
        lib.resolve("mydock_no_such_symbol", nothing);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("mydock_no_such_symbol"), std::string::npos) << e.what();
    }
}

TEST(LoadOnce, LoadsOnceAndKeepsAFailureForEveryCaller) {
    LoadOnce<int> ok;
    int calls = 0;
    EXPECT_EQ(ok.get([&] { return ++calls; }), 1);
    EXPECT_EQ(ok.get([&] { return ++calls; }), 1);
    EXPECT_EQ(calls, 1);

    LoadOnce<int> bad;
    for (int i = 0; i < 2; ++i) {
        try {
            bad.get([&]() -> int {
                ++calls;
                throw Error("no luck");
            });
            FAIL();
        } catch (const Error& e) {
            EXPECT_STREQ(e.what(), "no luck");
        }
    }
    EXPECT_EQ(calls, 2);
}
