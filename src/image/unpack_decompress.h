// Streaming decompression of a layer blob: the format is detected from the first bytes
// (gzip, including multi-member streams as pigz writes them; zstd, including multiple
// frames; or a plain tar passed through). Output goes to a callback in pieces of at most
// kOutChunk bytes.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace mydock::image::unpack {

enum class Compression { Unknown, Tar, Gzip, Zstd };

// Decides from at least the first 6 bytes (fewer only at end of input). Throws a clear
// mydock::Error for compressions a layer may not use here (bzip2, xz).
Compression detectCompression(const unsigned char* p, std::size_t n);
const char* compressionName(Compression c);

class Decompressor {
public:
    static constexpr std::size_t kOutChunk = 1 << 20;
    using Sink = std::function<void(const char* data, std::size_t n)>;

    explicit Decompressor(Sink sink);
    ~Decompressor();
    Decompressor(const Decompressor&) = delete;
    Decompressor& operator=(const Decompressor&) = delete;

    void feed(const char* data, std::size_t n);   // throws on corrupt data
    void finish();                                // throws on a truncated stream
    Compression compression() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mydock::image::unpack
