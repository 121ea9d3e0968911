// ContainerSpec: everything the runtime needs to start one container, already resolved by the
// caller (the CLI merges image config and flags into it). The runtime knows directories and
// this spec; never a registry, never the image store's format.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/security.h"

namespace mydock::runtime {

struct MountSpec {
    enum class Type { Bind, Tmpfs };
    Type type = Type::Bind;
    std::string source;        // host path (Bind only), absolute
    std::string destination;   // path inside the container, absolute
    bool readOnly = false;
    std::string options;       // extra tmpfs data ("size=64m"), may be empty
};

enum class NetworkMode { None, Host, Bridge };

struct Resources {
    std::int64_t memoryBytes = 0;     // 0: no limit
    std::int64_t cpuQuotaUs = 0;      // 0: no limit; CFS quota per period
    std::int64_t cpuPeriodUs = 100000;
    std::int64_t pidsLimit = 0;       // 0: no limit (docker: <= 0 is unlimited)
    bool any() const { return memoryBytes > 0 || cpuQuotaUs > 0 || pidsLimit > 0; }
};

struct UserSpec {
    // Either resolved numbers, or a docker "-u" string (name|uid[:group|gid]) to resolve in the
    // child against the container's /etc/passwd and /etc/group.
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::vector<gid_t> additionalGids;
    std::string unresolved;           // non-empty: resolve in the child (wins over uid/gid)
};

struct ContainerSpec {
    std::string id;                   // 64 hex
    std::string hostname;             // default: first 12 hex of id
    std::vector<std::string> lowerDirs;   // image layers, bottom first
    std::string containerDir;         // upper/, work/, merged/ and the etc files live here
    bool readonlyRootfs = false;

    std::vector<std::string> argv;    // argv[0] searched in the container's PATH
    std::vector<std::string> env;     // "K=V"
    std::string cwd = "/";            // created when absent
    UserSpec user;

    bool terminal = false;            // -t: a pty from the container's devpts
    bool stdinOpen = false;           // -i: stdin relayed/passed, else /dev/null
    // Non-empty: the output shown in the foreground is also appended to this json-file log
    // (relayed through pipes, or the pty). Set per launch, not saved with the spec.
    std::string logPath;

    std::vector<MountSpec> mounts;
    NetworkMode network = NetworkMode::None;
    std::vector<std::string> publish; // -p values as given (bridge only)
    std::string stateRoot;            // $ROOT: the bridge's lease file and config live there
    Resources resources;
    SecurityOptions security;         // --cap-add/--cap-drop/--privileged/--security-opt
    std::string seccompCacheDir;      // where the compiled filter is cached ($ROOT/cache)

    bool init = false;                // --init: run initPath as PID 1 in front of argv
    std::string initPath;             // host path of mydock-init (bound read-only)

    // Masked and read-only paths: docker's defaults (filled in by the runtime when left
    // empty), none with --privileged.
    std::vector<std::string> maskedPaths;
    std::vector<std::string> readonlyPaths;

    bool dieWithParent = true;        // PR_SET_PDEATHSIG(SIGKILL) (false for -d later)
};

// Where the init binary appears inside the container.
inline constexpr const char* kInitPathInContainer = "/sbin/mydock-init";

}  // namespace mydock::runtime
