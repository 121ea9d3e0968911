// The image store: names (repo:tag) -> manifest digests, the images' configs and layers, and
// the references that keep them alive. See var/README.md for the layout, store.md for the
// invariants. Thread- and process-safe through file locks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/lock.h"
#include "registry/reference.h"
#include "registry/types.h"

namespace mydock::image {

namespace detail {
struct Index;
struct IndexImage;
}  // namespace detail

struct LayerInfo {
    Digest diffId;             // uncompressed digest (rootfs.diff_ids)
    std::string dir;           // absolute path of the unpacked tree (an overlay lower dir)
    std::int64_t size = 0;     // unpacked bytes
};

struct Image {
    Digest id;                              // config digest (docker's IMAGE ID)
    Digest manifestDigest;                  // the platform manifest's digest
    std::vector<std::string> repoTags;      // familiar "ubuntu:latest", "host:5000/app:1"
    std::vector<std::string> repoDigests;   // familiar "ubuntu@sha256:…"
    registry::ImageConfig config;
    std::vector<LayerInfo> layers;          // bottom layer first
    std::int64_t size = 0;                  // sum of unpacked layer sizes
    std::int64_t addedAt = 0;               // unix time the image entered this store
};

// A committed layer's metadata ($ROOT/layers/<hex>/layer.json).
struct LayerRecord {
    Digest diffId;
    Digest compressedDigest;   // the blob it was unpacked from (may be empty)
    std::string mediaType;
    std::int64_t size = 0;     // unpacked bytes
    std::uint64_t entries = 0;
};

// What rmi / prune did, in docker's order: "Untagged: x" then "Deleted: sha256:…" lines.
struct DeleteRecord {
    enum Kind { Untagged, Deleted } kind;
    std::string what;          // familiar reference, or "sha256:<hex>"
};

// One finding of `system check`.
struct CheckFinding {
    std::string problem;       // human readable, names the path/reference
    bool repaired = false;
};

class ImageStore {
public:
    explicit ImageStore(std::string root);  // creates the layout on first use
    const std::string& root() const { return root_; }

    // Finds an image by familiar or full name[:tag], name@digest, full or short (>= 1 hex, as
    // docker) IMAGE ID, or "sha256:<id>". nullopt when absent; throws on an ambiguous prefix.
    std::optional<Image> find(const std::string& nameOrId) const;
    std::vector<Image> list() const;

    // Holds keep an image (and so its layers) alive while something uses it: a container
    // registers one before it mounts the layers and drops it when it is removed. rmi refuses
    // an image with holds unless forced, and GC never deletes a held image's layers.
    // `durable`: fsync'd (false for a holder that a crash would take away anyway, run --rm).
    void addHold(const std::string& holder, const Digest& imageId, bool durable = true);
    void dropHold(const std::string& holder);
    // dropHold() without opening the store: no layout creation, no leftover sweep, no lock.
    // For a container's removal (`run --rm` ends with it), which needs nothing else of the
    // store. Unlinking holds/<holder> is atomic and a missing hold is fine, so it needs
    // neither the GC lock nor the layout: under a root with no store there is nothing to drop.
    static void releaseHold(const std::string& root, const std::string& holder);
    std::vector<std::string> holdersOf(const Digest& imageId) const;
    // Drops the holds whose holder `exists` says is gone (its owner was killed between the
    // two steps of making or removing it); returns the holders dropped.
    std::vector<std::string> sweepHolds(const std::function<bool(const std::string&)>& exists);

    // Keeps GC (rmi, prune) from deleting anything while alive: take one before find() and
    // keep it until addHold() has returned, so the image cannot vanish in between. Pulls hold
    // one for their whole duration. Many may exist at once (a shared flock).
    class UseGuard {
    public:
        explicit UseGuard(const ImageStore& store);
    private:
        FileLock lock_;
    };

