// The real Client and its curl transport against a scripted HTTP server on 127.0.0.1:
// token auth, redirects, retries, Retry-After, Range resume, stalls, digest and size checks.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "registry/client.h"
#include "test_http_server.h"

using namespace mydock;
using namespace mydock::registry;
using mydock::testing::TestRequest;
using mydock::testing::TestResponse;
using mydock::testing::TestServer;

namespace {

struct StringSink : BlobSink {
    std::string data;
    int restarts = 0;
    void write(const char* p, std::size_t n) override { data.append(p, n); }
    void restart() override {
        data.clear();
        ++restarts;
    }
};

ClientOptions fastOptions() {
    ClientOptions o;
    o.maxAttempts = 3;
    o.baseDelayMs = 10;
    o.maxDelayMs = 50;
    o.connectTimeoutSec = 5;
    o.lowSpeedTimeSec = 2;
    o.certsDir = "/nonexistent";
    return o;
}

std::string blobOf(std::size_t n, unsigned seed = 1) {
    std::string s(n, '\0');
    unsigned x = seed;
    for (auto& c : s) {
        x = x * 1103515245u + 12345u;
        c = static_cast<char>(x >> 16);
    }
    return s;
}

Descriptor descFor(const std::string& content) {
    Descriptor d;
    d.mediaType = media::kOciLayerGzip;
    d.digest = Digest::sha256Of(content);
    d.size = static_cast<std::int64_t>(content.size());
    return d;
}

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
    std::string(64, 'c') + R"(","size":2},"layers":[]})";

TestResponse manifestResponse(const std::string& body = kManifest) {
    TestResponse r;
    r.headers = {{"Content-Type", std::string(media::kOciManifest)},
                 {"Docker-Content-Digest", Digest::sha256Of(body).str()}};
    r.body = body;
    return r;
}

TestResponse notFound(const char* code, const char* msg) {
    return TestResponse::json(404, std::string(R"({"errors":[{"code":")") + code + R"(","message":")" + msg + R"("}]})");
}

Reference refOn(const TestServer& s, const std::string& path = "test/repo") {
    return Reference::parse(s.hostPort() + "/" + path + ":v1");
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.exitCode(), 125);
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}

bool contains(const std::string& s, const std::string& n) { return s.find(n) != std::string::npos; }

TEST(Client, ManifestAnonymousOverPlainHttp) {
    TestServer srv([](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        if (r.path() == "/v2/test/repo/manifests/v1" || r.path() == "/v2/test/repo/manifests/" + Digest::sha256Of(kManifest).str()) {
            EXPECT_TRUE(contains(r.header("accept"), media::kOciIndex));
            EXPECT_TRUE(contains(r.header("accept"), media::kDockerManifestList));
            EXPECT_TRUE(contains(r.header("accept"), media::kDockerManifest));
            EXPECT_TRUE(contains(r.header("accept"), media::kOciManifest));
            EXPECT_EQ(r.header("authorization"), "");
            return manifestResponse();
        }
        return notFound("NAME_UNKNOWN", "x");
    });
    Client c(fastOptions());
    FetchedManifest m = c.getManifest(refOn(srv), "v1");
    EXPECT_EQ(m.body, kManifest);
    EXPECT_EQ(m.digest, Digest::sha256Of(kManifest));
    EXPECT_EQ(m.mediaType, media::kOciManifest);
    // By digest: verified against the content.
    FetchedManifest byDigest = c.getManifest(refOn(srv), m.digest.str());
    EXPECT_EQ(byDigest.digest, m.digest);
}

TEST(Client, TokenAuthAnonymousCachedPerScope) {
    std::atomic<int> tokens{0};
    std::unique_ptr<TestServer> srv;
    srv = std::make_unique<TestServer>([&](const TestRequest& r) {
        std::string challenge = "Bearer realm=\"" + srv->url() + "/token\",service=\"test-registry\"";
        if (r.path() == "/token") {
            EXPECT_TRUE(contains(r.query(), "service=test-registry"));
            EXPECT_TRUE(contains(r.query(), "scope=repository%3Atest%2Frepo%3Apull")) << r.query();
            EXPECT_EQ(r.header("authorization"), "");   // anonymous
            ++tokens;
            return TestResponse::json(200, R"({"token":"T1","expires_in":300})");
        }
        if (r.header("authorization") != "Bearer T1") {
            TestResponse u = TestResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
            u.headers.emplace_back("WWW-Authenticate", challenge + ",scope=\"repository:test/repo:pull\"");
            return u;
        }
        return manifestResponse();
    });
    Client c(fastOptions());
    EXPECT_EQ(c.getManifest(refOn(*srv), "v1").body, kManifest);
    EXPECT_EQ(c.getManifest(refOn(*srv), "v1").body, kManifest);
    EXPECT_EQ(tokens.load(), 1);   // the second call reused the cached token
}

