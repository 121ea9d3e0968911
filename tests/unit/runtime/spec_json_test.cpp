// The persisted ContainerSpec (start/restart run it again) and the restart policy's rules.
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/fs.h"
#include "runtime/monitor.h"
#include "runtime/spec_json.h"

using namespace mydock;
using namespace mydock::runtime;

namespace {

// Every field set to something other than its default.
ContainerSpec fullSpec() {
    ContainerSpec s;
    s.id = std::string(64, 'a');
    s.hostname = "box";
    s.lowerDirs = {"/l/1", "/l/2"};
    s.containerDir = "/c/" + s.id;
    s.readonlyRootfs = true;
    s.argv = {"sh", "-c", "echo \"hi\" \xc3\xa9"};
    s.env = {"A=1", "B=x=y"};
    s.cwd = "/work";
    s.user.uid = 0;   // root: must survive as "set to 0", not "unset"
    s.user.gid = 29;
    s.user.additionalGids = {1, 2};
    s.user.unresolved = "app:staff";
    s.terminal = true;
    s.stdinOpen = true;
    s.mounts.push_back({MountSpec::Type::Bind, "/host", "/data", true, ""});
    s.mounts.push_back({MountSpec::Type::Tmpfs, "", "/run", false, "size=64m"});
    s.network = NetworkMode::Bridge;
    s.publish = {"127.0.0.1:8080:80", "53/udp"};
    s.stateRoot = "/var/lib/mydock";
    s.resources.memoryBytes = 64 << 20;
    s.resources.cpuQuotaUs = 50000;
    s.resources.cpuPeriodUs = 200000;
    s.resources.pidsLimit = 10;
    s.security.capAdd = {"NET_ADMIN"};
    s.security.capDrop = {"ALL"};
    s.security.privileged = true;
    s.security.seccompUnconfined = true;
    s.security.noNewPrivileges = true;
    s.seccompCacheDir = "/var/lib/mydock/cache";
    s.init = true;
    s.initPath = "/usr/bin/mydock-init";
    s.maskedPaths = {"/proc/kcore"};
    s.readonlyPaths = {"/proc/sys"};
    s.dieWithParent = false;
    return s;
}

}  // namespace

TEST(SpecJson, RoundTripsEveryField) {
    ContainerSpec a = fullSpec();
    nlohmann::json j = specToJson(a);
    EXPECT_EQ(j["version"], kSpecJsonVersion);
    ContainerSpec b = specFromJson(nlohmann::json::parse(j.dump()));
    // Equal specs serialise equally (and every field is in the JSON: see the next test).
    EXPECT_EQ(specToJson(b), j);
    EXPECT_EQ(b.id, a.id);
    ASSERT_TRUE(b.user.uid.has_value());
    EXPECT_EQ(*b.user.uid, 0u);
    EXPECT_EQ(b.network, NetworkMode::Bridge);
    ASSERT_EQ(b.mounts.size(), 2u);
    EXPECT_EQ(b.mounts[1].type, MountSpec::Type::Tmpfs);
    EXPECT_EQ(b.mounts[1].options, "size=64m");
    EXPECT_EQ(b.publish, a.publish);
    EXPECT_EQ(b.stateRoot, a.stateRoot);
    EXPECT_EQ(b.resources.cpuPeriodUs, 200000);
    EXPECT_TRUE(b.security.noNewPrivileges);
    EXPECT_FALSE(b.dieWithParent);
    EXPECT_EQ(b.argv, a.argv);
}

TEST(SpecJson, DefaultsRoundTrip) {
    ContainerSpec a;
    a.id = std::string(64, 'b');
    a.containerDir = "/c";
    a.argv = {"true"};
    ContainerSpec b = specFromJson(specToJson(a));
    EXPECT_FALSE(b.user.uid.has_value());
    EXPECT_FALSE(b.user.gid.has_value());
    EXPECT_EQ(b.network, NetworkMode::None);
    EXPECT_TRUE(b.dieWithParent);
    EXPECT_EQ(specToJson(b), specToJson(a));
}