    // ---- blobs: manifests, indexes, configs ($ROOT/blobs/sha256/<hex>) ----
    std::string blobPath(const Digest& d) const;
    bool hasBlob(const Digest& d) const;
    // Verifies `data` against `d` (and `size` when >= 0), then ingest + fsync + rename.
    void putBlob(const Digest& d, std::string_view data, std::int64_t size = -1);
    std::string readBlob(const Digest& d) const;   // throws when absent

    // ---- layers ($ROOT/layers/<diffid hex>/{root/,layer.json}) ----
    std::string layerDir(const Digest& diffId) const;     // the lower dir (…/root)
    bool hasLayer(const Digest& diffId) const;
    std::optional<LayerRecord> layerRecord(const Digest& diffId) const;
    // The per-layer lock: two pulls of one layer download it once.
    FileLock lockLayer(const Digest& diffId, bool wait) const;

    // A staging directory ($ROOT/staging/<pid>-<rand>/) for one layer: unpack into tree(),
    // then commit() renames it into place. Removed on destruction unless committed.
    class LayerStaging {
    public:
        LayerStaging(LayerStaging&& o) noexcept;
        LayerStaging(const LayerStaging&) = delete;
        LayerStaging& operator=(const LayerStaging&) = delete;
        ~LayerStaging();
        const std::string& tree() const { return tree_; }   // the dir to unpack into
        // Durably writes the metadata and renames into $ROOT/layers/<hex>. Returns false if
        // another process committed the same layer first (ours is discarded; theirs is equal).
        bool commit(const LayerRecord& rec);
    private:
        friend class ImageStore;
        LayerStaging(const ImageStore& store, std::string dir);
        const ImageStore* store_;
        std::string dir_, tree_;
        bool done_ = false;
    };
    LayerStaging stageLayer() const;

    // ---- names ----
    // Records a pulled image: config and manifest blobs and every layer must be present.
    // `ref` is the reference pulled (by tag and/or digest); `topDigest` is the digest of what
    // the reference resolved to (index or manifest). Written last in a pull, under the index
    // lock. Returns the image id the tag pointed to before (empty if none), for docker's
    // "Downloaded newer image" / "Image is up to date".
    Digest commitImage(const registry::Reference& ref, const Digest& topDigest,
                       const Digest& manifestDigest, const Digest& configDigest);
    // The image id a reference currently names (exact match on the reference), if any.
    std::optional<Digest> resolveRef(const registry::Reference& ref) const;
    // docker tag SRC DST: DST (a name[:tag], no digest) names SRC's image.
    void tag(const std::string& source, const std::string& target);

    // ---- deletion (docker's rmi / image prune semantics) ----
    // Throws mydock::Error with exit code 1 and docker's message (No such image, conflict).
    std::vector<DeleteRecord> remove(const std::string& nameOrId, bool force, bool prune);
    // Deletes dangling images (all unused ones with `all`), then unreferenced layers/blobs.
    std::vector<DeleteRecord> prune(bool all, std::int64_t* reclaimed = nullptr);

    // ---- faults ----
    // Removes leftovers of dead processes (ingest files, staging and trash dirs, temp files),
    // if no pull is running (else it leaves them for a later command). Cheap; called by the
    // constructor.
    void sweepGarbage() const;
    // Verifies every invariant of store.md; with `repair`, fixes what can be fixed.
    std::vector<CheckFinding> check(bool repair);

private:
    friend class LayerStaging;
    std::string path(std::string_view rel) const;
    detail::Index loadIndex() const;
    void saveIndex(const detail::Index& idx);
    Image materialise(const detail::Index& idx, const Digest& id) const;
    std::optional<Digest> lookup(const detail::Index& idx, const std::string& nameOrId) const;
    std::optional<Digest> searchId(const detail::Index& idx, const std::string& prefix,
                                   const std::string& asGiven) const;
    std::vector<std::pair<std::string, Digest>> holds() const;
    std::vector<Digest> collect(const detail::Index& idx, const detail::IndexImage* only,
                                std::int64_t* reclaimed);
    std::vector<std::string> leftovers() const;
    std::string root_;
};

}  // namespace mydock::image
