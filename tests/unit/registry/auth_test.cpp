// WWW-Authenticate parsing, token answers, base64 and the token cache.
#include <gtest/gtest.h>

#include <vector>

#include "common/error.h"
#include "registry/auth.h"

using namespace mydock::registry;

namespace {

TEST(Challenges, BearerFromDockerHub) {
    auto cs = parseChallenges(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull")");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].scheme, "bearer");
    EXPECT_EQ(cs[0].param("realm"), "https://auth.docker.io/token");
    EXPECT_EQ(cs[0].param("service"), "registry.docker.io");
    EXPECT_EQ(cs[0].param("scope"), "repository:library/ubuntu:pull");
}

TEST(Challenges, BasicAndCaseInsensitiveScheme) {
    auto cs = parseChallenges(R"(BASIC realm="Registry Realm")");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].scheme, "basic");
    EXPECT_EQ(cs[0].param("realm"), "Registry Realm");
}

TEST(Challenges, SeveralInOneHeader) {
    auto cs = parseChallenges(R"(Basic realm="a, b", Bearer realm="https://x/token", service=reg , error="invalid_token")");
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0].scheme, "basic");
    EXPECT_EQ(cs[0].param("realm"), "a, b");          // a comma inside quotes stays
    EXPECT_EQ(cs[1].scheme, "bearer");
    EXPECT_EQ(cs[1].param("realm"), "https://x/token");
    EXPECT_EQ(cs[1].param("service"), "reg");          // a token value, unquoted
    EXPECT_EQ(cs[1].param("error"), "invalid_token");
}

TEST(Challenges, QuotedEscapesAndKeyCase) {
    auto cs = parseChallenges(R"(Bearer Realm = "a\"b\\c" ,SERVICE="s")");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].param("realm"), "a\"b\\c");
    EXPECT_EQ(cs[0].param("service"), "s");
}

TEST(Challenges, MalformedNeverThrows) {
    for (const char* h : {"", ",,,", "=", "Bearer", "Bearer realm=", "Bearer realm=\"unterminated", "\"x\" y=1",
                          "Bearer ,,, realm=\"r\"", "Negotiate abc==", "\x01\x02\xff"}) {
        EXPECT_NO_THROW(parseChallenges(h)) << h;
    }
    auto cs = parseChallenges("Bearer");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_TRUE(cs[0].params.empty());
    cs = parseChallenges("Bearer realm=\"unterminated");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].param("realm"), "unterminated");
    cs = parseChallenges("Bearer ,,, realm=\"r\"");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].param("realm"), "r");
}

TEST(Token, Response) {
    auto now = std::chrono::steady_clock::now();
    Token t = parseTokenResponse(R"({"token":"abc","expires_in":300})", now);
    EXPECT_EQ(t.value, "abc");
    EXPECT_EQ(t.expires - now, std::chrono::seconds(300));
    t = parseTokenResponse(R"({"access_token":"xyz"})", now);
    EXPECT_EQ(t.value, "xyz");
    EXPECT_EQ(t.expires - now, std::chrono::seconds(60));   // the default
    t = parseTokenResponse(R"({"token":"a","expires_in":5})", now);
    EXPECT_EQ(t.expires - now, std::chrono::seconds(60));   // and the minimum
    EXPECT_THROW(parseTokenResponse(R"({"expires_in":5})", now), mydock::Error);
    EXPECT_THROW(parseTokenResponse("garbage", now), mydock::Error);
    EXPECT_THROW(parseTokenResponse("[]", now), mydock::Error);
}

TEST(Base64, RoundTrip) {
    EXPECT_EQ(base64Encode(""), "");
    EXPECT_EQ(base64Encode("f"), "Zg==");
    EXPECT_EQ(base64Encode("fo"), "Zm8=");
    EXPECT_EQ(base64Encode("foo"), "Zm9v");
    EXPECT_EQ(base64Encode("user:pass"), "dXNlcjpwYXNz");
    for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", "user:p@ss:w0rd", std::string("\0\xff\x80", 3)})
        EXPECT_EQ(base64Decode(base64Encode(s)).value(), s);
    EXPECT_FALSE(base64Decode("a").has_value());
    EXPECT_FALSE(base64Decode("ab!d").has_value());
}

TEST(TokenCache, ExpiryAndDrop) {
    TokenCache c;
    auto now = std::chrono::steady_clock::now();
    c.put("h", "s", Token{"t1", now + std::chrono::seconds(300)});
    EXPECT_EQ(c.get("h", "s").value(), "t1");
    EXPECT_FALSE(c.get("h", "other").has_value());
    EXPECT_FALSE(c.get("other", "s").has_value());
    c.drop("h", "s", "not-it");
    EXPECT_TRUE(c.get("h", "s").has_value());
    c.drop("h", "s", "t1");
    EXPECT_FALSE(c.get("h", "s").has_value());
    c.put("h", "s", Token{"old", now + std::chrono::seconds(5)});   // about to expire: not used
    EXPECT_FALSE(c.get("h", "s").has_value());
}

}  // namespace
