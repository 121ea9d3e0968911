// Docker's reference grammar (distribution/reference), written as a small hand parser
// rather than std::regex: linear time on any input, easy to fuzz.
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [domain "/"] component ("/" component)*
//   domain     := host [":" port]     host := dns-name | IPv4 | "[" IPv6 "]"
//   component  := alnum+ (separator alnum+)*      alnum := [a-z0-9]
//   separator  := "." | "_" | "__" | "-"+
//   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
#include "registry/reference.h"

#include "common/error.h"
#include "registry/reference_grammar.h"

namespace mydock::registry {

namespace {

constexpr std::size_t kNameTotalLengthMax = 255;

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool isWord(char c) { return isAlnum(c) || c == '_'; }
bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool validDomainComponent(std::string_view s) {
    if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
    for (char c : s)
        if (!isAlnum(c) && c != '-') return false;
    return true;
}

bool validHost(std::string_view h) {
    if (h.empty()) return false;
    if (h.front() == '[') {  // bracketed IPv6 literal: [a-fA-F0-9:]+
        if (h.size() < 3 || h.back() != ']') return false;
        for (char c : h.substr(1, h.size() - 2))
            if (!isHex(c) && c != ':') return false;
        return true;
    }
    // dotted names; an IPv4 address is a special case of this.
    std::size_t start = 0;
    while (true) {
        std::size_t dot = h.find('.', start);
        if (!validDomainComponent(h.substr(start, dot == std::string_view::npos ? dot : dot - start)))
            return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

[[noreturn]] void invalid(std::string_view input, const std::string& why) {
    std::string shown(input.substr(0, 300));
    throw Error("invalid reference format: \"" + shown + "\": " + why);
}

}  // namespace

bool validDomain(std::string_view d) {
    // host [":" port]; the port is the part after the last ':' that follows any ']'.
    std::size_t bracket = d.rfind(']');
    std::size_t colon = d.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        std::string_view port = d.substr(colon + 1);
        if (port.empty()) return false;
        for (char c : port)
            if (c < '0' || c > '9') return false;
        d = d.substr(0, colon);
    }
    return validHost(d);
}

bool validPathComponent(std::string_view s) {
    // alnum+ (separator alnum+)*
    std::size_t i = 0, n = s.size();
    if (n == 0 || !isLowerAlnum(s[0])) return false;
    while (i < n) {
        while (i < n && isLowerAlnum(s[i])) ++i;
        if (i == n) return true;
        // a separator: "." | "_" | "__" | "-"+
        if (s[i] == '.') ++i;
        else if (s[i] == '_') i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-') while (i < n && s[i] == '-') ++i;
        else return false;
        if (i == n || !isLowerAlnum(s[i])) return false;
    }
    return true;
}

bool validRepositoryPath(std::string_view p) {
    if (p.empty()) return false;
    std::size_t start = 0;
    while (true) {
        std::size_t slash = p.find('/', start);
        if (!validPathComponent(p.substr(start, slash == std::string_view::npos ? slash : slash - start)))
            return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool validTag(std::string_view t) {
    if (t.empty() || t.size() > 128 || !isWord(t[0])) return false;
    for (char c : t)
        if (!isWord(c) && c != '.' && c != '-') return false;
    return true;
}

Reference Reference::parse(std::string_view s) {
    if (s.empty()) invalid(s, "empty reference");
    if (s.size() > 4096) invalid(s, "reference too long");
    // A bare 64-hex string is an image ID, never a repository name (docker refuses it too).
    if (s.size() == 64) {
        bool allHex = true;
        for (char c : s) allHex = allHex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        if (allHex) invalid(s, "cannot specify 64-byte hexadecimal strings as a repository name");
    }

    Reference r;
    std::string_view rest = s;
    // The name and tag can never contain '@', so the first one starts the digest.
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        std::string_view dg = rest.substr(at + 1);
        auto d = Digest::tryParse(dg);
        if (!d) invalid(s, "invalid digest \"" + std::string(dg.substr(0, 200)) + "\"");
        r.digest = *d;
        rest = rest.substr(0, at);
    }
    // A ':' after the last '/' starts the tag; one before it belongs to a domain's port.
    std::size_t lastSlash = rest.rfind('/');
    std::size_t lastColon = rest.rfind(':');
    if (lastColon != std::string_view::npos && (lastSlash == std::string_view::npos || lastColon > lastSlash)) {
        std::string_view tag = rest.substr(lastColon + 1);
        if (!validTag(tag)) invalid(s, "invalid tag \"" + std::string(tag.substr(0, 200)) + "\"");
        r.tag = std::string(tag);
        rest = rest.substr(0, lastColon);
    }
    if (rest.empty()) invalid(s, "repository name must have at least one component");

    // docker's splitDockerDomain: the first component is a registry host when it contains
    // '.' or ':', is "localhost", or has upper-case letters (no repository path can).
    std::string_view domain, remote;
    std::size_t slash = rest.find('/');
    std::string_view first = rest.substr(0, slash);
    bool firstHasUpper = false;
    for (char c : first) firstHasUpper = firstHasUpper || (c >= 'A' && c <= 'Z');
    if (slash == std::string_view::npos ||
        (first.find_first_of(".:") == std::string_view::npos && first != "localhost" && !firstHasUpper)) {
        domain = kDockerHubDomain;
        remote = rest;
    } else {
        domain = first;
        remote = rest.substr(slash + 1);
    }
    if (!validDomain(domain)) invalid(s, "invalid registry host \"" + std::string(domain) + "\"");
    r.domain = std::string(domain);
    if (r.domain == "index.docker.io") r.domain = kDockerHubDomain;

    for (char c : remote)
        if (c >= 'A' && c <= 'Z') invalid(s, "repository name must be lowercase");
    if (!validRepositoryPath(remote)) invalid(s, "invalid repository name \"" + std::string(remote) + "\"");
    r.path = std::string(remote);
    if (r.domain == kDockerHubDomain && r.path.find('/') == std::string::npos) r.path = "library/" + r.path;
    if (r.domain.size() + 1 + r.path.size() > kNameTotalLengthMax)
        invalid(s, "repository name must not be more than 255 characters");

    if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
    return r;
}

std::string Reference::familiarRepository() const {
    if (domain == kDockerHubDomain) {
        constexpr std::string_view lib = "library/";
        if (path.starts_with(lib) && path.find('/', lib.size()) == std::string::npos)
            return path.substr(lib.size());
        return path;
    }
    return domain + "/" + path;
}

std::string Reference::string() const {
    std::string out = repository();
    if (!tag.empty()) out += ":" + tag;
    if (!digest.empty()) out += "@" + digest.str();
    return out;
}

std::string Reference::familiar() const {
    std::string out = familiarRepository();
    if (!tag.empty()) out += ":" + tag;
    if (!digest.empty()) out += "@" + digest.str();
    return out;
}

std::string Reference::apiHost() const {
    return domain == kDockerHubDomain ? std::string(kDockerHubApiHost) : domain;
}

}  // namespace mydock::registry
