// docker's config.json: reading, writing (keeping other keys), erasing, file mode.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "registry/client.h"

using namespace mydock;
using namespace mydock::registry;

namespace {

TEST(Credentials, KeyFor) {
    EXPECT_EQ(CredentialStore::keyFor("docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(CredentialStore::keyFor("index.docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(CredentialStore::keyFor("registry-1.docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(CredentialStore::keyFor("https://index.docker.io/v1/"), "https://index.docker.io/v1/");
    EXPECT_EQ(CredentialStore::keyFor("localhost:5000"), "localhost:5000");
    EXPECT_EQ(CredentialStore::keyFor("https://ghcr.io/"), "ghcr.io");
}

TEST(Credentials, RoundTripKeepsOtherKeys) {
    fs::TempDir dir;
    std::string path = fs::join(fs::join(dir.path(), ".docker"), "config.json");
    fs::makeDirs(fs::dirname(path));
    fs::writeFileAtomic(path, R"({"auths":{"other:1":{"auth":"eDp5"}},"credsStore":"","proxies":{"default":{}},"psFormat":"x"})",
                        false);
    CredentialStore store(path);
    EXPECT_FALSE(store.get("docker.io").has_value());
    store.set("docker.io", Credentials{"alice", "s3cr:et", ""});
    store.set("127.0.0.1:5000", Credentials{"bob", "pw", ""});

    auto j = nlohmann::json::parse(fs::readFile(path));
    EXPECT_EQ(j["psFormat"], "x");
    EXPECT_TRUE(j["proxies"].contains("default"));
    EXPECT_EQ(j["auths"]["https://index.docker.io/v1/"]["auth"], "YWxpY2U6czNjcjpldA==");
    EXPECT_EQ(j["auths"]["127.0.0.1:5000"]["auth"], "Ym9iOnB3");
    EXPECT_EQ(j["auths"]["other:1"]["auth"], "eDp5");

    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);

    auto a = store.get("docker.io");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->username, "alice");
    EXPECT_EQ(a->password, "s3cr:et");     // only the first ':' separates
    auto o = store.get("other:1");
    ASSERT_TRUE(o);
    EXPECT_EQ(o->username, "x");
    EXPECT_EQ(o->password, "y");

    EXPECT_TRUE(store.erase("docker.io"));
    EXPECT_FALSE(store.erase("docker.io"));
    EXPECT_FALSE(store.get("docker.io").has_value());
    EXPECT_TRUE(store.get("127.0.0.1:5000").has_value());
    j = nlohmann::json::parse(fs::readFile(path));
    EXPECT_EQ(j["psFormat"], "x");
}

TEST(Credentials, NewFileAndDirectory) {
    fs::TempDir dir;
    std::string path = fs::join(fs::join(dir.path(), "sub"), "config.json");
    CredentialStore store(path);
    EXPECT_FALSE(store.get("x.io").has_value());   // no file: nobody logged in
    store.set("x.io", Credentials{"u", "p", ""});
    EXPECT_EQ(store.get("x.io")->password, "p");
    struct stat st {};
    ASSERT_EQ(::stat(fs::dirname(path).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST(Credentials, DockerVariantsOfKeys) {
    fs::TempDir dir;
    std::string path = fs::join(dir.path(), "config.json");
    // Keys as other tools wrote them: with a scheme, or Docker Hub under another name.
    fs::writeFileAtomic(path, R"({"auths":{"https://reg.example:5000":{"auth":"dTpw"},"docker.io":{"auth":"aDpo"},
        "tok.io":{"auth":"","identitytoken":"refresh"}}})", false);
    CredentialStore store(path);
    EXPECT_EQ(store.get("reg.example:5000")->username, "u");
    EXPECT_EQ(store.get("docker.io")->username, "h");
    auto t = store.get("tok.io");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->identityToken, "refresh");
}

TEST(Credentials, CorruptFileIsAClearError) {
    fs::TempDir dir;
    std::string path = fs::join(dir.path(), "config.json");
    fs::writeFileAtomic(path, "{not json", false);
    CredentialStore store(path);
    try {
        store.get("docker.io");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    }
    fs::writeFileAtomic(path, R"({"auths":{"x.io":{"auth":"!!!"}}})", false);
    EXPECT_THROW(store.get("x.io"), Error);
}

TEST(Credentials, DefaultPathHonoursDockerConfig) {
    ::setenv("DOCKER_CONFIG", "/tmp/dc-test", 1);
    EXPECT_EQ(CredentialStore::defaultPath(), "/tmp/dc-test/config.json");
    ::unsetenv("DOCKER_CONFIG");
    ::setenv("HOME", "/home/someone", 1);
    EXPECT_EQ(CredentialStore::defaultPath(), "/home/someone/.docker/config.json");
}

}  // namespace
