// The image store: see image_store.h and var/README.md (layout, locks, crash safety).
#include "image/image_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/random.h"
#include "common/unique_fd.h"
#include "image/store_index.h"

namespace mydock::image {

using nlohmann::json;
using detail::Index;
using detail::IndexImage;

namespace {

std::string randomSuffix() {
    return randomHex(12);
}

// Names of the entries of a directory (not "." or ".."); empty when it does not exist.
std::vector<std::string> listDir(const std::string& dir) {
    std::vector<std::string> out;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
        if (errno == ENOENT) return out;
        throwErrno("opendir " + dir);
    }
    while (struct dirent* e = ::readdir(d.get())) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(std::move(n));
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool isHex64(std::string_view s) {
    if (s.size() != 64) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool isHexPrefix(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The error docker's CLI shows for a missing image, with its exit status (1).
[[noreturn]] void noSuchImage(const std::string& what) {
    throw Error("No such image: " + what, 1);
}

void removeQuiet(const std::string& p) {
    try {
        fs::removeTree(p);
    } catch (const std::exception& e) {
        log::warn("cannot remove " + p + ": " + e.what());
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Layout

ImageStore::ImageStore(std::string root) : root_(std::move(root)) {
    for (const char* d : {"blobs/sha256", "layers", "staging", "ingest", "trash", "locks", "holds"})
        fs::makeDirs(path(d), 0700);
    sweepGarbage();
}

std::string ImageStore::path(std::string_view rel) const { return fs::join(root_, rel); }

ImageStore::UseGuard::UseGuard(const ImageStore& store)
    : lock_(store.path("locks/gc.lock"), FileLock::Mode::Shared) {}

// ---------------------------------------------------------------------------------------------
// Blobs

std::string ImageStore::blobPath(const Digest& d) const {
    if (d.algorithm() != "sha256") throw Error("unsupported digest algorithm in " + d.str());
    return path("blobs/sha256/" + d.hex());
}

bool ImageStore::hasBlob(const Digest& d) const { return fs::exists(blobPath(d)); }

void ImageStore::putBlob(const Digest& d, std::string_view data, std::int64_t size) {
    if (size >= 0 && static_cast<std::int64_t>(data.size()) != size)
        throw Error("blob " + d.str() + ": size " + std::to_string(data.size()) + " does not match the expected " +
                    std::to_string(size));
    Digest got = Digest::sha256Of(data);
    if (got != d) throw Error("blob " + d.str() + ": digest mismatch (content is " + got.str() + ")");
    std::string dst = blobPath(d);
    // Content-addressed: the same bytes may already be there. A damaged copy is replaced
    // (rename over it), so a re-pull heals what `system check` would report.
    if (std::string have; fs::readFileIfExists(dst, have) && Digest::sha256Of(have) == d) return;
    // Write to ingest/ first and rename: a reader never sees a partial blob (store.md, 2).
    std::string tmp = path("ingest/" + std::to_string(::getpid()) + "-" + randomSuffix());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!fd) throwErrno("create " + tmp);
    try {
        std::string_view rest = data;
        while (!rest.empty()) {
            ssize_t n = ::write(fd.get(), rest.data(), rest.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                throwErrno("write blob " + d.str());
            }
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
        // fsync before rename: after a power cut the name never points at missing data.
        if (::fsync(fd.get()) != 0) throwErrno("fsync blob " + d.str());
        fd.reset();
        if (::rename(tmp.c_str(), dst.c_str()) != 0) throwErrno("rename " + tmp + " to " + dst);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    fs::fsyncPath(path("blobs/sha256"));
}

std::string ImageStore::readBlob(const Digest& d) const {
    std::string out;
    if (!fs::readFileIfExists(blobPath(d), out)) throw Error("blob " + d.str() + " is missing from the store");
    return out;
}

// ---------------------------------------------------------------------------------------------
// Layers

std::string ImageStore::layerDir(const Digest& diffId) const { return path("layers/" + diffId.hex() + "/root"); }

bool ImageStore::hasLayer(const Digest& diffId) const {
    // layer.json is written before the rename, so a visible layer always has it.
    return fs::exists(path("layers/" + diffId.hex() + "/layer.json"));
}

std::optional<LayerRecord> ImageStore::layerRecord(const Digest& diffId) const {
    std::string text;
    if (!fs::readFileIfExists(path("layers/" + diffId.hex() + "/layer.json"), text)) return std::nullopt;
    try {
        auto j = json::parse(text);
        LayerRecord r;
        r.diffId = Digest::parse(j.at("diffId").get<std::string>());
        if (j.contains("compressedDigest") && !j["compressedDigest"].get<std::string>().empty())
            r.compressedDigest = Digest::parse(j["compressedDigest"].get<std::string>());
        r.mediaType = j.value("mediaType", "");
        r.size = j.value("size", std::int64_t{0});
        r.entries = j.value("entries", std::uint64_t{0});
        return r;
    } catch (const std::exception& e) {
        throw Error("layer " + diffId.str() + ": unreadable layer.json: " + e.what());
    }
}

FileLock ImageStore::lockLayer(const Digest& diffId, bool wait) const {
    std::string p = path("locks/layer-" + diffId.hex() + ".lock");
    if (wait) return FileLock(p, FileLock::Mode::Exclusive);
    return FileLock::tryLock(p, FileLock::Mode::Exclusive);
}

ImageStore::LayerStaging ImageStore::stageLayer() const {
    // The pid in the name tells a human whose it is; the GC lock (held shared by every pull)
    // is what tells sweepGarbage() that its owner is gone.
    std::string dir = path("staging/" + std::to_string(::getpid()) + "-" + randomSuffix());
    if (::mkdir(dir.c_str(), 0700) != 0) throwErrno("mkdir " + dir);
    return LayerStaging(*this, dir);
}

ImageStore::LayerStaging::LayerStaging(const ImageStore& store, std::string dir)
    : store_(&store), dir_(std::move(dir)), tree_(dir_ + "/root") {
    if (::mkdir(tree_.c_str(), 0755) != 0) {
        int err = errno;
        ::rmdir(dir_.c_str());
        throwErrno("mkdir " + tree_, err);
    }
}

ImageStore::LayerStaging::LayerStaging(LayerStaging&& o) noexcept
    : store_(o.store_), dir_(std::move(o.dir_)), tree_(std::move(o.tree_)), done_(o.done_) {
    o.done_ = true;
}

ImageStore::LayerStaging::~LayerStaging() {
    if (!done_ && !dir_.empty()) removeQuiet(dir_);
}

bool ImageStore::LayerStaging::commit(const LayerRecord& rec) {
    json j = {{"diffId", rec.diffId.str()},
              {"compressedDigest", rec.compressedDigest.str()},
              {"mediaType", rec.mediaType},
              {"size", rec.size},
              {"entries", rec.entries}};
    fs::writeFileAtomic(dir_ + "/layer.json", j.dump(2) + "\n", true, 0444);
    // The unpacker's finish() has already synced the tree (syncfs) before we get here.
    std::string dst = store_->path("layers/" + rec.diffId.hex());
    // rename(2) of a directory onto a missing name is atomic: the layer appears whole.
    if (::rename(dir_.c_str(), dst.c_str()) != 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
            removeQuiet(dir_);
            done_ = true;
            return false;
        }
        throwErrno("rename " + dir_ + " to " + dst);
    }
    done_ = true;
    fs::fsyncPath(store_->path("layers"));
    return true;
}

// ---------------------------------------------------------------------------------------------
// Index access

namespace {

// The GC lock, exclusively; says why when it has to wait (a pull holds it for its duration).
FileLock lockGcExclusive(const std::string& root) {
    std::string p = fs::join(root, "locks/gc.lock");
    FileLock l = FileLock::tryLock(p, FileLock::Mode::Exclusive);
    if (l) return l;
    log::warn("waiting for pulls in progress (or runs starting) to finish...");
    return FileLock(p, FileLock::Mode::Exclusive);
}

struct IndexLock {
    FileLock lock;
    explicit IndexLock(const std::string& root) : lock(fs::join(root, "locks/index.lock"), FileLock::Mode::Exclusive) {}
};

}  // namespace

Index ImageStore::loadIndex() const { return detail::loadIndex(path("images.json")); }

void ImageStore::saveIndex(const Index& idx) { detail::saveIndex(path("images.json"), idx); }

Image ImageStore::materialise(const Index& idx, const Digest& id) const {
    const IndexImage& ii = idx.images.at(id);
    Image img;
    img.id = id;
    img.manifestDigest = ii.manifests.empty() ? Digest() : ii.manifests.front();
    img.addedAt = ii.added;
    for (const auto& [key, target] : idx.refs) {
        if (target != id) continue;
        auto r = detail::splitRefKey(key);
        if (r.digest.empty()) img.repoTags.push_back(detail::familiarName(r.repository) + ":" + r.tag);
        else img.repoDigests.push_back(detail::familiarName(r.repository) + "@" + r.digest);
    }
    try {
        img.config = registry::parseImageConfig(readBlob(id));
    } catch (...) {
        rethrowWithContext("image " + id.shortHex());
    }
    for (const auto& diffId : ii.layers) {
        LayerInfo li;
        li.diffId = diffId;
        li.dir = layerDir(diffId);
        if (auto rec = layerRecord(diffId)) li.size = rec->size;
        img.size += li.size;
        img.layers.push_back(std::move(li));
    }
    return img;
}

std::optional<Digest> ImageStore::lookup(const Index& idx, const std::string& nameOrId) const {
    std::string s = nameOrId;
    if (s.empty()) return std::nullopt;
    // "sha256:<hex or prefix>" and bare 64-hex strings are IDs (docker's ParseAnyReference).
    std::string idPart;
    if (s.rfind("sha256:", 0) == 0) idPart = s.substr(7);
    else if (isHex64(s)) idPart = s;
    if (!idPart.empty() || s.rfind("sha256:", 0) == 0) {
        if (!isHexPrefix(idPart)) return std::nullopt;
        return searchId(idx, idPart, nameOrId);
    }
    // A name: exact reference first.
    std::optional<registry::Reference> ref;
    try {
        ref = registry::Reference::parse(s);
    } catch (const std::exception&) {
    }
    if (ref) {
        std::string key = detail::refKey(*ref);
        if (auto it = idx.refs.find(key); it != idx.refs.end()) return it->second;
        if (!ref->digest.empty()) {
            // name@<platform manifest digest> of an image pulled through an index.
            for (const auto& [key2, target] : idx.refs) {
                if (detail::splitRefKey(key2).repository != ref->repository()) continue;
                auto im = idx.images.find(target);
                if (im == idx.images.end()) continue;
                for (const auto& m : im->second.manifests)
                    if (m == ref->digest) return target;
            }
            return std::nullopt;
        }
    }
    // Finally a short IMAGE ID.
    if (isHexPrefix(s)) return searchId(idx, s, nameOrId);
    return std::nullopt;
}

std::optional<Digest> ImageStore::searchId(const Index& idx, const std::string& prefix, const std::string& asGiven) const {
    std::optional<Digest> found;
    for (const auto& [id, ii] : idx.images) {
        (void)ii;
        if (id.hex().compare(0, prefix.size(), prefix) != 0) continue;
        if (found) throw Error("multiple IDs found with provided prefix: " + asGiven, 1);
        found = id;
    }
    return found;
}

std::optional<Image> ImageStore::find(const std::string& nameOrId) const {
    Index idx = loadIndex();
    auto id = lookup(idx, nameOrId);
    if (!id) return std::nullopt;
    return materialise(idx, *id);
}

std::vector<Image> ImageStore::list() const {
    Index idx = loadIndex();
    std::vector<Image> out;
    for (const auto& [id, ii] : idx.images) {
        (void)ii;
        try {
            out.push_back(materialise(idx, id));
        } catch (const std::exception& e) {
            log::warn(std::string(e.what()) + " (run 'mydock system check')");
        }
    }
    return out;
}

std::optional<Digest> ImageStore::resolveRef(const registry::Reference& ref) const {
    Index idx = loadIndex();
    if (auto it = idx.refs.find(detail::refKey(ref)); it != idx.refs.end()) return it->second;
    return std::nullopt;
}

Digest ImageStore::commitImage(const registry::Reference& ref, const Digest& topDigest, const Digest& manifestDigest,
                               const Digest& configDigest) {
    // Everything the name will point at must already be in place (store.md, 2: names last).
    if (!hasBlob(configDigest)) throw Error("internal: config blob " + configDigest.str() + " missing at commit");
    if (!hasBlob(manifestDigest)) throw Error("internal: manifest blob " + manifestDigest.str() + " missing at commit");
    auto cfg = registry::parseImageConfig(readBlob(configDigest));
    for (const auto& d : cfg.diffIds)
        if (!hasLayer(d)) throw Error("internal: layer " + d.str() + " missing at commit");

    IndexLock lock(root_);
    Index idx = loadIndex();
    auto& ii = idx.images[configDigest];
    if (ii.added == 0) ii.added = static_cast<std::int64_t>(std::time(nullptr));
    ii.layers = cfg.diffIds;
    if (std::find(ii.manifests.begin(), ii.manifests.end(), manifestDigest) == ii.manifests.end())
        ii.manifests.push_back(manifestDigest);

    Digest previous;
    registry::Reference byDigest = ref;
    byDigest.tag.clear();
    byDigest.digest = topDigest;
    if (ref.digest.empty()) {
        std::string key = detail::refKey(ref);
        if (auto it = idx.refs.find(key); it != idx.refs.end()) previous = it->second;
        idx.refs[key] = configDigest;
    } else {
        if (auto it = idx.refs.find(detail::refKey(byDigest)); it != idx.refs.end()) previous = it->second;
    }
    // docker records the digest a tag resolved to as a RepoDigest too.
    idx.refs[detail::refKey(byDigest)] = configDigest;
    if (!topDigest.empty() && hasBlob(topDigest) && std::find(ii.manifests.begin(), ii.manifests.end(), topDigest) == ii.manifests.end())
        ii.extraBlobs.insert(topDigest);
    saveIndex(idx);
    return previous;
}

void ImageStore::tag(const std::string& source, const std::string& target) {
    registry::Reference dst;
    try {
        dst = registry::Reference::parse(target);
    } catch (const std::exception& e) {
        throw Error(std::string(e.what()));
    }
    if (!dst.digest.empty()) throw Error("refusing to create a tag with a digest reference");
    IndexLock lock(root_);
    Index idx = loadIndex();
    auto id = lookup(idx, source);
    if (!id) noSuchImage(source);
    idx.refs[detail::refKey(dst)] = *id;
    saveIndex(idx);
}

// ---------------------------------------------------------------------------------------------
// Holds

namespace {
void checkHolder(const std::string& h) {
    if (h.empty() || h == "." || h == ".." || h.find('/') != std::string::npos || h.find('\0') != std::string::npos ||
        h.rfind(".tmp-") != std::string::npos)
        throw Error("invalid image holder name \"" + h + "\"");
}
}  // namespace

void ImageStore::addHold(const std::string& holder, const Digest& imageId, bool durable) {
    checkHolder(holder);
    Index idx = loadIndex();
    if (!idx.images.count(imageId)) noSuchImage(imageId.str());
    fs::writeFileAtomic(path("holds/" + holder), imageId.str() + "\n", durable);
}

void ImageStore::dropHold(const std::string& holder) { releaseHold(root_, holder); }

void ImageStore::releaseHold(const std::string& root, const std::string& holder) {
    checkHolder(holder);
    std::string p = fs::join(root, "holds/" + holder);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) throwErrno("remove " + p);
}

std::vector<std::string> ImageStore::holdersOf(const Digest& imageId) const {
    std::vector<std::string> out;
    for (const auto& [holder, id] : holds())
        if (id == imageId) out.push_back(holder);
    return out;
}

std::vector<std::string> ImageStore::sweepHolds(const std::function<bool(const std::string&)>& exists) {
    std::vector<std::string> dropped;
    for (const auto& [holder, image] : holds()) {
        if (exists(holder)) continue;
        dropHold(holder);
        dropped.push_back(holder);
    }
    return dropped;
}

std::vector<std::pair<std::string, Digest>> ImageStore::holds() const {
    std::vector<std::pair<std::string, Digest>> out;
    for (const auto& name : listDir(path("holds"))) {
        if (name.find(".tmp-") != std::string::npos) continue;
        std::string text;
        if (!fs::readFileIfExists(path("holds/" + name), text)) continue;
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        if (auto d = Digest::tryParse(text)) out.emplace_back(name, *d);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Deletion

namespace {
// docker's isSingleReference: at most one tag, and all references in one repository.
bool isSingleReference(const std::vector<detail::RefParts>& refs) {
    int tags = 0;
    std::set<std::string> repos;
    for (const auto& r : refs) {
        if (r.digest.empty()) ++tags;
        repos.insert(r.repository);
    }
    return tags <= 1 && repos.size() <= 1;
}

std::vector<detail::RefParts> refsOf(const Index& idx, const Digest& id) {
    std::vector<detail::RefParts> out;
    for (const auto& [key, target] : idx.refs)
        if (target == id) out.push_back(detail::splitRefKey(key));
    return out;
}

std::string familiarOf(const detail::RefParts& r) {
    return detail::familiarName(r.repository) + (r.digest.empty() ? ":" + r.tag : "@" + r.digest);
}
}  // namespace

std::vector<DeleteRecord> ImageStore::remove(const std::string& nameOrId, bool force, bool prune) {
    (void)prune;  // no parent images in this store: --no-prune changes nothing
    std::vector<DeleteRecord> out;
    // GC lock exclusive: no pull is between its first layer and its name, no run between
    // find() and addHold(); then the index lock for the read-modify-write.
    FileLock gc = lockGcExclusive(root_);
    IndexLock lock(root_);
    Index idx = loadIndex();

    std::string shown = nameOrId;
    std::optional<registry::Reference> asRef;
    bool idGiven = false;
    auto id = lookup(idx, nameOrId);
    if (!id) {
        try {
            auto r = registry::Reference::parse(nameOrId);
            shown = detail::familiarName(r.repository()) + (r.digest.empty() ? ":" + r.tag : "@" + r.digest.str());
        } catch (...) {
        }
        noSuchImage(shown);
    }
    // Given as an ID if it is not an exact name in the index.
    {
        try {
            asRef = registry::Reference::parse(nameOrId);
        } catch (...) {
        }
        idGiven = !asRef || !idx.refs.count(detail::refKey(*asRef));
        if (asRef && !asRef->digest.empty() && !idx.refs.count(detail::refKey(*asRef))) idGiven = true;
    }

    auto holders = holdersOf(*id);
    auto refs = refsOf(idx, *id);
    bool removedByName = false;

    if (!idGiven) {
        std::string key = detail::refKey(*asRef);
        auto given = detail::splitRefKey(key);
        if (!force && isSingleReference(refs) && !holders.empty())
            throw Error("conflict: unable to remove repository reference \"" + nameOrId + "\" (must force) - container " +
                            holders.front().substr(0, 12) + " is using its referenced image " + id->shortHex(),
                        1);
        idx.refs.erase(key);
        out.push_back({DeleteRecord::Untagged, familiarOf(given)});
        refs = refsOf(idx, *id);
        // A tag removed and no other tag of that repository left: its digest refs go too.
        if (given.digest.empty()) {
            bool tagLeft = std::any_of(refs.begin(), refs.end(), [&](const detail::RefParts& r) {
                return r.digest.empty() && r.repository == given.repository;
            });
            if (!tagLeft) {
                for (const auto& r : refs) {
                    if (r.digest.empty() || r.repository != given.repository) continue;
                    idx.refs.erase(detail::joinRefKey(r));
                    out.push_back({DeleteRecord::Untagged, familiarOf(r)});
                }
                refs = refsOf(idx, *id);
            }
        }
        if (!refs.empty()) {
            saveIndex(idx);
            return out;
        }
        removedByName = true;
    } else if (!isSingleReference(refs) && !force) {
        throw Error("conflict: unable to delete " + id->shortHex() +
                        " (must be forced) - image is referenced in multiple repositories",
                    1);
    }

    if (!holders.empty() && !removedByName) {
        if (!force)
            throw Error("conflict: unable to delete " + id->shortHex() + " (must be forced) - image is being used by container " +
                            holders.front().substr(0, 12),
                        1);
    }
    // Untag everything left.
    for (const auto& r : refsOf(idx, *id)) {
        idx.refs.erase(detail::joinRefKey(r));
        out.push_back({DeleteRecord::Untagged, familiarOf(r)});
    }
    if (!holders.empty()) {
        // Forced while a container uses it: untagged only; the image (and its layers) stay,
        // dangling, until the last hold goes and a prune collects it.
        saveIndex(idx);
        return out;
    }
    IndexImage gone = idx.images.at(*id);
    idx.images.erase(*id);
    saveIndex(idx);  // the image is gone from the index before any of its files is deleted
    out.push_back({DeleteRecord::Deleted, id->str()});
    for (auto& d : collect(idx, &gone, nullptr)) out.push_back({DeleteRecord::Deleted, d.str()});
    return out;
}

std::vector<Digest> ImageStore::collect(const Index& idx, const IndexImage* only, std::int64_t* reclaimed) {
    // Caller holds the GC lock exclusively and has saved `idx`.
    std::set<Digest> liveLayers, liveBlobs;
    for (const auto& [id, ii] : idx.images) {
        liveBlobs.insert(id);
        for (const auto& m : ii.manifests) liveBlobs.insert(m);
        for (const auto& b : ii.extraBlobs) liveBlobs.insert(b);
        for (const auto& l : ii.layers) liveLayers.insert(l);
    }
    for (const auto& [key, target] : idx.refs) {
        (void)target;
        auto r = detail::splitRefKey(key);
        if (auto d = Digest::tryParse(r.digest)) liveBlobs.insert(*d);
    }
    std::vector<Digest> deletedLayers;
    auto dropLayer = [&](const Digest& d) {
        std::string dir = path("layers/" + d.hex());
        if (!fs::exists(dir)) return;
        if (reclaimed)
            if (auto rec = layerRecord(d)) *reclaimed += rec->size;
        // Rename into trash/ first: a crash mid-delete leaves garbage, never a half layer.
        std::string t = path("trash/" + d.hex() + "-" + randomSuffix());
        if (::rename(dir.c_str(), t.c_str()) != 0) throwErrno("rename " + dir + " to " + t);
        removeQuiet(t);
        deletedLayers.push_back(d);
    };
    if (only) {
        // docker's order: top layer first.
        std::set<Digest> seen;
        for (auto it = only->layers.rbegin(); it != only->layers.rend(); ++it) {
            if (liveLayers.count(*it) || !seen.insert(*it).second) continue;
            dropLayer(*it);
        }
    } else {
        for (const auto& name : listDir(path("layers"))) {
            if (!isHex64(name)) continue;
            auto d = Digest::sha256OfHex(name);
            if (!liveLayers.count(d)) dropLayer(d);
        }
    }
    for (const auto& name : listDir(path("blobs/sha256"))) {
        if (!isHex64(name)) continue;
        auto d = Digest::sha256OfHex(name);
        if (liveBlobs.count(d)) continue;
        std::string p = path("blobs/sha256/" + name);
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) throwErrno("remove " + p);
    }
    // Layer locks of absent layers: no pull runs (GC lock), so nobody has them open.
    for (const auto& name : listDir(path("locks"))) {
        if (name.rfind("layer-", 0) != 0) continue;
        std::string hex = name.substr(6, 64);
        if (isHex64(hex) && !fs::exists(path("layers/" + hex))) ::unlink(path("locks/" + name).c_str());
    }
    return deletedLayers;
}

std::vector<DeleteRecord> ImageStore::prune(bool all, std::int64_t* reclaimed) {
    std::vector<DeleteRecord> out;
    FileLock gc = lockGcExclusive(root_);
    IndexLock lock(root_);
    Index idx = loadIndex();
    std::set<Digest> held;
    for (const auto& [h, id] : holds()) {
        (void)h;
        held.insert(id);
    }
    std::vector<Digest> victims;
    for (const auto& [id, ii] : idx.images) {
        (void)ii;
        if (held.count(id)) continue;
        auto refs = refsOf(idx, id);
        bool tagged = std::any_of(refs.begin(), refs.end(), [](const detail::RefParts& r) { return r.digest.empty(); });
        if (all || !tagged) victims.push_back(id);
    }
    for (const auto& id : victims) {
        for (const auto& r : refsOf(idx, id)) {
            idx.refs.erase(detail::joinRefKey(r));
            out.push_back({DeleteRecord::Untagged, familiarOf(r)});
        }
        idx.images.erase(id);
        out.push_back({DeleteRecord::Deleted, id.str()});
    }
    saveIndex(idx);
    for (auto& d : collect(idx, nullptr, reclaimed)) out.push_back({DeleteRecord::Deleted, d.str()});
    return out;
}

// ---------------------------------------------------------------------------------------------
// Faults

std::vector<std::string> ImageStore::leftovers() const {
    std::vector<std::string> out;
    for (const char* d : {"ingest", "staging", "trash"})
        for (const auto& n : listDir(path(d))) out.push_back(path(std::string(d) + "/" + n));
    // Temp files of writeFileAtomic ("<name>.tmp-<pid>-<n>") next to the index and holds.
    for (const char* d : {"", "holds"})
        for (const auto& n : listDir(path(d)))
            if (n.find(".tmp-") != std::string::npos) out.push_back(path(std::string(d) + "/" + n));
    return out;
}

void ImageStore::sweepGarbage() const {
    try {
        // Every pull holds the GC lock shared from before it creates anything: if we can take
        // it exclusively, whatever lies in ingest/staging/trash belongs to a dead process.
        FileLock gc = FileLock::tryLock(path("locks/gc.lock"), FileLock::Mode::Exclusive);
        if (!gc) return;
        FileLock idx = FileLock::tryLock(path("locks/index.lock"), FileLock::Mode::Exclusive);
        for (const auto& p : leftovers()) {
            // Index temp files are only garbage when no writer holds the index lock.
            if (!idx && p.find(".tmp-") != std::string::npos) continue;
            log::debug("removing leftover " + p);
            removeQuiet(p);
        }
    } catch (const std::exception& e) {
        log::debug(std::string("garbage sweep skipped: ") + e.what());
    }
}

std::vector<CheckFinding> ImageStore::check(bool repair) {
    std::vector<CheckFinding> out;
    auto report = [&](const std::string& problem, bool fixed) { out.push_back({problem, fixed}); };
    FileLock gc = lockGcExclusive(root_);
    IndexLock lock(root_);

    // 1. Leftovers: not a broken invariant, just removed (we hold the GC lock).
    for (const auto& p : leftovers()) removeQuiet(p);

    // 2. The index parses.
    Index idx;
    bool indexDirty = false;
    try {
        idx = loadIndex();
    } catch (const std::exception& e) {
        if (repair) {
            std::string aside = path("images.json.corrupt-" + std::to_string(std::time(nullptr)));
            ::rename(path("images.json").c_str(), aside.c_str());
            report(std::string(e.what()) + " (moved aside to " + aside + ", names lost)", true);
            indexDirty = true;
        } else {
            report(e.what(), false);
            return out;  // nothing else can be checked against a broken index
        }
    }

    // 3. Every blob matches its name.
    std::set<Digest> goodBlobs;
    for (const auto& name : listDir(path("blobs/sha256"))) {
        std::string p = path("blobs/sha256/" + name);
        if (!isHex64(name)) {
            if (repair) removeQuiet(p);
            report("stray file " + p, repair);
            continue;
        }
        std::string data;
        fs::readFileIfExists(p, data);
        Digest got = Digest::sha256Of(data);
        if (got.hex() != name) {
            if (repair) ::unlink(p.c_str());
            report("blob sha256:" + name + " is corrupt (its content has digest " + got.str() + ")", repair);
            continue;
        }
        goodBlobs.insert(got);
    }

    // 4. Every layer dir is complete and named for its DiffID.
    std::set<Digest> goodLayers;
    for (const auto& name : listDir(path("layers"))) {
        std::string p = path("layers/" + name);
        std::optional<LayerRecord> rec;
        if (isHex64(name)) {
            try {
                rec = layerRecord(Digest::sha256OfHex(name));
            } catch (const std::exception&) {
            }
        }
        if (!rec || rec->diffId.hex() != name || !fs::isDir(p + "/root")) {
            if (repair) removeQuiet(p);
            report("layer dir " + p + " is incomplete or misnamed", repair);
            continue;
        }
        goodLayers.insert(rec->diffId);
    }

    // 5. Every image's config, manifests and layers are present and agree.
    std::vector<Digest> badImages;
    for (const auto& [id, ii] : idx.images) {
        std::string why;
        if (!goodBlobs.count(id)) why = "config blob missing";
        else {
            try {
                auto cfg = registry::parseImageConfig(readBlob(id));
                if (cfg.diffIds != ii.layers) why = "layer list disagrees with its config";
            } catch (const std::exception& e) {
                why = std::string("config unreadable: ") + e.what();
            }
        }
        for (const auto& m : ii.manifests) {
            if (!why.empty()) break;
            if (!goodBlobs.count(m)) why = "manifest blob " + m.str() + " missing";
            else {
                try {
                    auto man = registry::parseManifest(readBlob(m));
                    if (man.config.digest != id) why = "manifest " + m.str() + " names another config";
                } catch (const std::exception& e) {
                    why = "manifest " + m.str() + " unreadable: " + e.what();
                }
            }
        }
        for (const auto& l : ii.layers) {
            if (!why.empty()) break;
            if (!goodLayers.count(l)) why = "layer " + l.str() + " missing";
        }
        if (!why.empty()) {
            badImages.push_back(id);
            report("image " + id.shortHex() + ": " + why, repair);
        }
    }
    for (const auto& id : badImages) {
        if (!repair) continue;
        idx.images.erase(id);
        indexDirty = true;
    }

    // 6. No reference dangles.
    for (auto it = idx.refs.begin(); it != idx.refs.end();) {
        if (!idx.images.count(it->second)) {
            bool alreadyReported = std::find(badImages.begin(), badImages.end(), it->second) != badImages.end();
            if (!alreadyReported) report("reference " + it->first + " names a missing image " + it->second.shortHex(), repair);
            if (repair) {
                it = idx.refs.erase(it);
                indexDirty = true;
                continue;
            }
        }
        ++it;
    }

    // 7. Holds name images that exist (a container's; reported, never removed here).
    for (const auto& [holder, id] : holds())
        if (!idx.images.count(id)) report("container " + holder + " holds a missing image " + id.shortHex(), false);

    if (repair && indexDirty) saveIndex(idx);
    return out;
}

}  // namespace mydock::image