TEST(Client, TokenWithCredentialsAndRefreshOn401) {
    std::atomic<int> generation{1}, tokenRequests{0};
    fs::TempDir dir;
    std::unique_ptr<TestServer> srv;
    srv = std::make_unique<TestServer>([&](const TestRequest& r) {
        if (r.path() == "/token") {
            ++tokenRequests;
            if (r.header("authorization") != "Basic " + std::string("YWxpY2U6cHc="))   // alice:pw
                return TestResponse::json(401, R"({"details":"incorrect username or password"})");
            return TestResponse::json(200, R"({"access_token":"G)" + std::to_string(generation.load()) + R"(","expires_in":3600})");
        }
        if (r.header("authorization") != "Bearer G" + std::to_string(generation.load())) {
            TestResponse u = TestResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]})");
            u.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + srv->url() + "/token\",service=\"s\"");
            return u;
        }
        return manifestResponse();
    });
    CredentialStore store(fs::join(dir.path(), "config.json"));
    store.set(srv->hostPort(), Credentials{"alice", "pw", ""});
    ClientOptions o = fastOptions();
    o.credentials = &store;
    Client c(o);
    EXPECT_EQ(c.getManifest(refOn(*srv), "v1").body, kManifest);
    EXPECT_EQ(tokenRequests.load(), 1);
    generation = 2;   // the registry revokes the token in the middle of a pull
    EXPECT_EQ(c.getManifest(refOn(*srv), "v1").body, kManifest);
    EXPECT_EQ(tokenRequests.load(), 2);

    // Wrong password: a clear "unauthorized" that points at mydock login.
    store.set(srv->hostPort(), Credentials{"alice", "wrong", ""});
    Client bad(o);
    std::string e = errorOf([&] { bad.getManifest(refOn(*srv), "v1"); });
    EXPECT_TRUE(contains(e, "unauthorized: incorrect username or password")) << e;
    EXPECT_TRUE(contains(e, "mydock login")) << e;
}

TEST(Client, UnknownTagAndRepository) {
    TestServer srv([](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        if (r.path() == "/v2/test/repo/manifests/nosuch") return notFound("MANIFEST_UNKNOWN", "manifest unknown");
        if (r.path() == "/v2/test/denied/manifests/v1")
            return TestResponse::json(401, R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})");
        return notFound("NAME_UNKNOWN", "repository name not known to registry");
    });
    Client c(fastOptions());
    std::string e = errorOf([&] { c.getManifest(refOn(srv), "nosuch"); });
    EXPECT_EQ(e, "manifest for " + srv.hostPort() + "/test/repo:nosuch not found: manifest unknown: manifest unknown");
    e = errorOf([&] { c.getManifest(refOn(srv, "nope/x"), "v1"); });
    EXPECT_TRUE(contains(e, "pull access denied for " + srv.hostPort() +
                                "/nope/x, repository does not exist or may require 'mydock login'"))
        << e;
    e = errorOf([&] { c.getManifest(refOn(srv, "test/denied"), "v1"); });
    EXPECT_TRUE(contains(e, "pull access denied")) << e;
    EXPECT_TRUE(contains(e, "denied: requested access to the resource is denied")) << e;
}

