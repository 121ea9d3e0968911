#include "image/unpack_decompress.h"

#include <cstring>
#include <vector>

#include "common/error.h"
#include "image/compress_api.h"

namespace mydock::image::unpack {

Compression detectCompression(const unsigned char* p, std::size_t n) {
    auto starts = [&](std::initializer_list<unsigned char> magic) {
        if (n < magic.size()) return false;
        return std::memcmp(p, magic.begin(), magic.size()) == 0;
    };
    if (starts({0x1f, 0x8b})) return Compression::Gzip;
    if (starts({0x28, 0xb5, 0x2f, 0xfd})) return Compression::Zstd;
    if (starts({'B', 'Z', 'h'}))
        throw Error("layer blob is bzip2-compressed; only gzip, zstd and plain tar layers are supported");
    if (starts({0xfd, '7', 'z', 'X', 'Z', 0x00}))
        throw Error("layer blob is xz-compressed; only gzip, zstd and plain tar layers are supported");
    return Compression::Tar;
}

const char* compressionName(Compression c) {
    switch (c) {
    case Compression::Tar: return "tar";
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
    case Compression::Unknown: break;
    }
    return "unknown";
}

struct Decompressor::Impl {
    Sink sink;
    Compression comp = Compression::Unknown;
    std::string head;                     // first bytes, kept until the format is known
    std::unique_ptr<char[]> out{new char[kOutChunk]};

    // gzip state (zlib: loaded when the first gzip layer starts, see compress_api.h)
    const ZlibApi* z = nullptr;
    z_stream zs{};
    bool zInit = false;
    bool zMemberDone = false;             // between members: only another member may follow

    // zstd state (libzstd: loaded when the first zstd layer starts)
    const ZstdApi* zst = nullptr;
    ZSTD_DCtx* zd = nullptr;
    std::size_t zstdLast = 0;             // last ZSTD_decompressStream result (0: frame done)

    ~Impl() {
        if (zInit) z->inflateEnd(&zs);
        if (zd) zst->freeDCtx(zd);
    }

    void start(Compression c) {
        comp = c;
        if (c == Compression::Gzip) {
            z = &zlibApi();
            // 16 + MAX_WBITS: gzip wrapper only (the magic said gzip).
            if (z->initInflate(&zs, 16 + MAX_WBITS) != Z_OK) throw Error("cannot initialise zlib");
            zInit = true;
        } else if (c == Compression::Zstd) {
            zst = &zstdApi();
            zd = zst->createDCtx();
            if (!zd) throw Error("cannot initialise zstd");
            zstdLast = 1;   // nothing decoded yet: an empty stream is truncated
        }
    }

    void gzip(const char* data, std::size_t n) {
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
        zs.avail_in = static_cast<uInt>(n);
        for (;;) {
            if (zMemberDone) {
                if (zs.avail_in == 0) break;
                // pigz and some registries concatenate gzip members; only a member may follow.
                if (zs.next_in[0] != 0x1f)
                    throw Error("corrupt gzip data: unexpected bytes after the end of the gzip stream");
                if (z->inflateReset(&zs) != Z_OK) throw Error("corrupt gzip data: cannot reset inflater");
                zMemberDone = false;
            }
            zs.next_out = reinterpret_cast<Bytef*>(out.get());
            zs.avail_out = static_cast<uInt>(kOutChunk);
            int rc = z->inflate(&zs, Z_NO_FLUSH);
            std::size_t produced = kOutChunk - zs.avail_out;
            if (produced) sink(out.get(), produced);
            if (rc == Z_STREAM_END) {
                zMemberDone = true;
                continue;
            }
            if (rc == Z_BUF_ERROR) {          // no progress possible without more input
                if (zs.avail_in == 0) break;
                throw Error("corrupt gzip data");
            }
            if (rc != Z_OK)
                throw Error(std::string("corrupt gzip data: ") + (zs.msg ? zs.msg : z->zError(rc)));
            // input used up and output not full: inflate holds nothing more to give now
            if (zs.avail_in == 0 && zs.avail_out != 0) break;
        }
    }

    void zstd(const char* data, std::size_t n) {
        ZSTD_inBuffer in{data, n, 0};
        for (;;) {
            ZSTD_outBuffer o{out.get(), kOutChunk, 0};
            std::size_t rc = zst->decompressStream(zd, &o, &in);
            if (zst->isError(rc)) throw Error(std::string("corrupt zstd data: ") + zst->getErrorName(rc));
            zstdLast = rc;
            if (o.pos) sink(out.get(), o.pos);
            // done with this input once it is consumed and the output was not full (so the
            // decoder holds nothing more it could flush now)
            if (in.pos == in.size && o.pos < o.size) break;
        }
    }

    void process(const char* data, std::size_t n) {
        switch (comp) {
        case Compression::Tar: sink(data, n); break;
        case Compression::Gzip: gzip(data, n); break;
        case Compression::Zstd: zstd(data, n); break;
        case Compression::Unknown: break;
        }
    }
};

Decompressor::Decompressor(Sink sink) : impl_(std::make_unique<Impl>()) { impl_->sink = std::move(sink); }
Decompressor::~Decompressor() = default;

Compression Decompressor::compression() const { return impl_->comp; }

void Decompressor::feed(const char* data, std::size_t n) {
    Impl& d = *impl_;
    if (n == 0) return;
    if (d.comp == Compression::Unknown) {
        constexpr std::size_t kMagic = 6;
        if (d.head.empty() && n >= kMagic) {
            d.start(detectCompression(reinterpret_cast<const unsigned char*>(data), n));
        } else {
            d.head.append(data, n);
            if (d.head.size() < kMagic) return;
            d.start(detectCompression(reinterpret_cast<const unsigned char*>(d.head.data()), d.head.size()));
            std::string h = std::move(d.head);
            d.head.clear();
            d.process(h.data(), h.size());
            return;
        }
    }
    d.process(data, n);
}

void Decompressor::finish() {
    Impl& d = *impl_;
    if (d.comp == Compression::Unknown) {
        if (d.head.empty()) {
            d.comp = Compression::Tar;   // an empty blob: an empty layer
            return;
        }
        std::string h = std::move(d.head);
        d.head.clear();
        d.start(detectCompression(reinterpret_cast<const unsigned char*>(h.data()), h.size()));
        d.process(h.data(), h.size());
    }
    if (d.comp == Compression::Gzip && !d.zMemberDone)
        throw Error("layer blob is truncated: the gzip stream ends early");
    if (d.comp == Compression::Zstd && d.zstdLast != 0)
        throw Error("layer blob is truncated: the zstd stream ends early");
}

}  // namespace mydock::image::unpack
