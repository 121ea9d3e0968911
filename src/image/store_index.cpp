#include "image/store_index.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"

namespace mydock::image::detail {

using nlohmann::json;

std::string refKey(const registry::Reference& r) {
    if (!r.digest.empty()) return r.repository() + "@" + r.digest.str();
    return r.repository() + ":" + r.tag;
}

RefParts splitRefKey(const std::string& key) {
    RefParts p;
    if (auto at = key.find('@'); at != std::string::npos) {
        p.repository = key.substr(0, at);
        p.digest = key.substr(at + 1);
        return p;
    }
    auto colon = key.rfind(':');
    auto slash = key.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        p.repository = key.substr(0, colon);
        p.tag = key.substr(colon + 1);
    } else {
        p.repository = key;
    }
    return p;
}

std::string joinRefKey(const RefParts& r) {
    return r.digest.empty() ? r.repository + ":" + r.tag : r.repository + "@" + r.digest;
}

std::string familiarName(const std::string& repository) {
    const std::string hub = "docker.io/";
    if (repository.rfind(hub, 0) != 0) return repository;
    std::string rest = repository.substr(hub.size());
    const std::string lib = "library/";
    if (rest.rfind(lib, 0) == 0 && rest.find('/', lib.size()) == std::string::npos) rest = rest.substr(lib.size());
    return rest;
}

Index loadIndex(const std::string& path) {
    Index idx;
    std::string text;
    if (!fs::readFileIfExists(path, text)) return idx;
    try {
        auto j = json::parse(text);
        if (j.value("version", 0) != 1) throw Error("unknown version");
        for (const auto& [id, v] : j.at("images").items()) {
            IndexImage ii;
            for (const auto& m : v.at("manifests")) ii.manifests.push_back(Digest::parse(m.get<std::string>()));
            if (v.contains("extraBlobs"))
                for (const auto& m : v["extraBlobs"]) ii.extraBlobs.insert(Digest::parse(m.get<std::string>()));
            for (const auto& l : v.at("layers")) ii.layers.push_back(Digest::parse(l.get<std::string>()));
            ii.added = v.value("added", std::int64_t{0});
            idx.images.emplace(Digest::parse(id), std::move(ii));
        }
        for (const auto& [key, v] : j.at("refs").items()) {
            auto parts = splitRefKey(key);
            if (parts.repository.empty() || (parts.tag.empty() && parts.digest.empty()))
                throw Error("bad reference key \"" + key + "\"");
            idx.refs.emplace(key, Digest::parse(v.get<std::string>()));
        }
    } catch (const std::exception& e) {
        throw Error("image index " + path + " is corrupt (" + e.what() + "); run 'mydock system check --repair'");
    }
    return idx;
}

void saveIndex(const std::string& path, const Index& idx) {
    json images = json::object();
    for (const auto& [id, ii] : idx.images) {
        json v;
        v["manifests"] = json::array();
        for (const auto& m : ii.manifests) v["manifests"].push_back(m.str());
        v["extraBlobs"] = json::array();
        for (const auto& m : ii.extraBlobs) v["extraBlobs"].push_back(m.str());
        v["layers"] = json::array();
        for (const auto& l : ii.layers) v["layers"].push_back(l.str());
        v["added"] = ii.added;
        images[id.str()] = std::move(v);
    }
    json refs = json::object();
    for (const auto& [k, id] : idx.refs) refs[k] = id.str();
    json j = {{"version", 1}, {"images", std::move(images)}, {"refs", std::move(refs)}};
    // Readers take no lock: the rename makes the new index visible all at once.
    fs::writeFileAtomic(path, j.dump(2) + "\n", true, 0600);
}

}  // namespace mydock::image::detail
