// Which registries may be spoken to over plain HTTP (docker's "insecure-registries").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mydock::registry {

// `hostPort` is a registry domain ("127.0.0.1:5000", "[::1]:5000", "localhost", "reg.lan").
// Loopback (127.0.0.0/8, ::1, "localhost") is always insecure, as in docker. `list` holds
// "host[:port]" entries (an entry without a port matches any port) and CIDRs ("10.0.0.0/8");
// a CIDR matches an IP literal, or a host name with an address inside it (docker's rule).
bool isInsecureRegistry(std::string_view hostPort, const std::vector<std::string>& list);

// Splits "host:port" / "[v6]:port" / "host"; the host comes back without brackets.
void splitHostPort(std::string_view hostPort, std::string& host, std::string& port);

}  // namespace mydock::registry
