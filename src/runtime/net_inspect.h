// docker's JSON forms of a container's network, for the record that `inspect` shows and the
// PORTS column of `ps`: HostConfig.PortBindings and NetworkSettings.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mydock::runtime::net {

// HostConfig.PortBindings for the `-p` values: {"80/tcp": [{"HostIp": "127.0.0.1",
// "HostPort": "18080"}]} ("" for a port chosen at start, "8000-8010" for a range).
// Throws mydock::Error on a malformed value (docker's message).
nlohmann::json portBindings(const std::vector<std::string>& publishFlags);

// NetworkSettings of a container on `networkMode` ("bridge", "none", "host"). For the bridge
// the address, gateway and published ports come from the container's lease in `root`
// (empty strings and no ports when it has none: not running).
nlohmann::json networkSettings(const std::string& root, const std::string& containerId,
                               const std::string& networkMode);
// The form of a container that is not running (docker clears address and ports).
nlohmann::json stoppedNetworkSettings(const std::string& networkMode);

// docker ps's PORTS from a NetworkSettings object: "127.0.0.1:18080->80/tcp, 0.0.0.0:9000->53/udp";
// "" when none or when the JSON is not of that form.
std::string portsColumn(const nlohmann::json& networkSettings);

}  // namespace mydock::runtime::net
