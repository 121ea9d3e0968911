// Manifest, index and config parsing; platforms and their choice from an index.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "registry/types.h"

using mydock::Error;
using namespace mydock::registry;
using nlohmann::json;

namespace {

std::string dg(char c) { return "sha256:" + std::string(64, c); }

json descriptor(const char* mt, char c, long long size) {
    return json{{"mediaType", mt}, {"digest", dg(c)}, {"size", size}};
}

std::string ociManifest() {
    json j{{"schemaVersion", 2},
           {"mediaType", media::kOciManifest},
           {"config", descriptor(media::kOciConfig, 'c', 123)},
           {"layers", json::array({descriptor(media::kOciLayerGzip, '1', 10), descriptor(media::kOciLayerZstd, '2', 20)})}};
    return j.dump();
}

void expectError(const std::function<void()>& f, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "no error; expected one containing: " << needle;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_EQ(e.exitCode(), 125);
    }
}

TEST(Manifest, ParsesOci) {
    Manifest m = parseManifest(ociManifest());
    EXPECT_EQ(m.mediaType, media::kOciManifest);
    EXPECT_EQ(m.config.digest.str(), dg('c'));
    EXPECT_EQ(m.config.size, 123);
    ASSERT_EQ(m.layers.size(), 2u);
    EXPECT_EQ(m.layers[1].mediaType, media::kOciLayerZstd);
    EXPECT_EQ(m.layers[1].size, 20);
}

TEST(Manifest, ParsesDockerSchema2WithExtras) {
    json j{{"schemaVersion", 2},
           {"mediaType", media::kDockerManifest},
           {"config", descriptor(media::kDockerConfig, 'c', 1)},
           {"layers", json::array({json{{"mediaType", media::kDockerLayerGzip},
                                        {"digest", dg('d')},
                                        {"size", 5},
                                        {"urls", {"https://example.com/x"}},
                                        {"annotations", {{"a", "b"}}}}})}};
    Manifest m = parseManifest(j.dump());
    ASSERT_EQ(m.layers.size(), 1u);
    EXPECT_EQ(m.layers[0].urls.at(0), "https://example.com/x");
    EXPECT_EQ(m.layers[0].annotations.at("a"), "b");
}

TEST(Manifest, RejectsBadDocuments) {
    auto with = [](const std::function<void(json&)>& edit) {
        json j = json::parse(ociManifest());
        edit(j);
        return j.dump();
    };
    expectError([] { parseManifest("not json"); }, "not valid JSON");
    expectError([] { parseManifest("[]"); }, "not a JSON object");
    expectError([&] { parseManifest(with([](json& j) { j["layers"][0]["digest"] = "sha256:xyz"; })); }, "invalid digest");
    expectError([&] { parseManifest(with([](json& j) { j["layers"][0]["digest"] = "sha256:../../etc/passwd"; })); },
                "invalid digest");
    expectError([&] { parseManifest(with([](json& j) { j["layers"][0]["size"] = -1; })); }, "negative size");
    expectError([&] { parseManifest(with([](json& j) { j["layers"][0]["size"] = "12"; })); }, "size");
    expectError([&] { parseManifest(with([](json& j) { j["layers"][0].erase("mediaType"); })); }, "mediaType");
    expectError([&] { parseManifest(with([](json& j) { j.erase("config"); })); }, "no config");
    expectError([&] { parseManifest(with([](json& j) { j.erase("layers"); })); }, "no layers");
    expectError([&] { parseManifest(with([](json& j) { j["schemaVersion"] = 3; })); }, "schemaVersion");
    expectError([&] { parseManifest(with([](json& j) { j["mediaType"] = media::kOciIndex; })); }, "mediaType");
    expectError([&] { parseManifest(with([](json& j) { j["schemaVersion"] = 1; })); }, "schema1");
}

TEST(Manifest, ClassifiesByContentTypeThenBody) {
    EXPECT_EQ(classifyManifest(media::kOciManifest, ""), ManifestKind::Manifest);
    EXPECT_EQ(classifyManifest(std::string(media::kDockerManifestList) + "; charset=utf-8", ""), ManifestKind::Index);
    EXPECT_EQ(classifyManifest(media::kOciIndex, ""), ManifestKind::Index);
    EXPECT_EQ(classifyManifest("application/json", ociManifest()), ManifestKind::Manifest);
    EXPECT_EQ(classifyManifest("", R"({"schemaVersion":2,"manifests":[]})"), ManifestKind::Index);
    EXPECT_EQ(classifyManifest("", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})"),
              ManifestKind::Index);
    expectError([] { classifyManifest(media::kDockerSchema1Signed, "{}"); }, "unsupported manifest format: schema1");
    expectError([] { classifyManifest(media::kDockerSchema1, "{}"); }, "docker removed it too");
    expectError([] { classifyManifest("application/json", R"({"schemaVersion":1,"name":"x","fsLayers":[]})"); }, "schema1");
    expectError([] { classifyManifest("application/x-weird", "{}"); }, "unsupported manifest media type");
    expectError([] { classifyManifest("", R"({"schemaVersion":2})"); }, "unsupported manifest media type");
}