TEST(Client, RedirectNeverCarriesAuthorizationToAnotherHost) {
    const std::string blob = blobOf(300000);
    std::atomic<int> cdnHits{0};
    TestServer cdn([&](const TestRequest& r) {
        ++cdnHits;
        if (!r.header("authorization").empty()) return TestResponse::json(400, "Authorization sent to the CDN");
        TestResponse ok;
        ok.body = blob;
        return ok;
    });
    std::unique_ptr<TestServer> reg;
    reg = std::make_unique<TestServer>([&](const TestRequest& r) {
        if (r.path() == "/token") return TestResponse::json(200, R"({"token":"SECRET"})");
        if (r.header("authorization") != "Bearer SECRET") {
            TestResponse u = TestResponse::json(401, "{}");
            u.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + reg->url() + "/token\",service=\"s\"");
            return u;
        }
        TestResponse red;
        red.status = 307;
        red.headers.emplace_back("Location", cdn.url() + "/blobs/x?sig=1");
        return red;
    });
    Client c(fastOptions());
    StringSink sink;
    std::int64_t lastDone = 0, lastTotal = 0;
    c.getBlob(refOn(*reg), descFor(blob), sink, [&](std::int64_t d, std::int64_t t) {
        lastDone = d;
        lastTotal = t;
    });
    EXPECT_EQ(sink.data, blob);
    EXPECT_EQ(cdnHits.load(), 1);
    EXPECT_EQ(lastDone, static_cast<std::int64_t>(blob.size()));
    EXPECT_EQ(lastTotal, static_cast<std::int64_t>(blob.size()));
    for (const auto& r : cdn.requests()) EXPECT_EQ(r.header("authorization"), "");
}

TEST(Client, RetryAfterIsHonoured) {
    std::atomic<int> calls{0};
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        if (calls++ == 0) {
            TestResponse t = TestResponse::json(429, R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})");
            t.headers.emplace_back("Retry-After", "1");
            return t;
        }
        return manifestResponse();
    });
    Client c(fastOptions());
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(c.getManifest(refOn(srv), "v1").body, kManifest);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GE(ms, 950);   // the backoff alone would have been 10 ms
    EXPECT_EQ(calls.load(), 2);
}

TEST(Client, ServerErrorsAreRetriedThenReported) {
    std::atomic<int> calls{0};
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        if (r.path() == "/v2/test/repo/manifests/v1") return calls++ < 2 ? TestResponse::json(503, "{}") : manifestResponse();
        return TestResponse::json(500, R"({"errors":[{"code":"UNKNOWN","message":"boom"}]})");
    });
    Client c(fastOptions());
    EXPECT_EQ(c.getManifest(refOn(srv), "v1").body, kManifest);
    EXPECT_EQ(calls.load(), 3);
    std::string e = errorOf([&] { c.getManifest(refOn(srv), "v2"); });
    EXPECT_TRUE(contains(e, "answered 500 (unknown: boom)")) << e;
    EXPECT_EQ(srv.count("/v2/test/repo/manifests/v2"), 3);   // bounded by maxAttempts
}

TEST(Client, ResumesAnInterruptedBlobWithRange) {
    const std::string blob = blobOf(200000, 7);
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse resp;
        std::string range = r.header("range");
        if (range.empty()) {
            resp.body = blob;
            resp.cutAfter = 70000;   // the connection drops here
            return resp;
        }
        EXPECT_EQ(range, "bytes=70000-");
        resp.status = 206;
        resp.headers.emplace_back("Content-Range", "bytes 70000-199999/200000");
        resp.body = blob.substr(70000);
        return resp;
    });
    Client c(fastOptions());
    StringSink sink;
    c.getBlob(refOn(srv), descFor(blob), sink);
    EXPECT_EQ(sink.data, blob);
    EXPECT_EQ(sink.restarts, 0);
}

TEST(Client, RestartsWhenTheServerIgnoresRange) {
    const std::string blob = blobOf(100000, 3);
    std::atomic<int> calls{0};
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse resp;
        resp.body = blob;
        if (calls++ == 0) resp.cutAfter = 50000;
        return resp;
    });
    Client c(fastOptions());
    StringSink sink;
    c.getBlob(refOn(srv), descFor(blob), sink);
    EXPECT_EQ(sink.data, blob);
    EXPECT_EQ(sink.restarts, 1);
}

