// CredentialStore: docker's ~/.docker/config.json "auths", read and written in docker's format
// so that `docker login` and `mydock login` share credentials.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "registry/auth.h"
#include "registry/client.h"

namespace mydock::registry {

using nlohmann::json;

namespace {

constexpr const char* kDockerHubAuthKey = "https://index.docker.io/v1/";

// docker's ConvertToHostname: drop the scheme and any path.
std::string toHostname(std::string_view s) {
    if (auto p = s.find("://"); p != std::string_view::npos) s = s.substr(p + 3);
    if (auto p = s.find('/'); p != std::string_view::npos) s = s.substr(0, p);
    return std::string(s);
}

bool isDockerHub(const std::string& host) {
    return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

json load(const std::string& path) {
    std::string text;
    if (!fs::readFileIfExists(path, text)) return json::object();
    try {
        json j = json::parse(text);
        if (!j.is_object()) throw Error("not a JSON object");
        return j;
    } catch (const std::exception& e) {
        throw Error("cannot read credentials file " + path + ": " + e.what());
    }
}

}  // namespace

CredentialStore::CredentialStore(std::string configPath) : path_(std::move(configPath)) {}

std::string CredentialStore::defaultPath() {
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return fs::join(d, "config.json");
    std::string home;
    if (const char* h = std::getenv("HOME"); h && *h) home = h;
    else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) home = pw->pw_dir;
    else home = "/root";
    return fs::join(fs::join(home, ".docker"), "config.json");
}

std::string CredentialStore::keyFor(const std::string& registryDomain) {
    std::string host = toHostname(registryDomain);
    return isDockerHub(host) || host.empty() ? kDockerHubAuthKey : host;
}

std::optional<Credentials> CredentialStore::get(const std::string& registryDomain) const {
    json j = load(path_);
    auto auths = j.find("auths");
    if (auths == j.end() || !auths->is_object()) return std::nullopt;
    const std::string key = keyFor(registryDomain);
    const std::string host = toHostname(key);

    // The exact key first, then any key naming the same host ("http://host:5000", "docker.io").
    const json* entry = nullptr;
    if (auto it = auths->find(key); it != auths->end()) entry = &*it;
    for (auto it = auths->begin(); !entry && it != auths->end(); ++it) {
        std::string h = toHostname(it.key());
        if (h == host || (isDockerHub(h) && isDockerHub(host))) entry = &*it;
    }
    if (!entry || !entry->is_object()) return std::nullopt;

    Credentials c;
    if (auto a = entry->find("auth"); a != entry->end() && a->is_string() && !a->get<std::string>().empty()) {
        auto decoded = base64Decode(a->get<std::string>());
        if (!decoded) throw Error("invalid \"auth\" for " + key + " in " + path_);
        auto colon = decoded->find(':');
        if (colon == std::string::npos) throw Error("invalid \"auth\" for " + key + " in " + path_ + " (no ':')");
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
    } else {
        if (auto u = entry->find("username"); u != entry->end() && u->is_string()) c.username = *u;
        if (auto p = entry->find("password"); p != entry->end() && p->is_string()) c.password = *p;
    }
    if (auto t = entry->find("identitytoken"); t != entry->end() && t->is_string()) c.identityToken = *t;
    if (c.username.empty() && c.identityToken.empty()) return std::nullopt;
    return c;
}

void CredentialStore::set(const std::string& registryDomain, const Credentials& c) {
    json j = load(path_);   // unknown keys (credsStore, proxies, plugins...) stay as they are
    if (!j.contains("auths") || !j["auths"].is_object()) j["auths"] = json::object();
    json entry = json::object();
    entry["auth"] = base64Encode(c.username + ":" + c.password);
    if (!c.identityToken.empty()) entry["identitytoken"] = c.identityToken;
    j["auths"][keyFor(registryDomain)] = std::move(entry);
    // docker keeps ~/.docker at 0700 and the file at 0600: it holds passwords.
    fs::makeDirs(fs::dirname(path_), 0700);
    fs::writeFileAtomic(path_, j.dump(1, '\t') + "\n", true, 0600);
}

bool CredentialStore::erase(const std::string& registryDomain) {
    json j = load(path_);
    auto auths = j.find("auths");
    if (auths == j.end() || !auths->is_object()) return false;
    const std::string key = keyFor(registryDomain);
    const std::string host = toHostname(key);
    std::vector<std::string> doomed;
    for (auto it = auths->begin(); it != auths->end(); ++it) {
        std::string h = toHostname(it.key());
        if (it.key() == key || h == host) doomed.push_back(it.key());
    }
    if (doomed.empty()) return false;
    for (const auto& k : doomed) auths->erase(k);
    fs::writeFileAtomic(path_, j.dump(1, '\t') + "\n", true, 0600);
    return true;
}

}  // namespace mydock::registry
