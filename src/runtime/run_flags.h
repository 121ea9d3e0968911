// Parsers for `run` flags that become runtime settings: -v, --tmpfs, --network. Pure
// functions (unit-tested); errors are mydock::Error (125) with docker's wording where it has one.
#pragma once

#include <string>

#include "runtime/spec.h"

namespace mydock::runtime {

// -v SRC:DST[:OPTS] with SRC an absolute host path (named volumes are not supported) and
// OPTS a comma list of ro, rw (SELinux z/Z and propagation modes are accepted and ignored).
MountSpec parseVolumeFlag(const std::string& value);
// --tmpfs DST[:OPTS] (OPTS like "size=64m,mode=1777"; "ro" makes it read-only).
MountSpec parseTmpfsFlag(const std::string& value);
// --network: "none", "host", "bridge" or "default" (bridge).
NetworkMode parseNetworkFlag(const std::string& value);

// A new 64-hex container id (random; never all digits in its short form, as docker).
std::string newContainerId();

}  // namespace mydock::runtime