std::string sampleIndex() {
    auto entry = [](char c, const char* os, const char* arch, const char* variant) {
        json d = descriptor(media::kOciManifest, c, 100);
        d["platform"] = {{"os", os}, {"architecture", arch}};
        if (*variant) d["platform"]["variant"] = variant;
        return d;
    };
    json att = descriptor(media::kOciManifest, 'f', 50);
    att["platform"] = {{"os", "unknown"}, {"architecture", "unknown"}};
    att["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"}};
    json j{{"schemaVersion", 2},
           {"mediaType", media::kOciIndex},
           {"manifests", json::array({att, entry('a', "linux", "amd64", ""), entry('b', "linux", "arm64", "v8"),
                                       entry('c', "linux", "arm", "v7"), entry('d', "linux", "arm", "v6"),
                                       entry('e', "windows", "amd64", "")})}};
    return j.dump();
}

TEST(Index, ParsesAndSelects) {
    Index idx = parseIndex(sampleIndex());
    ASSERT_EQ(idx.manifests.size(), 6u);
    ASSERT_TRUE(idx.manifests[1].platform);
    EXPECT_EQ(idx.manifests[1].platform->architecture, "amd64");

    auto pick = [&](const char* p) -> std::string {
        const Descriptor* d = idx.select(Platform::parse(p));
        return d ? d->digest.str() : "none";
    };
    EXPECT_EQ(pick("linux/amd64"), dg('a'));
    EXPECT_EQ(pick("linux/arm64"), dg('b'));
    EXPECT_EQ(pick("linux/arm64/v8"), dg('b'));
    EXPECT_EQ(pick("linux/arm/v7"), dg('c'));
    EXPECT_EQ(pick("linux/arm/v6"), dg('d'));
    EXPECT_EQ(pick("linux/arm"), dg('c'));          // arm means arm/v7
    EXPECT_EQ(pick("windows/amd64"), dg('e'));
    EXPECT_EQ(pick("linux/s390x"), "none");
    EXPECT_EQ(pick("unknown/unknown"), "none");     // attestations are never chosen
}

TEST(Index, VariantRules) {
    auto make = [](std::vector<std::pair<std::string, std::string>> plats) {
        json ms = json::array();
        char c = '0';
        for (auto& [arch, variant] : plats) {
            json d = descriptor(media::kDockerManifest, c++, 1);
            d["platform"] = {{"os", "linux"}, {"architecture", arch}};
            if (!variant.empty()) d["platform"]["variant"] = variant;
            ms.push_back(d);
        }
        return parseIndex(json{{"schemaVersion", 2}, {"manifests", ms}}.dump());
    };
    // The exact variant is preferred over any other.
    Index a = make({{"amd64", "v3"}, {"amd64", ""}});
    EXPECT_EQ(a.select(Platform::parse("linux/amd64"))->digest.str(), dg('1'));
    // arm64 without a variant is v8.
    Index b = make({{"arm64", ""}});
    EXPECT_EQ(b.select(Platform::parse("linux/arm64/v8"))->digest.str(), dg('0'));
    // An older ARM variant runs on a newer CPU; a newer one does not run on an older CPU.
    Index c = make({{"arm", "v5"}, {"arm", "v6"}});
    EXPECT_EQ(c.select(Platform::parse("linux/arm/v7"))->digest.str(), dg('1'));
    Index d = make({{"arm", "v7"}});
    EXPECT_EQ(d.select(Platform::parse("linux/arm/v6")), nullptr);
}

TEST(Index, RejectsBadDocuments) {
    expectError([] { parseIndex(R"({"schemaVersion":2})"); }, "no manifests");
    expectError([] { parseIndex(R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:1","size":1}]})"); },
                "invalid digest");
    expectError([] { parseIndex(R"({"schemaVersion":2,"manifests":[1]})"); }, "not an object");
    expectError([] { parseIndex(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]})"); },
                "mediaType");
}

