#include "registry/auth.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace mydock::registry {

namespace {

bool isTchar(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool isSpace(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::vector<Challenge> parseChallenges(std::string_view h) {
    std::vector<Challenge> out;
    std::size_t i = 0, n = h.size();
    bool haveCurrent = false;
    while (i < n) {
        while (i < n && (isSpace(h[i]) || h[i] == ',')) ++i;
        if (i >= n) break;
        std::size_t start = i;
        while (i < n && isTchar(h[i])) ++i;
        if (i == start) {  // junk: skip one byte and carry on
            ++i;
            continue;
        }
        std::string tok(h.substr(start, i - start));
        std::size_t j = i;
        while (j < n && isSpace(h[j])) ++j;
        if (j < n && h[j] == '=') {
            // auth-param: token "=" ( token / quoted-string )
            i = j + 1;
            while (i < n && isSpace(h[i])) ++i;
            std::string value;
            if (i < n && h[i] == '"') {
                ++i;
                while (i < n && h[i] != '"') {
                    if (h[i] == '\\' && i + 1 < n) ++i;  // quoted-pair
                    value += h[i++];
                }
                if (i < n) ++i;  // closing quote
            } else {
                while (i < n && h[i] != ',' && !isSpace(h[i])) value += h[i++];
            }
            if (haveCurrent) out.back().params.emplace(lower(tok), std::move(value));
        } else {
            out.push_back(Challenge{lower(tok), {}});
            haveCurrent = true;
        }
    }
    return out;
}

Token parseTokenResponse(std::string_view body, std::chrono::steady_clock::time_point now) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(body.begin(), body.end());
    } catch (const std::exception&) {
        throw Error("token server answered with something that is not JSON");
    }
    if (!j.is_object()) throw Error("token server answered with something that is not a JSON object");
    Token t;
    for (const char* key : {"token", "access_token"}) {
        auto it = j.find(key);
        if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
            t.value = it->get<std::string>();
            break;
        }
    }
    if (t.value.empty()) throw Error("token server answered without a token");
    // The spec's default and minimum lifetime is 60 s.
    long long secs = 60;
    if (auto it = j.find("expires_in"); it != j.end() && it->is_number_integer()) secs = it->get<long long>();
    if (secs < 60) secs = 60;
    if (secs > 86400 * 7) secs = 86400 * 7;
    t.expires = now + std::chrono::seconds(secs);
    return t;
}

std::string base64Encode(std::string_view in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += k[(v >> 18) & 63];
        out += k[(v >> 12) & 63];
        out += k[(v >> 6) & 63];
        out += k[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += k[(v >> 18) & 63];
        out += k[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += k[(v >> 18) & 63];
        out += k[(v >> 12) & 63];
        out += k[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64Decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    while (!in.empty() && (in.back() == '=' || in.back() == '\n' || in.back() == '\r')) in.remove_suffix(1);
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = val(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

std::optional<std::string> TokenCache::get(const std::string& host, const std::string& scope) const {
    std::lock_guard lk(mu_);
    auto it = tokens_.find({host, scope});
    // Ten seconds of margin so that a token does not expire between here and the server.
    if (it == tokens_.end() || it->second.expires - std::chrono::seconds(10) <= std::chrono::steady_clock::now())
        return std::nullopt;
    return it->second.value;
}

void TokenCache::put(const std::string& host, const std::string& scope, Token t) {
    std::lock_guard lk(mu_);
    tokens_[{host, scope}] = std::move(t);
}

void TokenCache::drop(const std::string& host, const std::string& scope, const std::string& value) {
    std::lock_guard lk(mu_);
    auto it = tokens_.find({host, scope});
    if (it != tokens_.end() && it->second.value == value) tokens_.erase(it);
}

}  // namespace mydock::registry
