// Helpers for the layer unpacker tests: build tar blobs with libarchive's writer, compress
// them, snapshot a directory tree, unpack in odd-sized chunks.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fs.h"
#include "image/layer_unpack.h"

namespace unpacktest {

struct Entry {
    std::string name;
    mode_t type = AE_IFREG;
    mode_t perm = 0644;
    int64_t uid = 0, gid = 0;
    std::string data;                 // regular file content
    std::string link;                 // symlink target
    std::string hardlink;             // hardlink target (type ignored)
    unsigned rmajor = 0, rminor = 0;
    time_t mtime = 1600000000;
    long mtimeNsec = 0;
    std::map<std::string, std::string> xattrs;
    int64_t declaredSize = -1;        // override the header size (truncated-data tests)
};

class TarBuilder {
public:
    explicit TarBuilder(bool pax = true) : a_(archive_write_new()) {
        if (pax) archive_write_set_format_pax(a_);
        else archive_write_set_format_gnutar(a_);
        archive_write_set_bytes_in_last_block(a_, 1);
        archive_write_open(a_, this, nullptr, &TarBuilder::cb, nullptr);
    }
    ~TarBuilder() {
        if (a_) archive_write_free(a_);
    }

    TarBuilder& add(const Entry& x) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, x.name.c_str());
        archive_entry_set_uid(e, x.uid);
        archive_entry_set_gid(e, x.gid);
        archive_entry_set_mtime(e, x.mtime, x.mtimeNsec);
        if (!x.hardlink.empty()) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, x.hardlink.c_str());
            archive_entry_set_size(e, 0);
        } else {
            archive_entry_set_filetype(e, x.type);
            if (x.type == AE_IFLNK) archive_entry_set_symlink(e, x.link.c_str());
            if (x.type == AE_IFCHR || x.type == AE_IFBLK) archive_entry_set_rdev(e, makedev(x.rmajor, x.rminor));
            archive_entry_set_size(e, x.type == AE_IFREG ? static_cast<int64_t>(x.data.size()) : 0);
        }
        archive_entry_set_perm(e, x.perm);
        for (auto& [k, v] : x.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
        if (archive_write_header(a_, e) != ARCHIVE_OK)
            throw std::runtime_error(std::string("tar header: ") + archive_error_string(a_));
        if (x.hardlink.empty() && x.type == AE_IFREG && !x.data.empty())
            archive_write_data(a_, x.data.data(), x.data.size());
        archive_entry_free(e);
        return *this;
    }
    TarBuilder& file(const std::string& n, const std::string& data, mode_t perm = 0644) {
        Entry e; e.name = n; e.data = data; e.perm = perm; return add(e);
    }
    TarBuilder& dir(const std::string& n, mode_t perm = 0755) {
        Entry e; e.name = n; e.type = AE_IFDIR; e.perm = perm; return add(e);
    }
    TarBuilder& symlink(const std::string& n, const std::string& target) {
        Entry e; e.name = n; e.type = AE_IFLNK; e.link = target; e.perm = 0777; return add(e);
    }
    TarBuilder& hardlink(const std::string& n, const std::string& target) {
        Entry e; e.name = n; e.hardlink = target; return add(e);
    }
    std::string finish() {
        archive_write_close(a_);
        archive_write_free(a_);
        a_ = nullptr;
        return out_;
    }

private:
    static la_ssize_t cb(archive*, void* self, const void* buf, size_t n) {
        static_cast<TarBuilder*>(self)->out_.append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
    }
    archive* a_;
    std::string out_;
};

inline std::string gzip(const std::string& in, int level = 6) {
    z_stream zs{};
    deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, in.size()) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

inline std::string zstd(const std::string& in, int level = 3) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
    out.resize(n);
    return out;
}

// "path type perm uid:gid size mtime [link] [content-digest] [xattrs]" per entry, sorted.
inline void snapshotInto(const std::string& root, const std::string& rel, std::map<std::string, std::string>& out,
                         const std::string& skip) {
    std::string p = rel.empty() ? root : root + "/" + rel;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return;
    std::string line = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                       std::to_string(st.st_gid) + " " + std::to_string(S_ISDIR(st.st_mode) ? 0 : st.st_size) +
                       " " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                       " ino" + std::to_string(st.st_ino);
    if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = readlink(p.c_str(), buf, sizeof buf);
        line += " -> " + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    } else if (S_ISREG(st.st_mode)) {
        line += " " + mydock::Digest::sha256Of(mydock::fs::readFile(p)).shortHex();
    }
    char names[4096];
    ssize_t ln = llistxattr(p.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < ln;) {
        std::string k(names + i);
        char v[1024];
        ssize_t vn = lgetxattr(p.c_str(), k.c_str(), v, sizeof v);
        line += " " + k + "=" + std::string(v, vn > 0 ? static_cast<size_t>(vn) : 0);
        i += static_cast<ssize_t>(k.size()) + 1;
    }
    out[rel.empty() ? "." : rel] = line;
    if (S_ISDIR(st.st_mode)) {
        DIR* d = opendir(p.c_str());
        if (!d) return;
        std::vector<std::string> kids;
        while (dirent* de = readdir(d)) {
            std::string n = de->d_name;
            if (n == "." || n == "..") continue;
            std::string r = rel.empty() ? n : rel + "/" + n;
            if (r == skip) continue;
            kids.push_back(r);
        }
        closedir(d);
        for (auto& k : kids) snapshotInto(root, k, out, skip);
    }
}

inline std::map<std::string, std::string> snapshot(const std::string& root, const std::string& skip = "") {
    std::map<std::string, std::string> out;
    snapshotInto(root, "", out, skip);
    return out;
}

// A ustar header block for a regular file of `size` bytes (data blocks not included).
inline std::string ustarHeader(const std::string& name, unsigned long long size, char type = '0') {
    char h[512] = {};
    std::snprintf(h, 100, "%s", name.c_str());
    std::snprintf(h + 100, 8, "0000644");
    std::snprintf(h + 108, 8, "0000000");
    std::snprintf(h + 116, 8, "0000000");
    std::snprintf(h + 124, 12, "%011llo", size);
    std::snprintf(h + 136, 12, "%011o", 0);
    h[156] = type;
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    return std::string(h, 512);
}

// Feeds `blob` in chunks of `chunk` bytes, as the network would.
inline mydock::image::UnpackResult unpackBytes(const std::string& blob, const std::string& dir,
                                               mydock::image::UnpackLimits limits = {}, size_t chunk = 7919) {
    mydock::image::LayerUnpacker u(dir, limits);
    for (size_t i = 0; i < blob.size(); i += chunk) u.write(blob.data() + i, std::min(chunk, blob.size() - i));
    return u.finish();
}

}  // namespace unpacktest
