#include "image/layer_unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"
#include "image/archive_api.h"
#include "image/unpack_decompress.h"
#include "image/unpack_extract.h"
#include "image/unpack_pipe.h"

namespace mydock::image {

using unpack::Chunk;
using unpack::ChunkQueue;

namespace {

constexpr std::size_t kChunk = 1 << 20;     // 1 MiB: few queue hand-offs, big writes
constexpr std::size_t kQueueDepth = 4;      // per stage: at most ~8 MiB in flight per layer

struct Cancelled {};                        // a stage stopping because another one failed

struct ArchiveFree {
    void operator()(struct archive* a) const { unpack::archiveApi().read_free(a); }
};

// One attempt at unpacking: the queues and the two worker threads. restart() throws the
// attempt away and makes a new one.
struct Attempt {
    ChunkQueue compressed{kQueueDepth};
    ChunkQueue tar{kQueueDepth};
    std::mutex m;
    std::exception_ptr error;
    std::atomic<bool> failed{false};
    std::thread decompressThread, extractThread;

    int rootFd;
    UnpackLimits limits;
    Digest diffId;
    std::int64_t size = 0;
    std::uint64_t entries = 0;
    Chunk current;                          // the chunk libarchive is reading

    Attempt(int fd, UnpackLimits l) : rootFd(fd), limits(l) {}

    void fail(std::exception_ptr e) {
        {
            std::lock_guard lk(m);
            if (!error) error = std::move(e);
        }
        failed = true;
        compressed.abort();
        tar.abort();
    }

    void cancel() {
        compressed.abort();
        tar.abort();
    }

    void join() {
        if (decompressThread.joinable()) decompressThread.join();
        if (extractThread.joinable()) extractThread.join();
    }

    [[noreturn]] void rethrow() {
        std::exception_ptr e;
        {
            std::lock_guard lk(m);
            e = error;
        }
        if (e) std::rethrow_exception(e);
        throw Error("layer unpack was cancelled");
    }

    // Stage 2: decompress, hash (DiffID), bound the size, hand the tar stream on.
    void decompressMain() {
        try {
            Sha256 hash;
            std::uint64_t total = 0;
            unpack::Decompressor dec([&](const char* p, std::size_t n) {
                total += n;
                if (total > limits.maxBytes)
                    throw Error("layer exceeds the unpacked size limit of " + std::to_string(limits.maxBytes) +
                                " bytes");
                hash.update(p, n);
                while (n > 0) {
                    std::size_t take = std::min(n, kChunk);
                    Chunk c = Chunk::make(take);
                    std::memcpy(c.data.get(), p, take);
                    c.len = take;
                    if (!tar.push(std::move(c))) throw Cancelled{};
                    p += take;
                    n -= take;
                }
            });
            Chunk c;
            for (;;) {
                ChunkQueue::Pop r = compressed.pop(c);
                if (r == ChunkQueue::Pop::Aborted) return;
                if (r == ChunkQueue::Pop::End) break;
                dec.feed(c.data.get(), c.len);
            }
            dec.finish();
            diffId = hash.finish();
            tar.close();
        } catch (const Cancelled&) {
        } catch (...) {
            fail(std::current_exception());
        }
    }

    static la_ssize_t readCallback(struct archive* a, void* self, const void** buf) {
        auto* at = static_cast<Attempt*>(self);
        switch (at->tar.pop(at->current)) {
        case ChunkQueue::Pop::Item:
            *buf = at->current.data.get();
            return static_cast<la_ssize_t>(at->current.len);
        case ChunkQueue::Pop::End:
            return 0;
        case ChunkQueue::Pop::Aborted:
            break;
        }
        unpack::archiveApi().set_error(a, ECANCELED, "cancelled");
        return -1;
    }

    // Stage 3: libarchive reads the tar from the queue; entries are written with fds only.
    void extractMain() {
        try {
            const unpack::ArchiveApi& ar = unpack::archiveApi();
            std::unique_ptr<struct archive, ArchiveFree> a(ar.read_new());
            if (!a) throw Error("cannot initialise libarchive");
            // tar covers ustar, pax and GNU tar; "empty" accepts a zero-byte layer.
            ar.read_support_format_tar(a.get());
            ar.read_support_format_empty(a.get());
            if (ar.read_open(a.get(), this, nullptr, &Attempt::readCallback, nullptr) != ARCHIVE_OK) {
                if (failed) throw Cancelled{};
                const char* msg = ar.error_string(a.get());
                throw Error(std::string("invalid layer tar: ") + (msg ? msg : "cannot open"));
            }
            unpack::TarExtractor x(rootFd, limits.maxBytes, limits.maxEntries);
            try {
                x.extractAll(a.get());
            } catch (const Error&) {
                if (failed) throw Cancelled{};   // the real error is the other stage's
                throw;
            }
            // Bytes after the end-of-archive blocks still count for the DiffID: drain them.
            for (;;) {
                ChunkQueue::Pop r = tar.pop(current);
                if (r == ChunkQueue::Pop::Aborted) throw Cancelled{};
                if (r == ChunkQueue::Pop::End) break;
            }
            x.complete();
            size = x.size();
            entries = x.entries();
        } catch (const Cancelled&) {
        } catch (...) {
            fail(std::current_exception());
        }
    }

