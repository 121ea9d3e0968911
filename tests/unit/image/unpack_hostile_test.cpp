// Hostile layers (issue 4): each either fails with a clear error or unpacks contained, and
// nothing outside the target changes (a sentinel tree beside it is compared after each test,
// and /etc/passwd is watched).
#include <gtest/gtest.h>

#include <chrono>

#include "common/digest.h"
#include "common/error.h"
#include "unpack_testutil.h"

using namespace unpacktest;
using mydock::image::LayerUnpacker;
using mydock::image::UnpackLimits;

namespace {

std::string passwdState() {
    struct stat st{};
    lstat("/etc/passwd", &st);
    return std::to_string(st.st_mode) + ":" + std::to_string(st.st_uid) + ":" + std::to_string(st.st_mtim.tv_sec) +
           ":" + std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_nlink) + ":" +
           mydock::Digest::sha256Of(mydock::fs::readFile("/etc/passwd")).hex();
}

class Hostile : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root";
        base_ = std::make_unique<mydock::fs::TempDir>("/tmp", "unpack-hostile-");
        target = base_->path() + "/layer/target";
        sentinel = base_->path() + "/sentinel";
        mydock::fs::makeDirs(target);
        mydock::fs::makeDirs(sentinel + "/sub");
        mydock::fs::writeFileAtomic(sentinel + "/passwd", "root:x:0:0\n", false, 0644);
        before_ = snapshot(base_->path(), "layer/target");
        passwd_ = passwdState();
    }
    void TearDown() override {
        if (!base_) return;
        EXPECT_EQ(snapshot(base_->path(), "layer/target"), before_) << "something outside the target changed";
        EXPECT_EQ(passwdState(), passwd_);
    }
    // Unpacks and returns the error message ("" on success).
    std::string run(const std::string& blob, UnpackLimits limits = {}) {
        try {
            unpackBytes(blob, target, limits);
            return "";
        } catch (const mydock::Error& e) {
            EXPECT_EQ(e.exitCode(), 125);
            return e.what();
        }
    }
    void expectError(const std::string& blob, const std::string& needle, UnpackLimits limits = {}) {
        std::string msg = run(blob, limits);
        EXPECT_NE(msg.find(needle), std::string::npos) << "got: \"" << msg << "\"";
    }
    std::string at(const std::string& rel) const { return target + "/" + rel; }
    void resetTarget() {
        DIR* d = opendir(target.c_str());
        ASSERT_TRUE(d);
        std::vector<std::string> kids;
        while (dirent* de = readdir(d))
            if (std::string(de->d_name) != "." && std::string(de->d_name) != "..") kids.push_back(de->d_name);
        closedir(d);
        for (auto& k : kids) mydock::fs::removeTree(target + "/" + k);
    }

    std::unique_ptr<mydock::fs::TempDir> base_;
    std::string target, sentinel;
    std::map<std::string, std::string> before_;
    std::string passwd_;
};

}  // namespace

TEST_F(Hostile, DotDotNames) {
    for (const char* n : {"../x", "a/../../x", "../sentinel/passwd", "./../../sentinel/new"}) {
        SCOPED_TRACE(n);
        TarBuilder t;
        t.file(n, "evil");
        expectError(t.finish(), "\"..\" component");
    }
}

TEST_F(Hostile, AbsoluteNamesStayInside) {
    TarBuilder t;
    t.file(sentinel + "/passwd", "evil");
    t.file("/etc/passwd", "evil");
    EXPECT_EQ(run(t.finish()), "");
    EXPECT_EQ(mydock::fs::readFile(at("etc/passwd")), "evil");
    EXPECT_EQ(mydock::fs::readFile(at(sentinel.substr(1) + "/passwd")), "evil");
}

TEST_F(Hostile, SymlinkThenWriteThrough) {
    {
        TarBuilder t;
        t.symlink("a", sentinel);
        t.file("a/passwd", "evil");
        expectError(t.finish(), "goes through the symbolic link \"a\"");
    }
    resetTarget();
    {
        TarBuilder t;    // relative escape through a symlinked directory
        t.symlink("up", "../../sentinel");
        t.dir("up/sub/");
        expectError(t.finish(), "symbolic link \"up\"");
    }
    resetTarget();
    {
        TarBuilder t;    // the /etc case: refused before anything is written
        t.symlink("etc", "/etc");
        t.file("etc/passwd", "evil");
        expectError(t.finish(), "symbolic link \"etc\"");
    }
    resetTarget();
    {
        TarBuilder t;    // a directory replaced by a symlink, then written through
        t.dir("d/");
        t.file("d/x", "1");
        t.symlink("d", sentinel);
        t.file("d/passwd", "evil");
        expectError(t.finish(), "symbolic link \"d\"");
    }
}

