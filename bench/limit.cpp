// bench/limit.cpp - the machine's limit for a cold pull of the same bytes.
//
// For every gzip-compressed layer blob given on the command line, one thread does the work a
// pull cannot avoid, in a single pass: SHA-256 of the compressed bytes (the blob digest),
// inflate (stock zlib), SHA-256 of the tar stream (the DiffID), and writing the files with
// libarchive's disk writer into OUTDIR/<n>/. All layers run at once. The blobs are read from
// the page cache (run.sh reads them once before), so no network and no disk read is counted.
// With --sync, each layer ends with one syncfs(), as a durable store would.
//
// Build: g++ -O2 -std=c++20 -Wall -Wextra limit.cpp -o limit -larchive -lz -lcrypto -pthread
// Usage: limit [--sync] OUTDIR BLOB...    (exit 0 when every blob matched its file name digest)

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kChunk = 1 << 20;

std::string hex(const unsigned char* p, unsigned n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

struct Sha {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    Sha() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
    ~Sha() { EVP_MD_CTX_free(ctx); }
    Sha(const Sha&) = delete;
    Sha& operator=(const Sha&) = delete;
    void update(const void* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
    std::string done() {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_DigestFinal_ex(ctx, md, &n);
        return hex(md, n);
    }
};

// One layer: blob file -> sha256 -> inflate -> sha256 -> libarchive reader (callback).
struct Layer {
    std::string blob, dest;
    int fd = -1;
    z_stream zs{};
    bool zdone = false;
    std::vector<unsigned char> in = std::vector<unsigned char>(kChunk);
    std::vector<unsigned char> out = std::vector<unsigned char>(kChunk);
    Sha blobSha, diffSha;
    std::string error, blobDigest, diffId;
    unsigned long long files = 0, bytes = 0;

    static la_ssize_t readCb(struct archive*, void* self, const void** buf) {
        return static_cast<Layer*>(self)->next(buf);
    }

    la_ssize_t next(const void** buf) {
        while (!zdone) {
            if (zs.avail_in == 0) {
                ssize_t n = ::read(fd, in.data(), in.size());
                if (n < 0) { error = std::string("read: ") + strerror(errno); return -1; }
                if (n == 0) { error = "truncated gzip stream"; return -1; }
                blobSha.update(in.data(), size_t(n));
                zs.next_in = in.data();
                zs.avail_in = unsigned(n);
            }
            zs.next_out = out.data();
            zs.avail_out = unsigned(out.size());
            int rc = inflate(&zs, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) zdone = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR) { error = "inflate failed"; return -1; }
            size_t produced = out.size() - zs.avail_out;
            if (produced) {
                diffSha.update(out.data(), produced);
                bytes += produced;
                *buf = out.data();
                return la_ssize_t(produced);
            }
        }
        // Hash whatever follows the gzip member so the blob digest covers the whole file.
        for (;;) {
            ssize_t n = ::read(fd, in.data(), in.size());
            if (n <= 0) break;
            blobSha.update(in.data(), size_t(n));
        }
        return 0;
    }

    void run(bool doSync) {
        fd = ::open(blob.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) { error = "open " + blob + ": " + strerror(errno); return; }
        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) { error = "inflateInit2"; return; }
        if (::mkdir(dest.c_str(), 0755) != 0 && errno != EEXIST) { error = "mkdir " + dest; return; }

        struct archive* ar = archive_read_new();
        archive_read_support_format_tar(ar);
        struct archive* aw = archive_write_disk_new();
        // The same flags a store uses: owners, modes, times, xattrs kept; no escape from dest.
        archive_write_disk_set_options(aw, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
                                               ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                                               ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                               ARCHIVE_EXTRACT_SECURE_SYMLINKS);
        if (archive_read_open(ar, this, nullptr, &Layer::readCb, nullptr) != ARCHIVE_OK) {
            error = archive_error_string(ar) ? archive_error_string(ar) : "archive_read_open";
        }
        struct archive_entry* e = nullptr;
        while (error.empty()) {
            int rc = archive_read_next_header(ar, &e);
            if (rc == ARCHIVE_EOF) break;
            if (rc < ARCHIVE_WARN) { error = archive_error_string(ar); break; }
            std::string p = dest + "/" + archive_entry_pathname(e);
            archive_entry_set_pathname(e, p.c_str());
            if (const char* hl = archive_entry_hardlink(e)) {
                std::string h = dest + "/" + hl;
                archive_entry_set_hardlink(e, h.c_str());
            }
            if (archive_write_header(aw, e) < ARCHIVE_WARN) { error = archive_error_string(aw); break; }
            const void* buf;
            size_t len;
            la_int64_t off;
            while ((rc = archive_read_data_block(ar, &buf, &len, &off)) == ARCHIVE_OK) {
                if (archive_write_data_block(aw, buf, len, off) < ARCHIVE_WARN) {
                    error = archive_error_string(aw);
                    break;
                }
            }
            if (rc < ARCHIVE_WARN && error.empty()) error = archive_error_string(ar);
            archive_write_finish_entry(aw);
            ++files;
        }
        archive_write_close(aw);
        archive_write_free(aw);
        archive_read_free(ar);
        // Drain the rest of the stream (tar padding past the end-of-archive blocks).
        const void* dummy;
        while (error.empty() && next(&dummy) > 0) {}
        inflateEnd(&zs);
        if (doSync && error.empty()) {
            // One flush of the whole filesystem per layer, not one fsync per file.
            int dfd = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) { ::syncfs(dfd); ::close(dfd); }
        }
        ::close(fd);
        blobDigest = blobSha.done();
        diffId = diffSha.done();
    }
};

}  // namespace

int main(int argc, char** argv) {
    bool doSync = false;
    int i = 1;
    if (i < argc && std::strcmp(argv[i], "--sync") == 0) { doSync = true; ++i; }
    if (argc - i < 2) {
        std::fprintf(stderr, "usage: %s [--sync] OUTDIR BLOB...\n", argv[0]);
        return 2;
    }
    std::string out = argv[i++];
    if (::mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) { std::perror(out.c_str()); return 1; }
    std::vector<std::unique_ptr<Layer>> layers;
    for (int n = 0; i < argc; ++i, ++n) {
        auto l = std::make_unique<Layer>();
        l->blob = argv[i];
        l->dest = out + "/" + std::to_string(n);
        layers.push_back(std::move(l));
    }
    std::vector<std::thread> threads;
    for (auto& l : layers) threads.emplace_back([&l, doSync] { l->run(doSync); });
    for (auto& t : threads) t.join();
    int rc = 0;
    for (auto& l : layers) {
        std::string base = l->blob.substr(l->blob.rfind('/') + 1);
        if (!l->error.empty()) {
            std::fprintf(stderr, "%s: %s\n", l->blob.c_str(), l->error.c_str());
            rc = 1;
        } else if (base.size() == 64 && base != l->blobDigest) {
            std::fprintf(stderr, "%s: digest mismatch (sha256:%s)\n", l->blob.c_str(), l->blobDigest.c_str());
            rc = 1;
        } else {
            std::fprintf(stderr, "layer %s: %llu entries, %llu tar bytes, diffid sha256:%s\n",
                         base.substr(0, 12).c_str(), l->files, l->bytes, l->diffId.c_str());
        }
    }
    return rc;
}