TEST(Client, StalledTransferIsAbortedAndResumed) {
    const std::string blob = blobOf(50000, 5);
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse resp;
        if (r.header("range").empty()) {
            resp.body = blob;
            resp.cutAfter = 20000;
            resp.stallMs = 8000;   // much longer than the client's stall limit
            return resp;
        }
        resp.status = 206;
        resp.headers.emplace_back("Content-Range", "bytes 20000-49999/50000");
        resp.body = blob.substr(20000);
        return resp;
    });
    ClientOptions o = fastOptions();
    o.lowSpeedTimeSec = 1;
    Client c(o);
    StringSink sink;
    auto t0 = std::chrono::steady_clock::now();
    c.getBlob(refOn(srv), descFor(blob), sink);
    EXPECT_EQ(sink.data, blob);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST(Client, BlobDigestMismatchFailsWithoutEndlessRetries) {
    const std::string blob = blobOf(10000);
    std::string corrupt = blob;
    corrupt[5000] ^= 1;
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse resp;
        resp.body = corrupt;
        return resp;
    });
    Client c(fastOptions());
    StringSink sink;
    std::string e = errorOf([&] { c.getBlob(refOn(srv), descFor(blob), sink); });
    EXPECT_TRUE(contains(e, "digest mismatch")) << e;
    EXPECT_TRUE(contains(e, descFor(blob).digest.str())) << e;
    EXPECT_LE(srv.count("/v2/test/repo/blobs/" + descFor(blob).digest.str()), 1);
}

TEST(Client, BlobLargerThanItsDescriptorStopsAtOnce) {
    const std::string blob = blobOf(1000);
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse resp;
        resp.body = blob + blobOf(2000000, 9);
        resp.contentLength = false;   // nothing tells the client in advance
        return resp;
    });
    Client c(fastOptions());
    StringSink sink;
    std::string e = errorOf([&] { c.getBlob(refOn(srv), descFor(blob), sink); });
    EXPECT_TRUE(contains(e, "larger than its size")) << e;
    EXPECT_LE(sink.data.size(), blob.size());
    // With a Content-Length that disagrees, nothing is read at all.
    TestServer srv2([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse resp;
        resp.body = blob + "x";
        return resp;
    });
    StringSink sink2;
    e = errorOf([&] { c.getBlob(refOn(srv2), descFor(blob), sink2); });
    EXPECT_TRUE(contains(e, "wrong size")) << e;
    EXPECT_TRUE(sink2.data.empty());
}

TEST(Client, ShortBlobIsRetriedThenReported) {
    const std::string blob = blobOf(1000);
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse resp;
        resp.body = blob.substr(0, 999);
        resp.contentLength = false;
        return resp;
    });
    Client c(fastOptions());
    StringSink sink;
    std::string e = errorOf([&] { c.getBlob(refOn(srv), descFor(blob), sink); });
    EXPECT_TRUE(contains(e, "ended early")) << e;
}

TEST(Client, ManifestDigestHeaderMustMatchBody) {
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse m = manifestResponse();
        m.headers[1].second = "sha256:" + std::string(64, '0');
        return m;
    });
    Client c(fastOptions());
    std::string e = errorOf([&] { c.getManifest(refOn(srv), "v1"); });
    EXPECT_TRUE(contains(e, "digest mismatch")) << e;
    // A manifest asked for by digest must hash to that digest.
    TestServer srv2([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        TestResponse m = manifestResponse();
        m.headers.pop_back();
        return m;
    });
    e = errorOf([&] { c.getManifest(refOn(srv2), "sha256:" + std::string(64, '1')); });
    EXPECT_TRUE(contains(e, "digest mismatch")) << e;
}

TEST(Client, OversizedManifestIsRefused) {
    const std::string huge = "{\"x\":\"" + std::string(5 * 1024 * 1024, 'a') + "\"}";
    for (bool withLength : {true, false}) {
        SCOPED_TRACE(withLength);
        TestServer srv([&](const TestRequest& r) {
            if (r.path() == "/v2/") return TestResponse::json(200, "{}");
            TestResponse m = manifestResponse(huge);
            m.contentLength = withLength;
            return m;
        });
        Client c(fastOptions());
        std::string e = errorOf([&] { c.getManifest(refOn(srv), "v1"); });
        EXPECT_TRUE(contains(e, "larger than 4194304 bytes")) << e;
    }
}

TEST(Client, InvalidNamesNeverReachAUrl) {
    Client c(fastOptions());
    Reference r = Reference::parse("127.0.0.1:1/a/b");
    std::string e = errorOf([&] { c.getManifest(r, "../../x"); });
    EXPECT_TRUE(contains(e, "invalid tag or digest")) << e;
    r.path = "a/../../v2";
    e = errorOf([&] { c.getManifest(r, "v1"); });
    EXPECT_TRUE(contains(e, "invalid repository name")) << e;
}

