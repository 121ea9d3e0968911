// The image store without a network: index, find, holds, GC, crash leftovers, system check,
// and the Puller driven by a fake registry of hand-made tar layers.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/lock.h"
#include "image/image_store.h"
#include "image/puller.h"
#include "image/store_index.h"
#include "store_fixture.h"

namespace mydock::image {
namespace {

using testing::FakeImage;
using testing::FakeRegistry;
using testing::makeImage;

registry::Reference ref(const std::string& s) { return registry::Reference::parse(s); }

struct Recorder : PullObserver {
    std::vector<std::pair<std::string, LayerStatus>> events;
    void onLayer(const std::string& id, LayerStatus s, std::int64_t, std::int64_t) override { events.emplace_back(id, s); }
    int count(LayerStatus s) const {
        int n = 0;
        for (const auto& e : events) n += e.second == s;
        return n;
    }
};

class StoreTest : public ::testing::Test {
protected:
    fs::TempDir tmp{"/tmp", "mydock-store-test-"};
    std::string root = tmp.path() + "/root";
    FakeRegistry reg;

    FakeImage base = makeImage({{{"bin/sh", "shell"}}, {{"etc/os", "base"}}});
    FakeImage appA = makeImage({{{"bin/sh", "shell"}}, {{"etc/os", "base"}}, {{"app", "a"}}}, "a");
    FakeImage appB = makeImage({{{"bin/sh", "shell"}}, {{"etc/os", "base"}}, {{"app", "b"}}}, "b");

