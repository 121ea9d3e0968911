#include "cli/context.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"

namespace mydock::cli {

static void loadConfigFile(const std::string& path, EngineConfig& out) {
    std::string text;
    if (!fs::readFileIfExists(path, text)) return;
    try {
        auto j = nlohmann::json::parse(text);
        if (j.contains("registry-mirrors")) out.registryMirrors = j.at("registry-mirrors").get<std::vector<std::string>>();
        if (j.contains("insecure-registries"))
            out.insecureRegistries = j.at("insecure-registries").get<std::vector<std::string>>();
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
