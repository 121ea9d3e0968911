// Parsing and validation of the distribution protocol's JSON documents, and platforms.
#include "registry/types.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/error.h"

namespace mydock::registry {

using nlohmann::json;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// containerd's normalisation, so that "aarch64", "arm64/v8" and "arm64" compare equal.
Platform normalise(Platform p) {
    p.os = lower(p.os);
    p.architecture = lower(p.architecture);
    p.variant = lower(p.variant);
    if (p.os == "macos") p.os = "darwin";
    const std::string& a = p.architecture;
    if (a == "i386" || a == "i686" || a == "x86") p.architecture = "386";
    else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
        p.architecture = "amd64";
        if (p.variant == "v1") p.variant.clear();
    } else if (a == "aarch64" || a == "arm64") {
        p.architecture = "arm64";
        if (p.variant == "8" || p.variant == "v8" || p.variant == "v8.0") p.variant.clear();
    } else if (a == "armhf") {
        p.architecture = "arm";
        p.variant = "v7";
    } else if (a == "armel") {
        p.architecture = "arm";
        p.variant = "v6";
    } else if (a == "arm") {
        if (p.variant.empty() || p.variant == "7") p.variant = "v7";
        else if (p.variant == "5" || p.variant == "6" || p.variant == "8") p.variant = "v" + p.variant;
    }
    return p;
}