    PullResult pull(ImageStore& store, const std::string& name, PullObserver* obs = nullptr) {
        Puller p(store, reg);
        return p.pull(ref(name), obs);
    }
    std::size_t countDir(const std::string& rel) {
        std::size_t n = 0;
        if (auto* d = ::opendir((root + "/" + rel).c_str())) {
            while (auto* e = ::readdir(d))
                if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
            ::closedir(d);
        }
        return n;
    }
};

TEST_F(StoreTest, IndexRoundTrip) {
    fs::makeDirs(root);
    detail::Index idx;
    auto& ii = idx.images[base.configDigest];
    ii.manifests = {base.manifestDigest};
    ii.layers = base.diffIds;
    ii.added = 42;
    ii.extraBlobs.insert(appA.manifestDigest);
    idx.refs["docker.io/library/busybox:latest"] = base.configDigest;
    idx.refs["127.0.0.1:5000/a/b@" + base.manifestDigest.str()] = base.configDigest;
    detail::saveIndex(root + "/images.json", idx);
    auto back = detail::loadIndex(root + "/images.json");
    ASSERT_EQ(back.images.size(), 1u);
    EXPECT_EQ(back.images.at(base.configDigest).manifests, ii.manifests);
    EXPECT_EQ(back.images.at(base.configDigest).layers, ii.layers);
    EXPECT_EQ(back.images.at(base.configDigest).added, 42);
    EXPECT_EQ(back.images.at(base.configDigest).extraBlobs, ii.extraBlobs);
    EXPECT_EQ(back.refs, idx.refs);

    auto parts = detail::splitRefKey("127.0.0.1:5000/a/b:v1");
    EXPECT_EQ(parts.repository, "127.0.0.1:5000/a/b");
    EXPECT_EQ(parts.tag, "v1");
    EXPECT_EQ(detail::familiarName("docker.io/library/busybox"), "busybox");
    EXPECT_EQ(detail::familiarName("docker.io/user/repo"), "user/repo");
    EXPECT_EQ(detail::familiarName("host:5000/library/x"), "host:5000/library/x");

    fs::writeFileAtomic(root + "/images.json", "{not json");
    EXPECT_THROW(detail::loadIndex(root + "/images.json"), Error);
}

TEST_F(StoreTest, PullThenFindByEveryName) {
    reg.add(ref("example.com/team/base:1"), base);
    ImageStore store(root);
    Recorder rec;
    auto res = pull(store, "example.com/team/base:1", &rec);
    EXPECT_TRUE(res.newer);
    EXPECT_EQ(res.image.id, base.configDigest);
    EXPECT_EQ(rec.count(LayerStatus::PullComplete), 2);
    ASSERT_EQ(res.image.layers.size(), 2u);
    EXPECT_EQ(fs::readFile(res.image.layers[0].dir + "/bin/sh"), "shell");
    EXPECT_EQ(res.image.size, 5 + 4);

    for (const std::string& name :
         {std::string("example.com/team/base:1"), "example.com/team/base@" + base.manifestDigest.str(),
          base.configDigest.str(), base.configDigest.hex(), base.configDigest.shortHex(), base.configDigest.hex().substr(0, 4),
          "sha256:" + base.configDigest.hex().substr(0, 8)}) {
        auto img = store.find(name);
        ASSERT_TRUE(img) << name;
        EXPECT_EQ(img->id, base.configDigest) << name;
    }
    EXPECT_FALSE(store.find("example.com/team/base:2"));
    EXPECT_FALSE(store.find("example.com/team/base"));   // :latest
    EXPECT_FALSE(store.find("nosuch"));
    EXPECT_FALSE(store.find(""));
    EXPECT_FALSE(store.find("sha256:zz"));
    auto img = store.find("example.com/team/base:1");
    EXPECT_EQ(img->repoTags, std::vector<std::string>{"example.com/team/base:1"});
    EXPECT_EQ(img->repoDigests, std::vector<std::string>{"example.com/team/base@" + base.manifestDigest.str()});

    // Again: nothing downloaded, "Already exists", up to date.
    Recorder rec2;
    auto again = pull(store, "example.com/team/base:1", &rec2);
    EXPECT_FALSE(again.newer);
    EXPECT_EQ(rec2.count(LayerStatus::AlreadyExists), 2);
    EXPECT_EQ(reg.blobFetches(base.diffIds[0]), 1);

    // Tag, then find by the new name; docker's familiar names.
    store.tag("example.com/team/base:1", "busybox");
    auto t = store.find("docker.io/library/busybox:latest");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->id, base.configDigest);
    EXPECT_THROW(store.tag("nosuch:1", "x"), Error);
}

TEST_F(StoreTest, SharedLayersAreStoredOnceAndSurviveRmi) {
    reg.add(ref("r/a:latest"), appA);
    reg.add(ref("r/b:latest"), appB);
    ImageStore store(root);
    pull(store, "r/a");
    Recorder rec;
    pull(store, "r/b", &rec);
    EXPECT_EQ(rec.count(LayerStatus::AlreadyExists), 2);
    EXPECT_EQ(countDir("layers"), 4u);
    EXPECT_EQ(reg.blobFetches(appA.diffIds[0]), 1);

    auto recs = store.remove("r/a", false, true);
    ASSERT_GE(recs.size(), 3u);
    EXPECT_EQ(recs[0].kind, DeleteRecord::Untagged);
    EXPECT_EQ(recs[0].what, "r/a:latest");
    EXPECT_EQ(recs[1].what, "r/a@" + appA.manifestDigest.str());
    EXPECT_EQ(recs[2].kind, DeleteRecord::Deleted);
    EXPECT_EQ(recs[2].what, appA.configDigest.str());
    ASSERT_EQ(recs.size(), 4u);   // only A's own top layer goes
    EXPECT_EQ(recs[3].what, appA.diffIds[2].str());
    EXPECT_EQ(countDir("layers"), 3u);
    EXPECT_TRUE(store.hasLayer(appB.diffIds[0]));
    EXPECT_FALSE(store.hasBlob(appA.configDigest));
    EXPECT_TRUE(store.hasBlob(appB.configDigest));
    auto b = store.find("r/b");
    ASSERT_TRUE(b);
    EXPECT_EQ(fs::readFile(b->layers[2].dir + "/app"), "b");
    EXPECT_TRUE(store.check(false).empty());

    try {
        store.remove("r/a", false, true);
        FAIL() << "expected No such image";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "No such image: r/a:latest");
        EXPECT_EQ(e.exitCode(), 1);
    }
}

TEST_F(StoreTest, RmiByIdWithTwoRepositoriesNeedsForce) {
    reg.add(ref("r/a:latest"), appA);
    ImageStore store(root);
    pull(store, "r/a");
    store.tag("r/a", "other/name:1");
    EXPECT_THROW(store.remove(appA.configDigest.shortHex(), false, true), Error);
    auto recs = store.remove(appA.configDigest.shortHex(), true, true);
    EXPECT_FALSE(store.find(appA.configDigest.str()));
    EXPECT_EQ(countDir("layers"), 0u);
    EXPECT_EQ(countDir("blobs/sha256"), 0u);
}

