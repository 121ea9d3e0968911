// Content digests ("sha256:<64 hex>") and a streaming SHA-256 hasher.
// A Digest is only ever constructed valid, so its hex part is safe to use as a file name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mydock {

class Digest {
public:
    Digest() = default;  // empty: "no digest"; check with empty()
    // Parses "sha256:<64 lowercase hex>" (the only algorithm mydock stores; sha512 parses
    // too but is rejected by the stores). Throws mydock::Error naming the string otherwise.
    static Digest parse(std::string_view s);
    static std::optional<Digest> tryParse(std::string_view s);
    static Digest sha256OfHex(std::string_view hex) { return parse("sha256:" + std::string(hex)); }
    static Digest sha256Of(std::string_view data);

    const std::string& algorithm() const { return algo_; }
    const std::string& hex() const { return hex_; }
    std::string str() const { return empty() ? std::string() : algo_ + ":" + hex_; }
    std::string shortHex(std::size_t n = 12) const { return hex_.substr(0, n); }
    bool empty() const { return hex_.empty(); }

    friend bool operator==(const Digest& a, const Digest& b) = default;
    friend auto operator<=>(const Digest& a, const Digest& b) = default;

private:
    std::string algo_;
    std::string hex_;
};

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    Digest finish();        // may be called once; the hasher is then spent
    std::uint64_t bytes() const { return bytes_; }

private:
    // libcrypto's EVP_MD_CTX, opaque here: libcrypto is loaded on first use (digest.cpp).
    struct Free { void operator()(void* c) const noexcept; };
    std::unique_ptr<void, Free> ctx_;
    std::uint64_t bytes_ = 0;
};

}  // namespace mydock
