// The puller: see puller.h. One thread per missing layer, at most opts.maxConcurrent of them
// downloading at once; the first failure cancels the others and the image is not named.
#include "image/puller.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "image/layer_unpack.h"

namespace mydock::image {

const char* statusText(LayerStatus s) {
    switch (s) {
        case LayerStatus::Waiting: return "Waiting";
        case LayerStatus::PullingFsLayer: return "Pulling fs layer";
        case LayerStatus::Downloading: return "Downloading";
        case LayerStatus::VerifyingChecksum: return "Verifying Checksum";
        case LayerStatus::DownloadComplete: return "Download complete";
        case LayerStatus::Extracting: return "Extracting";
        case LayerStatus::PullComplete: return "Pull complete";
        case LayerStatus::AlreadyExists: return "Already exists";
    }
    return "";
}

namespace {

// Thrown into a layer's transfer when another layer failed; never the error reported.
struct Cancelled : std::runtime_error {
    Cancelled() : std::runtime_error("cancelled") {}
};

// Collects a small blob (a config) in memory, bounded.
class StringSink : public registry::BlobSink {
public:
    explicit StringSink(std::int64_t max) : max_(max) {}
    void write(const char* data, std::size_t n) override {
        if (static_cast<std::int64_t>(data_.size() + n) > max_) throw Error("blob larger than its declared size");
        data_.append(data, n);
    }
    void restart() override { data_.clear(); }
    std::string data_;

private:
    std::int64_t max_;
};

// Passes bytes to the unpacker unless the pull was cancelled.
class CancellableSink : public registry::BlobSink {
public:
    CancellableSink(registry::BlobSink& inner, const std::atomic<bool>& cancel) : inner_(inner), cancel_(cancel) {}
    void write(const char* data, std::size_t n) override {
        if (cancel_.load()) throw Cancelled();
        inner_.write(data, n);
    }
    void restart() override { inner_.restart(); }

private:
    registry::BlobSink& inner_;
    const std::atomic<bool>& cancel_;
};

// Serialises observer calls from the layer threads.
class SerialObserver {
public:
    explicit SerialObserver(PullObserver* o) : o_(o) {}
    void resolved(const registry::Reference& r) {
        if (!o_) return;
        std::lock_guard g(m_);
        o_->onResolved(r);
    }
    void layer(const std::string& id, LayerStatus s, std::int64_t done = 0, std::int64_t total = 0) {
        if (!o_) return;
        std::lock_guard g(m_);
        o_->onLayer(id, s, done, total);
    }

private:
    PullObserver* o_;
    std::mutex m_;
};

// A counting semaphore whose waits give up when the pull is cancelled.
class Slots {
public:
    explicit Slots(int n) : free_(n) {}
    void acquire(const std::atomic<bool>& cancel) {
        std::unique_lock l(m_);
        while (free_ == 0) {
            if (cancel.load()) throw Cancelled();
            cv_.wait_for(l, std::chrono::milliseconds(100));
        }
        --free_;
    }
    void release() {
        {
            std::lock_guard g(m_);
            ++free_;
        }
        cv_.notify_one();
    }
    bool available() {
        std::lock_guard g(m_);
        return free_ > 0;
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int free_;
};

struct SlotGuard {
    Slots* s = nullptr;
    ~SlotGuard() {
        if (s) s->release();
    }
    void release() {
        if (s) s->release();
        s = nullptr;
    }
};

struct LayerJob {
    registry::Descriptor desc;
    Digest diffId;
    std::string id;   // docker's 12-hex id
};

}  // namespace

Puller::Puller(ImageStore& store, BlobSource& source, PullOptions opts)
    : store_(store), source_(source), opts_(std::move(opts)) {}

PullResult Puller::pull(const registry::Reference& ref, PullObserver* observer) {
    // Shared GC lock for the whole pull: rmi/prune cannot delete a layer or blob this pull
    // relies on, and sweepGarbage() leaves our ingest/staging files alone.
    ImageStore::UseGuard guard(store_);
    SerialObserver obs(observer);

    // 1. Resolve: tag or digest -> (index ->) platform manifest.
    registry::FetchedManifest top = source_.getManifest(ref, ref.tagOrDigest());
    registry::FetchedManifest mf = top;
    bool viaIndex = false;
    if (registry::classifyManifest(top.mediaType, top.body) == registry::ManifestKind::Index) {
        viaIndex = true;
        auto index = registry::parseIndex(top.body);
        const registry::Descriptor* d = index.select(opts_.platform);
        if (!d) throw Error("no matching manifest for " + opts_.platform.str() + " in the manifest list entries");
        mf = source_.getManifest(ref, d->digest.str());
        if (mf.digest != d->digest)
            throw Error("manifest " + d->digest.str() + " of " + ref.string() + " has digest " + mf.digest.str());
        if (registry::classifyManifest(mf.mediaType, mf.body) != registry::ManifestKind::Manifest)
            throw Error("manifest list entry " + d->digest.str() + " of " + ref.string() + " is not an image manifest");
    }
    registry::Manifest man = registry::parseManifest(mf.body);
    obs.resolved(ref);

    // 2. The config (small, in memory) and the blobs, verified and stored.
    std::string cfgBody;
    if (store_.hasBlob(man.config.digest)) cfgBody = store_.readBlob(man.config.digest);
    if (cfgBody.empty() || Digest::sha256Of(cfgBody) != man.config.digest) {   // absent or damaged
        if (man.config.size > opts_.maxConfigBytes || man.config.size < 0)
            throw Error("image config " + man.config.digest.str() + " is too large (" + std::to_string(man.config.size) +
                        " bytes)");
        StringSink sink(man.config.size);
        try {
            source_.getBlob(ref, man.config, sink, {});
        } catch (...) {
            rethrowWithContext("image config " + man.config.digest.str());
        }
        cfgBody = std::move(sink.data_);
    }
    registry::ImageConfig cfg = registry::parseImageConfig(cfgBody);
    if (cfg.diffIds.size() != man.layers.size())
        throw Error("image " + ref.familiar() + ": manifest lists " + std::to_string(man.layers.size()) +
                    " layers but its config " + std::to_string(cfg.diffIds.size()) + " diff_ids");
    if (opts_.platformGiven && !viaIndex &&
        !opts_.platform.matches(registry::Platform{cfg.os, cfg.architecture, cfg.variant}))
        throw Error("image with reference " + ref.familiar() + " was found but does not match the specified platform: wanted " +
                    opts_.platform.str() + ", actual: " + registry::Platform{cfg.os, cfg.architecture, cfg.variant}.str());
    if (viaIndex) store_.putBlob(top.digest, top.body);
    store_.putBlob(mf.digest, mf.body);
    store_.putBlob(man.config.digest, cfgBody, man.config.size);

    // 3. Layers: all missing ones in flight at once, each unpacked once per root.
    std::vector<LayerJob> jobs;
    std::set<Digest> scheduled;
    for (std::size_t i = 0; i < man.layers.size(); ++i) {
        const auto& desc = man.layers[i];
        const Digest& diffId = cfg.diffIds[i];
        std::string id = desc.digest.shortHex();
        if (store_.hasLayer(diffId)) {
            obs.layer(id, LayerStatus::AlreadyExists);
            continue;
        }
        if (!scheduled.insert(diffId).second) continue;  // the same layer twice in one image
        obs.layer(id, LayerStatus::PullingFsLayer);
        jobs.push_back({desc, diffId, id});
    }

    std::atomic<bool> cancel{false};
    std::mutex errMutex;
    std::exception_ptr firstError;
    Slots slots(std::max(1, opts_.maxConcurrent));

    auto fail = [&](std::exception_ptr e) {
        std::lock_guard g(errMutex);
        if (!firstError) firstError = e;
        cancel.store(true);
    };

    auto runJob = [&](const LayerJob& job) {
        try {
            // Per-layer lock: a concurrent pull of the same layer downloads it once; we wait
            // for it, then find the layer present.
            FileLock lk = store_.lockLayer(job.diffId, false);
            bool waiting = false;
            while (!lk) {
                if (!waiting) obs.layer(job.id, LayerStatus::Waiting);
                waiting = true;
                if (cancel.load()) throw Cancelled();
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                lk = store_.lockLayer(job.diffId, false);
            }
            if (store_.hasLayer(job.diffId)) {
                obs.layer(job.id, LayerStatus::AlreadyExists);
                return;
            }
            if (!slots.available() && !waiting) obs.layer(job.id, LayerStatus::Waiting);
            slots.acquire(cancel);
            SlotGuard slot{&slots};

            auto staging = store_.stageLayer();
            LayerUnpacker unpacker(staging.tree(), opts_.limits);
            CancellableSink sink(unpacker, cancel);
            auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
            std::int64_t lastDone = -1;
            auto progress = [&](std::int64_t done, std::int64_t total) {
                auto now = std::chrono::steady_clock::now();
                if (done == lastDone) return;
                if (done < total && now - last < std::chrono::milliseconds(100)) return;
                last = now;
                lastDone = done;
                obs.layer(job.id, LayerStatus::Downloading, done, total > 0 ? total : job.desc.size);
            };
            source_.getBlob(ref, job.desc, sink, progress);
            slot.release();
            obs.layer(job.id, LayerStatus::VerifyingChecksum);
            obs.layer(job.id, LayerStatus::DownloadComplete);
            obs.layer(job.id, LayerStatus::Extracting);
            UnpackResult r = unpacker.finish();
            if (r.diffId != job.diffId)
                throw Error("layer " + job.desc.digest.str() + ": unpacked content has DiffID " + r.diffId.str() +
                            " but the image config says " + job.diffId.str());
            LayerRecord rec;
            rec.diffId = job.diffId;
            rec.compressedDigest = job.desc.digest;
            rec.mediaType = job.desc.mediaType;
            rec.size = r.size;
            rec.entries = r.entries;
            staging.commit(rec);
            obs.layer(job.id, LayerStatus::PullComplete);
        } catch (const Cancelled&) {
            fail(nullptr);
        } catch (const Error& e) {
            fail(std::make_exception_ptr(Error("failed to pull layer " + job.id + ": " + e.what(), e.exitCode(), e.sysErrno())));
        } catch (const std::exception& e) {
            fail(std::make_exception_ptr(Error("failed to pull layer " + job.id + ": " + e.what())));
        }
    };

    {
        std::vector<std::thread> threads;
        threads.reserve(jobs.size());
        try {
            for (const auto& j : jobs) threads.emplace_back(runJob, std::cref(j));
        } catch (...) {
            fail(std::current_exception());
        }
        for (auto& t : threads) t.join();
    }
    if (cancel.load()) {
        if (firstError) std::rethrow_exception(firstError);
        throw Error("pull of " + ref.familiar() + " was cancelled");
    }

    // 4. The name, last.
    Digest previous = store_.commitImage(ref, top.digest, mf.digest, man.config.digest);
    PullResult res;
    res.ref = ref;
    res.digest = top.digest;
    res.newer = previous != man.config.digest;
    auto img = store_.find(man.config.digest.str());
    if (!img) throw Error("image " + man.config.digest.str() + " vanished right after its pull");
    res.image = std::move(*img);
    return res;
}

}  // namespace mydock::image