TEST(Client, UnreachableRegistry) {
    int port;
    {
        TestServer gone([](const TestRequest&) { return TestResponse{}; });
        port = gone.port();
    }
    Client c(fastOptions());
    std::string e = errorOf([&] { c.getManifest(Reference::parse("127.0.0.1:" + std::to_string(port) + "/a:b"), "b"); });
    EXPECT_TRUE(contains(e, "cannot reach registry 127.0.0.1:" + std::to_string(port))) << e;
}

TEST(Client, MirrorsFirstThenDockerHub) {
    const std::string blob = blobOf(5000);
    std::atomic<bool> mirrorHas{true};
    TestServer mirror([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        if (!mirrorHas) return notFound("MANIFEST_UNKNOWN", "manifest unknown");
        if (r.path() == "/v2/library/busybox/manifests/latest") return manifestResponse();
        if (r.path() == "/v2/library/busybox/blobs/" + descFor(blob).digest.str()) {
            TestResponse b;
            b.body = blob;
            return b;
        }
        return notFound("BLOB_UNKNOWN", "x");
    });
    TestServer hub([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        if (r.path() == "/v2/library/busybox/manifests/latest") return manifestResponse();
        return notFound("MANIFEST_UNKNOWN", "manifest unknown");
    });
    int deadPort;
    {
        TestServer gone([](const TestRequest&) { return TestResponse{}; });
        deadPort = gone.port();
    }
    ClientOptions o = fastOptions();
    o.registryMirrors = {"http://127.0.0.1:" + std::to_string(deadPort), mirror.url() + "/"};
    o.dockerHubUrl = hub.url();
    Client c(o);
    Reference ref = Reference::parse("busybox");
    EXPECT_EQ(c.getManifest(ref, "latest").body, kManifest);
    EXPECT_EQ(mirror.count("/v2/library/busybox/manifests/latest"), 1);
    EXPECT_EQ(hub.count("/v2/library/busybox/manifests/latest"), 0);
    StringSink sink;
    c.getBlob(ref, descFor(blob), sink);
    EXPECT_EQ(sink.data, blob);

    mirrorHas = false;   // the mirror lacks it: Docker Hub answers
    EXPECT_EQ(c.getManifest(ref, "latest").body, kManifest);
    EXPECT_EQ(hub.count("/v2/library/busybox/manifests/latest"), 1);
    // Neither has it: the answer of a registry is reported, not a connection failure.
    std::string e = errorOf([&] { c.getManifest(ref, "nosuch"); });
    EXPECT_TRUE(contains(e, "manifest for busybox:nosuch not found")) << e;
}

