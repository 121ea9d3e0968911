// zlib and libzstd are loaded with dlopen on first use (image/compress_api.h): the tables are
// complete, a missing library gives a clear error naming the Debian package, and layers
// decompress through the loaded libraries.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "common/error.h"
#include "image/compress_api.h"
#include "image/unpack_decompress.h"
#include "unpack_testutil.h"

using namespace mydock::image::unpack;

namespace {

std::string decompress(const std::string& blob) {
    std::string out;
    Decompressor d([&](const char* p, std::size_t n) { out.append(p, n); });
    // odd-sized pieces, as the network delivers them
    for (std::size_t i = 0; i < blob.size(); i += 777) d.feed(blob.data() + i, std::min<std::size_t>(777, blob.size() - i));
    d.finish();
    return out;
}

void expectMissing(const std::function<void()>& load, const std::string& soname, const std::string& purpose) {
    try {
        load();
        ADD_FAILURE() << "loaded " << soname;
    } catch (const mydock::Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind(soname + " is needed " + purpose + ": ", 0), 0u) << m;
        EXPECT_NE(m.find("cannot open shared object file"), std::string::npos) << m;   // dlerror's words
        EXPECT_EQ(e.exitCode(), mydock::kExitEngineError);
    }
}

}  // namespace

TEST(CompressApi, EveryFunctionIsResolved) {
    const ZlibApi& z = zlibApi();
#define MYDOCK_ZLIB_CHECK(name) EXPECT_NE(z.name, nullptr) << #name;
    MYDOCK_ZLIB_FUNCTIONS(MYDOCK_ZLIB_CHECK)
#undef MYDOCK_ZLIB_CHECK
    const ZstdApi& s = zstdApi();
#define MYDOCK_ZSTD_CHECK(name) EXPECT_NE(s.name, nullptr) << "ZSTD_" #name;
    MYDOCK_ZSTD_FUNCTIONS(MYDOCK_ZSTD_CHECK)
#undef MYDOCK_ZSTD_CHECK
    EXPECT_EQ(&zlibApi(), &z) << "loaded once, one table per process";
    EXPECT_EQ(&zstdApi(), &s);
    for (const char* so : {kZlibSoname, kZstdSoname}) {
        void* h = dlopen(so, RTLD_LAZY | RTLD_NOLOAD);
        EXPECT_NE(h, nullptr) << so << " is loaded after the first use";
        if (h) dlclose(h);
    }
}

TEST(CompressApi, MissingLibraryIsAClearError) {
    expectMissing([] { loadZlibApi("libmydock-no-such-z.so.1"); }, "libmydock-no-such-z.so.1",
                  "to decompress gzip layers (Debian package zlib1g)");
    expectMissing([] { loadZstdApi("libmydock-no-such-zstd.so.1"); }, "libmydock-no-such-zstd.so.1",
                  "to decompress zstd layers (Debian package libzstd1)");
}

TEST(CompressApi, MissingSymbolIsAClearError) {
    // Libraries that exist but are the other one: the first dlsym fails, the handle is closed.
    try {
        loadZlibApi(kZstdSoname);
        FAIL() << "libzstd passed for zlib";
    } catch (const mydock::Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind(std::string(kZstdSoname) + " is needed to decompress gzip layers", 0), 0u) << m;
        EXPECT_NE(m.find("inflateInit2_"), std::string::npos) << m;
    }
    try {
        loadZstdApi(kZlibSoname);
        FAIL() << "zlib passed for libzstd";
    } catch (const mydock::Error& e) {
        EXPECT_NE(std::string(e.what()).find("ZSTD_createDCtx"), std::string::npos) << e.what();
    }
}

// Compressed here by the test's own (linked) zlib and libzstd, decompressed by the real
// decompressor through the dlopen'ed tables; corrupt data still reads as corrupt.
TEST(CompressApi, DecompressesThroughTheLoadedLibraries) {
    std::string data;
    for (int i = 0; i < 20000; ++i) data += "layer line " + std::to_string(i) + "\n";
    EXPECT_EQ(decompress(unpacktest::gzip(data)), data);
    EXPECT_EQ(decompress(unpacktest::gzip(data) + unpacktest::gzip("second member")), data + "second member");
    EXPECT_EQ(decompress(unpacktest::zstd(data)), data);
    std::string bad = unpacktest::gzip(data);
    bad[bad.size() / 2] ^= 0x55;
    EXPECT_THROW(decompress(bad), mydock::Error);
    // (zstd frames carry no checksum by default: cut one short instead of flipping a byte)
    std::string badZ = unpacktest::zstd(data);
    EXPECT_THROW(decompress(badZ.substr(0, badZ.size() - 8)), mydock::Error);
}
