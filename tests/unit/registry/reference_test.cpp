// Reference grammar and normalisation, after distribution/reference's test tables.
#include <gtest/gtest.h>

#include "common/error.h"
#include "registry/reference.h"
#include "registry/reference_grammar.h"

using mydock::Error;
using mydock::registry::Reference;

namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

struct Good {
    const char* in;
    const char* full;       // Reference::string()
    const char* familiar;   // Reference::familiar()
};

TEST(Reference, NormalisesLikeDocker) {
    const std::string d = kDigest;
    const Good cases[] = {
        {"ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"ubuntu:22.04", "docker.io/library/ubuntu:22.04", "ubuntu:22.04"},
        {"docker.io/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"docker.io/library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"index.docker.io/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
        {"user/repo:tag", "docker.io/user/repo:tag", "user/repo:tag"},
        {"user/repo/sub", "docker.io/user/repo/sub:latest", "user/repo/sub:latest"},
        {"localhost/foo", "localhost/foo:latest", "localhost/foo:latest"},
        {"localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1"},
        {"ghcr.io/owner/app", "ghcr.io/owner/app:latest", "ghcr.io/owner/app:latest"},
        {"a.b.c/d", "a.b.c/d:latest", "a.b.c/d:latest"},
        {"[::1]:5000/foo", "[::1]:5000/foo:latest", "[::1]:5000/foo:latest"},
        {"Foo/bar", "Foo/bar:latest", "Foo/bar:latest"},   // upper-case first part: a host
        {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},  // tag 5000
        {"foo/a__b", "docker.io/foo/a__b:latest", "foo/a__b:latest"},
        {"foo/a--b---c", "docker.io/foo/a--b---c:latest", "foo/a--b---c:latest"},
        {"foo/a.b_c-d", "docker.io/foo/a.b_c-d:latest", "foo/a.b_c-d:latest"},
        {"xn--n3h.com/x:Tag_1.2-3", "xn--n3h.com/x:Tag_1.2-3", "xn--n3h.com/x:Tag_1.2-3"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.in);
        Reference r = Reference::parse(c.in);
        EXPECT_EQ(r.string(), c.full);
        EXPECT_EQ(r.familiar(), c.familiar);
    }
}

TEST(Reference, Parts) {
    Reference r = Reference::parse("ubuntu");
    EXPECT_EQ(r.domain, "docker.io");
    EXPECT_EQ(r.path, "library/ubuntu");
    EXPECT_EQ(r.tag, "latest");
    EXPECT_TRUE(r.digest.empty());
    EXPECT_EQ(r.apiHost(), "registry-1.docker.io");
    EXPECT_EQ(r.repository(), "docker.io/library/ubuntu");
    EXPECT_EQ(r.familiarRepository(), "ubuntu");
    EXPECT_EQ(r.tagOrDigest(), "latest");

    Reference p = Reference::parse("127.0.0.1:5000/team/app@" + kDigest);
    EXPECT_EQ(p.domain, "127.0.0.1:5000");
    EXPECT_EQ(p.path, "team/app");
    EXPECT_EQ(p.tag, "");                       // pinned: no implicit latest
    EXPECT_EQ(p.digest.str(), kDigest);
    EXPECT_EQ(p.tagOrDigest(), kDigest);
    EXPECT_EQ(p.apiHost(), "127.0.0.1:5000");
    EXPECT_EQ(p.string(), "127.0.0.1:5000/team/app@" + kDigest);

    Reference both = Reference::parse("ubuntu:22.04@" + kDigest);
    EXPECT_EQ(both.tag, "22.04");
    EXPECT_EQ(both.digest.str(), kDigest);
    EXPECT_EQ(both.familiar(), "ubuntu:22.04@" + kDigest);
    EXPECT_EQ(both.tagOrDigest(), kDigest);

    EXPECT_EQ(Reference::parse("user/repo").familiarRepository(), "user/repo");
    EXPECT_EQ(Reference::parse("host:5000/repo").familiarRepository(), "host:5000/repo");
}

TEST(Reference, RejectsBadInputWithItsName) {
    const std::string bad[] = {
        "",
        "UPPER",                         // repository names are lower-case
        "docker.io/Library/ubuntu",
        "ubuntu:",                       // empty tag
        ":tag",
        "@" + kDigest,
        "ubuntu@sha256:abc",             // short digest
        "ubuntu@sha256:" + std::string(64, 'A'),   // upper-case hex
        "ubuntu@md5:" + std::string(32, 'a'),
        kHex,                            // an image ID is not a name
        "a/",
        "/a",
        "a//b",
        "-a",
        "a-",
        "a/b-",
        "a..b",
        "a___b",
        "a.-b",
        "foo_bar.com:8080/x",            // '_' is not allowed in a host
        "host:port/x",                   // the port is numeric
        "host:/x",
        "-host.com/x",
        "a:b:c",
        "ubuntu:" + std::string(129, 'a'),
        "ubuntu:-tag",
        "ubuntu:.tag",
        "ubuntu tag",
        "ubuntu/../etc",
        "a/b?x",
        "a/b%2f",
        "[::1/foo",
        "x.com/" + std::string(260, 'a'),  // over 255 characters in all
    };
    for (const auto& s : bad) {
        SCOPED_TRACE(s);
        try {
            Reference::parse(s);
            ADD_FAILURE() << "accepted " << s;
        } catch (const Error& e) {
            std::string msg = e.what();
            EXPECT_EQ(msg.rfind("invalid reference format", 0), 0u) << msg;
            EXPECT_NE(msg.find(s.substr(0, 50)), std::string::npos) << msg;
            EXPECT_EQ(e.exitCode(), 125);
        }
    }
}

TEST(Reference, TagLengthLimit) {
    EXPECT_NO_THROW(Reference::parse("ubuntu:" + std::string(128, 'a')));
    EXPECT_THROW(Reference::parse("ubuntu:" + std::string(129, 'a')), Error);
}

TEST(Reference, Lowercase) {
    try {
        Reference::parse("docker.io/Ubuntu");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("must be lowercase"), std::string::npos) << e.what();
    }
}

TEST(ReferenceGrammar, Pieces) {
    using namespace mydock::registry;
    EXPECT_TRUE(validTag("latest"));
    EXPECT_TRUE(validTag("_x"));
    EXPECT_FALSE(validTag(""));
    EXPECT_FALSE(validTag("a/b"));
    EXPECT_TRUE(validRepositoryPath("library/ubuntu"));
    EXPECT_FALSE(validRepositoryPath("library/../x"));
    EXPECT_FALSE(validRepositoryPath("x/"));
    EXPECT_TRUE(validDomain("127.0.0.1:5000"));
    EXPECT_TRUE(validDomain("[fe80::1]:443"));
    EXPECT_FALSE(validDomain("a b"));
    EXPECT_FALSE(validDomain("a:"));
}

}  // namespace
