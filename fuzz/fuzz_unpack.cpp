// libFuzzer target: the layer unpacker on arbitrary bytes (gzip, zstd or tar, detected as in
// a pull). Each input unpacks into a fresh temp dir with small limits; mydock::Error is the
// expected way to refuse an input. A sentinel beside the target must stay untouched and
// nothing may appear beside it: anything else is a containment bug and aborts.
//
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMYDOCK_FUZZ=ON
//   ninja -C build-fuzz fuzz_unpack
//   mkdir -p /tmp/unpack-corpus   # libFuzzer adds inputs to the first dir: keep the seeds clean
//   ./build-fuzz/fuzz/fuzz_unpack -max_total_time=60 -max_len=65536 /tmp/unpack-corpus fuzz/corpus/unpack
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "common/fs.h"
#include "image/layer_unpack.h"

namespace {

int countEntries(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (!d) return -1;
    int n = 0;
    while (dirent* de = readdir(d)) {
        std::string name = de->d_name;
        if (name != "." && name != "..") ++n;
    }
    closedir(d);
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mydock::fs::TempDir base("/tmp", "fuzz-unpack-");
    const std::string target = base.path() + "/t";
    const std::string sentinel = base.path() + "/sentinel";
    if (mkdir(target.c_str(), 0755) != 0 || mkdir(sentinel.c_str(), 0755) != 0) std::abort();

    mydock::image::UnpackLimits limits;
    limits.maxBytes = 8 << 20;
    limits.maxEntries = 2000;
    try {
        mydock::image::LayerUnpacker u(target, limits);
        // Two writes, so the streaming path (a split across chunk borders) is exercised too.
        std::size_t half = size / 2;
        u.write(reinterpret_cast<const char*>(data), half);
        u.write(reinterpret_cast<const char*>(data) + half, size - half);
        u.finish();
    } catch (const mydock::Error&) {
        // refused: fine
    }
    struct stat st;
    if (countEntries(base.path()) != 2 || countEntries(sentinel) != 0 || lstat(target.c_str(), &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        std::fprintf(stderr, "fuzz_unpack: something outside the target changed in %s\n", base.path().c_str());
        std::abort();
    }
    return 0;
}
