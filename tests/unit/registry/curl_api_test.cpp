// libcurl is loaded with dlopen on first use (registry/curl_api.h): not at start, the table
// is complete, a missing library gives a clear error, and a transfer goes through it.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "registry/curl_api.h"
#include "registry/transport.h"
#include "test_http_server.h"

using namespace mydock::registry::detail;
using mydock::testing::TestRequest;
using mydock::testing::TestResponse;
using mydock::testing::TestServer;

namespace {

// Read before main, before any test: the binary must not pull libcurl in by linking.
bool loadedAt(const char* soname) {
    void* h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != nullptr;
}
const bool gCurlLoadedAtStart = loadedAt(kCurlSoname);

}  // namespace

TEST(CurlApi, NotLoadedAtStart) { EXPECT_FALSE(gCurlLoadedAtStart) << kCurlSoname << " is linked, not lazy"; }

TEST(CurlApi, EveryFunctionIsResolved) {
    const CurlApi& a = curlApi();
#define MYDOCK_CURL_CHECK(name) EXPECT_NE(a.name, nullptr) << "curl_" #name;
    MYDOCK_CURL_FUNCTIONS(MYDOCK_CURL_CHECK)
#undef MYDOCK_CURL_CHECK
    EXPECT_EQ(&curlApi(), &a) << "loaded once, one table per process";
    EXPECT_TRUE(loadedAt(kCurlSoname));
    const curl_version_info_data* v = a.version_info(CURLVERSION_NOW);
    ASSERT_NE(v, nullptr);
    EXPECT_GE(v->version_num, 0x073e00u) << "curl_url needs libcurl 7.62";
}

TEST(CurlApi, MissingLibraryIsAClearError) {
    try {
        loadCurlApi("libmydock-no-such-curl.so.4");
        FAIL() << "loaded a library that does not exist";
    } catch (const mydock::Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind("libmydock-no-such-curl.so.4 is needed to talk to registries: ", 0), 0u) << m;
        EXPECT_NE(m.find("cannot open shared object file"), std::string::npos) << m;  // dlerror's words
        EXPECT_EQ(e.exitCode(), mydock::kExitEngineError);
    }
}

TEST(CurlApi, MissingSymbolIsAClearError) {
    try {
        loadCurlApi("libz.so.1");
        FAIL() << "libz passed for libcurl";
    } catch (const mydock::Error& e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind("libz.so.1 is needed to talk to registries: ", 0), 0u) << m;
        EXPECT_NE(m.find("curl_global_init"), std::string::npos) << m;
    }
}

TEST(CurlApi, UrlHelpersGoThroughTheTable) {
    EXPECT_EQ(Transport::hostPort("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
    EXPECT_EQ(Transport::origin("HTTPS://Example.COM/x"), "https://example.com:443");
    EXPECT_EQ(Transport::resolve("http://a:1/v2/x", "/v2/y?z=1"), "http://a:1/v2/y?z=1");
    EXPECT_EQ(Transport::escape("a b/c"), "a%20b%2Fc");
}

// Transfers from several threads at once through one Transport: the first use loads the
// library and runs curl_global_init once; every thread sees the whole body and headers.
TEST(CurlApi, TransfersFromSeveralThreads) {
    TestServer srv([](const TestRequest& r) {
        TestResponse a;
        a.headers.emplace_back("X-Path", r.path());
        a.body = "body of " + r.path();
        return a;
    });
    Transport t;
    std::vector<std::thread> ts;
    std::vector<std::string> bodies(4), paths(4);
    std::vector<int> status(4), codes(4, -1);
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([&, i] {
            HttpRequest req;
            req.url = srv.url() + "/p" + std::to_string(i);
            req.onData = [&, i](const char* p, std::size_t n) {
                bodies[i].append(p, n);
                return true;
            };
            HttpResult r = t.perform(req);
            codes[i] = r.curlCode;
            status[i] = static_cast<int>(r.response.status);
            paths[i] = r.response.header("x-path");
        });
    for (auto& th : ts) th.join();
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(codes[i], 0) << i;
        EXPECT_EQ(status[i], 200) << i;
        EXPECT_EQ(paths[i], "/p" + std::to_string(i));
        EXPECT_EQ(bodies[i], "body of /p" + std::to_string(i));
    }
}
