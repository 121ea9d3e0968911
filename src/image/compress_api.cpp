#include "image/compress_api.h"

#include "common/shared_library.h"

namespace mydock::image::unpack {

ZlibApi loadZlibApi(const char* soname) {
    SharedLibrary lib(soname, "to decompress gzip layers (Debian package zlib1g)");
    ZlibApi a{};
#define MYDOCK_ZLIB_RESOLVE(name) lib.resolve(#name, a.name);
    MYDOCK_ZLIB_FUNCTIONS(MYDOCK_ZLIB_RESOLVE)
#undef MYDOCK_ZLIB_RESOLVE
    // Never unloaded: streams may be open in other threads (parallel layers).
    lib.keep();
    return a;
}

ZstdApi loadZstdApi(const char* soname) {
    SharedLibrary lib(soname, "to decompress zstd layers (Debian package libzstd1)");
    ZstdApi a{};
#define MYDOCK_ZSTD_RESOLVE(name) lib.resolve("ZSTD_" #name, a.name);
    MYDOCK_ZSTD_FUNCTIONS(MYDOCK_ZSTD_RESOLVE)
#undef MYDOCK_ZSTD_RESOLVE
    lib.keep();
    return a;
}

const ZlibApi& zlibApi() {
    static LoadOnce<ZlibApi> table;
    return table.get([] { return loadZlibApi(kZlibSoname); });
}

const ZstdApi& zstdApi() {
    static LoadOnce<ZstdApi> table;
    return table.get([] { return loadZstdApi(kZstdSoname); });
}

}  // namespace mydock::image::unpack
