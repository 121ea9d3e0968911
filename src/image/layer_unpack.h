// The layer unpacker: turns a layer blob (gzip, zstd or plain tar, detected from its magic
// bytes) into a directory tree that becomes an overlayfs lower dir, while the blob streams in
// from the network. The uncompressed stream is hashed on the way (its DiffID), whiteouts become
// overlayfs whiteouts, and nothing outside the target directory is ever created, changed or
// followed, whatever the tar contains (store.md, item 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/digest.h"
#include "registry/client.h"

namespace mydock::image {

// Bounds on one layer, so a decompression bomb or a million-entry tar stops early with a
// clear error instead of filling the disk.
struct UnpackLimits {
    std::uint64_t maxBytes = 64ull << 30;      // total uncompressed tar bytes
    std::uint64_t maxEntries = 10'000'000;     // tar entries (files, dirs, links, whiteouts...)
};

struct UnpackResult {
    Digest diffId;               // sha256 of the uncompressed tar stream (rootfs.diff_ids)
    std::int64_t size = 0;       // bytes of regular-file content written (docker's layer size)
    std::uint64_t entries = 0;   // tar entries processed
};

// A streaming unpacker fed with the compressed blob as it arrives. It implements
// registry::BlobSink so it plugs straight into registry::Client::getBlob:
//
//     LayerUnpacker u(stagingDir, limits);
//     client.getBlob(ref, desc, u);          // blob digest/size verified by the client
//     UnpackResult r = u.finish();           // then compare r.diffId with the config's
//
// Work happens on background threads (decompress + hash, then tar extraction), so the
// network, decompression and file writing proceed on separate cores. write() only queues a
// copy of the buffer (bounded: it blocks when the pipeline is full, so memory stays small).
// An extraction error is thrown from the next write() or from finish(); once that happens the
// target directory holds a partial tree that the caller removes (it is a staging dir).
// Not thread-safe itself: one producer thread calls write/restart/finish.
class LayerUnpacker : public registry::BlobSink {
public:
    // targetDir: an existing, empty staging directory (owned by the caller, who renames it
    // into place on success or removes it on failure).
    explicit LayerUnpacker(std::string targetDir, UnpackLimits limits = {});
    ~LayerUnpacker() override;                 // aborts the workers and joins them if unfinished
    LayerUnpacker(const LayerUnpacker&) = delete;
    LayerUnpacker& operator=(const LayerUnpacker&) = delete;

    void write(const char* data, std::size_t n) override;   // throws the workers' error, if any
    void restart() override;   // discards everything: stops the workers, empties targetDir
    // End of input: waits for extraction, applies directory mtimes, syncs the file system
    // once (syncfs), and returns the result. Throws mydock::Error on any failure (corrupt or
    // truncated compression, bad tar, hostile entry, limit exceeded, I/O error).
    UnpackResult finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Unpacks a blob file (same detection and rules); for tests, fuzzing and `load`.
UnpackResult unpackLayerFile(const std::string& blobPath, const std::string& targetDir,
                             UnpackLimits limits = {});

}  // namespace mydock::image
