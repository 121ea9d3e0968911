// The puller: resolves a reference, stores its index/manifest/config blobs, streams every
// missing layer concurrently through the unpacker into the layer store, and names the image
// last. Progress goes to an observer that the CLI renders as docker does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "image/image_store.h"
#include "image/layer_unpack.h"
#include "registry/client.h"
#include "registry/reference.h"
#include "registry/types.h"

namespace mydock::image {

// What the puller needs from a registry (registry::Client in production, fakes in tests).
class BlobSource {
public:
    virtual ~BlobSource() = default;
    virtual registry::FetchedManifest getManifest(const registry::Reference& ref, const std::string& tagOrDigest) = 0;
    virtual void getBlob(const registry::Reference& ref, const registry::Descriptor& d, registry::BlobSink& sink,
                         const registry::ProgressFn& progress) = 0;
};

class ClientSource : public BlobSource {
public:
    explicit ClientSource(registry::Client& c) : c_(c) {}
    registry::FetchedManifest getManifest(const registry::Reference& ref, const std::string& tagOrDigest) override {
        return c_.getManifest(ref, tagOrDigest);
    }
    void getBlob(const registry::Reference& ref, const registry::Descriptor& d, registry::BlobSink& sink,
                 const registry::ProgressFn& progress) override {
        c_.getBlob(ref, d, sink, progress);
    }

private:
    registry::Client& c_;
};

// docker's per-layer statuses, in the order a layer moves through them.
enum class LayerStatus {
    Waiting,            // another pull (or the concurrency bound) has it
    PullingFsLayer,
    Downloading,        // done/total bytes
    VerifyingChecksum,
    DownloadComplete,
    Extracting,
    PullComplete,
    AlreadyExists,
};
const char* statusText(LayerStatus s);   // "Pulling fs layer", ...

// Called from the puller's threads, but never concurrently (the puller serialises calls).
class PullObserver {
public:
    virtual ~PullObserver() = default;
    // After the reference resolved: "latest: Pulling from library/busybox".
    virtual void onResolved(const registry::Reference& ref) { (void)ref; }
    // `id` is docker's short layer id: the first 12 hex of the compressed blob's digest.
    virtual void onLayer(const std::string& id, LayerStatus s, std::int64_t done, std::int64_t total) {
        (void)id, (void)s, (void)done, (void)total;
    }
};

struct PullOptions {
    registry::Platform platform = registry::Platform::host();
    bool platformGiven = false;      // --platform: a single-arch image must match it
    int maxConcurrent = 8;           // layer downloads in flight at once
    std::int64_t maxConfigBytes = 16 << 20;
    UnpackLimits limits;             // per layer: unpacked bytes and tar entries
};

struct PullResult {
    registry::Reference ref;
    Digest digest;          // what the reference resolved to (index or manifest): docker's "Digest:"
    Image image;
    bool newer = false;     // the name now points at another image ("Downloaded newer image")
};

class Puller {
public:
    Puller(ImageStore& store, BlobSource& source, PullOptions opts = {});
    PullResult pull(const registry::Reference& ref, PullObserver* observer = nullptr);

private:
    ImageStore& store_;
    BlobSource& source_;
    PullOptions opts_;
};

}  // namespace mydock::image
