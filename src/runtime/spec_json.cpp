#include "runtime/spec_json.h"

#include "common/error.h"
#include "common/fs.h"

namespace mydock::runtime {

namespace {

const char* networkName(NetworkMode m) {
    switch (m) {
        case NetworkMode::Host: return "host";
        case NetworkMode::Bridge: return "bridge";
        case NetworkMode::None: break;
    }
    return "none";
}

NetworkMode networkFromName(const std::string& s) {
    if (s == "none") return NetworkMode::None;
    if (s == "host") return NetworkMode::Host;
    if (s == "bridge") return NetworkMode::Bridge;
    throw Error("malformed container spec: unknown network mode \"" + s + "\"");
}

// The plain fields of a spec, one list for both directions: `f(key, member)` for each (json
// key = member name). `S` is ContainerSpec or const ContainerSpec. User, mounts and network
// have their own shapes and are handled by the callers.
template <class S, class F>
void plainFields(S& s, F&& f) {
    f("id", s.id);
    f("hostname", s.hostname);
    f("lowerDirs", s.lowerDirs);
    f("containerDir", s.containerDir);
    f("readonlyRootfs", s.readonlyRootfs);
    f("argv", s.argv);
    f("env", s.env);
    f("cwd", s.cwd);
    f("terminal", s.terminal);
    f("stdinOpen", s.stdinOpen);
    f("publish", s.publish);
    f("stateRoot", s.stateRoot);
    f("seccompCacheDir", s.seccompCacheDir);
    f("init", s.init);
    f("initPath", s.initPath);
    f("maskedPaths", s.maskedPaths);
    f("readonlyPaths", s.readonlyPaths);
    f("dieWithParent", s.dieWithParent);
}

template <class R, class F>
void resourceFields(R& r, F&& f) {
    f("memoryBytes", r.memoryBytes);
    f("cpuQuotaUs", r.cpuQuotaUs);
    f("cpuPeriodUs", r.cpuPeriodUs);
    f("pidsLimit", r.pidsLimit);
}

template <class O, class F>
void securityFields(O& o, F&& f) {
    f("capAdd", o.capAdd);
    f("capDrop", o.capDrop);
    f("privileged", o.privileged);
    f("seccompUnconfined", o.seccompUnconfined);
    f("noNewPrivileges", o.noNewPrivileges);
}

}  // namespace

nlohmann::json specToJson(const ContainerSpec& s) {
    nlohmann::json mounts = nlohmann::json::array();
    for (const auto& m : s.mounts)
        mounts.push_back({{"type", m.type == MountSpec::Type::Tmpfs ? "tmpfs" : "bind"},
                          {"source", m.source},
                          {"destination", m.destination},
                          {"readOnly", m.readOnly},
                          {"options", m.options}});
    nlohmann::json user = {{"additionalGids", s.user.additionalGids}, {"unresolved", s.user.unresolved}};
    // Absent, not 0, when unset: uid 0 is root.
    if (s.user.uid) user["uid"] = *s.user.uid;
    if (s.user.gid) user["gid"] = *s.user.gid;
    nlohmann::json resources = nlohmann::json::object(), security = nlohmann::json::object();
    resourceFields(s.resources, [&](const char* k, const auto& v) { resources[k] = v; });
    securityFields(s.security, [&](const char* k, const auto& v) { security[k] = v; });
    nlohmann::json j = {{"version", kSpecJsonVersion},
                        {"user", user},
                        {"mounts", mounts},
                        {"network", networkName(s.network)},
                        {"resources", resources},
                        {"security", security}};
    plainFields(s, [&](const char* k, const auto& v) { j[k] = v; });
    return j;
}

ContainerSpec specFromJson(const nlohmann::json& j) {
    if (!j.is_object()) throw Error("malformed container spec: not an object");
    int version = j.contains("version") && j["version"].is_number_integer() ? j["version"].get<int>() : 0;
    if (version != kSpecJsonVersion)
        throw Error("container spec version " + std::to_string(version) + " is not supported (this mydock writes " +
                    std::to_string(kSpecJsonVersion) + ")");
    ContainerSpec s;
    try {
        // Every field is required: a spec missing one was not written by this version.
        auto from = [](const nlohmann::json& obj) {
            return [o = &obj](const char* k, auto& v) { o->at(k).get_to(v); };
        };
        plainFields(s, from(j));
        const auto& u = j.at("user");
        if (u.contains("uid")) s.user.uid = u.at("uid").get<uid_t>();
        if (u.contains("gid")) s.user.gid = u.at("gid").get<gid_t>();
        u.at("additionalGids").get_to(s.user.additionalGids);
        u.at("unresolved").get_to(s.user.unresolved);
        for (const auto& m : j.at("mounts")) {
            MountSpec ms;
            std::string type = m.at("type").get<std::string>();
            if (type == "bind") ms.type = MountSpec::Type::Bind;
            else if (type == "tmpfs") ms.type = MountSpec::Type::Tmpfs;
            else throw Error("malformed container spec: unknown mount type \"" + type + "\"");
            m.at("source").get_to(ms.source);
            m.at("destination").get_to(ms.destination);
            m.at("readOnly").get_to(ms.readOnly);
            m.at("options").get_to(ms.options);
            s.mounts.push_back(std::move(ms));
        }
        s.network = networkFromName(j.at("network").get<std::string>());
        resourceFields(s.resources, from(j.at("resources")));
        securityFields(s.security, from(j.at("security")));
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("malformed container spec: ") + e.what());
    }
    if (s.id.empty() || s.containerDir.empty() || s.argv.empty()) throw Error("malformed container spec: empty id, directory or command");
    return s;
}

void saveSpec(const ContainerSpec& spec, bool durable) {
    fs::writeFileAtomic(fs::join(spec.containerDir, "spec.json"), specToJson(spec).dump(2), durable, 0600);
}

std::optional<ContainerSpec> loadSpec(const std::string& containerDir) {
    std::string text;
    if (!fs::readFileIfExists(fs::join(containerDir, "spec.json"), text)) return std::nullopt;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("malformed container spec: ") + e.what());
    }
    return specFromJson(j);
}

}  // namespace mydock::runtime
