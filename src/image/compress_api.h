// zlib and libzstd, loaded on first use. mydock does not link them: only pull (and a layer
// unpacked from a blob) decompresses anything, while every start of a linked binary would pay
// their loading and relocations (`run` of a local image, ps, images, ...). The first caller of
// zlibApi() / zstdApi() dlopens "libz.so.1" / "libzstd.so.1" (their stable SONAMEs) and
// resolves the functions below, once per process; every other call returns the same table.
//
// Types and constants still come from <zlib.h> and <zstd.h>; calls go through the tables:
// zlibApi().inflate(&zs, Z_NO_FLUSH). zlib's inflateInit2() is a macro over inflateInit2_
// (passing ZLIB_VERSION and sizeof(z_stream)): use ZlibApi::initInflate below.
#pragma once

#include <zlib.h>
#include <zstd.h>

namespace mydock::image::unpack {

inline constexpr const char* kZlibSoname = "libz.so.1";
inline constexpr const char* kZstdSoname = "libzstd.so.1";

// Every zlib function the decompressor calls, by its own name.
#define MYDOCK_ZLIB_FUNCTIONS(X) X(inflateInit2_) X(inflate) X(inflateReset) X(inflateEnd) X(zError)

// Every libzstd function the decompressor calls, by its name without the "ZSTD_" prefix.
#define MYDOCK_ZSTD_FUNCTIONS(X) \
    X(createDCtx) X(freeDCtx) X(decompressStream) X(isError) X(getErrorName)

struct ZlibApi {
#define MYDOCK_ZLIB_MEMBER(name) decltype(&::name) name = nullptr;
    MYDOCK_ZLIB_FUNCTIONS(MYDOCK_ZLIB_MEMBER)
#undef MYDOCK_ZLIB_MEMBER
    // What zlib's inflateInit2() macro does, through the table.
    int initInflate(z_streamp strm, int windowBits) const {
        return inflateInit2_(strm, windowBits, ZLIB_VERSION, static_cast<int>(sizeof(z_stream)));
    }
};

struct ZstdApi {
#define MYDOCK_ZSTD_MEMBER(name) decltype(&::ZSTD_##name) name = nullptr;
    MYDOCK_ZSTD_FUNCTIONS(MYDOCK_ZSTD_MEMBER)
#undef MYDOCK_ZSTD_MEMBER
};

// The process-wide tables, loaded on the first call; thread-safe. Throw mydock::Error
// ("libz.so.1 is needed to decompress gzip layers (Debian package zlib1g): <dlerror>") when
// the library or one of its functions cannot be found; every later call throws the same error.
const ZlibApi& zlibApi();
const ZstdApi& zstdApi();

// Load `soname` and resolve a table without caching; for tests (a missing library must give
// a clear error). Throw like zlibApi() / zstdApi().
ZlibApi loadZlibApi(const char* soname);
ZstdApi loadZstdApi(const char* soname);

}  // namespace mydock::image::unpack
