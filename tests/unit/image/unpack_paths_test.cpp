// Pure name rules of the layer unpacker (no root needed).
#include <gtest/gtest.h>

#include "common/error.h"
#include "image/unpack_decompress.h"
#include "image/unpack_paths.h"
#include "unpack_testutil.h"

#include <zlib.h>

using namespace mydock::image::unpack;
using Parts = std::vector<std::string>;

TEST(UnpackPaths, NormalisesHarmlessForms) {
    EXPECT_EQ(splitEntryPath("a/b/c"), (Parts{"a", "b", "c"}));
    EXPECT_EQ(splitEntryPath("./a/b/"), (Parts{"a", "b"}));
    EXPECT_EQ(splitEntryPath("/abs/x"), (Parts{"abs", "x"}));
    EXPECT_EQ(splitEntryPath("///a//./b"), (Parts{"a", "b"}));
    EXPECT_EQ(splitEntryPath("a/.../b"), (Parts{"a", "...", "b"}));
    EXPECT_EQ(splitEntryPath("..a/b.."), (Parts{"..a", "b.."}));
    EXPECT_TRUE(splitEntryPath(".").empty());
    EXPECT_TRUE(splitEntryPath("./").empty());
    EXPECT_TRUE(splitEntryPath("/").empty());
    EXPECT_TRUE(splitEntryPath("").empty());
}

TEST(UnpackPaths, RefusesDotDot) {
    for (const char* n : {"..", "../x", "a/../../x", "a/..", "/../etc/passwd", "a/b/../c", "./../x"}) {
        try {
            splitEntryPath(n);
            ADD_FAILURE() << n << " accepted";
        } catch (const mydock::Error& e) {
            EXPECT_NE(std::string(e.what()).find("\"..\" component"), std::string::npos) << e.what();
        }
    }
}

TEST(UnpackPaths, RefusesOverlongNames) {
    EXPECT_THROW(splitEntryPath(std::string(5000, 'a')), mydock::Error);
    EXPECT_NO_THROW(splitEntryPath(std::string(200, 'a') + "/" + std::string(200, 'b')));
}

TEST(UnpackPaths, JoinComponents) {
    EXPECT_EQ(joinComponents({}), ".");
    EXPECT_EQ(joinComponents({"a", "b"}), "a/b");
}

TEST(UnpackWhiteout, Classifies) {
    EXPECT_EQ(classifyWhiteout("file").kind, WhiteoutKind::None);
    EXPECT_EQ(classifyWhiteout(".whfoo").kind, WhiteoutKind::None);
    EXPECT_EQ(classifyWhiteout("a.wh.b").kind, WhiteoutKind::None);
    auto w = classifyWhiteout(".wh.foo");
    EXPECT_EQ(w.kind, WhiteoutKind::Whiteout);
    EXPECT_EQ(w.target, "foo");
    EXPECT_EQ(classifyWhiteout(".wh..foo").target, ".foo");
    EXPECT_EQ(classifyWhiteout(".wh..wh..opq").kind, WhiteoutKind::Opaque);
    EXPECT_EQ(classifyWhiteout(".wh..wh.plnk").kind, WhiteoutKind::Meta);
    EXPECT_EQ(classifyWhiteout(".wh..wh.aufs").kind, WhiteoutKind::Meta);
}

TEST(UnpackWhiteout, RefusesInvalid) {
    for (const char* n : {".wh.", ".wh..", ".wh..."}) {
        try {
            classifyWhiteout(n);
            ADD_FAILURE() << n << " accepted";
        } catch (const mydock::Error& e) {
            EXPECT_NE(std::string(e.what()).find("invalid whiteout name"), std::string::npos) << e.what();
        }
    }
}

TEST(UnpackDetect, MagicBytes) {
    const unsigned char gz[] = {0x1f, 0x8b, 8, 0, 0, 0};
    const unsigned char zs[] = {0x28, 0xb5, 0x2f, 0xfd, 0, 0};
    const unsigned char tar[] = {'e', 't', 'c', '/', 0, 0};
    const unsigned char bz[] = {'B', 'Z', 'h', '9', 0, 0};
    const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
    EXPECT_EQ(detectCompression(gz, 6), Compression::Gzip);
    EXPECT_EQ(detectCompression(zs, 6), Compression::Zstd);
    EXPECT_EQ(detectCompression(tar, 6), Compression::Tar);
    EXPECT_EQ(detectCompression(gz, 1), Compression::Tar);   // too short to be gzip
    EXPECT_THROW(detectCompression(bz, 6), mydock::Error);
    EXPECT_THROW(detectCompression(xz, 6), mydock::Error);
}

TEST(UnpackDecompress, GzipMultiMemberAndTruncation) {
    // Two gzip members of "hello " and "world", back to back.
    std::string blob = unpacktest::gzip("hello ") + unpacktest::gzip("world");
    for (std::size_t step : {std::size_t(1), std::size_t(3), blob.size()}) {
        std::string got;
        Decompressor d([&](const char* p, std::size_t n) { got.append(p, n); });
        for (std::size_t i = 0; i < blob.size(); i += step) d.feed(blob.data() + i, std::min(step, blob.size() - i));
        d.finish();
        EXPECT_EQ(got, "hello world") << step;
    }
    {
        Decompressor d([](const char*, std::size_t) {});
        d.feed(blob.data(), blob.size() - 3);
        EXPECT_THROW(d.finish(), mydock::Error);
    }
    {
        Decompressor d([](const char*, std::size_t) {});
        std::string bad = blob + "garbage";
        EXPECT_THROW({ d.feed(bad.data(), bad.size()); d.finish(); }, mydock::Error);
    }
}