bool validPlatformWord(std::string_view s) {
    if (s.empty() || s.size() > 64 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
    return true;
}

// JSON accessors that fail with the document and field named.
[[noreturn]] void bad(const char* what, const std::string& why) {
    throw Error(std::string("invalid ") + what + ": " + why);
}

const json* field(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

std::string optString(const json& obj, const char* key, const char* what) {
    const json* v = field(obj, key);
    if (!v) return {};
    if (!v->is_string()) bad(what, std::string("\"") + key + "\" is not a string");
    return v->get<std::string>();
}

std::vector<std::string> optStringList(const json& obj, const char* key, const char* what) {
    std::vector<std::string> out;
    const json* v = field(obj, key);
    if (!v) return out;
    if (!v->is_array()) bad(what, std::string("\"") + key + "\" is not a list");
    for (const auto& e : *v) {
        if (!e.is_string()) bad(what, std::string("\"") + key + "\" holds a non-string");
        out.push_back(e.get<std::string>());
    }
    return out;
}

std::map<std::string, std::string> optStringMap(const json& obj, const char* key, const char* what) {
    std::map<std::string, std::string> out;
    const json* v = field(obj, key);
    if (!v) return out;
    if (!v->is_object()) bad(what, std::string("\"") + key + "\" is not an object");
    for (auto it = v->begin(); it != v->end(); ++it) {
        if (!it->is_string()) bad(what, std::string("\"") + key + "\" holds a non-string");
        out[it.key()] = it->get<std::string>();
    }
    return out;
}

std::vector<std::string> optObjectKeys(const json& obj, const char* key, const char* what) {
    std::vector<std::string> out;
    const json* v = field(obj, key);
    if (!v) return out;
    if (!v->is_object()) bad(what, std::string("\"") + key + "\" is not an object");
    for (auto it = v->begin(); it != v->end(); ++it) out.push_back(it.key());
    return out;
}

json parseJson(std::string_view body, const char* what) {
    if (body.size() > kMaxManifestBytes * 4) bad(what, "document too large");
    json j;
    try {
        j = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
        bad(what, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) bad(what, "not a JSON object");
    return j;
}

void checkSchemaVersion(const json& j, const char* what) {
    const json* v = field(j, "schemaVersion");
    if (!v || !v->is_number_integer()) bad(what, "missing schemaVersion");
    if (v->get<std::int64_t>() == 1)
        throw Error("unsupported manifest format: schema1 (Docker Image Manifest V2, Schema 1) is "
                    "deprecated and not supported (docker removed it too); push the image again "
                    "with a current tool");
    if (v->get<std::int64_t>() != 2) bad(what, "unsupported schemaVersion " + v->dump());
}

Platform parsePlatformJson(const json& p, const char* what) {
    if (!p.is_object()) bad(what, "\"platform\" is not an object");
    Platform out;
    out.os = optString(p, "os", what);
    out.architecture = optString(p, "architecture", what);
    out.variant = optString(p, "variant", what);
    return out;
}

Descriptor parseDescriptor(const json& d, const char* what) {
    if (!d.is_object()) bad(what, "a descriptor is not an object");
    Descriptor out;
    out.mediaType = optString(d, "mediaType", what);
    if (out.mediaType.empty()) bad(what, "a descriptor has no mediaType");
    const json* dg = field(d, "digest");
    if (!dg || !dg->is_string()) bad(what, "a descriptor has no digest");
    auto digest = Digest::tryParse(dg->get<std::string>());
    if (!digest) bad(what, "invalid digest \"" + dg->get<std::string>().substr(0, 200) + "\"");
    out.digest = *digest;
    const json* sz = field(d, "size");
    if (!sz || !sz->is_number_integer()) bad(what, "descriptor " + out.digest.str() + " has no integer size");
    if (sz->is_number_unsigned() && sz->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        bad(what, "descriptor " + out.digest.str() + " has an impossible size");
    out.size = sz->get<std::int64_t>();
    if (out.size < 0) bad(what, "descriptor " + out.digest.str() + " has a negative size");
    if (const json* p = field(d, "platform")) out.platform = parsePlatformJson(*p, what);
    out.urls = optStringList(d, "urls", what);
    out.annotations = optStringMap(d, "annotations", what);
    return out;
}

bool isAttestation(const Descriptor& d) {
    auto it = d.annotations.find("vnd.docker.reference.type");
    if (it != d.annotations.end() && it->second == "attestation-manifest") return true;
    return d.platform && d.platform->os == "unknown" && d.platform->architecture == "unknown";
}

}  // namespace

Platform Platform::host() {
    Platform p;
    p.os = "linux";
    struct utsname u {};
    // uname(2): the machine name is the kernel's view of the CPU (what docker maps to GOARCH).
    std::string m = ::uname(&u) == 0 ? u.machine : "x86_64";
    if (m == "x86_64" || m == "amd64") p.architecture = "amd64";
    else if (m == "aarch64" || m == "arm64" || m == "armv8l" || m == "aarch64_be") {
        p.architecture = "arm64";
        p.variant = "v8";
    } else if (m.starts_with("armv7")) {
        p.architecture = "arm";
        p.variant = "v7";
    } else if (m.starts_with("armv6")) {
        p.architecture = "arm";
        p.variant = "v6";
    } else if (m.starts_with("armv5")) {
        p.architecture = "arm";
        p.variant = "v5";
    } else if (m == "i386" || m == "i486" || m == "i586" || m == "i686") p.architecture = "386";
    else if (m == "ppc64le" || m == "s390x" || m == "riscv64" || m == "mips64" || m == "mips64le" ||
             m == "loong64" || m == "ppc64")
        p.architecture = m;
    else if (m == "loongarch64") p.architecture = "loong64";
    else p.architecture = m;
    return p;
}

Platform Platform::parse(std::string_view s) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        std::size_t slash = s.find('/', start);
        parts.push_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    auto fail = [&] {
        throw Error("invalid platform \"" + std::string(s.substr(0, 100)) +
                    "\": expected OS/ARCH[/VARIANT], e.g. linux/arm64/v8");
    };
    if (parts.size() > 3) fail();
    for (auto p : parts)
        if (!validPlatformWord(p)) fail();
    Platform out;
    if (parts.size() == 1) {
        // containerd: a lone word is an OS when it is one, else an architecture on linux.
        std::string w = lower(parts[0]);
        if (w == "linux" || w == "windows" || w == "darwin" || w == "freebsd") {
            out = host();
            out.os = w;
        } else {
            out.os = "linux";
            out.architecture = w;
        }
    } else {
        out.os = lower(parts[0]);
        out.architecture = lower(parts[1]);
        if (parts.size() == 3) out.variant = lower(parts[2]);
    }
    Platform n = normalise(out);
    // Keep the variant people write for arm64 ("v8") in what we print.
    if (n.architecture == "arm64" && n.variant.empty() && out.variant.size()) n.variant = "v8";
    return n;
}

std::string Platform::str() const {
    std::string out = os + "/" + architecture;
    if (!variant.empty()) out += "/" + variant;
    return out;
}

bool Platform::matches(const Platform& candidate) const {
    Platform a = normalise(*this), b = normalise(candidate);
    if (a.os != b.os || a.architecture != b.architecture) return false;
    // A wanted platform without a variant takes any variant of its architecture.
    return a.variant.empty() || a.variant == b.variant;
}

const Descriptor* Index::select(const Platform& want) const {
    Platform w = normalise(want);
    const Descriptor* best = nullptr;
    int bestScore = -1;
    for (const auto& d : manifests) {
        if (isAttestation(d) || !d.platform) continue;
        Platform c = normalise(*d.platform);
        if (c.os != w.os || c.architecture != w.architecture) continue;
        int score = -1;
        if (c.variant == w.variant) score = 100;           // exact
        else if (w.variant.empty()) score = 50;            // any variant will do
        else if (w.architecture == "arm" && c.variant.size() == 2 && w.variant.size() == 2 &&
                 c.variant[0] == 'v' && c.variant[1] < w.variant[1])
            score = 10 + (c.variant[1] - '0');             // older ARM runs on newer: v7 > v6 > v5
        else if (w.architecture == "arm64" && c.variant.empty())
            score = 90;                                     // arm64 with no variant is v8
        if (score > bestScore) {
            best = &d;
            bestScore = score;
        }
    }
    return best;
}

ManifestKind classifyManifest(std::string_view contentType, std::string_view body) {
    // Content-Type may carry parameters ("; charset=utf-8").
    std::string ct = lower(contentType.substr(0, contentType.find(';')));
    while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.pop_back();
    while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.erase(0, 1);

    auto fromType = [](const std::string& t) -> std::optional<ManifestKind> {
        if (t == media::kOciManifest || t == media::kDockerManifest) return ManifestKind::Manifest;
        if (t == media::kOciIndex || t == media::kDockerManifestList) return ManifestKind::Index;
        if (t == media::kDockerSchema1 || t == media::kDockerSchema1Signed)
            throw Error("unsupported manifest format: schema1 (" + t +
                        ") is deprecated and not supported (docker removed it too); push the "
                        "image again with a current tool");
        return std::nullopt;
    };
    if (auto k = fromType(ct)) return *k;

    // Absent or generic Content-Type: fall back to the document itself.
    json j = parseJson(body, "manifest");
    if (const json* sv = field(j, "schemaVersion"); sv && sv->is_number_integer() && sv->get<std::int64_t>() == 1)
        fromType(media::kDockerSchema1);
    std::string mt;
    if (const json* m = field(j, "mediaType"); m && m->is_string()) mt = m->get<std::string>();
    if (!mt.empty()) {
        if (auto k = fromType(mt)) return *k;
        throw Error("unsupported manifest media type \"" + mt.substr(0, 200) + "\"");
    }
    if (ct.empty() || ct == "application/json" || ct == "text/plain" || ct == "application/octet-stream") {
        if (j.contains("manifests")) return ManifestKind::Index;
        if (j.contains("config") && j.contains("layers")) return ManifestKind::Manifest;
    }
    throw Error("unsupported manifest media type \"" + std::string(contentType.substr(0, 200)) + "\"");
}

Manifest parseManifest(std::string_view body) {
    constexpr const char* what = "image manifest";
    json j = parseJson(body, what);
    checkSchemaVersion(j, what);
    Manifest m;
    m.mediaType = optString(j, "mediaType", what);
    if (!m.mediaType.empty() && m.mediaType != media::kOciManifest && m.mediaType != media::kDockerManifest)
        bad(what, "unexpected mediaType \"" + m.mediaType.substr(0, 200) + "\"");
    const json* cfg = field(j, "config");
    if (!cfg) bad(what, "no config descriptor");
    m.config = parseDescriptor(*cfg, what);
    const json* layers = field(j, "layers");
    if (!layers || !layers->is_array()) bad(what, "no layers list");
    for (const auto& l : *layers) m.layers.push_back(parseDescriptor(l, what));
    return m;
}

Index parseIndex(std::string_view body) {
    constexpr const char* what = "image index";
    json j = parseJson(body, what);
    checkSchemaVersion(j, what);
    Index idx;
    idx.mediaType = optString(j, "mediaType", what);
    if (!idx.mediaType.empty() && idx.mediaType != media::kOciIndex && idx.mediaType != media::kDockerManifestList)
        bad(what, "unexpected mediaType \"" + idx.mediaType.substr(0, 200) + "\"");
    const json* ms = field(j, "manifests");
    if (!ms || !ms->is_array()) bad(what, "no manifests list");
    for (const auto& d : *ms) idx.manifests.push_back(parseDescriptor(d, what));
    return idx;
}

ImageConfig parseImageConfig(std::string_view body) {
    constexpr const char* what = "image config";
    ImageConfig c;
    c.raw = parseJson(body, what);
    const json& j = c.raw;
    c.architecture = optString(j, "architecture", what);
    c.os = optString(j, "os", what);
    c.variant = optString(j, "variant", what);
    c.created = optString(j, "created", what);

    if (const json* cc = field(j, "config")) {
        if (!cc->is_object()) bad(what, "\"config\" is not an object");
        ContainerConfig& k = c.config;
        k.user = optString(*cc, "User", what);
        k.env = optStringList(*cc, "Env", what);
        k.hasEntrypoint = field(*cc, "Entrypoint") != nullptr;
        k.entrypoint = optStringList(*cc, "Entrypoint", what);
        k.hasCmd = field(*cc, "Cmd") != nullptr;
        k.cmd = optStringList(*cc, "Cmd", what);
        k.workingDir = optString(*cc, "WorkingDir", what);
        k.labels = optStringMap(*cc, "Labels", what);
        k.stopSignal = optString(*cc, "StopSignal", what);
        k.exposedPorts = optObjectKeys(*cc, "ExposedPorts", what);
        k.volumes = optObjectKeys(*cc, "Volumes", what);
    }

    const json* rootfs = field(j, "rootfs");
    if (!rootfs || !rootfs->is_object()) bad(what, "no rootfs");
    std::string type = optString(*rootfs, "type", what);
    if (type != "layers") bad(what, "rootfs type is \"" + type.substr(0, 100) + "\", not \"layers\"");
    const json* ids = field(*rootfs, "diff_ids");
    if (!ids || !ids->is_array()) bad(what, "no rootfs.diff_ids");
    for (const auto& id : *ids) {
        if (!id.is_string()) bad(what, "a diff_id is not a string");
        auto d = Digest::tryParse(id.get<std::string>());
        if (!d) bad(what, "invalid diff_id \"" + id.get<std::string>().substr(0, 200) + "\"");
        c.diffIds.push_back(*d);
    }
    return c;
}

}  // namespace mydock::registry