TEST_F(StoreTest, HoldsBlockRmiAndForceNeverDeletesHeldLayers) {
    reg.add(ref("r/a:latest"), appA);
    ImageStore store(root);
    pull(store, "r/a");
    std::string ctr(64, 'c');
    {
        ImageStore::UseGuard g(store);
        auto img = store.find("r/a");
        ASSERT_TRUE(img);
        store.addHold(ctr, img->id);
    }
    EXPECT_EQ(store.holdersOf(appA.configDigest), std::vector<std::string>{ctr});
    try {
        store.remove("r/a", false, true);
        FAIL() << "expected a conflict";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "conflict: unable to remove repository reference \"r/a\" (must force) - container cccccccccccc is using "
                  "its referenced image " +
                      appA.configDigest.shortHex());
        EXPECT_EQ(e.exitCode(), 1);
    }
    auto recs = store.remove("r/a", true, true);
    for (const auto& r : recs) EXPECT_EQ(r.kind, DeleteRecord::Untagged);
    EXPECT_EQ(countDir("layers"), 3u);      // still held
    store.prune(true);
    EXPECT_EQ(countDir("layers"), 3u);      // prune leaves held images too
    auto dangling = store.find(appA.configDigest.str());
    ASSERT_TRUE(dangling);
    EXPECT_TRUE(dangling->repoTags.empty());

    store.dropHold(ctr);
    EXPECT_TRUE(store.holdersOf(appA.configDigest).empty());
    auto pr = store.prune(false);           // dangling now: collected
    EXPECT_FALSE(pr.empty());
    EXPECT_EQ(countDir("layers"), 0u);
    EXPECT_THROW(store.addHold("../x", appA.configDigest), Error);
    EXPECT_THROW(store.addHold("c2", appA.configDigest), Error);   // no such image any more
}

TEST_F(StoreTest, FailedLayerCancelsThePullCleanly) {
    reg.add(ref("r/a:latest"), appA);
    reg.failBlob(appA.diffIds[1]);
    ImageStore store(root);
    EXPECT_THROW(pull(store, "r/a"), Error);
    EXPECT_FALSE(store.find("r/a"));
    EXPECT_EQ(countDir("staging"), 0u);
    EXPECT_EQ(countDir("ingest"), 0u);
    EXPECT_FALSE(store.hasLayer(appA.diffIds[1]));
    // Completed layers may stay as cache; prune collects them.
    store.prune(false);
    EXPECT_EQ(countDir("layers"), 0u);
    EXPECT_TRUE(store.check(false).empty());
}

TEST_F(StoreTest, DiffIdMismatchIsRefused) {
    // A config whose diff_ids lie about the layer content.
    FakeImage bad = makeImage({{{"x", "1"}}});
    FakeImage other = makeImage({{{"y", "2"}}});
    auto cfg = nlohmann::json::parse(bad.config);
    cfg["rootfs"]["diff_ids"][0] = other.diffIds[0].str();
    bad.config = cfg.dump();
    bad.configDigest = Digest::sha256Of(bad.config);
    auto man = nlohmann::json::parse(bad.manifest);
    man["config"]["digest"] = bad.configDigest.str();
    man["config"]["size"] = bad.config.size();
    bad.manifest = man.dump();
    bad.manifestDigest = Digest::sha256Of(bad.manifest);
    reg.add(ref("r/bad:latest"), bad);
    ImageStore store(root);
    try {
        pull(store, "r/bad");
        FAIL() << "expected a DiffID error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("DiffID"), std::string::npos) << e.what();
    }
    EXPECT_EQ(countDir("layers"), 0u);
    EXPECT_EQ(countDir("staging"), 0u);
    EXPECT_FALSE(store.find("r/bad"));
}