TEST_F(Hostile, FileOverSymlinkDoesNotFollow) {
    TarBuilder t;
    t.symlink("p", sentinel + "/passwd");
    Entry f; f.name = "p"; f.data = "evil"; f.perm = 04777;
    t.add(f);
    EXPECT_EQ(run(t.finish()), "");
    EXPECT_EQ(mydock::fs::readFile(at("p")), "evil");
}

TEST_F(Hostile, SymlinkRedefinedAfterChmod) {
    // "x" is a directory (its mode and deferred mtime recorded), then redefined as a symlink
    // to the outside: the deferred fix-up must not follow it, and a hardlink to it links the
    // symlink itself; chmods on it never reach the target.
    TarBuilder t;
    Entry d; d.name = "x/"; d.type = AE_IFDIR; d.perm = 0777; d.mtime = 1;
    t.add(d);
    t.symlink("x", sentinel);
    Entry h; h.name = "hx"; h.hardlink = "x";
    t.add(h);
    Entry d2; d2.name = "y/"; d2.type = AE_IFDIR; d2.perm = 0700; d2.mtime = 2;
    t.add(d2);
    t.symlink("y", "/etc/passwd");
    Entry f; f.name = "z"; f.type = AE_IFLNK; f.link = sentinel + "/passwd"; f.perm = 0777;
    t.add(f);
    Entry h2; h2.name = "hz"; h2.hardlink = "z"; h2.perm = 04777;
    t.add(h2);
    EXPECT_EQ(run(t.finish()), "");
    struct stat st{};
    ASSERT_EQ(lstat(at("x").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    ASSERT_EQ(lstat(at("hx").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    ASSERT_EQ(lstat(at("hz").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(Hostile, HardlinkEscapes) {
    {
        TarBuilder t;
        t.hardlink("h", "/etc/passwd");    // stripped to etc/passwd inside: not in the layer
        expectError(t.finish(), "not in the layer");
    }
    {
        TarBuilder t;
        t.hardlink("h", "../../sentinel/passwd");
        expectError(t.finish(), "\"..\" component");
    }
    {
        TarBuilder t;
        t.symlink("s", sentinel);
        t.hardlink("h", "s/passwd");       // target via a symlink
        expectError(t.finish(), "symbolic link");
    }
    {
        TarBuilder t;
        t.dir("d/");
        t.hardlink("h", "d");
        expectError(t.finish(), "is a directory");
    }
    {
        TarBuilder t;
        t.hardlink("h", ".");
        expectError(t.finish(), "root directory");
    }
    {
        TarBuilder t;                      // a hardlink inside the layer is fine
        t.file("etc/passwd", "inside");
        t.hardlink("h", "/etc/passwd");
        EXPECT_EQ(run(t.finish()), "");
        EXPECT_EQ(mydock::fs::readFile(at("h")), "inside");
    }
}

TEST_F(Hostile, RootReplaced) {
    {
        TarBuilder t;
        t.symlink(".", sentinel);
        t.file("passwd", "evil");
        expectError(t.finish(), "replace the layer's root directory");
    }
    {
        TarBuilder t;
        t.file(".", "evil");
        expectError(t.finish(), "replace the layer's root directory");
    }
    {
        TarBuilder t;
        t.hardlink(".", "x");
        expectError(t.finish(), "replace the layer's root directory");
    }
    // "./" and "/" as a symlink or file: libarchive itself calls such a header damaged.
    for (const char* n : {"./", "/"}) {
        SCOPED_TRACE(n);
        TarBuilder t;
        t.symlink(n, sentinel);
        t.file("passwd", "evil");
        EXPECT_NE(run(t.finish()), "");
    }
    struct stat st{};
    ASSERT_EQ(lstat(target.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(Hostile, InvalidWhiteouts) {
    for (const char* n : {".wh.", "a/.wh.", ".wh..", "a/.wh../", ".wh..."}) {
        SCOPED_TRACE(n);
        TarBuilder t;
        t.file(n, "");
        expectError(t.finish(), "invalid whiteout name");
    }
}

TEST_F(Hostile, ForgedTrustedXattrsIgnored) {
    TarBuilder t;
    Entry d; d.name = "d/"; d.type = AE_IFDIR;
    d.xattrs["trusted.overlay.opaque"] = "y";
    d.xattrs["trusted.overlay.redirect"] = "/etc";
    d.xattrs["user.ok"] = "1";
    t.add(d);
    Entry f; f.name = "f"; f.data = "x";
    f.xattrs["trusted.overlay.metacopy"] = "";
    f.xattrs["trusted.other"] = "z";
    t.add(f);
    EXPECT_EQ(run(t.finish()), "");
    char v[16];
    EXPECT_LT(lgetxattr(at("d").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
    EXPECT_LT(lgetxattr(at("d").c_str(), "trusted.overlay.redirect", v, sizeof v), 0);
    EXPECT_LT(lgetxattr(at("f").c_str(), "trusted.overlay.metacopy", v, sizeof v), 0);
    EXPECT_LT(lgetxattr(at("f").c_str(), "trusted.other", v, sizeof v), 0);
    EXPECT_EQ(lgetxattr(at("d").c_str(), "user.ok", v, sizeof v), 1);
}

TEST_F(Hostile, GzipBombStopsEarly) {
    // A tar whose one file claims 1 GiB; its first 128 MiB of zeros, gzip-compressed on the
    // fly, are about 128 KB (the rest is never needed: the limit stops the unpack first).
    std::string h = ustarHeader("zeros", 1ull << 30);
    z_stream zs{};
    deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    std::string out;
    std::string zeros(1 << 20, '\0');
    auto pump = [&](const char* p, size_t n, int flush) {
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
        zs.avail_in = static_cast<uInt>(n);
        char buf[65536];
        do {
            zs.next_out = reinterpret_cast<Bytef*>(buf);
            zs.avail_out = sizeof buf;
            deflate(&zs, flush);
            out.append(buf, sizeof buf - zs.avail_out);
        } while (zs.avail_out == 0);
    };
    pump(h.data(), h.size(), Z_NO_FLUSH);
    for (int i = 0; i < 128; ++i) pump(zeros.data(), zeros.size(), Z_NO_FLUSH);
    pump(nullptr, 0, Z_FINISH);
    deflateEnd(&zs);
    EXPECT_LT(out.size(), 2u << 20);

    UnpackLimits lim;
    lim.maxBytes = 16 << 20;
    auto t0 = std::chrono::steady_clock::now();
    expectError(out, "layer exceeds the unpacked size limit of 16777216 bytes", lim);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 5000);
    struct stat st{};
    if (lstat(at("zeros").c_str(), &st) == 0) {
        EXPECT_LE(st.st_size, 17 << 20);
    }
}

TEST_F(Hostile, DeclaredFileSizeOverLimit) {
    TarBuilder t;
    t.file("f", std::string(4096, 'x'));
    UnpackLimits lim;
    lim.maxBytes = 2048;
    expectError(t.finish(), "unpacked size limit of 2048 bytes", lim);
}

TEST_F(Hostile, TooManyEntries) {
    TarBuilder t;
    for (int i = 0; i < 500; ++i) t.file("f" + std::to_string(i), "");
    UnpackLimits lim;
    lim.maxEntries = 100;
    expectError(gzip(t.finish()), "layer exceeds the entry limit of 100 entries", lim);
}

TEST_F(Hostile, MillionEntryLayerStopsEarly) {
    // A million empty files streamed as they would arrive; with a bound of 10000 entries the
    // unpacker must fail long before the end (write() throws once the bounded queue fills).
    UnpackLimits lim;
    lim.maxEntries = 10000;
    LayerUnpacker u(target, lim);
    std::string batch;
    int written = 0;
    std::string msg;
    try {
        for (; written < 1000000; ++written) {
            batch += ustarHeader("d" + std::to_string(written % 100) + "/f" + std::to_string(written), 0);
            if (batch.size() >= (256u << 10)) {
                u.write(batch.data(), batch.size());
                batch.clear();
            }
        }
        u.write(batch.data(), batch.size());
        u.finish();
    } catch (const mydock::Error& e) {
        msg = e.what();
    }
    EXPECT_NE(msg.find("layer exceeds the entry limit of 10000 entries"), std::string::npos) << msg;
    EXPECT_LT(written, 100000);
}

TEST_F(Hostile, TruncatedAndCorruptCompression) {
    TarBuilder t;
    t.file("a", std::string(100000, 'a'));
    t.file("b", "b");
    std::string tar = t.finish();
    std::string gz = gzip(tar);
    std::string zs = zstd(tar);
    expectError(gz.substr(0, gz.size() / 2), "");
    expectError(gz.substr(0, gz.size() - 4), "truncated");
    expectError(zs.substr(0, zs.size() - 3), "");
    std::string bad = gz;
    bad[bad.size() / 2] ^= 0x55;
    bad[bad.size() / 2 + 1] ^= 0x55;
    expectError(bad, "");
    expectError(tar.substr(0, 700), "");                   // truncated tar
    EXPECT_NE(run(gz.substr(0, gz.size() / 2)), "");
    EXPECT_NE(run(zs.substr(0, zs.size() - 3)), "");
    EXPECT_NE(run(bad), "");
    EXPECT_NE(run(tar.substr(0, 700)), "");
    EXPECT_NE(run(std::string("\x1f\x8b", 2)), "");
    EXPECT_NE(run(std::string(3000, 'z')), "");            // not a tar
    expectError(std::string("BZh91AY&SY") + std::string(100, 'x'), "bzip2");
}
