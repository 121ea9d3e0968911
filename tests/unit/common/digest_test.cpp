#include <gtest/gtest.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"

using namespace mydock;

TEST(Digest, ParsesValidSha256) {
    auto d = Digest::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(d.algorithm(), "sha256");
    EXPECT_EQ(d.shortHex(), "e3b0c44298fc");
}

TEST(Digest, RejectsPathTricksAndBadHex) {
    EXPECT_FALSE(Digest::tryParse("sha256:../../etc/passwd"));
    EXPECT_FALSE(Digest::tryParse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    EXPECT_FALSE(Digest::tryParse("md5:d41d8cd98f00b204e9800998ecf8427e"));
    EXPECT_FALSE(Digest::tryParse("sha256:abc"));
    EXPECT_FALSE(Digest::tryParse(""));
    EXPECT_THROW(Digest::parse("sha256:/x"), Error);
}

TEST(Digest, HashesStreams) {
    Sha256 h;
    h.update("a");
    h.update("bc");
    EXPECT_EQ(h.finish().hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(Digest::sha256Of("").hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Fs, AtomicWriteAndRemoveTree) {
    fs::TempDir t;
    std::string p = fs::join(t.path(), "a/b/c");
    fs::makeDirs(p);
    fs::writeFileAtomic(fs::join(p, "f"), "hello");
    EXPECT_EQ(fs::readFile(fs::join(p, "f")), "hello");
    fs::writeFileAtomic(fs::join(p, "f"), "bye", false);
    EXPECT_EQ(fs::readFile(fs::join(p, "f")), "bye");
    ASSERT_EQ(::symlink("/etc", fs::join(p, "link").c_str()), 0);
    fs::removeTree(fs::join(t.path(), "a"));
    EXPECT_FALSE(fs::exists(fs::join(t.path(), "a")));
    EXPECT_TRUE(fs::exists("/etc/passwd"));
}
