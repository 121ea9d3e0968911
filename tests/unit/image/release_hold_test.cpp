// ImageStore::releaseHold: a container's removal drops its hold without opening the store (no
// layout creation, no leftover sweep), with the same effect and checks as dropHold().
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "store_fixture.h"

using namespace mydock;
using namespace mydock::image;
using namespace mydock::image::testing;

TEST(ReleaseHold, DropsTheHoldWithoutTouchingAnythingElse) {
    fs::TempDir tmp{"/tmp", "mydock-release-hold-test-"};
    const std::string root = tmp.path() + "/root";
    FakeRegistry reg;
    FakeImage img = makeImage({{{"bin/sh", "shell"}}});
    reg.add(registry::Reference::parse("r/a:latest"), img);
    {
        ImageStore store(root);
        Puller(store, reg).pull(registry::Reference::parse("r/a"));
        ImageStore::UseGuard g(store);
        store.addHold(std::string(64, 'c'), img.configDigest);
        store.addHold(std::string(64, 'd'), img.configDigest);
    }
    // A leftover the store's constructor would sweep: releaseHold leaves it (it does not open
    // the store), and the layout is not recreated.
    ASSERT_EQ(::mkdir((root + "/staging/123-dead").c_str(), 0700), 0);
    ASSERT_EQ(::rmdir((root + "/trash").c_str()), 0);

    ImageStore::releaseHold(root, std::string(64, 'c'));
    EXPECT_FALSE(fs::exists(root + "/holds/" + std::string(64, 'c')));
    EXPECT_TRUE(fs::exists(root + "/holds/" + std::string(64, 'd')));
    EXPECT_TRUE(fs::exists(root + "/staging/123-dead"));
    EXPECT_FALSE(fs::exists(root + "/trash"));

    // Missing holds (and a root with no store at all) are fine; bad names are refused.
    EXPECT_NO_THROW(ImageStore::releaseHold(root, std::string(64, 'c')));
    EXPECT_NO_THROW(ImageStore::releaseHold(tmp.path() + "/no-store", "x"));
    EXPECT_FALSE(fs::exists(tmp.path() + "/no-store"));
    EXPECT_THROW(ImageStore::releaseHold(root, "../images.json"), Error);
    EXPECT_THROW(ImageStore::releaseHold(root, ""), Error);
    EXPECT_TRUE(fs::exists(root + "/images.json"));

    ImageStore store(root);   // opening it sweeps and recreates as before
    EXPECT_FALSE(fs::exists(root + "/staging/123-dead"));
    EXPECT_TRUE(fs::exists(root + "/trash"));
    EXPECT_EQ(store.holdersOf(img.configDigest), std::vector<std::string>{std::string(64, 'd')});
    store.dropHold(std::string(64, 'd'));
    EXPECT_TRUE(store.holdersOf(img.configDigest).empty());
}
