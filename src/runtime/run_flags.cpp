#include "runtime/run_flags.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "common/random.h"

namespace mydock::runtime {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, sep)) out.push_back(part);
    if (!s.empty() && s.back() == sep) out.push_back("");
    return out;
}

bool cleanAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

}  // namespace

MountSpec parseVolumeFlag(const std::string& value) {
    auto parts = split(value, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
        throw Error("invalid volume specification: '" + value + "'");
    MountSpec m;
    m.type = MountSpec::Type::Bind;
    m.source = parts[0];
    m.destination = parts[1];
    if (!cleanAbsolute(m.source))
        throw Error("invalid volume specification: '" + value + "': named volumes are not supported, use an absolute host path");
    if (!cleanAbsolute(m.destination))
        throw Error("invalid volume specification: '" + value + "': mount path must be absolute");
    if (m.destination == "/") throw Error("invalid volume specification: '" + value + "': destination can't be '/'");
    if (parts.size() == 3) {
        for (const auto& o : split(parts[2], ',')) {
            if (o == "ro") m.readOnly = true;
            else if (o == "rw") m.readOnly = false;
            else if (o == "z" || o == "Z" || o == "private" || o == "rprivate" || o == "slave" || o == "rslave" ||
                     o == "shared" || o == "rshared" || o == "nocopy" || o == "consistent" || o == "cached" || o == "delegated") {
            } else {
                throw Error("invalid mode: " + o);
            }
        }
    }
    return m;
}

MountSpec parseTmpfsFlag(const std::string& value) {
    MountSpec m;
    m.type = MountSpec::Type::Tmpfs;
    auto colon = value.find(':');
    m.destination = value.substr(0, colon);
    if (!cleanAbsolute(m.destination)) throw Error("invalid tmpfs: '" + value + "': mount path must be absolute");
    if (colon != std::string::npos) {
        std::string keep;
        for (const auto& o : split(value.substr(colon + 1), ',')) {
            if (o.empty()) continue;
            if (o == "ro") m.readOnly = true;
            else if (o == "rw") m.readOnly = false;
            else if (o.rfind("size=", 0) == 0 || o.rfind("mode=", 0) == 0 || o.rfind("uid=", 0) == 0 ||
                     o.rfind("gid=", 0) == 0 || o.rfind("nr_inodes=", 0) == 0)
                keep += (keep.empty() ? "" : ",") + o;
            else if (o == "exec" || o == "noexec" || o == "nosuid" || o == "nodev" || o == "suid" || o == "dev") {
                // mydock always mounts tmpfs nosuid,nodev,noexec as docker's default
            } else
                throw Error("invalid tmpfs option \"" + o + "\" in '" + value + "'");
        }
        m.options = keep;
    }
    return m;
}

NetworkMode parseNetworkFlag(const std::string& value) {
    if (value == "none") return NetworkMode::None;
    if (value == "host") return NetworkMode::Host;
    if (value == "bridge" || value == "default" || value.empty()) return NetworkMode::Bridge;
    throw Error("network " + value + " not found");
}

std::string newContainerId() {
    for (;;) {
        std::string id = randomHex(64);
        // An all-digit short id would read as a number (docker regenerates those too).
        if (!std::all_of(id.begin(), id.begin() + 12, [](char c) { return c >= '0' && c <= '9'; })) return id;
    }
}

}  // namespace mydock::runtime
