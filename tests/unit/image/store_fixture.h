// Test helpers for the image store: a temp state root, hand-made tar layers, and a fake
// registry (a BlobSource serving in-memory manifests and blobs) to drive the Puller.
#pragma once

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "image/image_store.h"
#include "image/puller.h"

namespace mydock::image::testing {

// A plain (uncompressed) ustar archive holding regular files {name -> content}.
inline std::string makeTar(const std::map<std::string, std::string>& files) {
    std::string out;
    for (const auto& [name, content] : files) {
        char h[512];
        std::memset(h, 0, sizeof h);
        std::snprintf(h, 100, "%s", name.c_str());
        std::snprintf(h + 100, 8, "%07o", 0644);
        std::snprintf(h + 108, 8, "%07o", 0);
        std::snprintf(h + 116, 8, "%07o", 0);
        std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(content.size()));
        std::snprintf(h + 136, 12, "%011o", 1700000000u);
        h[156] = '0';
        std::memcpy(h + 257, "ustar", 6);
        std::memcpy(h + 263, "00", 2);
        std::memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (unsigned char c : h) sum += c;
        std::snprintf(h + 148, 8, "%06o", sum);
        h[155] = ' ';
        out.append(h, sizeof h);
        out += content;
        out.append((512 - content.size() % 512) % 512, '\0');
    }
    out.append(1024, '\0');
    return out;
}

struct FakeImage {
    std::string manifest;           // body
    Digest manifestDigest;
    std::string config;
    Digest configDigest;
    std::vector<std::string> layerTars;
    std::vector<Digest> diffIds;    // == blob digests (uncompressed layers)
};

// Builds an OCI image of plain-tar layers, one per entry of `layers`.
inline FakeImage makeImage(const std::vector<std::map<std::string, std::string>>& layers, const std::string& cmd = "sh") {
    FakeImage img;
    nlohmann::json diffIds = nlohmann::json::array(), descs = nlohmann::json::array();
    for (const auto& files : layers) {
        std::string tar = makeTar(files);
        Digest d = Digest::sha256Of(tar);
        img.layerTars.push_back(tar);
        img.diffIds.push_back(d);
        diffIds.push_back(d.str());
        descs.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", d.str()}, {"size", tar.size()}});
    }
    nlohmann::json cfg = {{"architecture", "amd64"},
                          {"os", "linux"},
                          {"created", "2023-11-14T22:13:20Z"},
                          {"config", {{"Cmd", {cmd}}, {"Env", {"PATH=/bin"}}}},
                          {"rootfs", {{"type", "layers"}, {"diff_ids", diffIds}}}};
    img.config = cfg.dump();
    img.configDigest = Digest::sha256Of(img.config);
    nlohmann::json man = {{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                          {"config",
                           {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                            {"digest", img.configDigest.str()},
                            {"size", img.config.size()}}},
                          {"layers", descs}};
    img.manifest = man.dump();
    img.manifestDigest = Digest::sha256Of(img.manifest);
    return img;
}

// A registry in memory: manifests by "repo:tagOrDigest", blobs by digest.
class FakeRegistry : public BlobSource {
public:
    void add(const registry::Reference& ref, const FakeImage& img) {
        std::lock_guard g(m_);
        registry::FetchedManifest f{img.manifest, "application/vnd.oci.image.manifest.v1+json", img.manifestDigest};
        manifests_[ref.repository() + ":" + ref.tag] = f;
        manifests_[ref.repository() + ":" + img.manifestDigest.str()] = f;
        blobs_[img.configDigest] = img.config;
        for (std::size_t i = 0; i < img.layerTars.size(); ++i) blobs_[img.diffIds[i]] = img.layerTars[i];
    }
    void failBlob(const Digest& d) {
        std::lock_guard g(m_);
        failing_.insert(d);
    }
    int blobFetches(const Digest& d) {
        std::lock_guard g(m_);
        return fetches_[d];
    }

    registry::FetchedManifest getManifest(const registry::Reference& ref, const std::string& tagOrDigest) override {
        std::lock_guard g(m_);
        auto it = manifests_.find(ref.repository() + ":" + tagOrDigest);
        if (it == manifests_.end()) throw Error("manifest unknown: " + tagOrDigest);
        return it->second;
    }
    void getBlob(const registry::Reference&, const registry::Descriptor& d, registry::BlobSink& sink,
                 const registry::ProgressFn& progress) override {
        std::string data;
        {
            std::lock_guard g(m_);
            ++fetches_[d.digest];
            if (failing_.count(d.digest)) throw Error("blob " + d.digest.str() + ": connection reset by fake peer");
            data = blobs_.at(d.digest);
        }
        for (std::size_t off = 0; off < data.size(); off += 700) {
            std::size_t n = std::min<std::size_t>(700, data.size() - off);
            sink.write(data.data() + off, n);
            if (progress) progress(static_cast<std::int64_t>(off + n), static_cast<std::int64_t>(data.size()));
        }
    }

private:
    std::mutex m_;
    std::map<std::string, registry::FetchedManifest> manifests_;
    std::map<Digest, std::string> blobs_;
    std::set<Digest> failing_;
    std::map<Digest, int> fetches_;
};

}  // namespace mydock::image::testing
