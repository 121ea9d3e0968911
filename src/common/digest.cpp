#include "common/digest.h"

#include "common/error.h"

namespace mydock {

namespace {
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

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
        throw Error("cannot initialise SHA-256");
}

void Sha256::update(const void* data, std::size_t n) {
    EVP_DigestUpdate(ctx_.get(), data, n);
    bytes_ += n;
}

Digest Sha256::finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static const char* k = "0123456789abcdef";
    std::string hex(len * 2, '0');
    for (unsigned i = 0; i < len; ++i) {
        hex[2 * i] = k[md[i] >> 4];
        hex[2 * i + 1] = k[md[i] & 15];
    }
    return Digest::sha256OfHex(hex);
}

}  // namespace mydock
