// The image index ($ROOT/images.json): which images the store holds and the names that point
// at them. Internal to the image module; ImageStore is its only user.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/digest.h"
#include "registry/reference.h"

namespace mydock::image::detail {

struct IndexImage {
    std::vector<Digest> manifests;   // platform manifests seen for this config (first = shown)
    std::set<Digest> extraBlobs;     // indexes (manifest lists) it was pulled through
    std::vector<Digest> layers;      // DiffIDs, bottom first (a copy of the config's)
    std::int64_t added = 0;          // unix time
};

struct Index {
    std::map<Digest, IndexImage> images;   // config digest (IMAGE ID) -> image
    std::map<std::string, Digest> refs;    // "docker.io/library/busybox:latest" or
                                           // "docker.io/library/busybox@sha256:…" -> IMAGE ID
};

// A reference key split back into its parts.
struct RefParts {
    std::string repository;   // docker.io/library/busybox
    std::string tag;          // set for a tag reference
    std::string digest;       // "sha256:…" for a digest reference
};

std::string refKey(const registry::Reference& r);   // digest wins over tag, as docker stores
RefParts splitRefKey(const std::string& key);
std::string joinRefKey(const RefParts& r);
std::string familiarName(const std::string& repository);   // docker.io/library/x -> x

// Missing file = empty index. A file that does not parse throws (system check repairs it).
Index loadIndex(const std::string& path);
void saveIndex(const std::string& path, const Index& idx);   // atomic rename, fsynced

}  // namespace mydock::image::detail