TEST(Platform, ParseAndStr) {
    EXPECT_EQ(Platform::parse("linux/amd64").str(), "linux/amd64");
    EXPECT_EQ(Platform::parse("linux/arm64/v8").str(), "linux/arm64/v8");
    EXPECT_EQ(Platform::parse("LINUX/ARM64").str(), "linux/arm64");
    EXPECT_EQ(Platform::parse("linux/aarch64").str(), "linux/arm64");
    EXPECT_EQ(Platform::parse("linux/x86_64").str(), "linux/amd64");
    EXPECT_EQ(Platform::parse("linux/arm").str(), "linux/arm/v7");
    EXPECT_EQ(Platform::parse("arm64").str(), "linux/arm64");
    EXPECT_EQ(Platform::parse("linux").os, "linux");
    for (const char* bad : {"", "/", "linux/", "a/b/c/d", "linux/amd64 x", "linux/../x"})
        EXPECT_THROW(Platform::parse(bad), Error) << bad;
}

TEST(Platform, Host) {
    Platform h = Platform::host();
    EXPECT_EQ(h.os, "linux");
    EXPECT_FALSE(h.architecture.empty());
#if defined(__x86_64__)
    EXPECT_EQ(h.str(), "linux/amd64");
#elif defined(__aarch64__)
    EXPECT_EQ(h.str(), "linux/arm64/v8");
#endif
    EXPECT_TRUE(h.matches(h));
}

TEST(Platform, Matches) {
    EXPECT_TRUE(Platform::parse("linux/arm64").matches(Platform{"linux", "arm64", "v8"}));
    EXPECT_TRUE(Platform::parse("linux/arm64/v8").matches(Platform{"linux", "aarch64", ""}));
    EXPECT_FALSE(Platform::parse("linux/amd64").matches(Platform{"linux", "arm64", ""}));
    EXPECT_FALSE(Platform::parse("linux/amd64").matches(Platform{"windows", "amd64", ""}));
    EXPECT_FALSE(Platform::parse("linux/arm/v7").matches(Platform{"linux", "arm", "v6"}));
}

TEST(ImageConfig, Parses) {
    json j{{"architecture", "amd64"},
           {"os", "linux"},
           {"created", "2024-01-02T03:04:05Z"},
           {"config",
            {{"User", "nobody"},
             {"Env", {"PATH=/bin", "A=1"}},
             {"Entrypoint", nullptr},
             {"Cmd", {"sh"}},
             {"WorkingDir", "/srv"},
             {"Labels", {{"k", "v"}}},
             {"StopSignal", "SIGQUIT"},
             {"ExposedPorts", {{"80/tcp", json::object()}}},
             {"Volumes", {{"/data", json::object()}}}}},
           {"rootfs", {{"type", "layers"}, {"diff_ids", {dg('1'), dg('2')}}}},
           {"history", json::array()}};
    ImageConfig c = parseImageConfig(j.dump());
    EXPECT_EQ(c.architecture, "amd64");
    EXPECT_EQ(c.os, "linux");
    EXPECT_EQ(c.created, "2024-01-02T03:04:05Z");
    EXPECT_EQ(c.config.user, "nobody");
    EXPECT_EQ(c.config.env.size(), 2u);
    EXPECT_FALSE(c.config.hasEntrypoint);
    EXPECT_TRUE(c.config.hasCmd);
    EXPECT_EQ(c.config.cmd.at(0), "sh");
    EXPECT_EQ(c.config.workingDir, "/srv");
    EXPECT_EQ(c.config.labels.at("k"), "v");
    EXPECT_EQ(c.config.stopSignal, "SIGQUIT");
    EXPECT_EQ(c.config.exposedPorts.at(0), "80/tcp");
    EXPECT_EQ(c.config.volumes.at(0), "/data");
    ASSERT_EQ(c.diffIds.size(), 2u);
    EXPECT_EQ(c.diffIds[1].str(), dg('2'));
    EXPECT_TRUE(c.raw.contains("history"));

    // An empty Entrypoint list is present (and empty) as far as the parser goes.
    j["config"]["Entrypoint"] = json::array();
    EXPECT_TRUE(parseImageConfig(j.dump()).config.hasEntrypoint);
}

TEST(ImageConfig, RejectsBadDocuments) {
    expectError([] { parseImageConfig(R"({"os":"linux"})"); }, "no rootfs");
    expectError([] { parseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":["sha256:zz"]}})"); }, "invalid diff_id");
    expectError([] { parseImageConfig(R"({"rootfs":{"type":"other","diff_ids":[]}})"); }, "not \"layers\"");
    expectError([] { parseImageConfig(R"({"config":{"Env":"A=1"},"rootfs":{"type":"layers","diff_ids":[]}})"); },
                "\"Env\" is not a list");
    expectError([] { parseImageConfig(R"({"config":{"Cmd":[1]},"rootfs":{"type":"layers","diff_ids":[]}})"); },
                "non-string");
    EXPECT_NO_THROW(parseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":[]}})"));
}

}  // namespace