TEST(SpecJson, RefusesOtherVersionsAndMissingFields) {
    nlohmann::json j = specToJson(fullSpec());
    for (const auto& [key, _] : j.items()) {
        if (key == "version") continue;
        nlohmann::json k = j;
        k.erase(key);
        EXPECT_THROW(specFromJson(k), Error) << key;
    }
    nlohmann::json v = j;
    v["version"] = kSpecJsonVersion + 1;
    EXPECT_THROW(specFromJson(v), Error);
    v.erase("version");
    EXPECT_THROW(specFromJson(v), Error);
    nlohmann::json bad = j;
    bad["network"] = "overlay";
    EXPECT_THROW(specFromJson(bad), Error);
    bad = j;
    bad["mounts"][0]["type"] = "volume";
    EXPECT_THROW(specFromJson(bad), Error);
    bad = j;
    bad["argv"] = "sh";
    EXPECT_THROW(specFromJson(bad), Error);
    EXPECT_THROW(specFromJson(nlohmann::json::array()), Error);
    EXPECT_THROW(specFromJson(nullptr), Error);
}

TEST(SpecJson, SavesAndLoadsBesideTheRecord) {
    fs::TempDir dir;
    EXPECT_FALSE(loadSpec(dir.path()).has_value());
    ContainerSpec a = fullSpec();
    a.containerDir = dir.path();
    saveSpec(a, false);
    auto b = loadSpec(dir.path());
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(specToJson(*b), specToJson(a));
    fs::writeFileAtomic(fs::join(dir.path(), "spec.json"), "{not json", false);
    EXPECT_THROW(loadSpec(dir.path()), Error);
}

TEST(RestartPolicy, Parses) {
    EXPECT_EQ(parseRestartPolicy("").mode, RestartPolicy::Mode::No);
    EXPECT_EQ(parseRestartPolicy("no").mode, RestartPolicy::Mode::No);
    EXPECT_EQ(parseRestartPolicy("always").mode, RestartPolicy::Mode::Always);
    EXPECT_EQ(parseRestartPolicy("unless-stopped").name(), "unless-stopped");
    auto p = parseRestartPolicy("on-failure:3");
    EXPECT_EQ(p.mode, RestartPolicy::Mode::OnFailure);
    EXPECT_EQ(p.maxRetries, 3);
    EXPECT_EQ(parseRestartPolicy("on-failure").maxRetries, 0);
    EXPECT_EQ(parseRestartPolicy("on-failure:").maxRetries, 0);
    EXPECT_THROW(parseRestartPolicy("sometimes"), Error);
    EXPECT_THROW(parseRestartPolicy(":3"), Error);
    EXPECT_THROW(parseRestartPolicy("on-failure:x"), Error);
    EXPECT_THROW(parseRestartPolicy("on-failure:-1"), Error);
    EXPECT_THROW(parseRestartPolicy("always:2"), Error);
    EXPECT_THROW(parseRestartPolicy("on-failure:99999999999999999999"), Error);
}

TEST(RestartPolicy, Decides) {
    auto onFailure2 = parseRestartPolicy("on-failure:2");
    EXPECT_TRUE(shouldRestart(onFailure2, 3, 0, false));
    EXPECT_TRUE(shouldRestart(onFailure2, 3, 1, false));
    EXPECT_FALSE(shouldRestart(onFailure2, 3, 2, false));
    EXPECT_FALSE(shouldRestart(onFailure2, 0, 0, false));
    EXPECT_TRUE(shouldRestart(parseRestartPolicy("on-failure"), 1, 1000, false));
    for (const char* p : {"always", "unless-stopped"}) {
        EXPECT_TRUE(shouldRestart(parseRestartPolicy(p), 0, 50, false));
        EXPECT_TRUE(shouldRestart(parseRestartPolicy(p), 137, 0, false));
        EXPECT_FALSE(shouldRestart(parseRestartPolicy(p), 137, 0, true)) << "a user's stop is final";
    }
    EXPECT_FALSE(shouldRestart(parseRestartPolicy("no"), 1, 0, false));
    EXPECT_FALSE(shouldRestart(onFailure2, 1, 0, true));
}

TEST(RestartPolicy, BacksOffAsDocker) {
    RestartBackoff b;
    EXPECT_EQ(b.nextDelayMs(0), 100);
    EXPECT_EQ(b.nextDelayMs(50), 200);
    EXPECT_EQ(b.nextDelayMs(50), 400);
    EXPECT_EQ(b.nextDelayMs(10000), 100) << "a run of 10 s resets it";
    for (int i = 0; i < 20; ++i) b.nextDelayMs(0);
    EXPECT_EQ(b.nextDelayMs(0), 60000);
}
