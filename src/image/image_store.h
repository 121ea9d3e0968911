// The image store: names (repo:tag) -> manifest digests, the images' configs and layers, and
// the references that keep them alive. See var/README.md for the layout, store.md for the
// invariants. Thread- and process-safe through file locks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "registry/types.h"

namespace mydock::image {

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
};

class ImageStore {
public:
    explicit ImageStore(std::string root);  // creates the layout on first use
    const std::string& root() const { return root_; }

    // Finds an image by familiar or full name[:tag], name@digest, full or short (>= 4 hex)
    // IMAGE ID, or "sha256:<id>". nullopt when absent; throws on an ambiguous prefix.
    std::optional<Image> find(const std::string& nameOrId) const;
    std::vector<Image> list() const;

    // Holds keep an image (and so its layers) alive while something uses it: a container
    // registers one before it mounts the layers and drops it when it is removed. rmi refuses
    // an image with holds unless forced, and GC never deletes a held image's layers.
    void addHold(const std::string& holder, const Digest& imageId);
    void dropHold(const std::string& holder);
    std::vector<std::string> holdersOf(const Digest& imageId) const;

    // ... pull-side and rmi/GC members are declared by the image module below this line.

private:
    std::string root_;
};

}  // namespace mydock::image
