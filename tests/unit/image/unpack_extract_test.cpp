// Layer unpacking: metadata preserved, whiteouts, DiffIDs, streaming and restart.
// Needs root (mknod, chown, trusted.* xattrs): skipped otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>

#include "common/digest.h"
#include "common/error.h"
#include "unpack_testutil.h"

using namespace unpacktest;
using mydock::Digest;
using mydock::image::LayerUnpacker;
using mydock::image::UnpackLimits;
using mydock::image::unpackLayerFile;

namespace {

class Unpack : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root";
        base_ = std::make_unique<mydock::fs::TempDir>("/tmp", "unpack-test-");
        target = base_->path() + "/target";
        mydock::fs::makeDirs(target);
        mydock::fs::makeDirs(base_->path() + "/sentinel/sub");
        mydock::fs::writeFileAtomic(base_->path() + "/sentinel/file", "orig", false, 0644);
        before_ = snapshot(base_->path(), "target");
    }
    void TearDown() override {
        if (!base_) return;
        EXPECT_EQ(snapshot(base_->path(), "target"), before_) << "something outside the target changed";
    }
    std::string at(const std::string& rel) const { return target + "/" + rel; }
    struct stat lst(const std::string& rel) const {
        struct stat st{};
        EXPECT_EQ(lstat(at(rel).c_str(), &st), 0) << rel;
        return st;
    }
    std::string xattr(const std::string& rel, const char* key) const {
        char v[256];
        ssize_t n = lgetxattr(at(rel).c_str(), key, v, sizeof v);
        return n < 0 ? std::string("<none>") : std::string(v, static_cast<size_t>(n));
    }

    std::unique_ptr<mydock::fs::TempDir> base_;
    std::string target;
    std::map<std::string, std::string> before_;
};

