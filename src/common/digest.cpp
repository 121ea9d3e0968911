#include "common/digest.h"

#include <openssl/evp.h>

#include "common/error.h"
#include "common/shared_library.h"

namespace mydock {

namespace {

// libcrypto, loaded on first use: linking it costs every mydock start ~0.6 ms of relocations
// (3,500 symbols), while only pulls, image checks and a few names need a SHA-256. Typed from
// OpenSSL's own header; libcrypto.so.3 is OpenSSL 3's stable SONAME.
struct CryptoApi {
    decltype(&::EVP_MD_CTX_new) ctxNew = nullptr;
    decltype(&::EVP_MD_CTX_free) ctxFree = nullptr;
    decltype(&::EVP_sha256) sha256 = nullptr;
    decltype(&::EVP_DigestInit_ex) init = nullptr;
    decltype(&::EVP_DigestUpdate) update = nullptr;
    decltype(&::EVP_DigestFinal_ex) final = nullptr;
};

const CryptoApi& crypto() {
    static LoadOnce<CryptoApi> table;
    return table.get([] {
        SharedLibrary lib("libcrypto.so.3", "for SHA-256 digests");
        CryptoApi api;
        lib.resolve("EVP_MD_CTX_new", api.ctxNew);
        lib.resolve("EVP_MD_CTX_free", api.ctxFree);
        lib.resolve("EVP_sha256", api.sha256);
        lib.resolve("EVP_DigestInit_ex", api.init);
        lib.resolve("EVP_DigestUpdate", api.update);
        lib.resolve("EVP_DigestFinal_ex", api.final);
        lib.keep();
        return api;
    });
}

bool isLowerHex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}
}  // namespace

std::optional<Digest> Digest::tryParse(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
    std::size_t want = algo == "sha256" ? 64 : algo == "sha512" ? 128 : 0;
    if (want == 0 || hex.size() != want || !isLowerHex(hex)) return std::nullopt;
    Digest d;
    d.algo_ = std::string(algo);
    d.hex_ = std::string(hex);
    return d;
}

Digest Digest::parse(std::string_view s) {
    if (auto d = tryParse(s)) return *d;
    throw Error("invalid digest \"" + std::string(s.substr(0, 200)) + "\"");
}

Digest Digest::sha256Of(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

void Sha256::Free::operator()(void* c) const noexcept {
    // Only ever non-null after crypto() succeeded.
    crypto().ctxFree(static_cast<EVP_MD_CTX*>(c));
}

Sha256::Sha256() {
    const CryptoApi& c = crypto();
    ctx_.reset(c.ctxNew());
    if (!ctx_ || c.init(static_cast<EVP_MD_CTX*>(ctx_.get()), c.sha256(), nullptr) != 1)
        throw Error("cannot initialise SHA-256");
}

void Sha256::update(const void* data, std::size_t n) {
    crypto().update(static_cast<EVP_MD_CTX*>(ctx_.get()), data, n);
    bytes_ += n;
}

Digest Sha256::finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    crypto().final(static_cast<EVP_MD_CTX*>(ctx_.get()), md, &len);
    static const char* k = "0123456789abcdef";
    std::string hex(len * 2, '0');
    for (unsigned i = 0; i < len; ++i) {
        hex[2 * i] = k[md[i] >> 4];
        hex[2 * i + 1] = k[md[i] & 15];
    }
    return Digest::sha256OfHex(hex);
}

}  // namespace mydock
