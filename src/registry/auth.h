// Registry authentication pieces that need no network: the WWW-Authenticate parser, token
// responses, base64 (for Basic credentials and docker's config.json), and the token cache.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mydock::registry {

struct Challenge {
    std::string scheme;                         // lower-case: "bearer", "basic", ...
    std::map<std::string, std::string> params;  // keys lower-case, values unquoted
    std::string param(const std::string& key) const {
        auto it = params.find(key);
        return it == params.end() ? std::string() : it->second;
    }
};

// RFC 7235 challenges: `Bearer realm="https://auth",service="reg",scope="a:b:pull", Basic
// realm="x"`. Several challenges may share one header; quoted strings may hold escapes and
// commas. Never throws; malformed parts are skipped.
std::vector<Challenge> parseChallenges(std::string_view header);

struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
};

// A token endpoint's JSON answer: "token" or "access_token", "expires_in" (default 60 s,
// docker's minimum). Throws mydock::Error on a body without a token.
Token parseTokenResponse(std::string_view body, std::chrono::steady_clock::time_point now);

std::string base64Encode(std::string_view in);
std::optional<std::string> base64Decode(std::string_view in);  // nullopt when malformed

// Tokens per (registry host, scope), shared by every thread of one Client.
class TokenCache {
public:
    std::optional<std::string> get(const std::string& host, const std::string& scope) const;
    void put(const std::string& host, const std::string& scope, Token t);
    void drop(const std::string& host, const std::string& scope, const std::string& value);

private:
    mutable std::mutex mu_;
    std::map<std::pair<std::string, std::string>, Token> tokens_;
};

}  // namespace mydock::registry
