// OCI / Docker media types and the JSON documents of the distribution protocol:
// descriptors, manifests, indexes (manifest lists) and image configs.
// Parsers validate what they read (digests, sizes, required fields) and throw mydock::Error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/digest.h"

namespace mydock::registry {

namespace media {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media

inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

struct Platform {
    std::string os;            // "linux"
    std::string architecture;  // "amd64", "arm64", ...
    std::string variant;       // "v8", "v7", or empty

    static Platform host();                      // linux/<this machine's GOARCH>[/variant]
    static Platform parse(std::string_view s);   // "linux/arm64/v8", "linux/amd64"; throws
    std::string str() const;                     // "linux/arm64/v8"
    // Whether a candidate in an index satisfies this wanted platform (arm64 with an empty
    // variant matches v8, as containerd's matcher does).
    bool matches(const Platform& candidate) const;
};

struct Descriptor {
    std::string mediaType;
    Digest digest;
    std::int64_t size = 0;
    std::optional<Platform> platform;
    std::vector<std::string> urls;
    std::map<std::string, std::string> annotations;
};

enum class ManifestKind { Manifest, Index };

struct Manifest {                  // OCI image manifest or Docker schema2 manifest
    std::string mediaType;
    Descriptor config;
    std::vector<Descriptor> layers;
};

struct Index {                     // OCI index or Docker manifest list
    std::string mediaType;
    std::vector<Descriptor> manifests;
    // The best entry for `want`, or nullptr (skips attestation manifests, unknown/unknown).
    const Descriptor* select(const Platform& want) const;
};

// Which kind a manifest body is, from its Content-Type (or its own mediaType field when the
// header is absent or generic). Throws a clear error for schema1 and unknown types.
ManifestKind classifyManifest(std::string_view contentType, std::string_view body);
Manifest parseManifest(std::string_view body);
Index parseIndex(std::string_view body);

struct ContainerConfig {           // the "config" object of an image config
    std::string user;
    std::vector<std::string> env;
    std::vector<std::string> entrypoint;   // absent and [] are the same to docker's run rules
    std::vector<std::string> cmd;
    bool hasEntrypoint = false;
    bool hasCmd = false;
    std::string workingDir;
    std::map<std::string, std::string> labels;
    std::string stopSignal;
    std::vector<std::string> exposedPorts;  // "80/tcp"
    std::vector<std::string> volumes;
};

struct ImageConfig {
    std::string architecture, os, variant;
    std::string created;           // RFC 3339 as in the blob, may be empty
    ContainerConfig config;
    std::vector<Digest> diffIds;   // rootfs.diff_ids, bottom layer first
    nlohmann::json raw;            // the whole document, for inspect
};
ImageConfig parseImageConfig(std::string_view body);

}  // namespace mydock::registry
