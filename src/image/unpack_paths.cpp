#include "image/unpack_paths.h"

#include "common/error.h"

namespace mydock::image::unpack {

namespace {
constexpr std::string_view kWhPrefix = ".wh.";
constexpr std::string_view kWhMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

// Entry names come from hostile tars: quote them printable so messages stay one line.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s.substr(0, 200)) {
        if (c < 0x20 || c == 0x7f) {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > 200) out += "...";
    return out + "\"";
}
}  // namespace

std::vector<std::string> splitEntryPath(std::string_view name) {
    if (name.size() > kMaxEntryName)
        throw Error("layer entry " + quoted(name) + " has a name longer than " +
                    std::to_string(kMaxEntryName) + " bytes");
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i < name.size()) {
        std::size_t j = name.find('/', i);
        if (j == std::string_view::npos) j = name.size();
        std::string_view c = name.substr(i, j - i);
        if (c == "..")
            throw Error("layer entry " + quoted(name) +
                        " has a \"..\" component (it would point outside the layer)");
        if (!c.empty() && c != ".") parts.emplace_back(c);
        i = j + 1;
    }
    return parts;
}

std::string joinComponents(const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& p : parts) {
        if (!s.empty()) s += '/';
        s += p;
    }
    return s.empty() ? std::string(".") : s;
}

Whiteout classifyWhiteout(std::string_view base) {
    if (!base.starts_with(kWhPrefix)) return {};
    if (base == kOpaque) return {WhiteoutKind::Opaque, {}};
    if (base.starts_with(kWhMetaPrefix)) return {WhiteoutKind::Meta, {}};
    std::string_view target = base.substr(kWhPrefix.size());
    if (target.empty() || target == "." || target == ".." ||
        target.find('/') != std::string_view::npos || target.find('\0') != std::string_view::npos)
        throw Error("layer entry " + quoted(base) + " is an invalid whiteout name");
    return {WhiteoutKind::Whiteout, std::string(target)};
}

}  // namespace mydock::image::unpack