std::string bigData(size_t n) {
    std::string s(n, '\0');
    uint32_t x = 12345;
    for (auto& c : s) {
        x = x * 1103515245 + 12345;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

}  // namespace

TEST_F(Unpack, PreservesTypesModesOwnersTimesXattrs) {
    TarBuilder t;
    Entry d; d.name = "dir/"; d.type = AE_IFDIR; d.perm = 01777; d.uid = 12; d.gid = 34; d.mtime = 1500000000; d.mtimeNsec = 5000;
    t.add(d);
    Entry f; f.name = "dir/suid"; f.data = "#!/bin/sh\n"; f.perm = 04755; f.uid = 1000; f.gid = 1001; f.mtime = 1234567890; f.mtimeNsec = 123456789;
    t.add(f);
    Entry sg; sg.name = "dir/sgid"; sg.data = "x"; sg.perm = 02711; sg.uid = 5; sg.gid = 6;
    t.add(sg);
    Entry cap; cap.name = "bin/ping"; cap.data = bigData(3 << 20); cap.perm = 0755;
    // security.capability v2: cap_net_raw (bit 13) permitted+effective
    std::string capv = std::string("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
    cap.xattrs["security.capability"] = capv;
    cap.xattrs["user.note"] = "hello";
    cap.uid = 0; cap.gid = 0;
    t.add(cap);
    Entry l; l.name = "dir/link"; l.type = AE_IFLNK; l.link = "../bin/ping"; l.uid = 7; l.gid = 8; l.mtime = 1111111111;
    t.add(l);
    Entry dangling; dangling.name = "abs"; dangling.type = AE_IFLNK; dangling.link = "/etc/shadow";
    t.add(dangling);
    Entry h; h.name = "dir/hard"; h.hardlink = "bin/ping";
    t.add(h);
    Entry fifo; fifo.name = "dev/fifo"; fifo.type = AE_IFIFO; fifo.perm = 0620; fifo.uid = 3; fifo.gid = 4;
    t.add(fifo);
    Entry chr; chr.name = "dev/null"; chr.type = AE_IFCHR; chr.rmajor = 1; chr.rminor = 3; chr.perm = 0666;
    t.add(chr);
    Entry blk; blk.name = "dev/loop0"; blk.type = AE_IFBLK; blk.rmajor = 7; blk.rminor = 0; blk.perm = 0660; blk.gid = 6;
    t.add(blk);
    Entry empty; empty.name = "empty"; empty.perm = 0400;
    t.add(empty);
    std::string tar = t.finish();

    auto r = unpackBytes(tar, target);
    EXPECT_EQ(r.diffId, Digest::sha256Of(tar));
    EXPECT_EQ(r.entries, 11u);
    EXPECT_EQ(r.size, static_cast<int64_t>(10 + 1 + (3 << 20)));

    auto sd = lst("dir");
    EXPECT_TRUE(S_ISDIR(sd.st_mode));
    EXPECT_EQ(sd.st_mode & 07777, 01777u);
    EXPECT_EQ(sd.st_uid, 12u);
    EXPECT_EQ(sd.st_gid, 34u);
    EXPECT_EQ(sd.st_mtim.tv_sec, 1500000000);   // set after its children were created
    EXPECT_EQ(sd.st_mtim.tv_nsec, 5000);

    auto sf = lst("dir/suid");
    EXPECT_EQ(sf.st_mode & 07777, 04755u);
    EXPECT_EQ(sf.st_uid, 1000u);
    EXPECT_EQ(sf.st_gid, 1001u);
    EXPECT_EQ(sf.st_mtim.tv_sec, 1234567890);
    EXPECT_EQ(sf.st_mtim.tv_nsec, 123456789);
    EXPECT_EQ(mydock::fs::readFile(at("dir/suid")), "#!/bin/sh\n");
    EXPECT_EQ(lst("dir/sgid").st_mode & 07777, 02711u);

    EXPECT_EQ(mydock::fs::readFile(at("bin/ping")), cap.data);
    EXPECT_EQ(xattr("bin/ping", "security.capability"), capv);
    EXPECT_EQ(xattr("bin/ping", "user.note"), "hello");
    auto sp = lst("bin/ping");
    EXPECT_EQ(sp.st_nlink, 2u);
    EXPECT_EQ(lst("dir/hard").st_ino, sp.st_ino);

    auto sl = lst("dir/link");
    EXPECT_TRUE(S_ISLNK(sl.st_mode));
    EXPECT_EQ(sl.st_uid, 7u);
    EXPECT_EQ(sl.st_gid, 8u);
    EXPECT_EQ(sl.st_mtim.tv_sec, 1111111111);
    char buf[64];
    ssize_t n = readlink(at("dir/link").c_str(), buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "../bin/ping");
    n = readlink(at("abs").c_str(), buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "/etc/shadow");

    auto sfifo = lst("dev/fifo");
    EXPECT_TRUE(S_ISFIFO(sfifo.st_mode));
    EXPECT_EQ(sfifo.st_mode & 07777, 0620u);
    EXPECT_EQ(sfifo.st_uid, 3u);
    auto sc = lst("dev/null");
    EXPECT_TRUE(S_ISCHR(sc.st_mode));
    EXPECT_EQ(sc.st_rdev, makedev(1, 3));
    EXPECT_EQ(sc.st_mode & 07777, 0666u);
    auto sb = lst("dev/loop0");
    EXPECT_TRUE(S_ISBLK(sb.st_mode));
    EXPECT_EQ(sb.st_rdev, makedev(7, 0));
    EXPECT_EQ(sb.st_gid, 6u);
    // implicit parents: 0755 root
    EXPECT_EQ(lst("bin").st_mode & 07777, 0755u);
    EXPECT_EQ(lst("empty").st_size, 0);
    EXPECT_EQ(lst("empty").st_mode & 07777, 0400u);
}

TEST_F(Unpack, RootEntryIsSkipped) {
    // As docker: a "./" directory entry does not change the layer directory itself.
    struct stat before{}, after{};
    ASSERT_EQ(stat(target.c_str(), &before), 0);
    TarBuilder t;
    Entry r; r.name = "./"; r.type = AE_IFDIR; r.perm = 0777; r.uid = 1000; r.mtime = 1400000000;
    t.add(r);
    t.file("./a", "a");
    unpackBytes(t.finish(), target);
    ASSERT_EQ(stat(target.c_str(), &after), 0);
    EXPECT_EQ(after.st_mode, before.st_mode);
    EXPECT_EQ(after.st_uid, before.st_uid);
    EXPECT_EQ(mydock::fs::readFile(at("a")), "a");
}

TEST_F(Unpack, WhiteoutsAndOpaqueDirs) {
    TarBuilder t;
    t.dir("etc/");
    t.file("etc/.wh.motd", "");
    t.dir("var/lib/");
    t.file("var/lib/.wh..wh..opq", "");
    t.file("var/lib/new", "n");
    t.file(".wh.tmp", "");
    t.file("gone/.wh..wh..opq", "");        // opaque dir created when absent
    t.file("x/.wh..wh.plnk", "");            // aufs metadata: skipped
    t.file(".wh..wh.plnk/123.456", "aufs");  // aufs hardlink dir at the top: skipped
    t.file("y", "was here");
    t.file(".wh.y", "");                     // whiteout replaces an earlier entry
    auto r = unpackBytes(t.finish(), target);
    EXPECT_EQ(r.entries, 11u);
    EXPECT_FALSE(mydock::fs::exists(at(".wh..wh.plnk")));
    for (const char* w : {"etc/motd", "tmp", "y"}) {
        auto st = lst(w);
        EXPECT_TRUE(S_ISCHR(st.st_mode)) << w;
        EXPECT_EQ(st.st_rdev, makedev(0, 0)) << w;
        EXPECT_EQ(st.st_uid, 0u);
        EXPECT_EQ(st.st_gid, 0u);
    }
    EXPECT_FALSE(mydock::fs::exists(at("etc/.wh.motd")));
    EXPECT_EQ(xattr("var/lib", "trusted.overlay.opaque"), "y");
    EXPECT_EQ(xattr("var", "trusted.overlay.opaque"), "<none>");
    EXPECT_EQ(xattr("gone", "trusted.overlay.opaque"), "y");
    EXPECT_FALSE(mydock::fs::exists(at("var/lib/.wh..wh..opq")));
    EXPECT_FALSE(mydock::fs::exists(at("x/.wh..wh.plnk")));
    EXPECT_EQ(mydock::fs::readFile(at("var/lib/new")), "n");
}

TEST_F(Unpack, DiffIdForAllCompressions) {
    TarBuilder t;
    t.dir("a/");
    t.file("a/big", bigData(5 << 20));
    t.file("a/small", "s");
    std::string tar = t.finish();
    const Digest want = Digest::sha256Of(tar);
    int i = 0;
    for (const std::string& blob : {tar, gzip(tar), zstd(tar), gzip(tar.substr(0, 1000)) + gzip(tar.substr(1000)),
                                    zstd(tar.substr(0, 3 << 20)) + zstd(tar.substr(3 << 20))}) {
        SCOPED_TRACE(i++);
        mydock::fs::TempDir dir("/tmp", "unpack-c-");
        auto r = unpackBytes(blob, dir.path(), {}, 65536 + 17);
        EXPECT_EQ(r.diffId, want);
        EXPECT_EQ(mydock::fs::readFile(dir.path() + "/a/small"), "s");
        EXPECT_EQ(mydock::fs::readFile(dir.path() + "/a/big").size(), 5u << 20);
    }
}

TEST_F(Unpack, TrailingBytesAfterTarEndCountInDiffId) {
    TarBuilder t;
    t.file("f", "x");
    std::string tar = t.finish() + std::string(4096, '\0') + "junk";
    auto r = unpackBytes(gzip(tar), target);
    EXPECT_EQ(r.diffId, Digest::sha256Of(tar));
}

TEST_F(Unpack, EmptyBlobIsEmptyLayer) {
    auto r = unpackBytes("", target);
    EXPECT_EQ(r.diffId, Digest::sha256Of(""));
    EXPECT_EQ(r.entries, 0u);
}

TEST_F(Unpack, FromFile) {
    TarBuilder t;
    t.file("hello", "world");
    std::string tar = t.finish();
    mydock::fs::TempDir blobDir("/tmp", "unpack-blob-");
    std::string blob = blobDir.path() + "/blob.gz";
    mydock::fs::writeFileAtomic(blob, gzip(tar), false);
    auto r = unpackLayerFile(blob, target);
    EXPECT_EQ(r.diffId, Digest::sha256Of(tar));
    EXPECT_EQ(mydock::fs::readFile(at("hello")), "world");
}

TEST_F(Unpack, LaterEntriesReplaceEarlierOnes) {
    TarBuilder t;
    t.dir("d/");
    t.file("d/x", "1");
    t.dir("d/sub/");
    t.file("d/sub/deep", "2");
    t.file("d", "now a file");           // non-empty dir replaced by a file
    t.file("f", "first");
    t.file("f", "second");
    t.symlink("s", "f");
    t.file("s", "file over symlink");    // must not write through the symlink
    t.file("e", "e");
    t.dir("e/", 0700);                   // file replaced by a dir
    t.dir("k/", 0700);
    t.file("k/keep", "kept");
    t.dir("k/", 0755);                   // dir over dir keeps contents
    unpackBytes(t.finish(), target);
    EXPECT_EQ(mydock::fs::readFile(at("d")), "now a file");
    EXPECT_EQ(mydock::fs::readFile(at("f")), "second");
    EXPECT_EQ(mydock::fs::readFile(at("s")), "file over symlink");
    EXPECT_TRUE(S_ISREG(lst("s").st_mode));
    EXPECT_TRUE(S_ISDIR(lst("e").st_mode));
    EXPECT_EQ(mydock::fs::readFile(at("k/keep")), "kept");
    EXPECT_EQ(lst("k").st_mode & 07777, 0755u);
}

TEST_F(Unpack, DeepTreeReplacedByFile) {
    TarBuilder t;
    std::string p = "top";
    for (int i = 0; i < 300; ++i) p += "/d";
    t.file(p + "/leaf", "x");
    t.file("top", "flat");
    unpackBytes(t.finish(), target);
    EXPECT_EQ(mydock::fs::readFile(at("top")), "flat");
}

TEST_F(Unpack, Restart) {
    TarBuilder a;
    a.file("from-a", bigData(2 << 20));
    a.dir("only-a/");
    std::string blobA = gzip(a.finish());
    TarBuilder b;
    b.file("from-b", "b");
    std::string tarB = b.finish();
    std::string blobB = gzip(tarB);

    LayerUnpacker u(target);
    u.write(blobA.data(), blobA.size() / 2);
    u.restart();
    u.write(blobB.data(), blobB.size());
    auto r = u.finish();
    EXPECT_EQ(r.diffId, Digest::sha256Of(tarB));
    EXPECT_FALSE(mydock::fs::exists(at("from-a")));
    EXPECT_FALSE(mydock::fs::exists(at("only-a")));
    EXPECT_EQ(mydock::fs::readFile(at("from-b")), "b");
}

TEST_F(Unpack, RestartAfterAnError) {
    std::string garbage = gzip("x") + "not gzip";
    TarBuilder b;
    b.file("ok", "1");
    std::string tar = b.finish();
    LayerUnpacker u(target);
    u.write(garbage.data(), garbage.size());
    u.restart();
    u.write(tar.data(), tar.size());
    EXPECT_EQ(u.finish().diffId, Digest::sha256Of(tar));
}

TEST_F(Unpack, DestroyWithoutFinishDoesNotHang) {
    TarBuilder t;
    t.file("big", bigData(8 << 20));
    std::string tar = t.finish();
    {
        LayerUnpacker u(target);
        u.write(tar.data(), tar.size() / 2);
    }
    SUCCEED();
}

TEST_F(Unpack, ErrorSurfacesFromWrite) {
    // A hostile first entry, then endless data: write() must throw (the bounded queue fills
    // and the failed worker aborts it) instead of blocking or buffering everything.
    TarBuilder t;
    t.file("../evil", "x");
    std::string head = t.finish();
    std::string chunk(1 << 20, '\0');
    LayerUnpacker u(target);
    bool thrown = false;
    try {
        u.write(head.data(), head.size() - 1024);
        for (int i = 0; i < 200; ++i) u.write(chunk.data(), chunk.size());
    } catch (const mydock::Error& e) {
        thrown = true;
        EXPECT_NE(std::string(e.what()).find("\"..\" component"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(thrown);
    EXPECT_THROW(u.finish(), mydock::Error);
}

TEST_F(Unpack, SparseAndGnuFormat) {
    TarBuilder t(false);   // GNU tar format
    t.file(std::string(150, 'n') + "/long-name-file", "long");
    t.symlink("l", std::string(200, 't'));
    unpackBytes(t.finish(), target);
    EXPECT_EQ(mydock::fs::readFile(at(std::string(150, 'n') + "/long-name-file")), "long");
}

TEST_F(Unpack, ManySmallFilesPerformance) {
    TarBuilder t;
    for (int d = 0; d < 20; ++d) {
        t.dir("d" + std::to_string(d) + "/");
        for (int f = 0; f < 500; ++f) t.file("d" + std::to_string(d) + "/f" + std::to_string(f), "content");
    }
    std::string blob = gzip(t.finish());
    auto t0 = std::chrono::steady_clock::now();
    auto r = unpackBytes(blob, target, {}, 16384);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.entries, 20u * 501);
    EXPECT_LT(ms, 120000);   // this shared machine's disk is slow; a sanity bound only
    RecordProperty("ms", static_cast<int>(ms));
}