TEST(Client, ConcurrentBlobs) {
    std::vector<std::string> blobs;
    for (unsigned i = 0; i < 6; ++i) blobs.push_back(blobOf(400000 + i * 1000, i + 11));
    TestServer srv([&](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        for (const auto& b : blobs)
            if (r.path() == "/v2/test/repo/blobs/" + descFor(b).digest.str()) {
                TestResponse resp;
                resp.body = b;
                return resp;
            }
        return notFound("BLOB_UNKNOWN", "x");
    });
    Client c(fastOptions());
    std::vector<StringSink> sinks(blobs.size());
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    for (std::size_t i = 0; i < blobs.size(); ++i)
        ts.emplace_back([&, i] {
            try {
                c.getBlob(refOn(srv), descFor(blobs[i]), sinks[i]);
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    for (auto& t : ts) t.join();
    EXPECT_EQ(failures.load(), 0);
    for (std::size_t i = 0; i < blobs.size(); ++i) EXPECT_EQ(sinks[i].data, blobs[i]);
}

TEST(Client, CheckLogin) {
    TestServer srv([&](const TestRequest& r) {
        if (r.header("authorization") == "Basic " + std::string("dTpw")) return TestResponse::json(200, "{}");   // u:p
        TestResponse u = TestResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
        u.headers.emplace_back("WWW-Authenticate", "Basic realm=\"reg\"");
        return u;
    });
    Client c(fastOptions());
    EXPECT_NO_THROW(c.checkLogin(srv.hostPort(), Credentials{"u", "p", ""}));
    std::string e = errorOf([&] { c.checkLogin(srv.hostPort(), Credentials{"u", "bad", ""}); });
    EXPECT_TRUE(contains(e, "unauthorized")) << e;
}

}  // namespace

TEST(Client, ListTagsFollowsLinkPagesWithAuthAndRetries) {
    std::atomic<int> tokens{0}, page2Calls{0};
    std::unique_ptr<TestServer> srv;
    srv = std::make_unique<TestServer>([&](const TestRequest& r) {
        if (r.path() == "/token") {
            EXPECT_TRUE(contains(r.query(), "scope=repository%3Atest%2Frepo%3Apull")) << r.query();
            ++tokens;
            return TestResponse::json(200, R"({"token":"T1","expires_in":300})");
        }
        if (r.header("authorization") != "Bearer T1") {
            TestResponse u = TestResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
            u.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + srv->url() + "/token\",service=\"s\"");
            return u;
        }
        if (r.path() != "/v2/test/repo/tags/list") return notFound("NAME_UNKNOWN", "x");
        if (r.query().empty()) {
            TestResponse t = TestResponse::json(200, R"({"name":"test/repo","tags":["a","b"]})");
            // A relative next link, with another rel before it, as distribution writes it.
            t.headers.emplace_back("Link", "</elsewhere>; rel=\"prev\", </v2/test/repo/tags/list?n=2&last=b>; rel=\"next\"");
            return t;
        }
        if (r.query() == "n=2&last=b") {
            if (page2Calls++ == 0) return TestResponse::json(503, "{}");   // retried
            TestResponse t = TestResponse::json(200, R"({"name":"test/repo","tags":["c","d"]})");
            t.headers.emplace_back("Link", "<" + srv->url() + "/v2/test/repo/tags/list?n=2&last=d>; rel=\"next\"");
            return t;
        }
        if (r.query() == "n=2&last=d") return TestResponse::json(200, R"({"name":"test/repo","tags":["e"]})");
        return TestResponse::json(400, "{}");
    });
    Client c(fastOptions());
    std::vector<std::string> want{"a", "b", "c", "d", "e"};
    EXPECT_EQ(c.listTags(refOn(*srv)), want);
    EXPECT_EQ(tokens.load(), 1);
    EXPECT_EQ(page2Calls.load(), 2);
    EXPECT_EQ(srv->count("/v2/test/repo/tags/list"), 3 + 1);   // 3 pages, 1 retry (the /v2/ ping met the 401)
}

TEST(Client, ListTagsRefusesBadAnswers) {
    TestServer srv([](const TestRequest& r) {
        if (r.path() == "/v2/") return TestResponse::json(200, "{}");
        if (r.path() == "/v2/test/empty/tags/list") return TestResponse::json(200, R"({"name":"test/empty","tags":null})");
        if (r.path() == "/v2/test/away/tags/list") {
            TestResponse t = TestResponse::json(200, R"({"tags":["a"]})");
            t.headers.emplace_back("Link", "<http://127.0.0.2:1/v2/test/away/tags/list?last=a>; rel=\"next\"");
            return t;
        }
        if (r.path() == "/v2/test/badtag/tags/list") return TestResponse::json(200, R"({"tags":["ok","../x"]})");
        if (r.path() == "/v2/test/garbage/tags/list") return TestResponse::json(200, "not json");
        if (r.path() == "/v2/test/loop/tags/list") {
            TestResponse t = TestResponse::json(200, R"({"tags":[]})");
            t.headers.emplace_back("Link", "</v2/test/loop/tags/list>; rel=\"next\"");
            return t;
        }
        return notFound("NAME_UNKNOWN", "repository name not known to registry");
    });
    Client c(fastOptions());
    EXPECT_TRUE(c.listTags(refOn(srv, "test/empty")).empty());
    std::string e = errorOf([&] { c.listTags(refOn(srv, "test/away")); });
    EXPECT_TRUE(contains(e, "Link to another place")) << e;
    e = errorOf([&] { c.listTags(refOn(srv, "test/badtag")); });
    EXPECT_TRUE(contains(e, "invalid tag")) << e;
    e = errorOf([&] { c.listTags(refOn(srv, "test/garbage")); });
    EXPECT_TRUE(contains(e, "invalid list of tags")) << e;
    e = errorOf([&] { c.listTags(refOn(srv, "test/nope")); });
    EXPECT_TRUE(contains(e, "pull access denied")) << e;
    e = errorOf([&] { c.listTags(refOn(srv, "test/loop")); });
    EXPECT_TRUE(contains(e, "in a circle")) << e;
}