    void start() {
        decompressThread = std::thread([this] { decompressMain(); });
        try {
            extractThread = std::thread([this] { extractMain(); });
        } catch (...) {
            cancel();
            join();
            throw;
        }
    }
};

}  // namespace

struct LayerUnpacker::Impl {
    std::string target;
    UnpackLimits limits;
    UniqueFd rootFd;
    struct stat rootSt {};
    std::unique_ptr<Attempt> attempt;
    Chunk pending;
    bool finished = false;

    void newAttempt() {
        attempt = std::make_unique<Attempt>(rootFd.get(), limits);
        attempt->start();
        pending = Chunk();
    }

    void push(Chunk&& c) {
        if (!attempt->compressed.push(std::move(c))) attempt->rethrow();
    }

    void stop() {
        if (!attempt) return;
        attempt->cancel();
        attempt->join();
        attempt.reset();
    }
};

LayerUnpacker::LayerUnpacker(std::string targetDir, UnpackLimits limits) : impl_(std::make_unique<Impl>()) {
    // Loads libarchive here, on the caller's thread: a missing library fails at once and
    // plainly, not as an error of the extract thread.
    unpack::archiveApi();
    impl_->target = std::move(targetDir);
    impl_->limits = limits;
    // O_RDONLY (not O_PATH): also used for fchown/fchmod/fsetxattr of "." and for syncfs.
    impl_->rootFd.reset(::open(impl_->target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!impl_->rootFd) throwErrno("open layer directory " + impl_->target);
    if (::fstat(impl_->rootFd.get(), &impl_->rootSt) != 0) throwErrno("stat " + impl_->target);
    impl_->newAttempt();
}

LayerUnpacker::~LayerUnpacker() { impl_->stop(); }

void LayerUnpacker::write(const char* data, std::size_t n) {
    Impl& d = *impl_;
    if (d.finished || !d.attempt) throw Error("layer unpacker: write after finish or a failed restart");
    if (d.attempt->failed) d.attempt->rethrow();
    while (n > 0) {
        if (!d.pending.data) d.pending = Chunk::make(kChunk);
        std::size_t take = std::min(n, d.pending.cap - d.pending.len);
        std::memcpy(d.pending.data.get() + d.pending.len, data, take);
        d.pending.len += take;
        data += take;
        n -= take;
        if (d.pending.len == d.pending.cap) d.push(std::move(d.pending));
    }
}

void LayerUnpacker::restart() {
    Impl& d = *impl_;
    if (d.finished) throw Error("layer unpacker: restart after finish");
    d.stop();
    unpack::wipeDirContents(d.rootFd.get());
    // Undo what the attempt did to the root itself (a top-level ".wh..wh..opq").
    ::fremovexattr(d.rootFd.get(), "trusted.overlay.opaque");
    if (::fchown(d.rootFd.get(), d.rootSt.st_uid, d.rootSt.st_gid) != 0 && ::geteuid() == 0)
        throwErrno("chown " + d.target);
    if (::fchmod(d.rootFd.get(), d.rootSt.st_mode & 07777) != 0) throwErrno("chmod " + d.target);
    d.newAttempt();
}

UnpackResult LayerUnpacker::finish() {
    Impl& d = *impl_;
    if (d.finished || !d.attempt) throw Error("layer unpacker: finish after finish or a failed restart");
    Attempt& at = *d.attempt;
    if (d.pending.len > 0 && !at.failed) {
        at.compressed.push(std::move(d.pending));   // false only after a failure, seen below
    }
    d.pending = Chunk();
    at.compressed.close();
    at.join();
    d.finished = true;
    std::unique_ptr<Attempt> done = std::move(d.attempt);
    if (done->failed) done->rethrow();
    return UnpackResult{done->diffId, done->size, done->entries};
}

UnpackResult unpackLayerFile(const std::string& blobPath, const std::string& targetDir, UnpackLimits limits) {
    UniqueFd fd(::open(blobPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throwErrno("open " + blobPath);
    LayerUnpacker u(targetDir, limits);
    std::unique_ptr<char[]> buf(new char[kChunk]);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.get(), kChunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("read " + blobPath);
        }
        if (n == 0) break;
        u.write(buf.get(), static_cast<std::size_t>(n));
    }
    return u.finish();
}

}  // namespace mydock::image