TEST_F(StoreTest, CrashLeftoversAreSweptOnlyWhenNoPullRuns) {
    {
        ImageStore store(root);
    }
    auto touch = [&](const std::string& rel) { fs::writeFileAtomic(root + "/" + rel, "junk", false); };
    fs::makeDirs(root + "/staging/999-abc/root/deep");
    touch("staging/999-abc/root/deep/f");
    touch("ingest/999-def");
    fs::makeDirs(root + "/trash/xyz");
    touch("images.json.tmp-999-1");
    {
        // A pull in progress (another process's shared GC lock): nothing is touched.
        FileLock pullLock(root + "/locks/gc.lock", FileLock::Mode::Shared);
        ImageStore store(root);
        EXPECT_EQ(countDir("staging"), 1u);
        EXPECT_EQ(countDir("ingest"), 1u);
    }
    ImageStore store(root);
    EXPECT_EQ(countDir("staging"), 0u);
    EXPECT_EQ(countDir("ingest"), 0u);
    EXPECT_EQ(countDir("trash"), 0u);
    EXPECT_FALSE(fs::exists(root + "/images.json.tmp-999-1"));
}

TEST_F(StoreTest, CheckFindsAndRepairsCorruption) {
    reg.add(ref("r/a:latest"), appA);
    reg.add(ref("r/b:latest"), appB);
    ImageStore store(root);
    pull(store, "r/a");
    pull(store, "r/b");
    EXPECT_TRUE(store.check(false).empty());

    // Flip a byte of A's config blob, remove one of B's layers.
    std::string p = store.blobPath(appA.configDigest);
    ::chmod(p.c_str(), 0644);
    std::string data = fs::readFile(p);
    data[0] ^= 1;
    fs::writeFileAtomic(p, data);
    fs::removeTree(root + "/layers/" + appB.diffIds[2].hex());

    auto found = store.check(false);
    ASSERT_GE(found.size(), 3u);   // the blob, image A, image B
    for (const auto& f : found) EXPECT_FALSE(f.repaired) << f.problem;
    bool blobSeen = false;
    for (const auto& f : found) blobSeen |= f.problem.find("is corrupt") != std::string::npos;
    EXPECT_TRUE(blobSeen);

    auto fixed = store.check(true);
    for (const auto& f : fixed) EXPECT_TRUE(f.repaired) << f.problem;
    EXPECT_TRUE(store.check(false).empty());
    EXPECT_FALSE(store.find("r/a"));
    EXPECT_FALSE(store.find("r/b"));
    // A re-pull heals everything.
    pull(store, "r/b");
    EXPECT_TRUE(store.find("r/b"));
    EXPECT_TRUE(store.check(false).empty());
}

TEST_F(StoreTest, ARePullHealsADamagedBlob) {
    reg.add(ref("r/a:latest"), appA);
    ImageStore store(root);
    pull(store, "r/a");
    std::string p = store.blobPath(appA.configDigest);
    fs::writeFileAtomic(p, "garbage");
    EXPECT_FALSE(store.check(false).empty());
    pull(store, "r/a");
    EXPECT_EQ(fs::readFile(p), appA.config);
    EXPECT_TRUE(store.check(false).empty());
}

TEST_F(StoreTest, CheckRepairsAnUnparsableIndex) {
    reg.add(ref("r/a:latest"), appA);
    ImageStore store(root);
    pull(store, "r/a");
    fs::writeFileAtomic(root + "/images.json", "{broken");
    EXPECT_THROW(store.list(), Error);
    auto found = store.check(false);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_FALSE(found[0].repaired);
    store.check(true);
    EXPECT_TRUE(store.list().empty());
    EXPECT_TRUE(store.check(false).empty());
}

TEST_F(StoreTest, ConcurrentPullsOfOneImageDownloadEachLayerOnce) {
    reg.add(ref("r/a:latest"), appA);
    ImageStore store(root);
    std::vector<std::thread> ts;
    std::atomic<int> ok{0};
    for (int i = 0; i < 6; ++i)
        ts.emplace_back([&] {
            ImageStore s(root);
            Puller p(s, reg);
            p.pull(ref("r/a"));
            ++ok;
        });
    for (auto& t : ts) t.join();
    EXPECT_EQ(ok.load(), 6);
    for (const auto& d : appA.diffIds) EXPECT_EQ(reg.blobFetches(d), 1) << d.str();
    EXPECT_TRUE(store.check(false).empty());
}

}  // namespace
}  // namespace mydock::image
