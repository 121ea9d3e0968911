// bench/limit.cpp - the machine's limit for a cold pull of the same bytes.
//
// For every gzip-compressed layer blob given on the command line, the work a pull cannot avoid,
// in a single pass: SHA-256 of the compressed bytes (the blob digest), inflate (stock zlib),
// SHA-256 of the tar stream (the DiffID) on one thread, and writing the files with libarchive's
// disk writer into OUTDIR/<n>/ on a second thread fed through a bounded queue. All layers run
// at once. The blobs are read from
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

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
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

std::string errOf(struct archive* a) {
    const char* s = archive_error_string(a);
    return s ? s : "libarchive error";
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

// Decompressed chunks handed from the inflating thread to the unpacking thread. Bounded, so
// the two run in step on two cores without buffering the whole layer.
class Pipe {
public:
    void push(std::vector<unsigned char> c) {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return q_.size() < 8; });
        q_.push_back(std::move(c));
        cv_.notify_all();
    }
    // An empty chunk means the end of the stream (or an error on the producer's side).
    std::vector<unsigned char> pop() {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !q_.empty(); });
        auto c = std::move(q_.front());
        q_.pop_front();
        cv_.notify_all();
        return c;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::vector<unsigned char>> q_;
};

// One layer: thread 1 reads the blob, hashes it, inflates and hashes the tar stream; thread 2
// (libarchive, through the read callback) unpacks what thread 1 produced.
struct Layer {
    std::string blob, dest;
    Pipe pipe;
    std::vector<unsigned char> current;
    bool eof = false;
    Sha blobSha, diffSha;
    std::string error, inflateError, blobDigest, diffId;
    unsigned long long files = 0, bytes = 0;

    void produce() {
        int fd = ::open(blob.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) { inflateError = "open " + blob + ": " + strerror(errno); pipe.push({}); return; }
        z_stream zs{};
        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) { inflateError = "inflateInit2"; ::close(fd); pipe.push({}); return; }
        std::vector<unsigned char> in(kChunk);
        bool done = false;
        while (!done) {
            ssize_t n = ::read(fd, in.data(), in.size());
            if (n < 0) { inflateError = std::string("read: ") + strerror(errno); break; }
            if (n == 0) { inflateError = "truncated gzip stream"; break; }
            blobSha.update(in.data(), size_t(n));
            zs.next_in = in.data();
            zs.avail_in = unsigned(n);
            while (zs.avail_in > 0 && !done) {
                std::vector<unsigned char> out(kChunk);
                zs.next_out = out.data();
                zs.avail_out = unsigned(out.size());
                int rc = inflate(&zs, Z_NO_FLUSH);
                if (rc == Z_STREAM_END) done = true;
                else if (rc != Z_OK && rc != Z_BUF_ERROR) { inflateError = "inflate failed"; done = true; break; }
                out.resize(out.size() - zs.avail_out);
                if (!out.empty()) {
                    diffSha.update(out.data(), out.size());
                    bytes += out.size();
                    pipe.push(std::move(out));
                }
            }
        }
        // Hash whatever follows the gzip member so the blob digest covers the whole file.
        for (ssize_t n; (n = ::read(fd, in.data(), in.size())) > 0;) blobSha.update(in.data(), size_t(n));
        inflateEnd(&zs);
        ::close(fd);
        pipe.push({});
    }

    static la_ssize_t readCb(struct archive*, void* self, const void** buf) {
        auto* l = static_cast<Layer*>(self);
        if (l->eof) return 0;
        l->current = l->pipe.pop();
        if (l->current.empty()) { l->eof = true; return 0; }
        *buf = l->current.data();
        return la_ssize_t(l->current.size());
    }

    void run(bool doSync) {
        if (::mkdir(dest.c_str(), 0755) != 0 && errno != EEXIST) { error = "mkdir " + dest; }
        std::thread producer([this] { produce(); });
        struct archive* ar = archive_read_new();
        archive_read_support_format_tar(ar);
        struct archive* aw = archive_write_disk_new();
        // The same flags a store uses: owners, modes, times, xattrs kept; no escape from dest.
        archive_write_disk_set_options(aw, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
                                               ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                                               ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                               ARCHIVE_EXTRACT_SECURE_SYMLINKS);
        if (archive_read_open(ar, this, nullptr, &Layer::readCb, nullptr) != ARCHIVE_OK) {
            error = errOf(ar);
        }
        struct archive_entry* e = nullptr;
        while (error.empty()) {
            int rc = archive_read_next_header(ar, &e);
            if (rc == ARCHIVE_EOF) break;
            if (rc < ARCHIVE_WARN) { error = errOf(ar); break; }
            std::string p = dest + "/" + archive_entry_pathname(e);
            archive_entry_set_pathname(e, p.c_str());
            if (const char* hl = archive_entry_hardlink(e)) {
                std::string h = dest + "/" + hl;
                archive_entry_set_hardlink(e, h.c_str());
            }
            if (archive_write_header(aw, e) < ARCHIVE_WARN) { error = errOf(aw); break; }
            const void* buf;
            size_t len;
            la_int64_t off;
            while ((rc = archive_read_data_block(ar, &buf, &len, &off)) == ARCHIVE_OK) {
                if (archive_write_data_block(aw, buf, len, off) < ARCHIVE_WARN) {
                    error = errOf(aw);
                    break;
                }
            }
            if (rc < ARCHIVE_WARN && error.empty()) error = errOf(ar);
            archive_write_finish_entry(aw);
            ++files;
        }
        archive_write_close(aw);
        archive_write_free(aw);
        archive_read_free(ar);
        // Drain the rest of the stream (tar padding past the end-of-archive blocks), so the
        // producer finishes and both digests cover every byte.
        while (!eof) {
            current = pipe.pop();
            if (current.empty()) eof = true;
        }
        producer.join();
        if (error.empty()) error = inflateError;
        if (doSync && error.empty()) {
            // One flush of the whole filesystem per layer, not one fsync per file.
            int dfd = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) { ::syncfs(dfd); ::close(dfd); }
        }
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
