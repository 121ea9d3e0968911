#include "cli/context.h"

#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"

namespace mydock::cli {

// A byte count as a number or a string "123", "64k", "10m", "10g", "1t" (powers of 1024).
static std::uint64_t parseSize(const nlohmann::json& v, const char* key) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        std::size_t i = 0;
        std::uint64_t n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (n > (UINT64_MAX - 9) / 10) throw Error(std::string(key) + ": \"" + s + "\" is too large");
            n = n * 10 + static_cast<std::uint64_t>(s[i++] - '0');
        }
        std::string unit = s.substr(i);
        if (!unit.empty() && (unit.back() == 'b' || unit.back() == 'B')) unit.pop_back();
        int shift = -1;
        if (unit.empty()) shift = 0;
        else if (unit.size() == 1) {
            switch (unit[0]) {
                case 'k': case 'K': shift = 10; break;
                case 'm': case 'M': shift = 20; break;
                case 'g': case 'G': shift = 30; break;
                case 't': case 'T': shift = 40; break;
                default: break;
            }
        }
        if (i == 0 || shift < 0) throw Error(std::string(key) + ": invalid size \"" + s + "\" (want e.g. 1048576, \"512m\", \"10g\")");
        if (shift > 0 && n > (UINT64_MAX >> shift)) throw Error(std::string(key) + ": \"" + s + "\" is too large");
        return n << shift;
    }
    throw Error(std::string(key) + ": want a non-negative number of bytes or a string like \"10g\"");
}

static void loadConfigFile(const std::string& path, EngineConfig& out) {
    std::string text;
    if (!fs::readFileIfExists(path, text)) return;
    try {
        auto j = nlohmann::json::parse(text);
        if (j.contains("registry-mirrors")) out.registryMirrors = j.at("registry-mirrors").get<std::vector<std::string>>();
        if (j.contains("insecure-registries"))
            out.insecureRegistries = j.at("insecure-registries").get<std::vector<std::string>>();
        if (j.contains("max-layer-size")) out.maxLayerSize = parseSize(j.at("max-layer-size"), "max-layer-size");
        if (j.contains("max-layer-entries")) {
            const auto& v = j.at("max-layer-entries");
            if (!v.is_number_unsigned()) throw Error("max-layer-entries: want a non-negative integer");
            out.maxLayerEntries = v.get<std::uint64_t>();
        }
    } catch (const std::exception& e) {
        throw Error("invalid config file " + path + ": " + e.what());
    }
}

void Context::finalise() {
    log::Level lvl;
    if (!log::parseLevel(logLevel, lvl)) throw Error("invalid --log-level \"" + logLevel + "\"");
    log::setLevel(lvl);
    if (!rootFlag.empty()) root = rootFlag;
    else if (const char* env = std::getenv("MYDOCK_ROOT"); env && *env) root = env;
    else root = "/var/lib/mydock";
    // The state root is used by absolute path everywhere (containers chdir and pivot).
    if (root.front() != '/') {
        char* cwd = ::getcwd(nullptr, 0);
        if (cwd) {
            root = fs::join(cwd, root);
            std::free(cwd);
        }
    }
    std::string local = fs::join(root, "config.json");
    if (fs::exists(local)) loadConfigFile(local, config);
    else loadConfigFile("/etc/mydock/config.json", config);
}

}  // namespace mydock::cli
